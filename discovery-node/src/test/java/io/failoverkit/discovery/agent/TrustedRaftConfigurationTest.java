package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.raft.RaftNode;
import io.failoverkit.discovery.state.Json;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Whether a server's Raft storage is set aside ("removed while away") or it joins a running group depends on a
 * configuration another server reports (?stale). Only the leader's own report is trusted: a server that is not in
 * the configuration it reports, or that names another server as the leader, may hold an old view.
 */
class TrustedRaftConfigurationTest {
    private static String server(String node, boolean leader) {
        return "{\"ID\":\"id-" + node + "\",\"Node\":\"" + node + "\",\"Address\":\"127.0.0.1:1" + node.charAt(1) + "\",\"Leader\":" + leader + ",\"Voter\":true}";
    }

    private static List<RaftNode.Peer> view(String reporter, String... servers) throws Exception {
        return Agent.trustedConfiguration(reporter, Json.MAPPER.readTree("{\"Servers\":[" + String.join(",", servers) + "],\"Index\":7}"));
    }

    @Test
    void theLeadersOwnReportIsTrusted() throws Exception {
        assertThat(view("s1", server("s1", true), server("s2", false)))
                .containsExactly(new RaftNode.Peer("s1", "127.0.0.1:11"), new RaftNode.Peer("s2", "127.0.0.1:12"));
    }

    @Test
    void aFollowersViewIsNotTrustedEvenWithALeaderInIt() throws Exception {
        assertThat(view("s2", server("s1", true), server("s2", false))).isEmpty();
    }

    @Test
    void aServerNotInTheConfigurationItReportsIsNotTrusted() throws Exception {
        // A server removed from the group (or one with an old view) reporting a configuration without itself.
        assertThat(view("s3", server("s1", true), server("s2", false))).isEmpty();
    }

    @Test
    void noLeaderMeansNoConfiguration() throws Exception {
        assertThat(view("s1", server("s1", false), server("s2", false))).isEmpty();
    }
}

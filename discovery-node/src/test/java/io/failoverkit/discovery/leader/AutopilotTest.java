package io.failoverkit.discovery.leader;

import io.failoverkit.discovery.cluster.Member;
import io.failoverkit.discovery.raft.RaftNode;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The autopilot's decisions, pass by pass, on a configuration and a pool given here (no cluster). */
class AutopilotTest {
    private static final long DEAD = Autopilot.DEAD_AFTER_NANOS;

    private static RaftNode.Configuration conf(String... names) {
        return new RaftNode.Configuration(java.util.Arrays.stream(names)
                .map(n -> new RaftNode.ServerInfo(n, "127.0.0.1:" + port(n), n.equals("s1"), true)).toList(), 7);
    }

    private static int port(String name) { return 8300 + Integer.parseInt(name.substring(1)); }

    private static Member server(String name, Member.Status status) {
        return new Member(name, "127.0.0.1", 8301, Map.of("role", "consul", "dc", "dc1", "port", Integer.toString(port(name))), status, null);
    }

    private static Map<String, Member> pool(Member... members) {
        Map<String, Member> m = new HashMap<>();
        for (Member x : members) m.put(x.name(), x);
        return m;
    }

    private final Autopilot pilot = new Autopilot(null, null, "dc1", "s1");

    @Test
    void aServerThatLeftIsRemovedAtOnceWhenTwoOfThreeStayHealthy() {
        var d = pilot.decide(conf("s1", "s2", "s3"), pool(server("s1", Member.Status.ALIVE), server("s2", Member.Status.ALIVE),
                server("s3", Member.Status.LEFT)), 0);
        assertThat(d).isNotNull();
        assertThat(d.add()).isFalse();
        assertThat(d.server()).isEqualTo("s3");
        assertThat(d.reason()).contains("left the pool").contains("voters 3 -> 2");
    }

    @Test
    void aFailedServerIsRemovedOnlyAfterTheBound() {
        var c = conf("s1", "s2", "s3");
        var p = pool(server("s1", Member.Status.ALIVE), server("s2", Member.Status.ALIVE), server("s3", Member.Status.FAILED));
        assertThat(pilot.decide(c, p, 1_000)).isNull();
        assertThat(pilot.decide(c, p, 1_000 + DEAD - 1)).isNull();
        var d = pilot.decide(c, p, 1_000 + DEAD);
        assertThat(d).isNotNull();
        assertThat(d.server()).isEqualTo("s3");
        assertThat(d.reason()).startsWith("failed for");
        // It came back before the bound ran out: the clock starts again.
        var again = new Autopilot(null, null, "dc1", "s1");
        again.decide(c, p, 0);
        again.decide(c, pool(server("s1", Member.Status.ALIVE), server("s2", Member.Status.ALIVE), server("s3", Member.Status.ALIVE)), DEAD / 2);
        assertThat(again.decide(c, p, DEAD)).isNull();
    }

    @Test
    void neverARemovalThatWouldLoseTheQuorum() {
        // Two of three dead: more than (3 - 1) / 2, and one healthy voter is no quorum.
        var p = pool(server("s1", Member.Status.ALIVE), server("s2", Member.Status.FAILED), server("s3", Member.Status.FAILED));
        pilot.decide(conf("s1", "s2", "s3"), p, 0);
        assertThat(pilot.decide(conf("s1", "s2", "s3"), p, DEAD * 2)).isNull();
        // Two voters, one left: the change could not even commit without it.
        var two = new Autopilot(null, null, "dc1", "s1");
        assertThat(two.decide(conf("s1", "s2"), pool(server("s1", Member.Status.ALIVE), server("s2", Member.Status.LEFT)), 0)).isNull();
        // Five voters, two dead: three healthy keep the quorum of five and of four.
        var five = new Autopilot(null, null, "dc1", "s1");
        var p5 = pool(server("s1", Member.Status.ALIVE), server("s2", Member.Status.ALIVE), server("s3", Member.Status.ALIVE),
                server("s4", Member.Status.LEFT), server("s5", Member.Status.LEFT));
        var d = five.decide(conf("s1", "s2", "s3", "s4", "s5"), p5, 0);
        assertThat(d).isNotNull();
        assertThat(d.server()).isEqualTo("s4");
    }

    @Test
    void theLeaderNeverRemovesItself() {
        var d = pilot.decide(conf("s1", "s2", "s3"), pool(server("s1", Member.Status.LEFT), server("s2", Member.Status.ALIVE),
                server("s3", Member.Status.ALIVE)), 0);
        assertThat(d).isNull();
    }

    @Test
    void anAliveServerOutsideTheConfigurationIsAddedOnceItHasBeenAliveAWhile() {
        var c = conf("s1");
        var p = pool(server("s1", Member.Status.ALIVE), server("s4", Member.Status.ALIVE));
        assertThat(pilot.decide(c, p, 0)).isNull();
        var d = pilot.decide(c, p, Autopilot.ADD_AFTER_NANOS);
        assertThat(d).isNotNull();
        assertThat(d.add()).isTrue();
        assertThat(d.server()).isEqualTo("s4");
        assertThat(d.address()).isEqualTo("127.0.0.1:8304");
        // Not a server of another datacenter's pool, not a client, not a failed one: the pool map holds only this DC's servers.
        var other = new Autopilot(null, null, "dc1", "s1");
        var failed = pool(server("s1", Member.Status.ALIVE), server("s4", Member.Status.FAILED));
        other.decide(c, failed, 0);
        assertThat(other.decide(c, failed, Autopilot.ADD_AFTER_NANOS * 2)).isNull();
    }
}

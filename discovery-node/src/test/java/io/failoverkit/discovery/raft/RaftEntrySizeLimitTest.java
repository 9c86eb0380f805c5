package io.failoverkit.discovery.raft;

import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The largest restore entry the snapshot endpoint proposes ({@link Command.Restore#MAX_ENTRY_BYTES}) commits on three
 * Ratis servers, proposed from a follower (client to leader, then leader to each follower). Its payload is random
 * (not a state), so every server applies it alike as a refused restore: what is measured is the transport.
 */
class RaftEntrySizeLimitTest {
    @TempDir Path dir;

    @Test
    void aRestoreEntryAtTheLimitCommitsOnThreeServers() throws Exception {
        List<RaftNode.Peer> peers = new ArrayList<>();
        int[] ports = {FreePorts.next(), FreePorts.next(), FreePorts.next()};
        for (int i = 0; i < 3; i++) peers.add(new RaftNode.Peer("p" + i, "127.0.0.1:" + ports[i]));
        List<RaftNode> nodes = new ArrayList<>();
        List<StateStore> stores = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                StateStore s = new StateStore(Executors.newVirtualThreadPerTaskExecutor());
                stores.add(s);
                nodes.add(RaftNode.start("p" + i, "127.0.0.1", ports[i], dir.resolve("p" + i).toFile(), peers, "dc1", 100_000, s, x -> { }));
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> nodes.stream().anyMatch(RaftNode::isLeader));
            RaftNode follower = nodes.stream().filter(n -> !n.isLeader()).findFirst().orElseThrow();

            // Grow a random payload until the encoded entry is exactly at the limit.
            int payload = Command.Restore.MAX_ENTRY_BYTES * 3 / 4 - 200;
            Command.Restore entry;
            Random rnd = new Random(7);
            do {
                byte[] b = new byte[payload++];
                rnd.nextBytes(b);
                entry = new Command.Restore("probe", 1, 1, b);
            } while (entry.entryBytes() < Command.Restore.MAX_ENTRY_BYTES - 3);
            assertThat(entry.entryBytes()).isLessThanOrEqualTo(Command.Restore.MAX_ENTRY_BYTES);

            ApplyResult r = follower.propose(entry).get(60, TimeUnit.SECONDS);
            assertThat(r.status()).as("applied (and refused: the payload is not a state)").isEqualTo(400);
            assertThat(r.error()).contains("snapshot not restored");
            long index = r.index();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(stores).allSatisfy(s -> assertThat(s.lastIndex()).isGreaterThanOrEqualTo(index)));
            // The server's client still writes afterwards.
            ApplyResult after = follower.propose(new Command.KvPut("after", "ok".getBytes(), 0, null, null, null, null)).get(30, TimeUnit.SECONDS);
            assertThat(after.isOk()).isTrue();
        } finally {
            for (RaftNode n : nodes) n.close();
        }
    }
}

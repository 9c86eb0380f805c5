package io.failoverkit.discovery.raft;

import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A follower that took its own snapshot, then was away while the leader snapshotted past it and purged its log, must
 * load the snapshot the leader installs (found by review: it reloaded its own cached, swapped-away snapshot, stayed
 * behind, and its updater spun on a log gap it could never fill).
 */
class FollowerInstallsOverItsOwnSnapshotTest {
    @TempDir Path dir;
    static StateStore newStore() { return new StateStore(Executors.newVirtualThreadPerTaskExecutor()); }

    static boolean hasSnap(Path p) throws Exception {
        if (!Files.exists(p)) return false;
        try (Stream<Path> s = Files.walk(p)) { return s.anyMatch(f -> f.getFileName().toString().matches("snapshot\\.\\d+_\\d+")); }
    }

    @Test
    void aFollowerThatHadItsOwnSnapshotLoadsTheOneTheLeaderInstalls() throws Exception {
        String[] names = {"a", "b", "c"};
        int[] ports = {FreePorts.next(), FreePorts.next(), FreePorts.next()};
        List<RaftNode.Peer> peers = new ArrayList<>();
        for (int i = 0; i < 3; i++) peers.add(new RaftNode.Peer(names[i], "127.0.0.1:" + ports[i]));
        RaftNode[] nodes = new RaftNode[3];
        StateStore[] stores = new StateStore[3];
        for (int i = 0; i < 3; i++) { stores[i] = newStore(); nodes[i] = RaftNode.start(names[i], "127.0.0.1", ports[i], dir.resolve(names[i]).toFile(), peers, "dc1", 40, stores[i], x -> {}); }
        await().atMost(Duration.ofSeconds(60)).until(() -> Arrays.stream(nodes).anyMatch(RaftNode::isLeader));
        int leaderIndex = 0; for (int i = 0; i < 3; i++) if (nodes[i].isLeader()) leaderIndex = i;
        final int li = leaderIndex;
        int fi = (li + 1) % 3;
        RaftNode leader = nodes[li];
        for (int i = 0; i < 200; i++) put(leader, "small/" + i, "v" + i);
        final int f = fi;
        await().atMost(Duration.ofSeconds(60)).until(() -> hasSnap(dir.resolve(names[f])));
        nodes[fi].close();
        String big = "x".repeat(100 * 1024);
        for (int i = 0; i < 120; i++) put(leader, "blob/" + i, big);
        put(leader, "blob/last", "done");
        await().atMost(Duration.ofSeconds(60)).until(() -> snapIndex(dir.resolve(names[li])) > snapIndex(dir.resolve(names[f])));
        // The leader has snapshotted past the follower and purged its log: the follower must install and LOAD it.
        StateStore again = newStore();
        nodes[fi] = RaftNode.start(names[fi], "127.0.0.1", ports[fi], dir.resolve(names[fi]).toFile(), peers, "dc1", 40, again, x -> {});
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> again.kvGet("blob/last").value() != null);

        } finally {
            for (RaftNode n : nodes) try { n.close(); } catch (Exception e) { }
        }
    }

    static long snapIndex(Path p) throws Exception {
        if (!Files.exists(p)) return -1;
        try (Stream<Path> s = Files.walk(p)) {
            return s.map(f -> f.getFileName().toString()).filter(n -> n.matches("snapshot\\.\\d+_\\d+"))
                    .mapToLong(n -> Long.parseLong(n.substring(n.indexOf('_') + 1))).max().orElse(-1);
        }
    }

    static void put(RaftNode node, String key, String value) throws Exception {
        ApplyResult r = node.propose(new Command.KvPut(key, value.getBytes(StandardCharsets.UTF_8), 0, null, null, null, null)).get(60, TimeUnit.SECONDS);
        assertThat(r.isOk()).as(String.valueOf(r.error())).isTrue();
    }
}

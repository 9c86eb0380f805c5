package io.failoverkit.discovery.raft;

import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.BinarySnapshot;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Binary Raft snapshots on a real Ratis server (in this JVM, on loopback): restart from one and the log tail, and a
 * damaged one refused. The install on a follower is in {@code cluster.SnapshotAndCompactionTest} (three server processes).
 */
class BinaryRaftSnapshotTest {
    private static final Pattern SNAPSHOT = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");
    @TempDir Path dir;

    private static StateStore newStore() {
        return new StateStore(Executors.newVirtualThreadPerTaskExecutor());
    }

    private static void put(RaftNode node, String key, String value) throws Exception {
        ApplyResult r = node.propose(new Command.KvPut(key, value.getBytes(StandardCharsets.UTF_8), 0, null, null, null, null)).get(60, TimeUnit.SECONDS);
        assertThat(r.isOk()).as(String.valueOf(r.error())).isTrue();
    }

    /** The snapshot files (not .md5, not .tmp) under a server's storage, by index. */
    private static TreeSet<Long> snapshotIndexes(Path storage) throws IOException {
        TreeSet<Long> out = new TreeSet<>();
        if (!Files.exists(storage)) return out;
        try (Stream<Path> files = Files.walk(storage)) {
            for (Path p : files.toList()) {
                Matcher m = SNAPSHOT.matcher(p.getFileName().toString());
                if (m.matches()) out.add(Long.parseLong(m.group(2)));
            }
        }
        return out;
    }

    private static Path snapshotFile(Path storage, long index) throws IOException {
        try (Stream<Path> files = Files.walk(storage)) {
            return files.filter(p -> p.getFileName().toString().matches("snapshot\\.\\d+_" + index)).findFirst().orElseThrow();
        }
    }

    private static String json(StateStore store) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        store.writeSnapshot(out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aRestartFromABinarySnapshotAndTheLogTailGivesTheSameState() throws Exception {
        int port = FreePorts.next();
        List<RaftNode.Peer> peers = List.of(new RaftNode.Peer("solo", "127.0.0.1:" + port));
        Path storage = dir.resolve("solo");
        StateStore store = newStore();
        RaftNode node = RaftNode.start("solo", "127.0.0.1", port, storage.toFile(), peers, "dc1", 100, store, x -> { });
        long snapshotAt;
        try {
            await().atMost(Duration.ofSeconds(60)).until(node::isLeader);
            node.propose(new Command.Register(new Model.Node("", "n1", "127.0.0.1", "dc1", java.util.Map.of(), java.util.Map.of(), 0, 0),
                    new Model.Service("web-1", "web", List.of("a"), "", java.util.Map.of(), 80, Model.Weights.DEFAULT, false, 0, 0),
                    List.of(), false, 1)).get(60, TimeUnit.SECONDS);
            // 16 KB values: a snapshot (the first comes at index 100) spans more than one of the chunks it is made
            // durable by while it is written.
            String pad = "x".repeat(16 * 1024);
            for (int i = 0; i < 250; i++) put(node, "k/" + i, "v" + i + pad);
            await().atMost(Duration.ofSeconds(60)).until(() -> !snapshotIndexes(storage).isEmpty());
            snapshotAt = snapshotIndexes(storage).last();
            Path file = snapshotFile(storage, snapshotAt);
            assertThat(Files.size(file)).as("a snapshot larger than one sync chunk").isGreaterThan(CatalogStateMachine.SNAPSHOT_SYNC_CHUNK_BYTES);
            try (Stream<Path> files = Files.walk(storage)) {
                assertThat(files.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList()).as("no temporary snapshot file left").isEmpty();
            }
            assertThat(BinarySnapshot.isBinary(file)).as("the Raft snapshot is in the binary format").isTrue();
            assertThat(BackgroundPriorityTest.niceOfThreadsNamed("raft-snapshot-w")).as("the snapshot writer runs at the lowest CPU priority")
                    .isNotEmpty().allSatisfy(n -> assertThat(n).isEqualTo(BackgroundPriority.NICE));
            assertThat(org.apache.ratis.util.MD5FileUtil.readStoredMd5ForFile(file.toFile())).as("the MD5 computed while writing, which Ratis sends to a follower")
                    .isEqualTo(org.apache.ratis.util.MD5FileUtil.computeMd5ForFile(file.toFile()));

            // The file holds the entries up to its index and none after, though writes went on while it was written.
            StateStore fromFile = newStore();
            fromFile.loadSnapshot(file);
            assertThat(fromFile.lastIndex()).isLessThanOrEqualTo(snapshotAt);
            List<Model.KvEntry> inFile = fromFile.kvList("k/").value();
            assertThat(inFile).allSatisfy(e -> assertThat(e.modifyIndex()).isLessThanOrEqualTo(snapshotAt));
            assertThat(inFile).hasSize((int) store.kvList("k/").value().stream().filter(e -> e.modifyIndex() <= snapshotAt).count());

            for (int i = 250; i < 300; i++) put(node, "k/" + i, "v" + i);
        } finally {
            node.close();
        }
        String before = json(store);
        // Ratis snapshots again at shutdown; without that one, the restart reads the earlier snapshot and replays the tail.
        for (long i : snapshotIndexes(storage)) {
            if (i > snapshotAt) {
                Path f = snapshotFile(storage, i);
                Files.delete(f);
                Files.deleteIfExists(f.resolveSibling(f.getFileName() + ".md5"));
            }
        }
        StateStore again = newStore();
        RaftNode restarted = RaftNode.start("solo", "127.0.0.1", port, storage.toFile(), peers, "dc1", 100, again, x -> { });
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> again.kvGet("k/299").value() != null);
            assertThat(json(again)).as("the restarted server's whole state").isEqualTo(before);
        } finally {
            restarted.close();
        }
    }

    /** One server with a snapshot threshold of 50: 120 writes, at least one snapshot, then a clean stop. */
    private static void writeAndStop(int port, List<RaftNode.Peer> peers, Path storage) throws Exception {
        RaftNode node = RaftNode.start("solo", "127.0.0.1", port, storage.toFile(), peers, "dc1", 50, newStore(), x -> { });
        try {
            await().atMost(Duration.ofSeconds(60)).until(node::isLeader);
            for (int i = 0; i < 120; i++) put(node, "k/" + i, "v" + i);
            await().atMost(Duration.ofSeconds(60)).until(() -> !snapshotIndexes(storage).isEmpty());
        } finally {
            node.close();
        }
    }

    @Test
    void aDamagedSnapshotStopsTheServerFromStartingWithTheReason() throws Exception {
        int port = FreePorts.next();
        List<RaftNode.Peer> peers = List.of(new RaftNode.Peer("solo", "127.0.0.1:" + port));
        Path storage = dir.resolve("solo");
        writeAndStop(port, peers, storage);
        for (long i : snapshotIndexes(storage)) {
            Path f = snapshotFile(storage, i);
            byte[] b = Files.readAllBytes(f);
            b[b.length / 2] ^= 0x01;
            Files.write(f, b);
            Files.deleteIfExists(f.resolveSibling(f.getFileName() + ".md5"));
        }
        assertThatThrownBy(() -> RaftNode.start("solo", "127.0.0.1", port, storage.toFile(), peers, "dc1", 50, newStore(), x -> { }).close())
                .hasStackTraceContaining("checksum mismatch").hasStackTraceContaining("move its Raft data directory aside");
    }

    @Test
    void anUnfinishedSnapshotWriteLeftByACrashIsRemovedAtStartAndTheFinishedOnesKept() throws Exception {
        int port = FreePorts.next();
        List<RaftNode.Peer> peers = List.of(new RaftNode.Peer("solo", "127.0.0.1:" + port));
        Path storage = dir.resolve("solo");
        writeAndStop(port, peers, storage);
        TreeSet<Long> finished = snapshotIndexes(storage);
        Path smDir = snapshotFile(storage, finished.last()).getParent();
        // What a crash in the middle of a write leaves: the temporary file, half written, never renamed.
        Path leftover = smDir.resolve("snapshot.1_99999.tmp");
        Files.write(leftover, new byte[4096]);
        Path unrelated = smDir.resolve("operator-notes.tmp");
        Files.writeString(unrelated, "not ours");

        StateStore again = newStore();
        RaftNode restarted = RaftNode.start("solo", "127.0.0.1", port, storage.toFile(), peers, "dc1", 50, again, x -> { });
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> again.kvGet("k/119").value() != null);
            assertThat(leftover).as("the unfinished write").doesNotExist();
            assertThat(unrelated).as("a file that is not a snapshot write is left alone").exists();
            assertThat(snapshotIndexes(storage)).as("finished snapshots are kept").containsAll(finished);
        } finally {
            restarted.close();
        }
    }
}

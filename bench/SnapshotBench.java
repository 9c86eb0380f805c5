// bench/SnapshotBench.java: the Java half of bench/snapshot.sh (run by it with the source launcher and the
// discovery-node jar's lib/ on the class path; bench-only, not part of any module). In one JVM, fills a StateStore with
// BENCH_KEYS KV keys (100-byte values) and a catalog of BENCH_NODES nodes (2 services and 3 checks each), then, while
// an "apply thread" applies one KV PUT every 200 us on a fixed schedule, takes a Raft snapshot two ways:
//   json    the way before this change: on the apply thread, the whole state encoded as one JSON document under the
//           store's read lock, to a file, fsync'd (Ratis called takeSnapshot on its apply thread)
//   binary  the way now: on the apply thread only StateStore.view() (references, under the read lock); the view is
//           written by another thread as the binary (Smile, CRC-32C) file, fsync'd
// For each: the snapshot's wall time, the time the apply thread spent in it, its size, the apply thread's longest stall
// (worst lateness of a scheduled apply behind its slot, during the snapshot), bytes allocated by the snapshot's
// threads, GC time during it; then the load time of each file into an empty store (the state part of a restart or of
// a follower's snapshot install). The "idle" row is the anchor: the same applies for the same time without a snapshot.
// Each mode runs BENCH_ROUNDS times (after one warm-up round each); the figures printed are the medians.
// Then a restart: one Raft server (RaftNode, fsync'ing, 127.0.0.1) is given the same state through Raft (batched
// entries) and stopped (it snapshots at stop); it is started again with that snapshot rewritten in each format, and
// the time from RaftNode.start to the state being back (the store at the last index) is printed for each.

import io.failoverkit.discovery.raft.RaftNode;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;

import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

public class SnapshotBench {
    static final long SLOT_NANOS = 200_000;
    static final com.sun.management.ThreadMXBean THREADS = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    static StateStore store;
    static long index;
    static Path dir;

    public static void main(String[] args) throws Exception {
        int keys = Integer.parseInt(System.getenv().getOrDefault("BENCH_KEYS", "100000"));
        int nodes = Integer.parseInt(System.getenv().getOrDefault("BENCH_NODES", "3000"));
        int rounds = Integer.parseInt(System.getenv().getOrDefault("BENCH_ROUNDS", "3"));
        dir = Path.of(args[0]);
        store = new StateStore(Runnable::run);
        fill(keys, nodes);
        System.out.printf("state: %,d KV keys (100-byte values), %,d nodes, %,d services, %,d checks; last index %,d%n",
                keys, nodes, 2 * nodes, 3 * nodes, index);

        ExecutorService writer = Executors.newSingleThreadExecutor(r -> new Thread(r, "snapshot-writer"));
        Map<String, List<double[]>> results = new java.util.LinkedHashMap<>();
        for (String mode : List.of("idle", "json", "binary")) results.put(mode, new ArrayList<>());
        for (int round = -1; round < rounds; round++) {
            for (String mode : List.of("idle", "json", "binary")) {
                double[] r = run(mode, writer);
                if (round >= 0) results.get(mode).add(r);
            }
        }
        writer.shutdown();

        System.out.printf("%-7s %10s %12s %10s %14s %12s %9s %9s%n", "mode", "snap ms", "apply-thr ms", "size MB", "longest stall", "alloc MB", "GC ms", "load ms");
        for (var e : results.entrySet()) {
            double[] m = median(e.getValue());
            System.out.printf("%-7s %10.1f %12.2f %10.1f %11.2f ms %12.1f %9.0f %9s%n", e.getKey(), m[0], m[1], m[2] / 1e6, m[3], m[4] / 1e6, m[5],
                    e.getKey().equals("idle") ? "-" : String.format("%.0f", m[6]));
        }
        double[] json = median(results.get("json"));
        double[] bin = median(results.get("binary"));
        double[] idle = median(results.get("idle"));
        restart();
        System.out.printf("ratios binary/json: size %.2f, apply-thread time %.4f, longest stall %.3f (idle anchor stall %.2f ms: binary %.1fx, json %.1fx), load %.2f, alloc %.2f%n",
                bin[2] / json[2], bin[1] / json[1], bin[3] / json[3], idle[3], bin[3] / idle[3], json[3] / idle[3], bin[6] / json[6], bin[4] / json[4]);
    }

    static void fill(int keys, int nodes) {
        for (Command c : commands(keys, nodes)) store.apply(++index, 1, c);
    }

    static int keysN, nodesN;

    static List<Command> commands(int keys, int nodes) {
        keysN = keys;
        nodesN = nodes;
        List<Command> out = new ArrayList<>();
        byte[] value = new byte[100];
        Arrays.fill(value, (byte) 'v');
        for (int n = 0; n < nodes; n++) {
            String node = "node-" + n;
            String ip = "10." + (n >> 16 & 255) + "." + (n >> 8 & 255) + "." + (n & 255);
            out.add(new Command.Register(new Model.Node("00000000-0000-0000-0000-" + String.format("%012d", n), node, ip, "dc1", Map.of("lan", ip), Map.of("rack", "r" + n % 16), 0, 0),
                    null, List.of(new Model.Check(node, Model.SERF_HEALTH, "Serf Health Status", Model.PASSING, "", "Agent alive and reachable", "", "", List.of(), "", 0, 0)), false, 1));
            for (String svc : List.of("db", "web")) {
                String id = svc + "-" + n;
                out.add(new Command.Register(new Model.Node("00000000-0000-0000-0000-" + String.format("%012d", n), node, ip, "dc1", Map.of("lan", ip), Map.of("rack", "r" + n % 16), 0, 0),
                        new Model.Service(id, svc, List.of("v1", n % 2 == 0 ? "primary" : "replica"), "", Map.of("version", "1.2." + n % 10), svc.equals("db") ? 3306 : 8080, Model.Weights.DEFAULT, false, 0, 0),
                        List.of(new Model.Check(node, "service:" + id, "Service '" + svc + "' check", Model.PASSING, "", "HTTP GET http://" + ip + ": 200 OK", id, svc, List.of("v1"), "http", 0, 0)), true, 1));
            }
        }
        for (int k = 0; k < keys; k++) {
            out.add(new Command.KvPut("app/config/service-" + (k % 500) + "/key-" + k, value, 0, null, null, null, null));
        }
        return out;
    }

    /** Restart of one Raft server from its snapshot, in each format (see the header). */
    static void restart() throws Exception {
        int port;
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) { port = ss.getLocalPort(); }
        Path storage = dir.resolve("raft");
        List<RaftNode.Peer> peers = List.of(new RaftNode.Peer("bench", "127.0.0.1:" + port));
        StateStore s = new StateStore(Runnable::run);
        RaftNode node = RaftNode.start("bench", "127.0.0.1", port, storage.toFile(), peers, "dc1", 1_000_000_000L, s, x -> { });
        long expect;
        try {
            awaitTrue(node::isLeader);
            List<Command> all = commands(keysN, nodesN);
            for (int i = 0; i < all.size(); i += 500) {
                var r = node.propose(new Command.Batch(all.subList(i, Math.min(all.size(), i + 500)))).get(120, java.util.concurrent.TimeUnit.SECONDS);
                if (r.status() != 200) throw new IllegalStateException("batch refused: " + r.error());
            }
            expect = s.lastIndex();
        } finally {
            node.close();
        }
        Map<String, List<Double>> times = new java.util.LinkedHashMap<>(Map.of());
        times.put("binary", new ArrayList<>());
        times.put("json", new ArrayList<>());
        for (int round = 0; round < 3; round++) {
            for (String mode : List.of("binary", "json")) {
                Path snap;
                try (var files = Files.walk(storage)) {
                    snap = files.filter(p -> p.getFileName().toString().matches("snapshot\\.\\d+_\\d+")).max(java.util.Comparator.comparingLong(
                            p -> Long.parseLong(p.getFileName().toString().replaceAll(".*_", "")))).orElseThrow();
                }
                StateStore was = new StateStore(Runnable::run);
                was.loadSnapshot(snap);
                Path tmp = snap.resolveSibling("rewrite.tmp");
                writeFile(tmp, out -> {
                    if (mode.equals("json")) was.writeSnapshot(out); else StateStore.writeBinarySnapshot(was.view(), out);
                });
                Files.move(tmp, snap, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                org.apache.ratis.util.MD5FileUtil.computeAndSaveMd5ForFile(snap.toFile());
                long size = Files.size(snap);
                StateStore back = new StateStore(Runnable::run);
                System.gc();
                long t0 = System.nanoTime();
                RaftNode again = RaftNode.start("bench", "127.0.0.1", port, storage.toFile(), peers, "dc1", 1_000_000_000L, back, x -> { });
                try {
                    long want = expect;
                    awaitTrue(() -> back.lastIndex() >= want && again.isLeader());
                    double ms = (System.nanoTime() - t0) / 1e6;
                    times.get(mode).add(ms);
                    if (back.kvList("app/").value().size() != keysN) throw new IllegalStateException("restart lost keys");
                    System.out.printf("restart %-6s round %d: %,.0f ms to the state and leadership back (snapshot %,.1f MB)%n", mode, round, ms, size / 1e6);
                } finally {
                    again.close();
                }
            }
        }
        double[] b = times.get("binary").stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] j = times.get("json").stream().mapToDouble(Double::doubleValue).sorted().toArray();
        // Start-up and the first election (a random 300-600 ms timeout) dominate; the rounds' spread shows how much.
        System.out.printf("restart, median of %d rounds: binary %,.0f ms (min %,.0f, max %,.0f), json %,.0f ms (min %,.0f, max %,.0f), ratio %.2f%n",
                b.length, b[b.length / 2], b[0], b[b.length - 1], j[j.length / 2], j[0], j[j.length - 1], b[b.length / 2] / j[j.length / 2]);
    }

    static void awaitTrue(java.util.function.BooleanSupplier c) throws InterruptedException {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("not reached in 120 s");
            Thread.sleep(1);
        }
    }

    /** One snapshot (or none, for "idle") while the apply thread keeps its schedule; returns the figures. */
    static double[] run(String mode, ExecutorService writer) throws Exception {
        System.gc();
        Path file = dir.resolve("snapshot-" + mode);
        Files.deleteIfExists(file);
        long gcBefore = gcMillis();
        AtomicLong writerAlloc = new AtomicLong();
        AtomicLong writerDone = new AtomicLong();
        long[] applyThreadNanos = {0};
        long[] applyThreadAlloc = {0};
        long[] snapshotStart = {0};
        // The apply thread: one PUT per slot, in order; the snapshot is taken at slot 500 (as Ratis calls takeSnapshot between entries).
        List<Long> lateness = new ArrayList<>();
        CompletableFuture<Void> snapshotWritten = new CompletableFuture<>();
        Thread applier = new Thread(() -> {
            try {
                long t0 = System.nanoTime() + 5_000_000;
                int slots = 0;
                boolean taken = false;
                for (int s = 0; ; s++) {
                    long slot = t0 + s * SLOT_NANOS;
                    long now;
                    while ((now = System.nanoTime()) < slot) LockSupport.parkNanos(slot - now);
                    store.apply(++index, 1, new Command.KvPut("live/k" + (s % 1000), new byte[100], 0, null, null, null, null));
                    if (taken || s >= 500) lateness.add(System.nanoTime() - slot);
                    if (s == 500) {
                        snapshotStart[0] = System.nanoTime();
                        long a0 = THREADS.getCurrentThreadAllocatedBytes();
                        switch (mode) {
                            case "json" -> {
                                writeFile(file, out -> store.writeSnapshot(out));
                                snapshotWritten.complete(null);
                            }
                            case "binary" -> {
                                StateStore.View view = store.view();
                                writer.submit(() -> {
                                    long w0 = THREADS.getCurrentThreadAllocatedBytes();
                                    try {
                                        writeFile(file, out -> StateStore.writeBinarySnapshot(view, out));
                                        writerAlloc.set(THREADS.getCurrentThreadAllocatedBytes() - w0);
                                        writerDone.set(System.nanoTime());
                                        snapshotWritten.complete(null);
                                    } catch (Exception e) {
                                        snapshotWritten.completeExceptionally(e);
                                    }
                                });
                            }
                            default -> { }
                        }
                        applyThreadNanos[0] = System.nanoTime() - snapshotStart[0];
                        applyThreadAlloc[0] = THREADS.getCurrentThreadAllocatedBytes() - a0;
                        taken = true;
                    }
                    // Keep applying until the snapshot is on disk (idle: for 2 s), then 100 more slots.
                    if (taken && (mode.equals("idle") ? System.nanoTime() - snapshotStart[0] > 2_000_000_000L : snapshotWritten.isDone())) {
                        if (++slots > 100) break;
                    }
                }
            } catch (Exception e) {
                snapshotWritten.completeExceptionally(e);
            }
        }, "apply");
        applier.start();
        applier.join();
        if (!mode.equals("idle")) snapshotWritten.get();
        long gc = gcMillis() - gcBefore;
        long end = mode.equals("binary") ? writerDone.get() : snapshotStart[0] + applyThreadNanos[0];
        double snapMs = mode.equals("idle") ? 0 : (end - snapshotStart[0]) / 1e6;
        long size = mode.equals("idle") ? 0 : Files.size(file);
        double stall = lateness.stream().mapToLong(Long::longValue).max().orElse(0) / 1e6;
        double alloc = applyThreadAlloc[0] + writerAlloc.get();
        double loadMs = 0;
        if (!mode.equals("idle")) {
            StateStore fresh = new StateStore(Runnable::run);
            long l0 = System.nanoTime();
            fresh.loadSnapshot(file);
            loadMs = (System.nanoTime() - l0) / 1e6;
            Files.delete(file);
        }
        return new double[]{snapMs, applyThreadNanos[0] / 1e6, size, stall, alloc, gc, loadMs};
    }

    interface Body { void write(OutputStream out) throws Exception; }

    /** As the state machine writes a snapshot: buffered to the file, then fsync'd. */
    static void writeFile(Path file, Body body) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
             OutputStream out = new BufferedOutputStream(Channels.newOutputStream(ch), 256 * 1024)) {
            // Jackson's JSON mapper closes the stream it wrote to: the body gets one that does not close the file.
            body.write(new java.io.FilterOutputStream(out) {
                @Override public void write(byte[] b, int off, int len) throws java.io.IOException { out.write(b, off, len); }
                @Override public void close() throws java.io.IOException { flush(); }
            });
            out.flush();
            ch.force(true);
        }
    }

    static long gcMillis() {
        long t = 0;
        for (GarbageCollectorMXBean b : ManagementFactory.getGarbageCollectorMXBeans()) t += Math.max(0, b.getCollectionTime());
        return t;
    }

    static double[] median(List<double[]> rows) {
        double[] m = new double[rows.get(0).length];
        for (int i = 0; i < m.length; i++) {
            int col = i;
            double[] v = rows.stream().mapToDouble(r -> r[col]).sorted().toArray();
            m[i] = v[v.length / 2];
        }
        return m;
    }
}

package io.failoverkit.discovery.raft;

import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Review of ec0541f (s9-review): a frozen (SIGSTOP'd) server in the direct path's rotation. A frozen server's kernel
 * still accepts the TCP connection, so an unordered gRPC attempt neither fails nor is answered: it ends by Ratis' own
 * request timeout (3 s, TimeoutIOException). RaftNode then calls the RPC's handleException, which for a
 * TimeoutIOException resets the proxy, and Ratis closes the old channel gracefully (awaitTermination up to 3 s, then
 * forcibly) on the thread that schedules the entry's next attempt. Each visit to a frozen server thus costs about
 * 6 s of the entry's 8.5 s retry window, and a write tried while no leader is known reaches few servers.
 * <p>
 * The servers here: one real Raft server (it cannot win an election alone) and two "frozen" ones, sockets that are
 * listening and never read. The test prints when each attempt started; its assertion is the behaviour wanted
 * (the frozen peers do not eat the window: a server is tried again within its request timeout plus a little),
 * which ec0541f does not have.
 */
class FrozenPeerRotationTest {
    @TempDir Path dir;

    @Test
    void aFrozenServerInTheRotationCostsAtMostOneRequestTimeout() throws Exception {
        int port = FreePorts.next();
        InetAddress lo = InetAddress.getLoopbackAddress();
        try (ServerSocket frozen1 = new ServerSocket(FreePorts.next(), 50, lo);
             ServerSocket frozen2 = new ServerSocket(FreePorts.next(), 50, lo)) {
            List<RaftNode.Peer> peers = List.of(
                    new RaftNode.Peer("s0", "127.0.0.1:" + port),
                    new RaftNode.Peer("s1", "127.0.0.1:" + frozen1.getLocalPort()),
                    new RaftNode.Peer("s2", "127.0.0.1:" + frozen2.getLocalPort()));
            StateStore store = new StateStore(Executors.newVirtualThreadPerTaskExecutor());
            try (RaftNode node = RaftNode.start("s0", "127.0.0.1", port, dir.resolve("s0").toFile(), peers, "dc1", 100_000, store, x -> { })) {
                await().atMost(Duration.ofSeconds(30)).until(() -> node.leaderName().isEmpty() && !node.isLeader());
                // A first write warms the path up (class loading, JIT, channels: seconds on a loaded 2-core box).
                try {
                    node.propose(new Command.KvPut("warm", "v".getBytes(StandardCharsets.UTF_8), 0, null, null, null, null)).get(30, TimeUnit.SECONDS);
                } catch (ExecutionException expected) {
                    // no leader: unknown
                }
                long before = node.directAttempts();
                List<Long> starts = new java.util.concurrent.CopyOnWriteArrayList<>();
                long t0 = System.nanoTime();
                // Samples when attempts start (the last attempt's start time moves with each one).
                Thread sampler = Thread.ofPlatform().daemon().start(() -> {
                    long seen = node.lastDirectAttemptNanos();
                    while (!Thread.currentThread().isInterrupted() && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(30)) {
                        long last = node.lastDirectAttemptNanos();
                        if (last != seen) {
                            starts.add((last - t0) / 1_000_000);
                            seen = last;
                        }
                        try { Thread.sleep(1); } catch (InterruptedException e) { return; }
                    }
                });
                CompletableFuture<?> w = node.propose(new Command.KvPut("k", "v".getBytes(StandardCharsets.UTF_8), 0, null, null, null, null));
                try {
                    w.get(30, TimeUnit.SECONDS);
                } catch (ExecutionException ignored) {
                    // looked at below
                }
                sampler.interrupt();
                sampler.join();
                long answeredMs = (System.nanoTime() - t0) / 1_000_000;
                Throwable why = null;
                try {
                    w.get(1, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    why = e.getCause();
                }
                long attempts = node.directAttempts() - before;
                System.out.printf("frozen peers: %d attempts, started at %s ms (sampled), answered after %d ms: %s%n",
                        attempts, starts, answeredMs, why);
                assertThat(why).isInstanceOf(RaftNode.OutcomeUnknownException.class);
                long widestGap = 0;
                for (int i = 1; i < starts.size(); i++) widestGap = Math.max(widestGap, starts.get(i) - starts.get(i - 1));
                // Wanted: a frozen server costs its request timeout (3 s) and little more before the next server is tried.
                assertThat(widestGap).as("widest gap between attempts (ms), attempts at %s", starts).isLessThan(4_500);
            }
        }
    }
}

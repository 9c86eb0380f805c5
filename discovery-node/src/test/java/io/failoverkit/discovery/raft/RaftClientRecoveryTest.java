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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A request that fails inside Ratis' client (its retries run out while no leader can be reached, or the entry is
 * refused) must not leave the server unable to write or read: Ratis' ordered async client fails every later request
 * on the same client with AlreadyClosedException, so RaftNode has to start over with a new client. Writes no longer go
 * through that client (RaftNode's direct path, bounded by each caller's deadline, see EntryDeadlineTest); ReadIndex
 * barriers still do, and a long outage must leave both working once a leader is back.
 */
class RaftClientRecoveryTest {
    @TempDir Path dir;

    private static Command put(String key, String value) {
        return new Command.KvPut(key, value.getBytes(), 0, null, null, null, null);
    }

    /** The failure under ExecutionException/CompletionException, with its root cause if that differs. */
    private static String describe(Throwable e) {
        Throwable t = e;
        while ((t instanceof ExecutionException || t instanceof java.util.concurrent.CompletionException) && t.getCause() != null) t = t.getCause();
        Throwable root = rootOf(t);
        return root == t ? t.toString() : t + " (cause: " + root + ")";
    }

    private static Throwable rootOf(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t;
    }

    /** Keeps the last few failures of a retried step for the assertion message. */
    private static void keep(List<String> errors, String error) {
        if (errors.size() == 4) errors.remove(0);
        errors.add(error);
    }

    @Test
    void everyServerWritesAgainAfterAQuorumOutageLongerThanTheClientsRetries() throws Exception {
        int[] ports = {FreePorts.next(), FreePorts.next(), FreePorts.next()};
        List<RaftNode.Peer> peers = new ArrayList<>();
        for (int i = 0; i < 3; i++) peers.add(new RaftNode.Peer("r" + i, "127.0.0.1:" + ports[i]));
        RaftNode[] nodes = new RaftNode[3];
        StateStore[] stores = new StateStore[3];
        try {
            for (int i = 0; i < 3; i++) {
                stores[i] = new StateStore(Executors.newVirtualThreadPerTaskExecutor());
                nodes[i] = RaftNode.start("r" + i, "127.0.0.1", ports[i], dir.resolve("r" + i).toFile(), peers, "dc1", 100_000, stores[i], x -> { });
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> List.of(nodes).stream().anyMatch(RaftNode::isLeader));
            for (int i = 0; i < 3; i++) {
                assertThat(nodes[i].propose(put("before/" + i, "v")).get(30, TimeUnit.SECONDS).isOk()).isTrue();
            }

            // Two servers go away: the survivor has no quorum and no leader.
            nodes[1].close();
            nodes[2].close();
            // Write through the survivor until a write fails by its own bounds (not only by propose()'s 10 s
            // deadline): no leader confirmed it.
            List<String> failures = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(240);
            boolean clientGaveUp = false;
            int n = 0;
            while (!clientGaveUp && System.nanoTime() < deadline) {
                try {
                    ApplyResult r = nodes[0].propose(put("outage/" + n++, "v")).get(60, TimeUnit.SECONDS);
                    throw new AssertionError("a write committed without a quorum: " + r);
                } catch (ExecutionException e) {
                    failures.add(describe(e));
                    clientGaveUp = !(rootOf(e) instanceof TimeoutException);
                }
            }
            System.out.println("writes during the outage failed with: " + failures);
            assertThat(clientGaveUp).as("a write failed by its own bounds during the outage: " + failures).isTrue();
            // Consistent reads still go through Ratis' client: read barriers until one fails inside it (its retries
            // ran out), which replaces the client.
            int replacedBefore = nodes[0].clientsReplaced();
            List<String> readFailures = new ArrayList<>();
            var outageTimer = Executors.newSingleThreadScheduledExecutor();
            try {
                while (nodes[0].clientsReplaced() == replacedBefore && System.nanoTime() < deadline) {
                    try {
                        nodes[0].readBarrier(outageTimer).get(60, TimeUnit.SECONDS);
                        throw new AssertionError("a consistent read passed its barrier without a quorum");
                    } catch (ExecutionException e) {
                        keep(readFailures, describe(e));
                    }
                }
            } finally {
                outageTimer.shutdownNow();
            }
            System.out.println("read barriers during the outage failed with: " + readFailures);
            assertThat(nodes[0].clientsReplaced()).as("a read barrier failed inside Ratis' client and the client was replaced: " + readFailures)
                    .isGreaterThan(replacedBefore);

            // The two come back on their storage; a leader is elected again.
            for (int i = 1; i < 3; i++) {
                nodes[i] = RaftNode.start("r" + i, "127.0.0.1", ports[i], dir.resolve("r" + i).toFile(), peers, "dc1", 100_000, stores[i] = new StateStore(Executors.newVirtualThreadPerTaskExecutor()), x -> { });
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> List.of(nodes).stream().anyMatch(RaftNode::isLeader));
            // Every server writes again, the survivor included (it may take a failed attempt or two).
            for (int i = 0; i < 3; i++) {
                RaftNode node = nodes[i];
                String key = "after/" + i;
                List<String> errors = new ArrayList<>();
                await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                    try {
                        assertThat(node.propose(put(key, "ok")).get(30, TimeUnit.SECONDS).isOk()).isTrue();
                    } catch (ExecutionException e) {
                        keep(errors, describe(e));
                        throw new AssertionError("write through " + node.selfName() + " failed: " + errors, e);
                    }
                });
                // And keeps writing, and consistent reads (the ReadIndex barrier goes through the same client) work.
                assertThat(node.propose(put(key, "again")).get(30, TimeUnit.SECONDS).isOk()).isTrue();
                var timer = Executors.newSingleThreadScheduledExecutor();
                try {
                    node.readBarrier(timer).get(30, TimeUnit.SECONDS);
                } finally {
                    timer.shutdownNow();
                }
            }
        } finally {
            for (RaftNode node : nodes) if (node != null) node.close();
        }
    }

    @Test
    void aRefusedOversizedEntryDoesNotStopLaterWrites() throws Exception {
        int port = FreePorts.next();
        StateStore store = new StateStore(Executors.newVirtualThreadPerTaskExecutor());
        try (RaftNode node = RaftNode.start("o1", "127.0.0.1", port, dir.toFile(), List.of(new RaftNode.Peer("o1", "127.0.0.1:" + port)),
                "dc1", 100_000, store, x -> { })) {
            await().atMost(Duration.ofSeconds(60)).until(node::isLeader);
            // Over Ratis' 4 MiB entry limit (the HTTP API never proposes this; RaftNode is the one judged here).
            byte[] huge = new byte[5 << 20];
            Throwable refused = null;
            try {
                node.propose(new Command.KvPut("huge", huge, 0, null, null, null, null)).get(60, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                refused = e.getCause();
                System.out.println("the oversized entry failed with: " + describe(e));
            }
            assertThat(refused).as("the oversized entry is refused").isNotNull();
            List<String> errors = new ArrayList<>();
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                try {
                    assertThat(node.propose(put("after", "ok")).get(30, TimeUnit.SECONDS).isOk()).isTrue();
                } catch (ExecutionException e) {
                    keep(errors, describe(e));
                    throw new AssertionError("write after the refused entry failed: " + errors, e);
                }
            });
            assertThat(node.propose(put("after", "again")).get(30, TimeUnit.SECONDS).isOk()).isTrue();
        }
    }
}

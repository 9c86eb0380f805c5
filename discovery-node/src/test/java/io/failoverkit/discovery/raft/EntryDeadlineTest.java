package io.failoverkit.discovery.raft;

import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An entry is tried only within its callers' time: no attempt of a write starts after its caller was answered
 * (outcome unknown), whether it waited for an in-flight slot or not, through the direct path or Ratis' client; and a
 * write with too little time left when a slot frees is not sent at all, and told so (a definite failure).
 * Review of s8-raft: a queued write kept a retry window counted from when it was sent, and Ratis' client retried up to
 * ~3 min: a caller answered "outcome unknown", who then read and wrote again, could have its first write land later.
 */
class EntryDeadlineTest {
    @TempDir Path dir;

    private static Command put(String key) {
        return new Command.KvPut(key, "v".getBytes(StandardCharsets.UTF_8), 0, null, null, null, null);
    }

    @Test
    void theTimingsRelationsHold() {
        assertThat(RaftNode.timingsHold()).isTrue();
    }

    /** One attempt of a write: which key, when. */
    private record Attempt(String body, long at) {}

    @Test
    void aWriteThatWaitedForASlotIsTriedOnlyUntilItsCallerIsAnswered() throws Exception {
        int port = FreePorts.next();
        StateStore store = new StateStore(Executors.newVirtualThreadPerTaskExecutor());
        try (RaftNode node = RaftNode.start("s0", "127.0.0.1", port, dir.resolve("s0").toFile(),
                List.of(new RaftNode.Peer("s0", "127.0.0.1:" + port)), "dc1", 1_000_000, store, x -> { })) {
            await().atMost(Duration.ofSeconds(60)).until(() -> node.isLeader() && node.propose(put("warm")).get(30, TimeUnit.SECONDS).isOk());
            ConcurrentLinkedQueue<Attempt> attempts = new ConcurrentLinkedQueue<>();
            // Entries of "hung/" keys are never answered (they hold every entry slot until their own deadline); every other
            // entry is refused naming a leader that refuses it back (retried until its deadline).
            node.attemptSeam = (request, target) -> {
                String body = request.getMessage().getContent().toStringUtf8();
                attempts.add(new Attempt(body, System.nanoTime()));
                return body.contains("hung/") ? new CompletableFuture<>() : DirectWriteBoundsTest.refuseNamingTheOther(request, target);
            };
            List<CompletableFuture<ApplyResult>> hung = new ArrayList<>();
            for (int i = 0; i < RaftNode.MAX_IN_FLIGHT; i++) hung.add(node.propose(put("hung/" + i)));
            await().atMost(Duration.ofSeconds(30)).until(() -> node.inFlight() == RaftNode.MAX_IN_FLIGHT);
            // Waits for a slot for nearly all its time (the hung entries end ~0.5 s before their callers' deadline):
            // not sent.
            CompletableFuture<ApplyResult> tooLate = node.propose(put("toolate"));
            // Waits for a slot for about half its time: sent with a few seconds left, when the hung entries end.
            Thread.sleep(5_000);
            long proposedLate = System.nanoTime();
            CompletableFuture<ApplyResult> late = node.propose(put("late"));

            for (CompletableFuture<ApplyResult> f : hung) assertThat(DirectWriteBoundsTest.cause(f)).isInstanceOf(RaftNode.OutcomeUnknownException.class);
            Throwable lateWhy = DirectWriteBoundsTest.cause(late);
            long lateAnswered = System.nanoTime();
            // Answered by the entry itself (outcome unknown, with its reason), before propose()'s own 10 s deadline.
            assertThat(lateWhy).isInstanceOf(RaftNode.OutcomeUnknownException.class);
            assertThat(lateAnswered - proposedLate).isLessThan(TimeUnit.SECONDS.toNanos(RaftNode.WRITE_TIMEOUT_SECONDS) + TimeUnit.SECONDS.toNanos(5));
            List<Attempt> lateAttempts = attempts.stream().filter(a -> a.body().contains("\"late\"")).toList();
            assertThat(lateAttempts).as("the late write was sent once a slot freed").isNotEmpty();
            // The invariant: none of its attempts started after its caller was answered, nor after its deadline.
            for (Attempt a : lateAttempts) {
                assertThat(a.at()).isLessThan(lateAnswered);
                assertThat(a.at() - proposedLate).isLessThan(TimeUnit.SECONDS.toNanos(RaftNode.WRITE_TIMEOUT_SECONDS));
            }
            // And none later (a retry scheduled before the answer would show up here).
            Thread.sleep(1_500);
            assertThat(attempts.stream().filter(a -> a.body().contains("\"late\"")).count()).isEqualTo(lateAttempts.size());
            Throwable why = DirectWriteBoundsTest.cause(tooLate);
            // Never sent (a definite failure, said so) or, on a box so slow that it was proposed over 1.5 s after the
            // hung entries, it got a slot with more than 2 s left and ended as the late one did; never attempted
            // after its answer.
            long answered = System.nanoTime();
            if (!(why instanceof RaftNode.OutcomeUnknownException)) {
                assertThat(why).isInstanceOf(RaftNode.NotSentException.class).hasMessageContaining("not sent").hasMessageContaining("nothing was written");
                assertThat(attempts.stream().filter(a -> a.body().contains("toolate"))).isEmpty();
            } else {
                assertThat(attempts.stream().filter(a -> a.body().contains("toolate")).allMatch(a -> a.at() < answered)).isTrue();
            }
            node.attemptSeam = null;
            await().atMost(Duration.ofSeconds(30)).until(() -> node.inFlight() == 0);
            assertThat(node.propose(put("after")).get(60, TimeUnit.SECONDS).isOk()).isTrue();
            assertThat(store.kvGet("late").value()).isNull();
            assertThat(store.kvGet("toolate").value()).isNull();
        }
    }

    @Test
    void withNoLeaderKnownAWriteIsTriedOnlyUntilItsCallerIsAnswered() throws Exception {
        int[] ports = {FreePorts.next(), FreePorts.next(), FreePorts.next()};
        List<RaftNode.Peer> peers = new ArrayList<>();
        for (int i = 0; i < 3; i++) peers.add(new RaftNode.Peer("c" + i, "127.0.0.1:" + ports[i]));
        RaftNode[] nodes = new RaftNode[3];
        try {
            for (int i = 0; i < 3; i++) {
                nodes[i] = RaftNode.start("c" + i, "127.0.0.1", ports[i], dir.resolve("c" + i).toFile(), peers, "dc1", 100_000,
                        new StateStore(Executors.newVirtualThreadPerTaskExecutor()), x -> { });
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> List.of(nodes).stream().anyMatch(RaftNode::isLeader));
            int survivor = -1;
            for (int i = 0; i < 3; i++) if (!nodes[i].isLeader()) survivor = i;
            RaftNode s = nodes[survivor];
            assertThat(s.propose(put("before")).get(60, TimeUnit.SECONDS).isOk()).isTrue();
            for (int i = 0; i < 3; i++) if (i != survivor) nodes[i].close();
            // The survivor has no quorum and, once its election timeout passed, knows no leader: its writes are tried
            // on itself (a candidate refusing them) until it learns one. One more than the entry slots at once: the
            // last waits for one of them, and is sent with little time left or not at all.
            await().atMost(Duration.ofSeconds(60)).until(() -> !s.isLeader() && s.leaderName().isEmpty());
            long attemptsBefore = s.directAttempts();
            long sentAt = System.nanoTime();
            List<CompletableFuture<ApplyResult>> writes = new ArrayList<>();
            for (int i = 0; i < RaftNode.MAX_IN_FLIGHT + 1; i++) writes.add(s.propose(put("outage/" + i)));
            long lastAnswered = Long.MIN_VALUE;
            for (CompletableFuture<ApplyResult> w : writes) {
                Throwable why = DirectWriteBoundsTest.cause(w);
                lastAnswered = Math.max(lastAnswered, System.nanoTime());
                System.out.printf("write answered after %d ms: %s%n", (System.nanoTime() - sentAt) / 1_000_000, why);
                // Answered by the entry itself (outcome unknown), or not sent (said so): never propose()'s bare timeout.
                if (!(why instanceof RaftNode.OutcomeUnknownException)) {
                    assertThat(why).isInstanceOf(RaftNode.NotSentException.class).hasMessageContaining("not sent");
                }
            }
            // Tried again and again while the writes lasted, and not once after the last caller was answered, even
            // seconds later.
            assertThat(s.directAttempts() - attemptsBefore).isGreaterThan(9);
            Thread.sleep(3_000);
            assertThat(s.lastDirectAttemptNanos()).isLessThan(lastAnswered);
        } finally {
            for (RaftNode n : nodes) if (n != null) n.close();
        }
    }
}

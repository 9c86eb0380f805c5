package io.failoverkit.discovery.raft;

import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.testing.FreePorts;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The direct write path's bounds, on a one-server group (a ready leader of itself), with attempts answered by a test
 * seam instead of the Raft server: an attempt never answered ends as outcome unknown and gives its in-flight slot
 * back; refusals naming each other back off instead of busy-looping; close() ends writes whose retries are scheduled.
 */
class DirectWriteBoundsTest {
    @TempDir Path dir;

    private RaftNode start(StateStore store) throws Exception {
        int port = FreePorts.next();
        RaftNode node = RaftNode.start("s0", "127.0.0.1", port, dir.resolve("s0").toFile(),
                List.of(new RaftNode.Peer("s0", "127.0.0.1:" + port)), "dc1", 1_000_000, store, x -> { });
        await().atMost(Duration.ofSeconds(60)).until(() -> node.isLeader() && node.propose(put("warm")).get(30, TimeUnit.SECONDS).isOk());
        return node;
    }

    /** The failure a write ended with (bounded wait). Shared with EntryDeadlineTest. */
    static Throwable cause(CompletableFuture<?> f) {
        try {
            f.get(60, TimeUnit.SECONDS);
            throw new AssertionError("the write succeeded");
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void attemptsNeverAnsweredEndAsOutcomeUnknownAndGiveTheirSlotsBack() throws Exception {
        StateStore store = new StateStore(Executors.newVirtualThreadPerTaskExecutor());
        try (RaftNode node = start(store)) {
            node.attemptSeam = (request, target) -> new CompletableFuture<>();
            List<CompletableFuture<ApplyResult>> hung = new ArrayList<>();
            for (int i = 0; i < RaftNode.MAX_IN_FLIGHT; i++) {
                hung.add(node.propose(put("hung/" + i)));
            }
            // Every in-flight slot is held by an entry whose attempt never answers.
            await().atMost(Duration.ofSeconds(30)).until(() -> node.inFlight() == RaftNode.MAX_IN_FLIGHT);
            CompletableFuture<ApplyResult> queued = node.propose(put("after"));
            assertThat(queued).isNotDone();
            node.attemptSeam = null;
            for (CompletableFuture<ApplyResult> f : hung) {
                assertThat(cause(f)).isInstanceOf(RaftNode.OutcomeUnknownException.class);
            }
            // The slots came back. The write that waited for one had too little of its time left when one freed: not
            // sent, and told so (or, if it got a slot with time left, it went through or ended unknown); later
            // writes go through.
            boolean queuedOk;
            try {
                queuedOk = queued.get(60, TimeUnit.SECONDS).isOk();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof RaftNode.OutcomeUnknownException)) {
                    assertThat(e.getCause()).isInstanceOf(RaftNode.NotSentException.class);
                }
                queuedOk = false;
            }
            assertThat(node.propose(put("later")).get(60, TimeUnit.SECONDS).isOk()).isTrue();
            await().atMost(Duration.ofSeconds(30)).until(() -> node.inFlight() == 0);
            for (int i = 0; i < RaftNode.MAX_IN_FLIGHT; i++) assertThat(store.kvGet("hung/" + i).value()).as("hung/%d never reached the server", i).isNull();
            if (queuedOk) assertThat(store.kvGet("after").value()).isNotNull();
            assertThat(store.kvGet("later").value()).isNotNull();
        }
    }

    @Test
    void refusalsNamingEachOtherBackOffAndEndAsOutcomeUnknown() throws Exception {
        StateStore store = new StateStore(Executors.newVirtualThreadPerTaskExecutor());
        try (RaftNode node = start(store)) {
            node.attemptSeam = DirectWriteBoundsTest::refuseNamingTheOther;
            long before = node.directAttempts();
            Throwable why = cause(node.propose(put("pingpong")));
            long attempts = node.directAttempts() - before;
            System.out.printf("refusals naming each other: %d attempts before outcome unknown%n", attempts);
            assertThat(why).isInstanceOf(RaftNode.OutcomeUnknownException.class);
            // Retried at once a few times, then with growing pauses up to the deadline: tens of attempts, where an
            // immediate re-send every time made thousands.
            assertThat(attempts).isGreaterThan(3).isLessThan(200);
            node.attemptSeam = null;
            await().atMost(Duration.ofSeconds(30)).until(() -> node.inFlight() == 0);
            assertThat(node.propose(put("later")).get(60, TimeUnit.SECONDS).isOk()).isTrue();
            assertThat(store.kvGet("pingpong").value()).isNull();
        }
    }

    @Test
    void closeEndsWritesWhoseRetriesAreScheduledAsOutcomeUnknown() throws Exception {
        StateStore store = new StateStore(Executors.newVirtualThreadPerTaskExecutor());
        RaftNode node = start(store);
        try {
            node.attemptSeam = DirectWriteBoundsTest::refuseNamingTheOther;
            long before = node.directAttempts();
            CompletableFuture<ApplyResult> write = node.propose(put("closing"));
            // Past the immediate retries: the next one is scheduled with a pause.
            await().atMost(Duration.ofSeconds(30)).until(() -> node.directAttempts() - before > 5 || write.isDone());
            assertThat(write).isNotDone();
            node.close();
            // Ended by close() itself, not by propose()'s own deadline (a TimeoutException) nor left pending.
            assertThat(cause(write)).isInstanceOf(RaftNode.OutcomeUnknownException.class);
            assertThatThrownBy(() -> node.propose(put("afterClose")).get(60, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
        } finally {
            node.close();
        }
    }

    /** A refusal naming as leader the server not asked (s0 and a ghost name each other, as in an election). */
    static CompletableFuture<RaftClientReply> refuseNamingTheOther(org.apache.ratis.protocol.RaftClientRequest request, RaftPeerId target) {
        RaftPeer s0 = RaftPeer.newBuilder().setId("s0").setAddress("127.0.0.1:1").build();
        RaftPeer ghost = RaftPeer.newBuilder().setId("ghost").setAddress("127.0.0.1:2").build();
        RaftPeer named = target.equals(s0.getId()) ? ghost : s0;
        NotLeaderException refusal = new NotLeaderException(RaftGroupMemberId.valueOf(target, request.getRaftGroupId()), named, List.of(s0, ghost));
        return CompletableFuture.completedFuture(RaftClientReply.newBuilder().setRequest(request).setException(refusal).build());
    }

    private static Command put(String key) {
        return new Command.KvPut(key, "v".getBytes(StandardCharsets.UTF_8), 0, null, null, null, null);
    }
}

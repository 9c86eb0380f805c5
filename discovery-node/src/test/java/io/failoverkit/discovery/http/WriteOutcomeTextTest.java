package io.failoverkit.discovery.http;

import org.apache.ratis.protocol.exceptions.RaftRetryFailureException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.concurrent.CompletionException;

import static org.assertj.core.api.Assertions.assertThat;

/** Which Raft failures HTTP reports as "write outcome unknown" (may still be applied) rather than as a plain failure. */
class WriteOutcomeTextTest {
    @Test
    void ratisClientGivingUpIsOutcomeUnknown() {
        // The Ratis-client path (used around elections) gives up with RaftRetryFailureException: an old leader may have
        // appended the entry, which may still commit.
        var gaveUp = new RaftRetryFailureException(null, 60, null, new IOException("no leader"));
        assertThat(ServerSide.outcomeUnknown(new CompletionException(gaveUp))).isTrue();
        // Its window failed by an earlier request (RaftNode.explain keeps the AlreadyClosedException as suppressed).
        IOException closed = new IOException("raft request failed: an earlier request failed");
        closed.addSuppressed(new org.apache.ratis.protocol.exceptions.AlreadyClosedException("closed"));
        assertThat(ServerSide.outcomeUnknown(new CompletionException(closed))).isTrue();
        assertThat(ServerSide.outcomeUnknown(new CompletionException(new java.util.concurrent.TimeoutException()))).isTrue();
        // A failure of the state machine is final.
        assertThat(ServerSide.outcomeUnknown(new CompletionException(new org.apache.ratis.protocol.exceptions.StateMachineException("bad")))).isFalse();
        assertThat(ServerSide.OUTCOME_UNKNOWN_ADVICE).contains("?cas=").doesNotContain("read before");
    }

    @Test
    void aWriteNeverSentIsAPlainFailureSafeToRetry() {
        var notSent = new io.failoverkit.discovery.raft.RaftNode.NotSentException("raft write not sent: nothing was written");
        assertThat(ServerSide.outcomeUnknown(new CompletionException(notSent))).isFalse();
        assertThat(ServerSide.notSent(new CompletionException(notSent))).isTrue();
        assertThat(ServerSide.notSent(new CompletionException(new IOException("other")))).isFalse();
    }
}

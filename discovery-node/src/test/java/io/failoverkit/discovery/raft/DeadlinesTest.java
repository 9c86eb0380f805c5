package io.failoverkit.discovery.raft;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A bound fails a future that is still open at its deadline, as orTimeout does, and leaves alone one that completed. */
class DeadlinesTest {
    @Test
    void aFutureStillOpenAtItsDeadlineFailsWithATimeout() throws Exception {
        try (Deadlines d = new Deadlines("deadlines-test")) {
            CompletableFuture<String> f = d.bound(new CompletableFuture<>(), 1, TimeUnit.MILLISECONDS);
            // Generous: the sweep runs every 50 ms; a loaded machine may run it late, never not at all.
            assertThatThrownBy(() -> f.get(30, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(TimeoutException.class);
        }
    }

    @Test
    void aFutureCompletedInTimeKeepsItsValueAndItsBoundIsDropped() throws Exception {
        try (Deadlines d = new Deadlines("deadlines-test")) {
            CompletableFuture<String> f = d.bound(new CompletableFuture<>(), 1, TimeUnit.HOURS);
            assertThat(d.held()).isEqualTo(1);
            f.complete("applied");
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (d.held() > 0 && System.nanoTime() - until < 0) Thread.sleep(10);
            assertThat(d.held()).isZero();
            assertThat(f.get()).isEqualTo("applied");
        }
    }

    @Test
    void aCompletedFutureIsNotEvenHeld() {
        try (Deadlines d = new Deadlines("deadlines-test")) {
            CompletableFuture<String> f = d.bound(CompletableFuture.completedFuture("done"), 1, TimeUnit.MILLISECONDS);
            assertThat(d.held()).isZero();
            assertThat(f.join()).isEqualTo("done");
        }
    }

    @Test
    void aBoundFarAwayLeavesTheFutureOpen() throws Exception {
        try (Deadlines d = new Deadlines("deadlines-test")) {
            CompletableFuture<String> far = d.bound(new CompletableFuture<>(), 1, TimeUnit.HOURS);
            CompletableFuture<String> near = d.bound(new CompletableFuture<>(), 1, TimeUnit.MILLISECONDS);
            // once the near one has fired, a sweep has seen the far one too
            assertThatThrownBy(() -> near.get(30, TimeUnit.SECONDS)).hasCauseInstanceOf(TimeoutException.class);
            assertThat(far).isNotDone();
        }
    }
}

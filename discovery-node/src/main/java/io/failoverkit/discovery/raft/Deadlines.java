package io.failoverkit.discovery.raft;

import java.util.Iterator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Bounds futures in time, as {@link CompletableFuture#orTimeout} does, with one sweep every {@link #SWEEP_MS} ms
 * instead of a timer per future. A write's path bounded four futures; on JDK 25 each orTimeout is a task on the common
 * pool's delay scheduler, whose thread is woken to take it in and again to cancel it: about four context switches
 * per write on the leader (bench/kv.sh, bench/threadcpu.py). Here a bound is one lock-free enqueue, and nothing runs
 * when the future completes in time: the sweep drops completed futures.
 * <p>
 * A bound fires up to {@link #SWEEP_MS} ms late, with a {@link TimeoutException} as orTimeout's; what depends on the
 * future then runs on the sweeping thread (as it ran on the JDK's delay scheduler), so it must hand long work off.
 */
final class Deadlines implements AutoCloseable {
    static final long SWEEP_MS = 50;

    private record Bound(CompletableFuture<?> future, long deadlineNanos) {}

    private final ConcurrentLinkedQueue<Bound> bounds = new ConcurrentLinkedQueue<>();
    private final ScheduledExecutorService sweeper;

    Deadlines(String name) {
        sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        sweeper.scheduleWithFixedDelay(this::sweep, SWEEP_MS, SWEEP_MS, TimeUnit.MILLISECONDS);
    }

    /** {@code future} itself, failed with a TimeoutException if it is not complete {@code timeout} from now. */
    <T> CompletableFuture<T> bound(CompletableFuture<T> future, long timeout, TimeUnit unit) {
        if (!future.isDone()) bounds.add(new Bound(future, System.nanoTime() + unit.toNanos(timeout)));
        return future;
    }

    /** Bounds held, completed futures among them until the next sweep drops them (tests). */
    int held() {
        return bounds.size();
    }

    private void sweep() {
        long now = System.nanoTime();
        for (Iterator<Bound> it = bounds.iterator(); it.hasNext(); ) {
            Bound b = it.next();
            // Nothing may end the periodic task (a scheduled task that throws is never run again, and then no write
            // would ever time out): a dependent's failure is its own future's, anything else is kept from the sweep.
            try {
                if (b.future().isDone()) {
                    it.remove();
                } else if (now - b.deadlineNanos() >= 0) {
                    it.remove();
                    b.future().completeExceptionally(new TimeoutException());
                }
            } catch (Throwable t) {
                org.slf4j.LoggerFactory.getLogger(Deadlines.class).warn("a write deadline's dependent failed on the sweep: {}", t.toString());
            }
        }
    }

    /** Stops sweeping: bounds not reached yet never fire (the owner fails what is still open at its close). */
    @Override
    public void close() {
        sweeper.shutdownNow();
    }
}

package io.failoverkit.discovery.gossip.swim;

import io.failoverkit.discovery.gossip.transport.Scheduler;

import java.util.HashSet;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * Lifeguard's suspicion timer for one suspected node. It starts at {@code max} (or at {@code min} when no
 * confirmations are expected, k &lt; 1) and shrinks towards {@code min} as independent confirmations arrive (other
 * members that suspect the same node): after n of the k expected ones the timeout is
 * {@code max - (max - min) x log(n + 1) / log(k + 1)}, never below {@code min}, counted from the start.
 * Runs on the node's scheduler; not thread-safe.
 */
final class Suspicion {
    private final Scheduler scheduler;
    private final int k;
    private final long minNanos;
    private final long maxNanos;
    private final long start;
    private final IntConsumer onTimeout;
    private final Set<String> confirmations = new HashSet<>();
    private int n;
    private boolean fired;
    private Scheduler.Cancellable timer;
    private long dueAt;
    private long notBefore;
    private int postponed;

    Suspicion(Scheduler scheduler, String from, int k, long minNanos, long maxNanos, IntConsumer onTimeout) {
        this.scheduler = scheduler;
        this.k = k;
        this.minNanos = minNanos;
        this.maxNanos = maxNanos;
        this.onTimeout = onTimeout;
        this.start = scheduler.nanoTime();
        confirmations.add(from);
        arm(k < 1 ? minNanos : maxNanos);
    }

    private void arm(long delayNanos) {
        dueAt = scheduler.nanoTime() + delayNanos;
        timer = scheduler.schedule(delayNanos, this::fire);
    }

    /** When the running timer is due (scheduler time). */
    long dueAt() {
        return dueAt;
    }

    /** How many times {@link #postpone} re-armed it. */
    int postponed() {
        return postponed;
    }

    /**
     * Re-arms a timer that fired (from within its timeout callback) to fire again {@code delayNanos} from now; until
     * then confirmations do not bring it forward. For a node that finds it was not running when the timer came due.
     */
    void postpone(long delayNanos) {
        timer.cancel();
        fired = false;
        postponed++;
        notBefore = scheduler.nanoTime() + delayNanos;
        arm(delayNanos);
    }

    /**
     * The time still to wait after {@code elapsed} once {@code n} of {@code k} confirmations arrived (memberlist's
     * remainingSuspicionTime: the total is rounded down to the millisecond and never below {@code min}; the result is
     * negative when it is already overdue).
     */
    static long remainingNanos(int n, int k, long elapsedNanos, long minNanos, long maxNanos) {
        double frac = Math.log(n + 1.0) / Math.log(k + 1.0);
        double rawSeconds = maxNanos / 1e9 - frac * (maxNanos - minNanos) / 1e9;
        long timeout = (long) Math.floor(1000.0 * rawSeconds) * 1_000_000L;
        if (timeout < minNanos) timeout = minNanos;
        return timeout - elapsedNanos;
    }

    /** Counts a confirmation from {@code from}; true when it was a new one (then it is worth re-broadcasting). */
    boolean confirm(String from) {
        if (n >= k || fired) return false;
        if (!confirmations.add(from)) return false;
        n++;
        long now = scheduler.nanoTime();
        long remaining = remainingNanos(n, k, now - start, minNanos, maxNanos);
        if (postponed > 0) remaining = Math.max(remaining, notBefore - now);
        timer.cancel();
        if (remaining > 0) {
            arm(remaining);
        } else {
            dueAt = now;
            timer = () -> {};
            scheduler.execute(this::fire);
        }
        return true;
    }

    int confirmations() {
        return n;
    }

    void cancel() {
        fired = true;
        timer.cancel();
    }

    private void fire() {
        if (fired) return;
        fired = true;
        onTimeout.accept(n);
    }
}

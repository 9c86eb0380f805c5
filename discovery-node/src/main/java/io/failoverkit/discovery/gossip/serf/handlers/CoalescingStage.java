package io.failoverkit.discovery.gossip.serf.handlers;

import io.failoverkit.discovery.gossip.serf.SerfEvent;

import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Serf's coalesce loop: the first event a {@link Coalescer} takes opens a window that is flushed after the coalesce
 * period, or earlier once the quiescent period passes with no new event; events it does not take pass straight
 * through. Every method, and the timers, run on the one thread of {@code timer} (the caller's duty for
 * {@link #accept}).
 */
final class CoalescingStage implements Consumer<SerfEvent> {
    private final ScheduledExecutorService timer;
    private final long periodNanos;
    private final long quiescentNanos;
    private final Coalescer coalescer;
    private final Consumer<SerfEvent> downstream;
    private ScheduledFuture<?> quantum;
    private ScheduledFuture<?> quiescent;
    private long window;

    CoalescingStage(ScheduledExecutorService timer, Duration period, Duration quiescent, Coalescer coalescer,
                    Consumer<SerfEvent> downstream) {
        this.timer = timer;
        this.periodNanos = period.toNanos();
        this.quiescentNanos = quiescent.toNanos();
        this.coalescer = coalescer;
        this.downstream = downstream;
    }

    @Override public void accept(SerfEvent e) {
        if (!coalescer.handles(e)) {
            downstream.accept(e);
            return;
        }
        long w = window;
        if (quantum == null) quantum = timer.schedule(() -> flush(w), periodNanos, TimeUnit.NANOSECONDS);
        if (quiescent != null) quiescent.cancel(false);
        quiescent = timer.schedule(() -> flush(w), quiescentNanos, TimeUnit.NANOSECONDS);
        coalescer.add(e);
    }

    private void flush(long w) {
        if (w != window) return; // a timer of a window already flushed
        window++;
        if (quantum != null) quantum.cancel(false);
        if (quiescent != null) quiescent.cancel(false);
        quantum = null;
        quiescent = null;
        for (SerfEvent e : coalescer.flush()) downstream.accept(e);
    }

    /** Flushes what is pending now (on shutdown). */
    void flushNow() {
        flush(window);
    }
}

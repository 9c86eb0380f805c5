package io.failoverkit.discovery.gossip.transport.sim;

import io.failoverkit.discovery.gossip.transport.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.PriorityQueue;
import java.util.function.BooleanSupplier;

/**
 * One virtual clock and event queue for a whole simulated pool: every node's {@link SimScheduler} and the
 * {@link SimNetwork} put their events here, and {@link #runUntil} runs them in time order, ties in the order they were
 * queued. Single-threaded and deterministic: the same seeds and the same calls give the same run. Time only moves
 * when the caller runs the clock. A task that throws is logged and counted ({@link #failures()}); the run goes on.
 */
public final class SimClock {
    private static final Logger LOG = LoggerFactory.getLogger(SimClock.class);

    private final PriorityQueue<Event> queue = new PriorityQueue<>((a, b) ->
            a.time != b.time ? Long.compare(a.time, b.time) : Long.compare(a.seq, b.seq));
    private long now;
    private long seq;
    private long failures;
    private long eventsRun;

    /** Virtual nanoseconds since the clock was made. */
    public long nanoTime() {
        return now;
    }

    /** {@link #nanoTime()} as a Duration. */
    public Duration elapsed() {
        return Duration.ofNanos(now);
    }

    /** Queues {@code task} at virtual time {@code time} (not before now) for {@code owner} (null: the network). */
    Event at(long time, SimScheduler owner, boolean packet, Runnable task) {
        Event e = new Event(Math.max(time, now), seq++, owner, packet, task);
        queue.add(e);
        return e;
    }

    /** Puts an event held by a paused scheduler back, due now, after what is already queued for now. */
    void requeue(Event e) {
        e.time = now;
        e.seq = seq++;
        queue.add(e);
    }

    /** Runs every event due up to {@code time}, then sets the clock to it. */
    public void runUntil(long time) {
        while (!queue.isEmpty() && queue.peek().time <= time) {
            Event e = queue.poll();
            if (e.cancelled) continue;
            now = e.time;
            SimScheduler owner = e.owner;
            if (owner != null) {
                if (owner.isShutdown()) continue;
                if (owner.isPaused()) {
                    owner.hold(e);
                    continue;
                }
            }
            Runnable task = e.task;
            e.task = null;
            eventsRun++;
            try {
                task.run();
            } catch (Throwable t) {
                failures++;
                LOG.warn("simulated task failed", t);
            }
        }
        if (time > now) now = time;
    }

    public void runFor(Duration d) {
        runUntil(now + d.toNanos());
    }

    /**
     * Runs in steps of {@code step} until {@code done} holds (checked after each step) or {@code max} virtual time
     * passed. True when {@code done} held.
     */
    public boolean runUntil(BooleanSupplier done, Duration step, Duration max) {
        long end = now + max.toNanos();
        while (!done.getAsBoolean()) {
            if (now >= end) return false;
            runUntil(Math.min(end, now + step.toNanos()));
        }
        return true;
    }

    /** Tasks that threw. */
    public long failures() {
        return failures;
    }

    public long eventsRun() {
        return eventsRun;
    }

    static final class Event implements Scheduler.Cancellable {
        long time;
        long seq;
        final SimScheduler owner;
        final boolean packet;
        Runnable task;
        boolean cancelled;

        Event(long time, long seq, SimScheduler owner, boolean packet, Runnable task) {
            this.time = time;
            this.seq = seq;
            this.owner = owner;
            this.packet = packet;
            this.task = task;
        }

        @Override
        public void cancel() {
            cancelled = true;
            task = null;
        }
    }
}

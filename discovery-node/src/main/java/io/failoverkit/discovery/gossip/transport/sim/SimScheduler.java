package io.failoverkit.discovery.gossip.transport.sim;

import io.failoverkit.discovery.gossip.transport.Scheduler;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * One simulated node's {@link Scheduler} on the shared {@link SimClock}, with a seeded random source. It can be
 * paused as a SIGSTOPped process: nothing of it runs; its timers that come due wait, and so do the packets that
 * arrive for it (up to {@link #PAUSED_PACKET_CAPACITY}, as a socket's receive buffer, the rest dropped); on
 * {@link #resume()} all that waited runs at once: first the timers that came due, then the packets (each in order), as
 * in a real process, whose scheduler thread finds its overdue timers at the head of its queue while the packets still
 * sit in the socket buffer, to be read and queued behind them. {@link #shutdown()} is a SIGKILL: nothing runs again.
 */
public final class SimScheduler implements Scheduler {
    /** Packets a paused node keeps (a UDP receive buffer of ~200 KB holds a few hundred small packets). */
    public static final int PAUSED_PACKET_CAPACITY = 256;

    private final SimClock clock;
    private final String name;
    private final SplittableRandom random;
    private final List<SimClock.Event> held = new ArrayList<>();
    private int heldPackets;
    private long droppedWhilePaused;
    private boolean paused;
    private boolean shutdown;

    public SimScheduler(SimClock clock, String name, long seed) {
        this.clock = clock;
        this.name = name;
        this.random = new SplittableRandom(seed);
    }

    public String name() {
        return name;
    }

    public SimClock clock() {
        return clock;
    }

    @Override
    public long nanoTime() {
        return clock.nanoTime();
    }

    @Override
    public Cancellable schedule(long delayNanos, Runnable task) {
        if (shutdown) return () -> {};
        return clock.at(clock.nanoTime() + Math.max(0, delayNanos), this, false, task);
    }

    @Override
    public void execute(Runnable task) {
        if (shutdown) return;
        clock.at(clock.nanoTime(), this, false, task);
    }

    /** Runs {@code task} at {@code delayNanos} from now as a packet arrival (held, or dropped when full, while paused). */
    void deliver(long delayNanos, Runnable task) {
        if (shutdown) return;
        clock.at(clock.nanoTime() + Math.max(0, delayNanos), this, true, task);
    }

    @Override
    public RandomGenerator random() {
        return random;
    }

    @Override
    public void shutdown() {
        shutdown = true;
        held.clear();
    }

    public boolean isShutdown() {
        return shutdown;
    }

    public boolean isPaused() {
        return paused;
    }

    /** SIGSTOP. */
    public void pause() {
        paused = true;
    }

    /** SIGCONT: what waited runs now, the overdue timers first, then the packets (see the class comment). */
    public void resume() {
        if (!paused) return;
        paused = false;
        List<SimClock.Event> due = new ArrayList<>(held);
        held.clear();
        heldPackets = 0;
        for (SimClock.Event e : due) if (!e.cancelled && !e.packet) clock.requeue(e);
        for (SimClock.Event e : due) if (!e.cancelled && e.packet) clock.requeue(e);
    }

    /** Packets that arrived while paused and found the buffer full. */
    public long droppedWhilePaused() {
        return droppedWhilePaused;
    }

    void hold(SimClock.Event e) {
        if (e.packet) {
            if (heldPackets >= PAUSED_PACKET_CAPACITY) {
                droppedWhilePaused++;
                return;
            }
            heldPackets++;
        }
        held.add(e);
    }

    @Override
    public String toString() {
        return "SimScheduler[" + name + "]";
    }
}

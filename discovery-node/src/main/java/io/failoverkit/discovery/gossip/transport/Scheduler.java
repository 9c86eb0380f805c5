package io.failoverkit.discovery.gossip.transport;

import java.util.random.RandomGenerator;

/**
 * When gossip things happen. All of a node's protocol state is touched only by tasks of its scheduler, one at a
 * time, so the state machine needs no locks and a simulated scheduler (virtual clock, seeded random) makes a whole
 * pool deterministic. The real one is a single daemon thread.
 */
public interface Scheduler {
    /** Monotonic time in nanoseconds (virtual in a simulation). */
    long nanoTime();

    /** Runs {@code task} after {@code delayNanos}; the handle cancels it if it has not run. */
    Cancellable schedule(long delayNanos, Runnable task);

    /** Runs {@code task} as soon as possible, after what is already queued for now. */
    void execute(Runnable task);

    /** This node's random source (seeded in a simulation). Only used from scheduler tasks. */
    RandomGenerator random();

    /** Stops running tasks; pending ones are dropped. */
    void shutdown();

    interface Cancellable {
        void cancel();
    }
}

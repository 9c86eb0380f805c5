package io.failoverkit.failover.drill;

import io.failoverkit.failover.watch.Manager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;

/**
 * A drill's {@link Manager} on its own thread, ended in order: {@link #close} asks the loop to stop after its cycle
 * (it releases the lock while its thread is not interrupted, so the release reaches the discovery node) and returns
 * only once the thread has ended, so the servers the loop uses can be closed after it without a task reaching a
 * closed executor. Only a loop that does not end within the first bound is interrupted.
 */
public final class ManagerThread implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ManagerThread.class);
    private static final Duration STOP_BOUND = Duration.ofSeconds(60);
    private static final Duration INTERRUPT_BOUND = Duration.ofSeconds(30);

    private final Manager manager;
    private final Thread thread;

    private ManagerThread(Manager manager, Thread thread) {
        this.manager = manager;
        this.thread = thread;
    }

    /** Starts {@code manager}'s loop for at most {@code maxRun}. */
    public static ManagerThread start(Manager manager, Duration maxRun) {
        long deadline = System.nanoTime() + maxRun.toNanos();
        Thread t = Thread.ofPlatform().name("drill-manager").start(() -> {
            try {
                manager.run(deadline);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        return new ManagerThread(manager, t);
    }

    /** True once the loop's thread has ended. */
    public boolean ended() {
        return !thread.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        manager.stop();
        thread.join(STOP_BOUND);
        if (thread.isAlive()) {
            LOG.warn("the drill's manager did not stop within {} s of being asked; interrupting it", STOP_BOUND.toSeconds());
            thread.interrupt();
            thread.join(INTERRUPT_BOUND);
        }
        if (thread.isAlive()) {
            throw new IllegalStateException("the drill's manager did not end within " + (STOP_BOUND.plus(INTERRUPT_BOUND).toSeconds())
                    + " s; its servers are left open");
        }
    }
}

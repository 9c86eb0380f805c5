package io.failoverkit.discovery.gossip.transport;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.SecureRandom;
import java.util.SplittableRandom;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.random.RandomGenerator;

/**
 * The real {@link Scheduler}: one daemon thread per node running the node's tasks one at a time, on
 * {@link System#nanoTime()}. A task that throws is logged and counted ({@link #failedTasks()}); the thread goes on.
 * Tasks due at the same time run in the order they were submitted. After {@link #shutdown()} new tasks are dropped
 * silently (a late transport callback must not blow up).
 */
public final class RealScheduler implements Scheduler {
    private static final Logger LOG = LoggerFactory.getLogger(RealScheduler.class);

    private final ScheduledThreadPoolExecutor executor;
    private final RandomGenerator random = new SplittableRandom(new SecureRandom().nextLong());
    private final AtomicLong failed = new AtomicLong();
    private volatile Thread thread;

    public RealScheduler(String name) {
        this.executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "gossip-" + name);
            t.setDaemon(true);
            thread = t;
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        executor.setContinueExistingPeriodicTasksAfterShutdownPolicy(false);
    }

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public Cancellable schedule(long delayNanos, Runnable task) {
        try {
            ScheduledFuture<?> f = executor.schedule(guard(task), Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
            return () -> f.cancel(false);
        } catch (RejectedExecutionException e) {
            return () -> {};
        }
    }

    @Override
    public void execute(Runnable task) {
        try {
            executor.execute(guard(task));
        } catch (RejectedExecutionException ignored) {
            // shut down: dropped
        }
    }

    @Override
    public RandomGenerator random() {
        return random;
    }

    @Override
    public void shutdown() {
        executor.shutdownNow();
    }

    /** True when called from this scheduler's thread. */
    public boolean inScheduler() {
        return Thread.currentThread() == thread;
    }

    /** Tasks that threw since start (each was logged). */
    public long failedTasks() {
        return failed.get();
    }

    private Runnable guard(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (Throwable t) {
                failed.incrementAndGet();
                LOG.warn("gossip task failed", t);
            }
        };
    }
}

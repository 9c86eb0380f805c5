package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.transport.Scheduler;

import java.util.PriorityQueue;
import java.util.Random;
import java.util.random.RandomGenerator;

/** A scheduler on a virtual clock that runs only when the test advances it: deterministic, single-threaded. */
final class ManualScheduler implements Scheduler {
    private record Task(long at, long seq, Runnable run, boolean[] cancelled) {}

    private final PriorityQueue<Task> queue = new PriorityQueue<>((a, b) -> a.at != b.at ? Long.compare(a.at, b.at) : Long.compare(a.seq, b.seq));
    private final Random random;
    private long now;
    private long seq;
    private boolean shut;

    ManualScheduler(long seed) { random = new Random(seed); }

    @Override public long nanoTime() { return now; }

    @Override public Cancellable schedule(long delayNanos, Runnable task) {
        boolean[] c = {false};
        if (!shut) queue.add(new Task(now + Math.max(0, delayNanos), seq++, task, c));
        return () -> c[0] = true;
    }

    @Override public void execute(Runnable task) { schedule(0, task); }

    @Override public RandomGenerator random() { return random; }

    @Override public void shutdown() {
        shut = true;
        queue.clear();
    }

    /** Runs everything due up to now + {@code nanos}, advancing the clock task by task. */
    void advance(long nanos) {
        long end = now + nanos;
        while (!queue.isEmpty() && queue.peek().at <= end) {
            Task t = queue.poll();
            now = Math.max(now, t.at);
            if (!t.cancelled[0]) t.run.run();
        }
        now = end;
    }

    /** Runs what is due now. */
    void runDue() { advance(0); }
}

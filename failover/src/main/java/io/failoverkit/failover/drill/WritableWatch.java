package io.failoverkit.failover.drill;

import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.InstanceState;

import java.time.Duration;
import java.util.List;

/**
 * Samples every member every 50 ms, with its own connections, and adds up the time during which two or more of them
 * were writable at once (split brain as a client could see it). Bounded by {@code maxRun}.
 */
public final class WritableWatch implements Runnable, AutoCloseable {
    private final Servers servers;
    private final List<String> members;
    private final long deadlineNanos;
    private final Thread thread;
    private volatile boolean stop;
    private volatile long twoWritableMillis;
    private volatile int maxWritable;
    private volatile int samples;

    public WritableWatch(Servers servers, List<String> members, Duration maxRun) {
        this.servers = servers;
        this.members = members;
        this.deadlineNanos = System.nanoTime() + maxRun.toNanos();
        this.thread = Thread.ofPlatform().daemon().name("writable-watch").start(this);
    }

    @Override
    public void run() {
        long last = System.nanoTime();
        while (!stop && System.nanoTime() < deadlineNanos) {
            int writable = (int) servers.observeAll(members).instances().stream().filter(InstanceState::isMaster).count();
            long now = System.nanoTime();
            if (writable >= 2) twoWritableMillis += (now - last) / 1_000_000;
            maxWritable = Math.max(maxWritable, writable);
            samples++;
            last = now;
            try { Thread.sleep(50); } catch (InterruptedException e) { break; }
        }
    }

    /** Milliseconds (sampled every ~50 ms) with two or more writable members. */
    public long twoWritableMillis() { return twoWritableMillis; }

    public int maxWritable() { return maxWritable; }

    public int samples() { return samples; }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        thread.interrupt();
        thread.join(30_000); // a sample in progress ends within its observation bound
        servers.close();
    }
}

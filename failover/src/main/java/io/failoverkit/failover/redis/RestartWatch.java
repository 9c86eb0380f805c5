package io.failoverkit.failover.redis;

import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisPubSub;

import java.util.function.Supplier;

/**
 * Issue 9, hole 4: notices at once that the master came back from a restart, so the manager observes it before its
 * replicas resync from it (their replication cron reconnects within about a second, and a master with persistence
 * off hands them an empty data set). It keeps one connection to the master parked in SUBSCRIBE (the server pushes
 * nothing on it; Redis's role changes and CLIENT KILL TYPE normal leave pub/sub clients alone), so a dead process shows
 * as end-of-stream the moment its socket closes. Then it reconnects every {@value #FAST_POLL_MILLIS} ms; when the
 * server answers again it calls {@code onReturn} (the manager's wake-up) and parks again. A server that stays away is
 * polled more slowly, and given up after {@value #GIVE_UP_SECONDS} s (the manager's normal detection handles a death).
 * A frozen master keeps the connection open and shows nothing here, which is fine: nothing restarted.
 */
final class RestartWatch implements AutoCloseable {
    static final long FAST_POLL_MILLIS = 10;
    static final long FAST_POLL_SECONDS = 10;
    static final long SLOW_POLL_MILLIS = 500;
    static final long GIVE_UP_SECONDS = 120;
    private static final String CHANNEL = "__failoverkit:restart-watch";

    final String address;
    private final Supplier<Jedis> connect;
    private final Runnable onReturn;
    private final Thread thread;
    private volatile boolean closed;
    private volatile Jedis parked;

    RestartWatch(String address, Supplier<Jedis> connect, Runnable onReturn) {
        this.address = address;
        this.connect = connect;
        this.onReturn = onReturn;
        this.thread = Thread.ofVirtual().name("restart-watch " + address).start(this::run);
    }

    private void run() {
        boolean wasDown = false;
        long downSinceNanos = 0;
        while (!closed) {
            try (Jedis j = connect.get()) {
                j.ping();
                if (wasDown) onReturn.run();
                wasDown = false;
                parked = j;
                if (closed) return;
                j.subscribe(new JedisPubSub() { }, CHANNEL); // returns (or throws) only when the connection ends
            } catch (RuntimeException e) {
                // refused, reset or end of stream: the server is away (or was killed under the parked connection)
            } finally {
                parked = null;
            }
            if (closed) return;
            long now = System.nanoTime();
            if (!wasDown) {
                wasDown = true;
                downSinceNanos = now;
            }
            long downSeconds = (now - downSinceNanos) / 1_000_000_000L;
            if (downSeconds >= GIVE_UP_SECONDS) return;
            try {
                Thread.sleep(downSeconds < FAST_POLL_SECONDS ? FAST_POLL_MILLIS : SLOW_POLL_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    boolean alive() { return thread.isAlive(); }

    @Override
    public void close() {
        closed = true;
        Jedis j = parked;
        if (j != null) {
            try { j.disconnect(); } catch (RuntimeException ignored) { }
        }
        thread.interrupt();
    }
}

package io.failoverkit.failover.drill;

import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An application as the seeds describe it: finds its master by resolving {@code master.<service>.service.consul}
 * through our DNS (SRV, for the port), and INCRs a counter every 20 ms, recording each acknowledgement. On an error it
 * resolves again and reconnects. Bounded: stops by itself at its deadline.
 */
public final class WriterProbe implements Runnable {
    public record Ack(long atMillis, String address, long value) {}

    private final MasterResolver master;
    private final String key;
    private final List<Ack> acks = new ArrayList<>();
    private final long deadlineNanos;
    private volatile boolean stop;

    public WriterProbe(String service, int dnsPort, String key, Duration maxRun) {
        this.master = new MasterResolver(service, dnsPort);
        this.key = key;
        this.deadlineNanos = System.nanoTime() + maxRun.toNanos();
    }

    public synchronized List<Ack> acks() { return List.copyOf(acks); }

    public void stop() { stop = true; }

    /** The master's host:port as DNS answers it now (see {@link MasterResolver}), or null. */
    public String resolve() { return master.resolve(); }

    @Override
    public void run() {
        Jedis jedis = null;
        String current = null;
        while (!stop && System.nanoTime() < deadlineNanos) {
            try {
                if (jedis == null) {
                    current = resolve();
                    if (current != null) {
                        int colon = current.lastIndexOf(':');
                        jedis = new Jedis(new HostAndPort(current.substring(0, colon), Integer.parseInt(current.substring(colon + 1))),
                                DefaultJedisClientConfig.builder().connectionTimeoutMillis(300).socketTimeoutMillis(300).build());
                    }
                }
                if (jedis != null) {
                    long v = jedis.incr(key);
                    synchronized (this) { acks.add(new Ack(System.currentTimeMillis(), current, v)); }
                }
            } catch (RuntimeException e) {
                if (jedis != null) { try { jedis.close(); } catch (RuntimeException ignored) { } }
                jedis = null;
            }
            try { Thread.sleep(20); } catch (InterruptedException e) { Thread.currentThread().interrupt(); break; }
        }
        if (jedis != null) jedis.close();
    }

}

package io.failoverkit.failover.drill.campaign;

import io.failoverkit.failover.drill.MasterResolver;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The application of a campaign run: finds the master through {@code master.<service>.service.consul} (our DNS, no
 * cache), dials the real server behind that name, and writes a new id every 20 ms, logging every acknowledgement
 * with whether it is acknowledged in the kind's strong sense (Redis: {@code WAIT 1} confirmed a replica has it; MySQL:
 * the commit returned with semi-sync on, which is every commit the server acknowledged). On an error it resolves
 * again and reconnects, with a new id, since a write whose answer was lost may or may not have happened.
 */
abstract class CampaignWriter implements Runnable {
    record Ack(long atMillis, String member, long id, boolean strong) {}

    private final MasterResolver resolver;
    private final UnaryOperator<String> real;
    private final List<Ack> acks = new ArrayList<>();
    private final long firstId;
    private volatile boolean stop;
    private volatile String lastError = "";
    private Thread thread;

    CampaignWriter(String service, int dnsPort, UnaryOperator<String> real, long firstId) {
        this.resolver = new MasterResolver(service, dnsPort);
        this.real = real;
        this.firstId = firstId;
    }

    /** Connects to the real server {@code address}. */
    abstract void connect(String address) throws Exception;

    /** Writes {@code id}; returns whether it is strongly acknowledged; throws when not acknowledged at all. */
    abstract boolean write(long id) throws Exception;

    abstract void disconnect();

    String resolve() { return resolver.resolve(); }

    synchronized List<Ack> acks() { return List.copyOf(acks); }

    String lastError() { return lastError; }

    void start() { thread = Thread.ofPlatform().daemon().name("campaign-writer").start(this); }

    void stop() throws InterruptedException {
        stop = true;
        if (thread != null) thread.join(10_000);
    }

    @Override
    public void run() {
        long next = firstId;
        String member = null;
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(10);
        while (!stop && System.nanoTime() < deadline) {
            try {
                if (member == null) {
                    String m = resolve();
                    if (m != null) {
                        connect(real.apply(m));
                        member = m;
                    }
                }
                if (member != null) {
                    long id = next++;
                    boolean strong = write(id);
                    synchronized (this) { acks.add(new Ack(System.currentTimeMillis(), member, id, strong)); }
                }
            } catch (Exception e) {
                lastError = e.getMessage();
                disconnect();
                member = null;
            }
            try { Thread.sleep(20); } catch (InterruptedException e) { break; }
        }
        disconnect();
    }
}

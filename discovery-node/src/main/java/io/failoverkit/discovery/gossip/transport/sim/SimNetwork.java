package io.failoverkit.discovery.gossip.transport.sim;

import io.failoverkit.discovery.gossip.transport.Transport;
import io.failoverkit.discovery.gossip.wire.Message;
import io.failoverkit.discovery.gossip.wire.PushPull;

import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;

/**
 * A simulated network on a {@link SimClock}: one {@link Transport} per node ({@link #attach}), delivering the
 * decoded {@link Message} records themselves (no encoding; sizes are estimated by {@link #estimateSize}).
 *
 * <ul>
 *   <li>Packets: each lost with probability {@link #setLoss loss}, else delivered after the latency plus a uniform
 *       jitter; a packet between two partitioned groups (at send or at arrival) is lost. A paused node's packets wait
 *       in its buffer (see {@link SimScheduler}); a killed node's are lost.</li>
 *   <li>Streams (TCP): a connection takes a round trip; each handshake packet lost costs a SYN retransmission
 *       (1 s, then 2 s, 4 s; then the connection fails), each lost data segment a 200 ms retransmission. A stream to a
 *       killed node is refused after a round trip; across a partition, or to a node that does not answer in time
 *       (paused), it fails at its timeout. Futures are completed by clock events (the caller hops onto its
 *       scheduler).</li>
 * </ul>
 * All randomness comes from the network's own seeded generator, drawn in event order: deterministic.
 */
public final class SimNetwork {
    private static final long MS = 1_000_000L;

    private final SimClock clock;
    private final SplittableRandom random;
    private final Map<InetSocketAddress, Endpoint> endpoints = new HashMap<>();
    private final Map<InetSocketAddress, Integer> groups = new HashMap<>();
    private double loss;
    private long latencyNanos = MS / 2;
    private long jitterNanos = MS / 2;
    private long packetsSent;
    private long packetsLost;

    public SimNetwork(SimClock clock, long seed) {
        this.clock = clock;
        this.random = new SplittableRandom(seed);
    }

    public SimClock clock() {
        return clock;
    }

    /** Probability that one packet (or one TCP segment) is lost, 0..1. */
    public void setLoss(double loss) {
        this.loss = loss;
    }

    /** One-way latency and the uniform jitter added to it. */
    public void setLatency(Duration latency, Duration jitter) {
        this.latencyNanos = latency.toNanos();
        this.jitterNanos = jitter.toNanos();
    }

    /** The transport of the node at {@code address}, running on {@code scheduler}. */
    public Transport attach(InetSocketAddress address, SimScheduler scheduler) {
        Endpoint e = new Endpoint(address, scheduler);
        endpoints.put(address, e);
        return e;
    }

    /** Splits the network: nodes in different groups cannot reach each other; nodes in no group form one more. */
    @SafeVarargs
    public final void partition(Collection<InetSocketAddress>... parts) {
        groups.clear();
        int g = 1;
        for (Collection<InetSocketAddress> part : parts) {
            for (InetSocketAddress a : part) groups.put(a, g);
            g++;
        }
    }

    /** Ends every partition. */
    public void heal() {
        groups.clear();
    }

    /** SIGKILL: the node's scheduler stops, its packets are lost, connections to it are refused. */
    public void kill(InetSocketAddress address) {
        Endpoint e = endpoints.get(address);
        if (e == null) return;
        e.closed = true;
        e.scheduler.shutdown();
    }

    public boolean reachable(InetSocketAddress a, InetSocketAddress b) {
        return groups.getOrDefault(a, 0).equals(groups.getOrDefault(b, 0));
    }

    /** UDP payload bytes the node at {@code address} sent. */
    public long bytesSent(InetSocketAddress address) {
        Endpoint e = endpoints.get(address);
        return e == null ? 0 : e.bytesSent;
    }

    /** Stream (TCP) payload bytes the node at {@code address} sent. */
    public long streamBytesSent(InetSocketAddress address) {
        Endpoint e = endpoints.get(address);
        return e == null ? 0 : e.streamBytesSent;
    }

    public long packetsSent() {
        return packetsSent;
    }

    public long packetsLost() {
        return packetsLost;
    }

    /** A rough encoded size of one message (msgpack map keys included), as memberlist would put it in a packet; within
     * a couple of bytes of the wire codec's for the usual field sizes. */
    public static int estimateSize(Message m) {
        return switch (m) {
            case Message.Ping p -> 20 + len(p.node()) + (len(p.sourceAddr()) > 0 ? 13 + len(p.sourceAddr()) : 0)
                    + (p.sourcePort() != 0 ? 14 : 0) + (len(p.sourceNode()) > 0 ? 12 + len(p.sourceNode()) : 0);
            case Message.IndirectPing p -> 79 + len(p.node()) + len(p.sourceNode()) + len(p.sourceAddr()) + len(p.target());
            case Message.Ack a -> 24 + len(a.payload());
            case Message.Nack n -> 13;
            case Message.Err e -> 12 + len(e.error());
            case Message.Suspect s -> 29 + len(s.node()) + len(s.from());
            case Message.Alive a -> 48 + len(a.node()) + len(a.addr()) + len(a.meta()) + len(a.vsn());
            case Message.Dead d -> 29 + len(d.node()) + len(d.from());
            case Message.User u -> 3 + len(u.payload());
        };
    }

    static int estimateSize(PushPull pp) {
        int n = 30 + len(pp.userState());
        for (PushPull.NodeEntry e : pp.nodes()) n += 70 + len(e.name()) + len(e.addr()) + len(e.meta()) + len(e.vsn());
        return n;
    }

    private static int len(String s) {
        return s == null ? 0 : s.length();
    }

    private static int len(byte[] b) {
        return b == null ? 0 : b.length;
    }

    private long oneWay() {
        return latencyNanos + (jitterNanos > 0 ? random.nextLong(jitterNanos) : 0);
    }

    private boolean lost() {
        return loss > 0 && random.nextDouble() < loss;
    }

    /** Retransmission delay of one TCP data segment under loss. */
    private long segmentPenalty() {
        long p = 0;
        for (int i = 0; i < 6 && lost(); i++) p += 200 * MS << i;
        return p;
    }

    /**
     * One request/response over a stream. {@code serve} runs on the server's scheduler and gives the response (or a
     * null one, which fails the stream unless {@code nullOk}).
     */
    private <R> CompletableFuture<R> stream(Endpoint src, InetSocketAddress to, Duration timeout, int requestSize,
                                            BiFunction<Endpoint, InetSocketAddress, CompletableFuture<R>> serve,
                                            java.util.function.ToIntFunction<R> responseSize, boolean nullOk) {
        CompletableFuture<R> f = new CompletableFuture<>();
        if (src.closed) {
            f.completeExceptionally(new IllegalStateException("transport closed"));
            return f;
        }
        long now = clock.nanoTime();
        SimClock.Event timer = clock.at(now + timeout.toNanos(), null, false,
                () -> f.completeExceptionally(new TimeoutException("stream to " + to + " timed out")));
        f.whenComplete((r, e) -> timer.cancel());
        Endpoint dst = endpoints.get(to);
        if (!reachable(src.address, to)) return f;
        if (dst == null || dst.closed) {
            clock.at(now + 2 * oneWay(), null, false,
                    () -> f.completeExceptionally(new ConnectException("connection to " + to + " refused")));
            return f;
        }
        long t = 2 * oneWay();
        for (int handshake = 0; handshake < 2; handshake++) {
            int tries = 0;
            while (lost()) {
                if (++tries > 3) return f; // gives up: the timeout fails it
                t += (1000 * MS) << (tries - 1);
            }
        }
        t += oneWay() + segmentPenalty();
        src.streamBytesSent += requestSize;
        clock.at(now + t, dst.scheduler, false, () -> {
            if (dst.closed || dst.inbox == null || !reachable(src.address, to)) return;
            CompletableFuture<R> response;
            try {
                response = serve.apply(dst, src.address);
            } catch (RuntimeException e) {
                response = CompletableFuture.failedFuture(e);
            }
            response.whenComplete((resp, err) -> {
                long back = oneWay() + segmentPenalty();
                if (err != null || (resp == null && !nullOk)) {
                    clock.at(clock.nanoTime() + back, null, false, () -> f.completeExceptionally(
                            err != null ? err : new IllegalStateException("no answer from " + to)));
                    return;
                }
                dst.streamBytesSent += resp == null ? 0 : responseSize.applyAsInt(resp);
                clock.at(clock.nanoTime() + back, null, false, () -> {
                    if (!src.closed && reachable(src.address, to)) f.complete(resp);
                });
            });
        });
        return f;
    }

    private final class Endpoint implements Transport {
        final InetSocketAddress address;
        final SimScheduler scheduler;
        Inbox inbox;
        boolean closed;
        long bytesSent;
        long streamBytesSent;

        Endpoint(InetSocketAddress address, SimScheduler scheduler) {
            this.address = address;
            this.scheduler = scheduler;
        }

        @Override
        public InetSocketAddress advertise() {
            return address;
        }

        @Override
        public boolean sendsFromAdvertised() {
            return true; // a simulated packet's source is the sender's address
        }

        @Override
        public void start(Inbox inbox) {
            this.inbox = inbox;
        }

        @Override
        public void sendPacket(InetSocketAddress to, List<Message> messages) {
            if (closed || to == null || messages.isEmpty()) return;
            int size = messages.size() > 1 ? 2 + 2 * messages.size() : 0;
            for (Message m : messages) size += estimateSize(m);
            bytesSent += size;
            packetsSent++;
            Endpoint dst = endpoints.get(to);
            if (dst == null || dst.closed || !reachable(address, to) || lost()) {
                packetsLost++;
                return;
            }
            List<Message> copy = List.copyOf(messages);
            dst.scheduler.deliver(oneWay(), () -> {
                if (dst.closed || dst.inbox == null || !reachable(address, to)) return;
                for (Message m : copy) dst.inbox.packet(address, m);
            });
        }

        @Override
        public int packetLimit() {
            return 1398;
        }

        @Override
        public int sizeOf(Message message) {
            return estimateSize(message);
        }

        @Override
        public CompletableFuture<PushPull> pushPull(InetSocketAddress to, PushPull local, Duration timeout) {
            return stream(this, to, timeout, estimateSize(local), (dst, from) -> dst.inbox.pushPull(from, local),
                    SimNetwork::estimateSize, false);
        }

        @Override
        public CompletableFuture<Message.Ack> pingStream(InetSocketAddress to, Message.Ping ping, Duration timeout) {
            return stream(this, to, timeout, estimateSize(ping), (dst, from) -> dst.inbox.streamPing(from, ping),
                    SimNetwork::estimateSize, false);
        }

        @Override
        public CompletableFuture<Void> sendStream(InetSocketAddress to, Message message, Duration timeout) {
            return stream(this, to, timeout, estimateSize(message), (dst, from) -> {
                dst.inbox.stream(from, message);
                return CompletableFuture.<Void>completedFuture(null);
            }, v -> 0, true);
        }

        @Override
        public long droppedPackets() {
            return 0;
        }

        @Override
        public void close() {
            closed = true;
        }
    }
}

package io.failoverkit.discovery.gossip.transport;

import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.Message;
import io.failoverkit.discovery.gossip.wire.PushPull;
import io.failoverkit.discovery.gossip.wire.WireException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The real {@link Transport}: a UDP socket and a TCP listener on the same port, as memberlist's NetTransport, in
 * memberlist's wire format ({@link Codec}) so stock memberlist/serf agents understand it.
 *
 * <p>Packets are read into a 64 KiB buffer by one daemon thread, decoded there and handed to the inbox message by
 * message. Streams (push-pull, TCP ping, user messages) run on virtual threads, each bounded by a deadline after which
 * its socket is closed; at most {@value #MAX_INBOUND_STREAMS} inbound streams are served at once (memberlist's
 * maxPushPullRequests). With a keyring everything sent is sealed with the primary key and anything that no key opens
 * is refused (memberlist's GossipVerifyIncoming and GossipVerifyOutgoing). Whatever cannot be decoded (packet,
 * compound part or stream) is dropped, counted in {@link #droppedPackets()} and logged at debug level only.
 */
public final class UdpTcpTransport implements Transport {
    private static final Logger LOG = LoggerFactory.getLogger(UdpTcpTransport.class);

    /** memberlist's udpPacketBufSize: the largest packet read. */
    public static final int MAX_PACKET = 65536;
    /** memberlist's UDPBufferSize (LAN): the largest packet sent with piggybacked broadcasts. */
    public static final int UDP_BUFFER_SIZE = 1400;
    /** memberlist's maxPushPullRequests: inbound streams served at once; more are closed at once. */
    public static final int MAX_INBOUND_STREAMS = 128;
    /**
     * Push-pull node entries decoded and held at once by all streams (about 40 MB of heap; a 10,000-node pool's
     * push-pulls take 10,000 each). A stream that would pass it is refused and counted: nearly empty entries compress
     * to almost nothing (50 KB on the wire made a million entries, 156 MB), and 128 streams are served at once.
     */
    public static final int MAX_PUSH_PULL_NODES_IN_FLIGHT = 256 * 1024;
    /** memberlist's udpRecvBufSize: the socket receive buffer asked for. */
    private static final int UDP_RECV_BUFFER = 2 * 1024 * 1024;

    private final DatagramSocket udp;
    private final ServerSocket tcp;
    private final InetSocketAddress advertise;
    private final Codec.Options options;
    private final Duration streamTimeout;
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean started = new AtomicBoolean();
    private final Semaphore inboundStreams = new Semaphore(MAX_INBOUND_STREAMS);
    private final Codec.NodeBudget pushPullNodes = new Codec.NodeBudget(MAX_PUSH_PULL_NODES_IN_FLIGHT);
    private final ScheduledExecutorService deadlines;
    private volatile Inbox inbox;
    private Thread udpThread;
    private Thread acceptThread;

    /**
     * Binds UDP and TCP on {@code bind} (port 0 picks one free for both).
     *
     * @param advertiseAddr the address other nodes reach this one on; null for the bind address (which then must not
     *                      be the wildcard address)
     * @param options       label, keyring, compression and CRC for what is sent and accepted
     * @param streamTimeout how long an inbound stream may take (memberlist's TCPTimeout, 10 s on a LAN)
     */
    public UdpTcpTransport(InetSocketAddress bind, InetAddress advertiseAddr, Codec.Options options, Duration streamTimeout)
            throws IOException {
        this.options = options;
        this.streamTimeout = streamTimeout;
        DatagramSocket u = null;
        ServerSocket t = null;
        IOException last = null;
        for (int attempt = 0; attempt < 20 && u == null; attempt++) {
            t = new ServerSocket();
            try {
                t.setReuseAddress(true);
                t.bind(bind, 256);
                u = new DatagramSocket(new InetSocketAddress(bind.getAddress(), t.getLocalPort()));
            } catch (IOException e) {
                last = e;
                t.close();
                u = null;
                if (bind.getPort() != 0) break;
            }
        }
        if (u == null) throw last != null ? last : new IOException("cannot bind " + bind);
        this.udp = u;
        this.tcp = t;
        try {
            udp.setReceiveBufferSize(UDP_RECV_BUFFER);
        } catch (SocketException e) {
            LOG.debug("gossip: cannot size the UDP receive buffer: {}", e.toString());
        }
        InetAddress adv = advertiseAddr != null ? advertiseAddr : bind.getAddress();
        if (adv == null || adv.isAnyLocalAddress()) {
            close();
            throw new IllegalArgumentException("an advertise address is needed when binding the wildcard address");
        }
        this.advertise = new InetSocketAddress(adv, tcp.getLocalPort());
        ScheduledThreadPoolExecutor d = new ScheduledThreadPoolExecutor(1, r -> {
            Thread th = new Thread(r, "gossip-deadlines-" + advertise.getPort());
            th.setDaemon(true);
            return th;
        });
        d.setRemoveOnCancelPolicy(true);
        this.deadlines = d;
    }

    /** Packets leave from the bound socket: from the advertised address when that is the (specific) bound one. */
    @Override
    public boolean sendsFromAdvertised() {
        InetAddress bound = udp.getLocalAddress();
        return bound != null && !bound.isAnyLocalAddress() && bound.equals(advertise.getAddress())
                && udp.getLocalPort() == advertise.getPort();
    }

    /** Binds {@code bind} and advertises its address, with memberlist's LAN TCP timeout of 10 s. */
    public UdpTcpTransport(InetSocketAddress bind, Codec.Options options) throws IOException {
        this(bind, null, options, Duration.ofSeconds(10));
    }

    @Override
    public InetSocketAddress advertise() {
        return advertise;
    }

    /** The port bound for both UDP and TCP. */
    public int port() {
        return tcp.getLocalPort();
    }

    public Codec.Options options() {
        return options;
    }

    @Override
    public void start(Inbox inbox) {
        if (!started.compareAndSet(false, true)) throw new IllegalStateException("already started");
        this.inbox = inbox;
        udpThread = new Thread(this::udpLoop, "gossip-udp-" + port());
        udpThread.setDaemon(true);
        udpThread.start();
        acceptThread = new Thread(this::acceptLoop, "gossip-tcp-" + port());
        acceptThread.setDaemon(true);
        acceptThread.start();
    }

    // ================================================================================================ packets

    @Override
    public void sendPacket(InetSocketAddress to, List<Message> messages) {
        if (messages.isEmpty() || closed.get()) return;
        List<List<Message>> batches = new ArrayList<>();
        for (int i = 0; i < messages.size(); i += 255) batches.add(messages.subList(i, Math.min(messages.size(), i + 255)));
        for (List<Message> batch : batches) {
            try {
                byte[] b = Codec.encodePacket(batch, options);
                udp.send(new DatagramPacket(b, b.length, to));
            } catch (IOException | RuntimeException e) {
                LOG.debug("gossip: packet to {} not sent: {}", to, e.toString());
            }
        }
    }

    /**
     * What piggybacked messages and the message they ride with may take in one packet: memberlist's UDPBufferSize
     * (1400) less the compound header, the label header and the encryption overhead. Each message then costs
     * {@link #sizeOf(Message)} (its bytes plus its compound length field).
     */
    @Override
    public int packetLimit() {
        return UDP_BUFFER_SIZE - Codec.packetOverhead(new Codec.Options(options.label(), options.keyring(), false, options.crc()));
    }

    @Override
    public int sizeOf(Message message) {
        return Codec.sizeOf(message);
    }

    private void udpLoop() {
        byte[] buf = new byte[MAX_PACKET];
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        while (!closed.get()) {
            try {
                p.setLength(buf.length);
                udp.receive(p);
            } catch (IOException e) {
                if (!closed.get()) LOG.debug("gossip: UDP receive failed: {}", e.toString());
                continue;
            }
            InetSocketAddress from = (InetSocketAddress) p.getSocketAddress();
            try {
                int bad = Codec.decodePacket(buf, p.getLength(), options, m -> deliver(from, m));
                if (bad > 0) {
                    dropped.addAndGet(bad);
                    LOG.debug("gossip: {} bad part(s) of a packet from {} dropped", bad, from);
                }
            } catch (WireException e) {
                dropped.incrementAndGet();
                LOG.debug("gossip: packet from {} dropped: {}", from, e.getMessage());
            } catch (RuntimeException e) {
                dropped.incrementAndGet();
                LOG.debug("gossip: packet from {} dropped: {}", from, e.toString());
            }
        }
    }

    private void deliver(InetSocketAddress from, Message m) {
        try {
            inbox.packet(from, m);
        } catch (RuntimeException e) {
            LOG.warn("gossip: the inbox failed on a packet from {}", from, e);
        }
    }

    // ================================================================================================ outbound streams

    @Override
    public CompletableFuture<PushPull> pushPull(InetSocketAddress to, PushPull local, Duration timeout) {
        return onStream(to, timeout, (in, out) -> {
            out.write(Codec.encodeStream(Codec.pushPullBody(local), options, true));
            out.flush();
            Codec.Inbound reply = Codec.readStream(in, options, false, pushPullNodes);
            return switch (reply) {
                case Codec.Inbound.State s -> {
                    pushPullNodes.release(s.pushPull().nodes().size()); // bounds the decoding; the merge follows at once
                    yield s.pushPull();
                }
                case Codec.Inbound.Msg(Message.Err e) -> throw new IOException("remote error: " + e.error());
                case Codec.Inbound.Msg m -> throw new WireException("expected a push-pull reply, got " + m.message().getClass().getSimpleName());
            };
        });
    }

    @Override
    public CompletableFuture<Message.Ack> pingStream(InetSocketAddress to, Message.Ping ping, Duration timeout) {
        return onStream(to, timeout, (in, out) -> {
            out.write(Codec.encodeStream(Codec.streamBody(ping), options, true));
            out.flush();
            Codec.Inbound reply = Codec.readStream(in, options, false);
            if (reply instanceof Codec.Inbound.Msg(Message.Ack ack)) {
                if (ack.seqNo() != ping.seqNo()) throw new WireException("sequence number from ack (" + ack.seqNo()
                        + ") doesn't match ping (" + ping.seqNo() + ")");
                return ack;
            }
            if (reply instanceof Codec.Inbound.Msg(Message.Err e)) throw new IOException("remote error: " + e.error());
            throw new WireException("expected an ack over the stream");
        });
    }

    @Override
    public CompletableFuture<Void> sendStream(InetSocketAddress to, Message message, Duration timeout) {
        return onStream(to, timeout, (in, out) -> {
            out.write(Codec.encodeStream(Codec.streamBody(message), options, true));
            out.flush();
            return null;
        });
    }

    private interface StreamWork<T> {
        T run(InputStream in, OutputStream out) throws IOException;
    }

    private <T> CompletableFuture<T> onStream(InetSocketAddress to, Duration timeout, StreamWork<T> work) {
        CompletableFuture<T> f = new CompletableFuture<>();
        if (closed.get()) {
            f.completeExceptionally(new IOException("transport closed"));
            return f;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        Thread.ofVirtual().name("gossip-stream-to-" + to).start(() -> {
            Socket s = new Socket();
            ScheduledFuture<?> killer;
            try {
                killer = deadlines.schedule(() -> closeQuietly(s), timeout.toNanos(), TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) { // closed meanwhile: the future must still complete
                closeQuietly(s);
                f.completeExceptionally(new IOException("transport closed"));
                return;
            }
            try {
                s.setTcpNoDelay(true);
                s.connect(to, (int) Math.max(1, timeout.toMillis()));
                s.setSoTimeout((int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
                T result = work.run(new BufferedInputStream(s.getInputStream()), s.getOutputStream());
                f.complete(result);
            } catch (WireException e) {
                dropped.incrementAndGet();
                LOG.debug("gossip: stream to {} dropped: {}", to, e.getMessage());
                f.completeExceptionally(e);
            } catch (IOException | RuntimeException e) {
                f.completeExceptionally(System.nanoTime() >= deadline
                        ? new TimeoutException("stream to " + to + " timed out after " + timeout) : e);
            } finally {
                killer.cancel(false);
                closeQuietly(s);
            }
        });
        return f;
    }

    // ================================================================================================ inbound streams

    private void acceptLoop() {
        while (!closed.get()) {
            Socket s;
            try {
                s = tcp.accept();
            } catch (IOException e) {
                if (!closed.get()) LOG.debug("gossip: TCP accept failed: {}", e.toString());
                continue;
            }
            if (!inboundStreams.tryAcquire()) {
                dropped.incrementAndGet();
                LOG.debug("gossip: too many inbound streams, {} refused", s.getRemoteSocketAddress());
                closeQuietly(s);
                continue;
            }
            Thread.ofVirtual().name("gossip-stream-from-" + s.getRemoteSocketAddress()).start(() -> {
                try {
                    serve(s);
                } finally {
                    inboundStreams.release();
                }
            });
        }
    }

    private void serve(Socket s) {
        InetSocketAddress from = (InetSocketAddress) s.getRemoteSocketAddress();
        long deadline = System.nanoTime() + streamTimeout.toNanos();
        ScheduledFuture<?> killer;
        try {
            killer = deadlines.schedule(() -> closeQuietly(s), streamTimeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) { // closed meanwhile
            closeQuietly(s);
            return;
        }
        try {
            s.setTcpNoDelay(true);
            s.setSoTimeout((int) Math.max(1, streamTimeout.toMillis()));
            InputStream in = new BufferedInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            Codec.Inbound got;
            try {
                got = Codec.readStream(in, options, true, pushPullNodes);
            } catch (WireException e) {
                dropped.incrementAndGet();
                LOG.debug("gossip: stream from {} dropped: {}", from, e.getMessage());
                // memberlist answers a stream it cannot read with an error message
                try {
                    out.write(Codec.encodeStream(Codec.streamBody(new Message.Err(e.getMessage())), options, false));
                    out.flush();
                } catch (IOException | RuntimeException ignored) {
                    // best effort
                }
                return;
            }
            switch (got) {
                case Codec.Inbound.State st -> {
                    try {
                        CompletableFuture<PushPull> mineF = inbox.pushPull(from, st.pushPull());
                        PushPull mine = mineF == null ? null : mineF.get(remainingNanos(deadline), TimeUnit.NANOSECONDS);
                        if (mine == null) return; // the node declined (shutting down, too busy): close without a reply
                        out.write(Codec.encodeStream(Codec.pushPullBody(mine), options, false));
                        out.flush();
                    } finally {
                        pushPullNodes.release(st.pushPull().nodes().size());
                    }
                }
                case Codec.Inbound.Msg(Message.Ping ping) -> {
                    CompletableFuture<Message.Ack> ackF = inbox.streamPing(from, ping);
                    Message.Ack ack = ackF == null ? null : ackF.get(remainingNanos(deadline), TimeUnit.NANOSECONDS);
                    if (ack == null) return;
                    out.write(Codec.encodeStream(Codec.streamBody(ack), options, false));
                    out.flush();
                }
                case Codec.Inbound.Msg m -> inbox.stream(from, m.message());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | java.util.concurrent.ExecutionException | TimeoutException e) {
            LOG.debug("gossip: stream from {} failed: {}", from, e.toString());
        } catch (RuntimeException e) {
            dropped.incrementAndGet();
            LOG.debug("gossip: stream from {} dropped: {}", from, e.toString());
        } finally {
            killer.cancel(false);
            closeQuietly(s);
        }
    }

    private static long remainingNanos(long deadline) {
        return Math.max(1, deadline - System.nanoTime());
    }

    // ================================================================================================ lifecycle

    @Override
    public long droppedPackets() {
        return dropped.get();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        udp.close();
        closeQuietly(tcp);
        if (deadlines != null) deadlines.shutdownNow();
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            if (c != null) c.close();
        } catch (Exception ignored) {
            // closing
        }
    }
}

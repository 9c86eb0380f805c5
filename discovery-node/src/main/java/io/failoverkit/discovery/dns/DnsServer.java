package io.failoverkit.discovery.dns;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * DNS over UDP and TCP on the client address. UDP queries are answered inline by a few reader threads (no hand-off
 * on the hot path); TCP connections each get a virtual thread and may carry several queries. A client that sends
 * garbage gets FORMERR and costs nothing to the others.
 */
public final class DnsServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DnsServer.class);
    private static final int TCP_IDLE_MS = 10_000;

    private final DnsResolver resolver;
    private final List<DatagramChannel> udp = new ArrayList<>();
    private final ServerSocket tcp;
    private final List<Thread> readers = new ArrayList<>();
    private final boolean offload;
    private volatile boolean closed;

    /**
     * {@code udpReaders}: threads answering UDP queries inline, each on a socket of its own (SO_REUSEPORT: the kernel
     * spreads the clients over them) when there are several, since readers sharing one channel would take turns on its
     * lock, with a futex hand-off per query. An IPv4 address gets an IPv4 socket (no IPv6 mapping on every packet).
     * {@code offload}: answer each UDP query on its own virtual thread (when answering may block, as on a client agent).
     */
    public DnsServer(DnsResolver resolver, String host, int port, int udpReaders, boolean offload) throws IOException {
        this.resolver = resolver;
        this.offload = offload;
        if (udpReaders < 1) throw new IllegalArgumentException("udpReaders must be at least 1, not " + udpReaders);
        // Port 0: the kernel picks a port free for TCP, and the UDP readers bind the same number, which a UDP socket
        // may hold already: then the pair is picked again, a bounded number of times. TCP first, and no SO_REUSEADDR on
        // UDP: with it, Linux lets a UDP bind share a port another SO_REUSEADDR socket holds (a second server would take
        // a live one's queries without an error).
        ServerSocket bound = null;
        for (int attempt = 1; bound == null; attempt++) {
            try {
                bound = bind(new InetSocketAddress(host, port), udpReaders);
            } catch (java.net.BindException e) {
                if (port != 0 || attempt >= EPHEMERAL_BIND_ATTEMPTS) throw e;
                LOG.debug("dns: the port picked for TCP is taken for UDP ({}), picking again", e.getMessage());
            }
        }
        this.tcp = bound;
        for (int i = 0; i < udpReaders; i++) {
            DatagramChannel ch = udp.get(i);
            readers.add(Thread.ofPlatform().daemon().name("dns-udp-" + i).start(() -> udpLoop(ch)));
        }
        Thread.ofVirtual().name("dns-tcp-accept").start(this::tcpAccept);
    }

    /** How many times a UDP/TCP port pair is picked when asked for port 0 before giving up. */
    static final int EPHEMERAL_BIND_ATTEMPTS = 20;

    /**
     * Binds the TCP socket, then the UDP readers' channels (into {@link #udp}) on the same port; on failure everything
     * opened here is closed again and {@link #udp} is left empty.
     */
    private ServerSocket bind(InetSocketAddress bind, int udpReaders) throws IOException {
        ServerSocket server = null;
        try {
            server = new ServerSocket();
            server.setReuseAddress(true);
            server.bind(bind, 128);
            InetSocketAddress at = new InetSocketAddress(bind.getAddress(), server.getLocalPort());
            for (int i = 0; i < udpReaders; i++) {
                DatagramChannel ch = at.getAddress() instanceof Inet4Address
                        ? DatagramChannel.open(StandardProtocolFamily.INET) : DatagramChannel.open();
                udp.add(ch);
                if (udpReaders > 1) ch.setOption(StandardSocketOptions.SO_REUSEPORT, true);
                ch.setOption(StandardSocketOptions.SO_RCVBUF, 4 << 20);
                ch.bind(at);
            }
            return server;
        } catch (IOException | RuntimeException e) {
            if (server != null) try { server.close(); } catch (IOException suppressed) { e.addSuppressed(suppressed); }
            for (DatagramChannel ch : udp) try { ch.close(); } catch (IOException suppressed) { e.addSuppressed(suppressed); }
            udp.clear();
            throw e;
        }
    }

    public int port() {
        return tcp.getLocalPort();
    }

    private void udpLoop(DatagramChannel udp) {
        ByteBuffer in = ByteBuffer.allocateDirect(65535);
        ByteBuffer out = ByteBuffer.allocateDirect(65535);
        byte[] query = new byte[65535];
        while (!closed) {
            try {
                in.clear();
                SocketAddress from = udp.receive(in);
                if (from == null) continue;
                int length = in.position();
                if (offload) {
                    byte[] copy = new byte[length];
                    in.get(0, copy, 0, length);
                    Thread.ofVirtual().start(() -> answerUdp(udp, copy, copy.length, from));
                } else {
                    in.get(0, query, 0, length);
                    out.clear();
                    if (resolver.answer(query, length, false, out)) udp.send(out, from);
                }
            } catch (IOException e) {
                if (!closed) LOG.debug("dns udp: {}", e.getMessage());
            } catch (RuntimeException e) {
                LOG.warn("dns udp query failed", e);
            }
        }
    }

    private void answerUdp(DatagramChannel udp, byte[] query, int length, SocketAddress from) {
        byte[] out = resolver.answer(query, length, false);
        if (out == null) return;
        try {
            udp.send(ByteBuffer.wrap(out), from);
        } catch (IOException e) {
            if (!closed) LOG.debug("dns udp send: {}", e.getMessage());
        }
    }

    private void tcpAccept() {
        while (!closed) {
            try {
                Socket s = tcp.accept();
                Thread.ofVirtual().start(() -> serveTcp(s));
            } catch (IOException e) {
                if (!closed) LOG.debug("dns tcp accept: {}", e.getMessage());
            }
        }
    }

    private void serveTcp(Socket s) {
        try (s) {
            s.setSoTimeout(TCP_IDLE_MS);
            DataInputStream in = new DataInputStream(s.getInputStream());
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            while (true) {
                int len;
                try { len = in.readUnsignedShort(); } catch (EOFException e) { return; }
                byte[] q = new byte[len];
                in.readFully(q);
                byte[] a = resolver.answer(q, len, true);
                if (a == null) return;
                out.writeShort(a.length);
                out.write(a);
                out.flush();
            }
        } catch (IOException e) {
            LOG.debug("dns tcp: {}", e.getMessage());
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        for (DatagramChannel ch : udp) ch.close();
        tcp.close();
    }
}

package io.failoverkit.discovery.dns;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;

/**
 * Forwards a query outside our domain to the configured recursors in order and returns the first reply to it. The
 * query goes over the transport the client used, as Consul forwards it: a TCP client (often one retrying after a
 * truncated UDP answer) must not get a truncated answer it cannot retry. A reply counts only when it comes from the
 * recursor asked (a connected socket: the kernel drops anyone else's datagrams) and carries the query's ID and
 * question; anything else is ignored while the wait lasts.
 */
final class UpstreamRecursor implements DnsResolver.Recursor {
    private static final int TIMEOUT_MS = 2000;
    private final List<InetSocketAddress> upstreams;

    UpstreamRecursor(List<String> recursors) {
        this.upstreams = recursors.stream().map(UpstreamRecursor::parse).toList();
    }

    private static InetSocketAddress parse(String r) {
        int colon = r.lastIndexOf(':');
        boolean hasPort = colon > 0 && r.indexOf(':') == colon; // IPv4 with a port
        if (r.startsWith("[")) {
            int close = r.indexOf(']');
            return new InetSocketAddress(r.substring(1, close), close + 1 < r.length() ? Integer.parseInt(r.substring(close + 2)) : 53);
        }
        return hasPort ? new InetSocketAddress(r.substring(0, colon), Integer.parseInt(r.substring(colon + 1))) : new InetSocketAddress(r, 53);
    }

    @Override
    public byte[] forward(byte[] query, boolean tcp) {
        int questionEnd = questionEnd(query);
        if (questionEnd < 0) return null;
        for (InetSocketAddress upstream : upstreams) {
            try {
                byte[] reply = tcp ? overTcp(query, questionEnd, upstream) : overUdp(query, questionEnd, upstream);
                if (reply != null) return reply;
            } catch (IOException e) {
                // no reply in time, or the recursor refused: try the next
            }
        }
        return null;
    }

    private static byte[] overUdp(byte[] query, int questionEnd, InetSocketAddress upstream) throws IOException {
        try (DatagramSocket s = new DatagramSocket()) {
            s.connect(upstream);
            s.send(new DatagramPacket(query, query.length));
            byte[] buf = new byte[65535];
            long deadline = System.nanoTime() + TIMEOUT_MS * 1_000_000L;
            while (true) {
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) return null;
                s.setSoTimeout((int) left);
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                s.receive(p);
                if (answers(query, questionEnd, buf, p.getLength())) return Arrays.copyOf(buf, p.getLength());
            }
        }
    }

    private static byte[] overTcp(byte[] query, int questionEnd, InetSocketAddress upstream) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(upstream, TIMEOUT_MS);
            s.setSoTimeout(TIMEOUT_MS);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeShort(query.length);
            out.write(query);
            out.flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            byte[] reply = new byte[in.readUnsignedShort()];
            in.readFully(reply);
            return answers(query, questionEnd, reply, reply.length) ? reply : null;
        }
    }

    /** Where the question (one, its name uncompressed, as dnsjava writes it) of {@code query} ends; -1 if malformed. */
    static int questionEnd(byte[] query) {
        if (query.length < 12) return -1;
        int p = 12;
        while (p < query.length && query[p] != 0) {
            if ((query[p] & 0xC0) != 0) return -1;
            p += 1 + (query[p] & 0xFF);
        }
        p += 1 + 4;
        return p <= query.length ? p : -1;
    }

    /** Whether {@code reply} responds to {@code query}: its ID, QR set, the same question (names without case). */
    static boolean answers(byte[] query, int questionEnd, byte[] reply, int length) {
        if (length < questionEnd) return false;
        if (reply[0] != query[0] || reply[1] != query[1] || (reply[2] & 0x80) == 0) return false;
        if (reply[4] != 0 || reply[5] != 1) return false;
        for (int i = 12; i < questionEnd; i++) if (lower(reply[i]) != lower(query[i])) return false;
        return true;
    }

    private static byte lower(byte c) {
        return c >= 'A' && c <= 'Z' ? (byte) (c + 32) : c;
    }

    static DnsResolver.Recursor of(List<String> recursors) {
        return recursors.isEmpty() ? null : new UpstreamRecursor(recursors);
    }
}

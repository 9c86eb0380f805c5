package io.failoverkit.discovery.dns;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.List;

/** Forwards a query to the configured recursors in order, over UDP, and returns the first answer. */
final class UdpRecursor implements DnsResolver.Recursor {
    private static final int TIMEOUT_MS = 2000;
    private final List<InetSocketAddress> upstreams;

    UdpRecursor(List<String> recursors) {
        this.upstreams = recursors.stream().map(UdpRecursor::parse).toList();
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
    public byte[] forward(byte[] query) {
        for (InetSocketAddress upstream : upstreams) {
            try (DatagramSocket s = new DatagramSocket()) {
                s.setSoTimeout(TIMEOUT_MS);
                s.send(new DatagramPacket(query, query.length, upstream));
                byte[] buf = new byte[65535];
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                s.receive(p);
                if (p.getLength() >= 2 && buf[0] == query[0] && buf[1] == query[1]) return Arrays.copyOf(buf, p.getLength());
            } catch (IOException e) {
                // try the next recursor
            }
        }
        return null;
    }

    static DnsResolver.Recursor of(List<String> recursors) {
        return recursors.isEmpty() ? null : new UdpRecursor(recursors);
    }
}

package io.failoverkit.discovery.testing;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports for agents and lab servers started on loopback (the embedded default, drills, tests): free for TCP and UDP now,
 * never handed out twice in one JVM, and chosen <em>outside the kernel's ephemeral range</em>
 * ({@code net.ipv4.ip_local_port_range}).
 *
 * <p>Why outside: a port the kernel picked for {@code bind(0)} comes from the same range it uses for every outgoing
 * connection's source port. Between "picked" and "the server binds it", any client in the machine (JDBC pools,
 * HTTP polls, docker-proxy) can take it as a source port, and the server's bind fails. For the Raft port that was
 * worse than a failed test: Ratis ends the whole JVM when its gRPC server cannot start (a CI run lost its test fork
 * that way). Ports below the ephemeral range are only ever taken by someone who asks for them. (failover's
 * {@code LocalProcesses.freePort} follows the same rule for its labs: the two modules share no code.)
 */
public final class FreePorts {
    private static final Set<Integer> handedOut = new HashSet<>();
    private static final int LOWEST = 10_000;

    private FreePorts() {}

    public static int next() {
        try {
            return pick();
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    private static synchronized int pick() throws IOException {
        int[] range = pickRange();
        for (int attempt = 0; attempt < 500; attempt++) {
            int port = range == null ? kernelPort() : ThreadLocalRandom.current().nextInt(range[0], range[1] + 1);
            if (handedOut.contains(port) || !freeForTcpAndUdp(port)) continue;
            handedOut.add(port);
            return port;
        }
        throw new IOException("no free loopback port after 500 tries");
    }

    /** The inclusive range to pick from, or null to let the kernel pick (no room outside its ephemeral range). */
    public static int[] pickRange() {
        int[] eph = ephemeralRange();
        if (eph[0] - 1 - LOWEST >= 2_000) return new int[] {LOWEST, eph[0] - 1};
        if (65_535 - (eph[1] + 1) >= 2_000) return new int[] {eph[1] + 1, 65_535};
        return null;
    }

    public static int[] ephemeralRange() {
        try {
            String[] parts = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
            return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
        } catch (IOException | RuntimeException e) {
            return new int[] {32_768, 60_999}; // Linux's default
        }
    }

    private static int kernelPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static boolean freeForTcpAndUdp(int port) {
        InetSocketAddress at = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        try (ServerSocket tcp = new ServerSocket(); DatagramSocket udp = new DatagramSocket(null)) {
            tcp.setReuseAddress(false);
            tcp.bind(at, 1);
            udp.setReuseAddress(false);
            udp.bind(at);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}

package io.failoverkit.failover.drill;

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
import java.util.concurrent.TimeUnit;

/** What the local-process labs do to their own server processes: pick ports, SIGKILL, SIGSTOP/SIGCONT, by PID only. */
public final class LocalProcesses {
    private LocalProcesses() {}

    private static final Set<Integer> handedOut = new HashSet<>();
    private static final int LOWEST_PORT = 10_000;

    /**
     * A loopback port free for TCP and UDP now, never handed out twice in this JVM, and outside the kernel's ephemeral
     * range ({@code net.ipv4.ip_local_port_range}): a port the kernel picks for {@code bind(0)} comes from the range it
     * also uses for outgoing connections' source ports, and any client (JDBC pools, HTTP polls, docker-proxy) could
     * take it before the lab's server binds it. For a discovery node's Raft port that ended the JVM (Ratis exits when
     * gRPC cannot listen): a CI run lost its drill fork that way. (discovery-node's test {@code FreePorts} follows the
     * same rule: the two modules share no code.)
     */
    public static synchronized int freePort() throws IOException {
        int[] range = portRange();
        for (int attempt = 0; attempt < 500; attempt++) {
            int port = range == null ? kernelPort() : ThreadLocalRandom.current().nextInt(range[0], range[1] + 1);
            if (handedOut.contains(port) || !freeForTcpAndUdp(port)) continue;
            handedOut.add(port);
            return port;
        }
        throw new IOException("no free loopback port after 500 tries");
    }

    private static int[] portRange() {
        int[] eph;
        try {
            String[] parts = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim().split("\\s+");
            eph = new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
        } catch (IOException | RuntimeException e) {
            eph = new int[] {32_768, 60_999}; // Linux's default
        }
        if (eph[0] - 1 - LOWEST_PORT >= 2_000) return new int[] {LOWEST_PORT, eph[0] - 1};
        if (65_535 - (eph[1] + 1) >= 2_000) return new int[] {eph[1] + 1, 65_535};
        return null; // no room outside it: let the kernel pick
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

    /** SIGKILL, then wait (bounded) until it is gone. */
    static void kill(Process process) throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** kill(1) with {@code sig} (STOP, CONT) on this process's PID only. */
    static void signal(Process process, String sig) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).inheritIO().start().waitFor(5, TimeUnit.SECONDS);
    }
}

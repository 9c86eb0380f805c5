package io.failoverkit.drills;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP fault proxy on loopback for drills: forwards connections to one target until {@link #partition()}, after
 * which it behaves like a network that drops every packet: connections already open stop carrying bytes (what is
 * sent is swallowed, nothing comes back), and new connections are accepted but never reach the target. Peers see
 * timeouts, not resets, exactly as across a real partition. {@link #heal()} closes the swallowed connections and
 * forwards again. Only loopback; every thread ends when the proxy is closed.
 */
final class FaultProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final String targetHost;
    private final int targetPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private volatile boolean partitioned;
    private volatile boolean closed;

    FaultProxy(String target) throws IOException {
        int colon = target.lastIndexOf(':');
        this.targetHost = target.substring(0, colon);
        this.targetPort = Integer.parseInt(target.substring(colon + 1));
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("fault-proxy-accept").start(this::accept);
    }

    String address() { return "127.0.0.1:" + listener.getLocalPort(); }

    void partition() { partitioned = true; }

    void heal() {
        partitioned = false;
        for (Socket s : sockets) closeQuietly(s);
        sockets.clear();
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                sockets.add(client);
                if (partitioned) {
                    Thread.ofVirtual().start(() -> pump(client, null));
                    continue;
                }
                Socket upstream = new Socket();
                upstream.connect(new InetSocketAddress(targetHost, targetPort), 1000);
                sockets.add(upstream);
                Thread.ofVirtual().start(() -> pump(client, upstream));
                Thread.ofVirtual().start(() -> pump(upstream, client));
            } catch (IOException e) {
                if (closed) return;
            }
        }
    }

    /** Copies from one socket to the other while not partitioned; swallows the bytes while partitioned. */
    private void pump(Socket from, Socket to) {
        byte[] buf = new byte[16 * 1024];
        try (InputStream in = from.getInputStream()) {
            OutputStream out = to == null ? null : to.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (!partitioned && out != null) out.write(buf, 0, n);
            }
        } catch (IOException ignored) {
            // either side closed
        } finally {
            if (!partitioned) {
                closeQuietly(from);
                if (to != null) closeQuietly(to);
            }
        }
    }

    private static void closeQuietly(Socket s) {
        try { s.close(); } catch (IOException ignored) { }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        listener.close();
        for (Socket s : sockets) closeQuietly(s);
    }
}

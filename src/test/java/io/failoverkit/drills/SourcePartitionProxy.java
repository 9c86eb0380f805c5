package io.failoverkit.drills;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP forwarder on 127.0.0.1 that can cut off the clients of one source address only: a partition between one
 * host (the manager, bound to its own loopback address) and a server, while every other client (the replicas, the
 * application) still reaches it through the same address. Cut-off connections are dropped and new ones from that
 * source are accepted but never answered, as packets lost in a partition. Test-only; the lead's Redis fault proxy
 * may replace it.
 */
final class SourcePartitionProxy implements AutoCloseable {
    private final ServerSocket listener;
    private final int targetPort;
    private final Set<String> blocked = ConcurrentHashMap.newKeySet();
    private final List<Socket[]> pairs = new CopyOnWriteArrayList<>();
    private final List<Socket> held = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    SourcePartitionProxy(int targetPort) throws IOException {
        this.targetPort = targetPort;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("proxy-accept").start(this::accept);
    }

    int port() { return listener.getLocalPort(); }

    String address() { return "127.0.0.1:" + port(); }

    /** From now on, clients from {@code source} reach nothing; their open connections are dropped. */
    void cutOff(String source) {
        blocked.add(source);
        for (Socket[] p : pairs) {
            if (source.equals(p[0].getInetAddress().getHostAddress())) { closeQuietly(p[0]); closeQuietly(p[1]); }
        }
    }

    void heal() {
        blocked.clear();
        held.forEach(SourcePartitionProxy::closeQuietly);
        held.clear();
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                if (blocked.contains(client.getInetAddress().getHostAddress())) {
                    held.add(client); // accepted by the kernel, never answered
                    continue;
                }
                Socket server = new Socket();
                server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort), 1000);
                Socket[] pair = {client, server};
                pairs.add(pair);
                Thread.ofVirtual().start(() -> pump(client, server, pair));
                Thread.ofVirtual().start(() -> pump(server, client, pair));
            } catch (IOException e) {
                if (closed) return;
            }
        }
    }

    private void pump(Socket from, Socket to, Socket[] pair) {
        byte[] buf = new byte[16384];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException ignored) {
            // either side closed
        } finally {
            closeQuietly(from);
            closeQuietly(to);
            pairs.remove(pair);
        }
    }

    private static void closeQuietly(Socket s) {
        try { s.close(); } catch (IOException ignored) { }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        listener.close();
        for (Socket[] p : pairs) { closeQuietly(p[0]); closeQuietly(p[1]); }
        held.forEach(SourcePartitionProxy::closeQuietly);
    }
}

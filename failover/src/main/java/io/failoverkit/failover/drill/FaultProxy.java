package io.failoverkit.failover.drill;

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
 * A TCP fault proxy on loopback for drills: forwards connections to one target until it is partitioned, for every
 * client ({@link #partition()}) or for the clients of one source address only ({@link #partitionFrom}: a manager
 * bound to its own loopback address, while replicas and the application go on through the same proxy). A partitioned
 * connection behaves as across a network that drops every packet: open connections stop carrying bytes (what is sent
 * is swallowed, nothing comes back) and new ones are accepted but never reach the target. Peers see timeouts, not
 * resets. {@link #heal()} closes the swallowed connections and forwards again. Only loopback; every thread ends when
 * the proxy is closed. Lives in the failover module because `failover drill --campaign` partitions through it; the
 * drills' tests use it as {@code io.failoverkit.drills.FaultProxy}.
 */
public class FaultProxy implements AutoCloseable {
    private record Link(Socket client, Socket upstream) {}

    private final ServerSocket listener;
    private final String targetHost;
    private final int targetPort;
    private final List<Link> links = new CopyOnWriteArrayList<>();
    private final Set<String> cutSources = ConcurrentHashMap.newKeySet();
    private volatile boolean cutAll;
    private volatile boolean closed;

    public FaultProxy(String target) throws IOException {
        int colon = target.lastIndexOf(':');
        this.targetHost = target.substring(0, colon);
        this.targetPort = Integer.parseInt(target.substring(colon + 1));
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("fault-proxy-accept").start(this::accept);
    }

    public String address() { return "127.0.0.1:" + listener.getLocalPort(); }

    /** Every client is cut off. */
    public void partition() { cutAll = true; }

    /** Clients connecting from {@code sourceIp} are cut off; the others are forwarded as before. */
    public void partitionFrom(String sourceIp) { cutSources.add(sourceIp); }

    public void heal() {
        for (Link l : links) if (isCut(l.client())) close(l);
        cutAll = false;
        cutSources.clear();
    }

    private boolean isCut(Socket client) {
        return cutAll || cutSources.contains(client.getInetAddress().getHostAddress());
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = listener.accept();
                if (isCut(client)) {
                    Link l = new Link(client, null);
                    links.add(l);
                    Thread.ofVirtual().start(() -> pump(l, client, null));
                    continue;
                }
                Socket upstream = new Socket();
                try {
                    upstream.connect(new InetSocketAddress(targetHost, targetPort), 1000);
                } catch (IOException e) {
                    // The target is down: the client sees its connection end, as it would dialling the dead port itself
                    // (left open it would only leak, one socket per retry).
                    closeQuietly(client);
                    closeQuietly(upstream);
                    continue;
                }
                Link l = new Link(client, upstream);
                links.add(l);
                Thread.ofVirtual().start(() -> pump(l, client, upstream));
                Thread.ofVirtual().start(() -> pump(l, upstream, client));
            } catch (IOException e) {
                if (closed) return;
            }
        }
    }

    /** Copies bytes from one side to the other while the link's client is not cut off; swallows them while it is. */
    private void pump(Link link, Socket from, Socket to) {
        byte[] buf = new byte[16 * 1024];
        try (InputStream in = from.getInputStream()) {
            OutputStream out = to == null ? null : to.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (out != null && !isCut(link.client())) out.write(buf, 0, n);
            }
        } catch (IOException ignored) {
            // either side closed
        } finally {
            // A cut link stays open (silent) until heal(); otherwise one side closing closes the other.
            if (!isCut(link.client())) close(link);
        }
    }

    private void close(Link l) {
        links.remove(l);
        closeQuietly(l.client());
        if (l.upstream() != null) closeQuietly(l.upstream());
    }

    private static void closeQuietly(Socket s) {
        try { s.close(); } catch (IOException ignored) { }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        listener.close();
        for (Link l : links) close(l);
    }
}

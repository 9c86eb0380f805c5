package io.failoverkit.discovery.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;

/** Loopback ports no one listens on right now, never the same twice in one JVM. */
public final class FreePorts {
    private static final Set<Integer> handedOut = new HashSet<>();

    private FreePorts() {}

    public static synchronized int next() {
        for (int attempt = 0; attempt < 100; attempt++) {
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                int p = s.getLocalPort();
                if (handedOut.add(p)) return p;
            } catch (IOException e) {
                throw new IllegalStateException("no free loopback port", e);
            }
        }
        throw new IllegalStateException("no fresh free loopback port after 100 tries");
    }
}

package io.failoverkit.drills.clients;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;

/**
 * What a client process of the client-stack drills prints, one line per event, read back by {@link ClientLab}:
 * {@code ACK <ms> <server> <value>} for an acknowledged write (server: the address of the server that acknowledged it,
 * as that server reports it), {@code ERR <ms> <error>} when the error changes, {@code DNS <ms> <address|none>} when the
 * process's own resolution of the name changes (through the same runtime cache the driver uses).
 */
final class ClientOutput {
    private String lastError;
    private String lastResolved;

    synchronized void ack(String server, long value) {
        System.out.println("ACK " + System.currentTimeMillis() + " " + server + " " + value);
        lastError = null;
    }

    synchronized void error(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) root = root.getCause();
        String text = e.getClass().getSimpleName() + (root != e ? "/" + root.getClass().getSimpleName() : "") + ": "
                + String.valueOf(e.getMessage()).lines().findFirst().orElse("");
        if (!text.equals(lastError)) System.out.println("ERR " + System.currentTimeMillis() + " " + text);
        lastError = text;
    }

    synchronized void resolved(String address) {
        if (!Objects.equals(address, lastResolved)) System.out.println("DNS " + System.currentTimeMillis() + " " + address);
        lastResolved = address;
    }

    /**
     * Resolves {@code host} every 20 ms on a daemon thread through {@link InetAddress} (the JVM's cache, the one the
     * drivers use), reporting changes.
     */
    void sampleResolution(String host) {
        Thread.ofPlatform().daemon().name("dns-sampler").start(() -> {
            while (true) {
                try {
                    resolved(InetAddress.getByName(host).getHostAddress());
                } catch (UnknownHostException e) {
                    resolved("none");
                }
                try { Thread.sleep(20); } catch (InterruptedException e) { return; }
            }
        });
    }

    /** The JVM's DNS cache as the guide recommends: 1 s for answers, none for failures (the JVM's defaults: 30 s, 10 s). */
    static void recommendedJvmDnsCache() {
        java.security.Security.setProperty("networkaddress.cache.ttl", "1");
        java.security.Security.setProperty("networkaddress.cache.negative.ttl", "0");
    }
}

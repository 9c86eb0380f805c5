package io.failoverkit.drills.clients;

import io.failoverkit.failover.drill.containers.LabUnavailable;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace of the drill's own, so that applications resolve names the way they do on a real host (libc,
 * /etc/resolv.conf, a dnsmasq on 127.0.0.1:53 forwarding {@code consul} to the agent) without changing anything on this
 * host. {@code ip netns exec NAME} runs a command inside it with {@code /etc/netns/NAME/*} bind-mounted over /etc: the
 * namespace's resolv.conf names only 127.0.0.1, and its hosts file holds only localhost (the seeds lost time to
 * /etc/hosts lines shadowing the DNS answer). The namespace and /etc/netns/NAME are removed on close and by a shutdown
 * hook; every process in it dies with it (the test ends them first, by PID).
 *
 * <p>Where namespaces cannot be made (not root, no iproute2, no dnsmasq) the lab is {@link LabUnavailable}: the drill
 * is skipped saying why; under {@code CI=true} it is an {@link IllegalStateException}, as for the container drills.
 */
public final class ClientNamespace implements AutoCloseable {
    public static final String DNSMASQ = "/usr/sbin/dnsmasq";
    public static final String PYTHON = "/usr/bin/python3";

    public final String name;
    private final Path etc;
    private final Thread hook;
    private boolean closed;

    private ClientNamespace(String name) {
        this.name = name;
        this.etc = Path.of("/etc/netns", name);
        this.hook = new Thread(this::remove, "netns-" + name + "-cleanup");
    }

    /** A fresh namespace with lo up, its own resolv.conf (nameserver 127.0.0.1) and hosts file. */
    public static ClientNamespace create() throws IOException, InterruptedException {
        requireAvailable();
        String name = "fk-clients-" + ProcessHandle.current().pid() + "-" + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x10000));
        ClientNamespace ns = new ClientNamespace(name);
        Runtime.getRuntime().addShutdownHook(ns.hook);
        try {
            run(List.of("ip", "netns", "add", name));
            Files.createDirectories(ns.etc);
            // glibc: one nameserver, 1 s per try, 2 tries (its defaults are 5 s x 2: a lost UDP answer costs 5 s).
            Files.writeString(ns.etc.resolve("resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1 attempts:2\n");
            Files.writeString(ns.etc.resolve("hosts"), "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n");
            run(ns.exec(List.of("ip", "link", "set", "lo", "up")));
        } catch (IOException | RuntimeException e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    /** {@code cmd} run inside the namespace (with its /etc/netns files mounted over /etc). */
    public List<String> exec(List<String> cmd) {
        List<String> out = new ArrayList<>(List.of("ip", "netns", "exec", name));
        out.addAll(cmd);
        return out;
    }

    /** The /etc/netns directory this namespace's files live in (gone after close). */
    public Path etc() { return etc; }

    static void requireAvailable() throws IOException, InterruptedException {
        String missing = null;
        if (!Files.isExecutable(Path.of(DNSMASQ))) missing = DNSMASQ + " missing (Debian's dnsmasq-base; bin/setup installs it)";
        else if (!Files.isExecutable(Path.of(PYTHON))) missing = PYTHON + " missing";
        else {
            Process p = new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) missing = "`ip netns list` failed: " + out.strip();
            else if (ProcessHandle.current().info().user().map(u -> !u.equals("root")).orElse(true)) {
                missing = "network namespaces need root (ip netns add); this JVM runs as " + ProcessHandle.current().info().user().orElse("?");
            }
        }
        if (missing == null) return;
        if ("true".equals(System.getenv("CI"))) throw new IllegalStateException("client-stack lab impossible under CI: " + missing);
        throw new LabUnavailable("client-stack lab (network namespace): " + missing);
    }

    private static void run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " failed: " + out.strip());
        }
    }

    private synchronized void remove() {
        if (closed) return;
        closed = true;
        try {
            new ProcessBuilder("ip", "netns", "del", name).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor(30, TimeUnit.SECONDS);
        } catch (IOException e) {
            System.err.println("could not remove network namespace " + name + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try (var files = Files.walk(etc)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        } catch (java.nio.file.NoSuchFileException ignored) {
            // never created
        } catch (IOException e) {
            System.err.println("could not remove " + etc + ": " + e.getMessage());
        }
    }

    /** Exists while open. */
    public static boolean exists(String name) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("ip", "netns", "list").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor(10, TimeUnit.SECONDS);
        return out.lines().anyMatch(l -> l.split("\\s+")[0].equals(name));
    }

    @Override
    public void close() {
        remove();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException ignored) {
            // already shutting down: the hook runs remove(), which is idempotent
        }
    }
}

package io.failoverkit.failover.drill;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Real redis-server processes (Debian's) on loopback for drills: one master and replicas, each with its own port and
 * directory. Only the processes started here are ever signalled, by their PID.
 */
public final class LocalRedisLab implements RedisLab {
    public final class Server implements RedisLab.Instance {
        public final String host;
        public final int port;
        final Path dir;
        Process process;

        Server(String host, int port, Path dir) {
            this.host = host;
            this.port = port;
            this.dir = dir;
        }

        @Override
        public String address() { return host + ":" + port; }

        public long pid() { return process.pid(); }

        public boolean running() { return process != null && process.isAlive(); }

        @Override
        public void start(String replicaOf) throws IOException {
            List<String> cmd = new ArrayList<>(List.of(redisServer, "--port", Integer.toString(port), "--bind", host, "--dir", dir.toString(),
                    "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no", "--logfile", dir.resolve("redis.log").toString(),
                    "--repl-ping-replica-period", "1", "--repl-timeout", "5"));
            if (recommendedConfig) cmd.addAll(RedisLab.RECOMMENDED_CONFIG);
            cmd.addAll(extraArgs);
            if (replicaOf != null) {
                int colon = replicaOf.lastIndexOf(':');
                cmd.addAll(List.of("--replicaof", replicaOf.substring(0, colon), replicaOf.substring(colon + 1)));
            }
            process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("stdout.log").toFile()).start();
            awaitListening(host, port);
        }

        @Override
        public void kill() throws InterruptedException { LocalProcesses.kill(process); }

        @Override
        public void freeze() throws IOException, InterruptedException { signal("STOP"); }

        @Override
        public void thaw() throws IOException, InterruptedException { signal("CONT"); }

        private void thaw0() { try { signal("CONT"); } catch (Exception ignored) { } }

        private void signal(String sig) throws IOException, InterruptedException { LocalProcesses.signal(process, sig); }
    }

    private final String redisServer;
    private final boolean recommendedConfig;
    private final List<String> extraArgs;
    public final List<Server> servers = new ArrayList<>();

    /** A master and {@code replicas} replicas, started and replicating. */
    public LocalRedisLab(Path workDir, int replicas) throws IOException {
        this(workDir, replicas, true);
    }

    /**
     * @param recommendedConfig start every server with {@link RedisLab#RECOMMENDED_CONFIG} (what failoverkit asks of
     *                          each Redis's config file); false: Redis's defaults (for comparing with Sentinel as commonly run)
     */
    public LocalRedisLab(Path workDir, int replicas, boolean recommendedConfig) throws IOException {
        this(workDir, replicas, recommendedConfig, List.of());
    }

    /** @param extraArgs more redis-server options for every server, e.g. {@code --repl-diskless-sync no} */
    public LocalRedisLab(Path workDir, int replicas, boolean recommendedConfig, List<String> extraArgs) throws IOException {
        this(workDir, java.util.Collections.nCopies(replicas + 1, "127.0.0.1"), 0, recommendedConfig, extraArgs);
    }

    /**
     * One server per entry of {@code hosts} (the first the master), each bound to its host: on {@code port} for all
     * (0: a free port each). Distinct loopback addresses on one port (127.0.0.11, .12, ...) are how the client-stack
     * drills give each server an A record of its own, as separate hosts would have: a client that resolves only the
     * A record of {@code master.<service>} keeps its configured port.
     */
    public LocalRedisLab(Path workDir, List<String> hosts, int port, boolean recommendedConfig, List<String> extraArgs) throws IOException {
        this.recommendedConfig = recommendedConfig;
        this.extraArgs = List.copyOf(extraArgs);
        this.redisServer = findRedisServer();
        int replicas = hosts.size() - 1;
        for (int i = 0; i <= replicas; i++) {
            Path dir = Files.createDirectories(workDir.resolve("redis-" + i));
            servers.add(new Server(hosts.get(i), port == 0 ? LocalProcesses.freePort() : port, dir));
        }
        servers.get(0).start(null);
        for (int i = 1; i <= replicas; i++) servers.get(i).start(servers.get(0).address());
    }

    @Override
    public List<Server> instances() { return servers; }

    static String findRedisServer() throws IOException {
        for (String p : List.of("/usr/bin/redis-server", "/usr/local/bin/redis-server")) if (Files.isExecutable(Path.of(p))) return p;
        throw new IOException("redis-server not found: install Debian's redis-server (bin/setup does)");
    }

    static void awaitListening(int port) throws IOException {
        awaitListening("127.0.0.1", port);
    }

    static void awaitListening(String host, int port) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            try (Socket s = new Socket(host, port)) {
                return;
            } catch (IOException e) {
                try { Thread.sleep(20); } catch (InterruptedException ie) { Thread.currentThread().interrupt(); throw new IOException(ie); }
            }
        }
        throw new IOException("redis-server did not listen on " + port + " within 10 s");
    }

    @Override
    public void close() throws InterruptedException {
        for (Server s : servers) if (s.process != null && s.process.isAlive()) { s.thaw0(); s.kill(); }
    }
}

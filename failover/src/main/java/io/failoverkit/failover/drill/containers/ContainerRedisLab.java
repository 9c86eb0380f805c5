package io.failoverkit.failover.drill.containers;

import com.github.dockerjava.api.DockerClient;
import io.failoverkit.failover.drill.RedisLab;
import com.redis.testcontainers.RedisContainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Redis servers for drills, one {@link RedisContainer} (com.redis:testcontainers-redis) each, from
 * {@link ContainerEngine#redisImage()} (the local lab image with the official image's entrypoint contract by
 * default, {@code redis:7.4} where it can be pulled): host networking, redis-server bound to 127.0.0.1 on a port the
 * test picked, with the flags of {@link io.failoverkit.failover.drill.LocalRedisLab} given as arguments, which both
 * images' entrypoints turn into {@code redis-server ARGS} run as the redis user. Readiness is the module's own wait:
 * the "Ready to accept connections" log line.
 *
 * <p>Signals go through the Docker API to the container's PID 1, which is redis-server itself (no shell, no init):
 * kill = SIGKILL, freeze = SIGSTOP, thaw = SIGCONT. Freezing by signal rather than {@code docker pause} (the cgroup
 * freezer) keeps the drill identical to the local lab's, and a stopped container can still be killed, which the engine
 * refuses for a paused one. Starting again is a new container on the same port (Redis keeps no data here anyway).
 * Each container's output goes to {@code workDir/redis-N/container.log}.
 */
public final class ContainerRedisLab implements RedisLab {
    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    public final class Server implements RedisLab.Instance {
        public final int port;
        private final Path log;
        private RedisContainer container;

        Server(int port, Path log) {
            this.port = port;
            this.log = log;
        }

        @Override
        public String address() { return "127.0.0.1:" + port; }

        public String containerId() { return container == null ? null : container.getContainerId(); }

        /** The module container of the current start (null before the first). */
        public RedisContainer container() { return container; }

        @Override
        public void start(String replicaOf) {
            remove();
            List<String> cmd = new ArrayList<>(List.of("--port", Integer.toString(port), "--bind", "127.0.0.1", "--dir", "/tmp",
                    "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no", "--logfile", "",
                    "--repl-ping-replica-period", "1", "--repl-timeout", "5"));
            cmd.addAll(RedisLab.RECOMMENDED_CONFIG);
            if (replicaOf != null) {
                int colon = replicaOf.lastIndexOf(':');
                cmd.addAll(List.of("--replicaof", replicaOf.substring(0, colon), replicaOf.substring(colon + 1)));
            }
            RedisContainer c = new HostRedisContainer(ContainerEngine.image(image, "redis"), port);
            c.withNetworkMode("host")
                    .withCommand(cmd.toArray(String[]::new))
                    .withLogConsumer(ContainerEngine.appendTo(log))
                    // The module's own wait (its log line), with a start-up time for a loaded CI machine.
                    .withStartupTimeout(START_TIMEOUT);
            container = c;
            c.start();
        }

        @Override
        public void kill() throws InterruptedException {
            signal("KILL");
            awaitExit();
        }

        @Override
        public void freeze() { signal("STOP"); }

        @Override
        public void thaw() { signal("CONT"); }

        private void signal(String signal) { ContainerEngine.signal(docker, container, address(), signal); }

        private void awaitExit() throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (System.nanoTime() < deadline) {
                Boolean running = docker.inspectContainerCmd(container.getContainerId()).exec().getState().getRunning();
                if (!Boolean.TRUE.equals(running)) return;
                Thread.sleep(20);
            }
            throw new IllegalStateException(address() + ": container " + container.getContainerId() + " still running 10 s after SIGKILL");
        }

        /** Removes this server's container, whatever its state (a frozen one is thawed first so it can stop). */
        private void remove() {
            if (container == null) return;
            ContainerEngine.remove(docker, container);
            container = null;
        }

    }

    /** RedisContainer with host networking: the server listens on {@code port} of the host's loopback, no port is mapped. */
    public static final class HostRedisContainer extends RedisContainer {
        private final int port;

        HostRedisContainer(org.testcontainers.utility.DockerImageName image, int port) {
            super(image);
            this.port = port;
            setExposedPorts(new ArrayList<>());
        }

        @Override
        public String getRedisHost() { return "127.0.0.1"; }

        @Override
        public int getRedisPort() { return port; }
    }

    private final String image;
    private final DockerClient docker;
    private final List<Server> servers = new ArrayList<>();

    /** A master and {@code replicas} replicas in containers, started and replicating; throws LabUnavailable (under CI: fails) as {@link ContainerEngine#require} says. */
    public ContainerRedisLab(Path workDir, int replicas) throws IOException {
        this.image = ContainerEngine.redisImage();
        this.docker = ContainerEngine.require(image);
        for (int i = 0; i <= replicas; i++) {
            Path dir = Files.createDirectories(workDir.resolve("redis-" + i));
            servers.add(new Server(freePort(), dir.resolve("container.log")));
        }
        try {
            servers.get(0).start(null);
            for (int i = 1; i <= replicas; i++) servers.get(i).start(servers.get(0).address());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public List<Server> instances() { return servers; }

    @Override
    public void close() {
        RuntimeException first = null;
        for (Server s : servers) {
            try {
                s.remove();
            } catch (RuntimeException e) {
                if (first == null) first = e; else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }

    private static int freePort() throws IOException {
        return io.failoverkit.failover.drill.LocalProcesses.freePort();
    }
}

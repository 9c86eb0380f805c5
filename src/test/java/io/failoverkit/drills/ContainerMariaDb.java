package io.failoverkit.drills;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Volume;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.utility.DockerImageName;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * One mariadbd in a container from {@link ContainerEngine#mariaDbImage()} (the local lab image: Debian's MariaDB
 * 10.11), host networking, bound to 127.0.0.1 on the port the caller picked, with the replication flags the caller
 * passes ({@code --log-bin}, {@code --gtid-strict-mode}, semi-sync, ...), as MARIADB.md's recipe runs it locally.
 *
 * <p>The datadir lives in a Docker volume of its own, mounted into each container of this server: the first start
 * runs mariadb-install-db in it, and {@link #start} after {@link #kill} is a new container (possibly with other flags,
 * e.g. {@code --read-only=1 --skip-slave-start} for a rejoin) on the same data, as a crashed server restarts.
 * PID 1 of the container is mariadbd itself (the start script exec's it), so kill = SIGKILL, freeze = SIGSTOP, thaw =
 * SIGCONT go through the Docker API straight to the server (a stopped container can still be killed; a paused one
 * cannot). {@link #sql} runs statements with the image's mariadb client over the server's unix socket, from a file
 * copied into the container, so passwords in them never appear in a command line. Output goes to {@code log}.
 */
final class ContainerMariaDb implements AutoCloseable {
    private static final String DATA = "/var/lib/failoverkit";
    private static final String SOCKET = "/tmp/mysqld.sock";
    /** Runs in the container: initialise the datadir once, then become mariadbd (args: port, server id, flags...). */
    private static final String START = """
            set -e
            if [ ! -d %1$s/data/mysql ]; then
              mariadb-install-db --no-defaults --datadir=%1$s/data --user=root --auth-root-authentication-method=normal \
                --skip-test-db --skip-name-resolve --innodb-log-file-size=16M --innodb-buffer-pool-size=64M
            fi
            port=$1; id=$2; shift 2
            exec mariadbd --no-defaults --user=root --datadir=%1$s/data --port="$port" --socket=%2$s --pid-file=/tmp/mysqld.pid \
              --bind-address=127.0.0.1 --skip-name-resolve --server-id="$id" --innodb-log-file-size=16M --innodb-buffer-pool-size=64M "$@"
            """.formatted(DATA, SOCKET);

    final int port;
    final int serverId;
    private final Path log;
    private final String image;
    private final DockerClient docker;
    private final String volume = "failoverkit-lab-mariadb-" + UUID.randomUUID();
    private GenericContainer<?> container;

    /** Skips or fails (under CI) as {@link ContainerEngine#require} says when no engine or image can be had. */
    ContainerMariaDb(Path log, int port, int serverId) {
        this.log = log;
        this.port = port;
        this.serverId = serverId;
        this.image = ContainerEngine.mariaDbImage();
        this.docker = ContainerEngine.require(image);
    }

    String address() { return "127.0.0.1:" + port; }

    /** A new container on this server's datadir, with {@code flags} after the base ones; returns once it accepts connections. */
    void start(List<String> flags) {
        remove();
        List<String> cmd = new ArrayList<>(List.of("sh", "-c", START, "mariadb-start", Integer.toString(port), Integer.toString(serverId)));
        cmd.addAll(flags);
        GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(image))
                .withNetworkMode("host")
                .withCreateContainerCmdModifier(create -> create.getHostConfig().withBinds(new Bind(volume, new Volume(DATA))))
                .withCommand(cmd.toArray(String[]::new))
                .withLogConsumer(ContainerEngine.appendTo(log))
                .waitingFor(Wait.forLogMessage(".*ready for connections.*\\s*", 1).withStartupTimeout(Duration.ofSeconds(90)));
        container = c;
        c.start();
    }

    /** SIGKILL to mariadbd; returns when the container has exited. */
    void kill() throws InterruptedException {
        signal("KILL");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            if (!running()) return;
            Thread.sleep(20);
        }
        throw new IllegalStateException(address() + ": mariadbd still running 10 s after SIGKILL");
    }

    /** Whether mariadbd is running (a frozen one is still running). */
    boolean running() {
        return container != null && Boolean.TRUE.equals(docker.inspectContainerCmd(container.getContainerId()).exec().getState().getRunning());
    }

    void freeze() { signal("STOP"); }

    void thaw() { signal("CONT"); }

    /** Runs {@code statements} as root; returns the client's batch output (tab-separated rows, no column names). */
    String sql(String statements) throws IOException, InterruptedException {
        return client(statements, "--skip-column-names");
    }

    private String client(String statements, String format) throws IOException, InterruptedException {
        String file = "/tmp/failoverkit-" + UUID.randomUUID() + ".sql";
        container.copyFileToContainer(Transferable.of(statements), file);
        ExecResult r = container.execInContainer("sh", "-c",
                "mariadb --no-defaults --socket=" + SOCKET + " -uroot --batch " + format + " -e \"source " + file + "\"; rc=$?; rm -f " + file + "; exit $rc");
        if (r.getExitCode() != 0) throw new IllegalStateException(address() + ": SQL failed (exit " + r.getExitCode() + "): " + r.getStderr().strip());
        return r.getStdout().strip();
    }

    /** SHOW SLAVE STATUS as column -> value; empty when this server is no replica. */
    Map<String, String> replicaStatus() throws IOException, InterruptedException {
        Map<String, String> status = new LinkedHashMap<>();
        for (String line : client("SHOW SLAVE STATUS;", "--vertical").split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && !line.startsWith("*")) status.put(line.substring(0, colon).strip(), line.substring(colon + 1).strip());
        }
        return status;
    }

    private void signal(String signal) { ContainerEngine.signal(docker, container, address(), signal); }

    private void remove() {
        if (container == null) return;
        ContainerEngine.remove(docker, container);
        container = null;
    }


    /** Removes the container and the datadir's volume. */
    @Override
    public void close() {
        try {
            remove();
        } finally {
            try {
                docker.removeVolumeCmd(volume).exec();
            } catch (com.github.dockerjava.api.exception.NotFoundException ignored) {
                // never started
            }
        }
    }
}

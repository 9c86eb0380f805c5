package io.failoverkit.failover.drill.containers;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Bind;
import com.github.dockerjava.api.model.Volume;
import org.testcontainers.containers.JdbcDatabaseContainer;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.mariadb.MariaDBContainer;
import org.testcontainers.mysql.MySQLContainer;
import org.testcontainers.utility.DockerImageName;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;

/**
 * One MariaDB or MySQL 8 server in a container, through Testcontainers' own module classes: {@link MariaDBContainer}
 * on {@link ContainerEngine#mariaDbImage()} (the local lab image with the official image's contract, or
 * {@code mariadb:10.11}), {@link MySQLContainer} on {@link ContainerEngine#mySqlImage()} ({@code mysql:8.4}). Host
 * networking: the server is bound to 127.0.0.1 on the port the caller picked, given as a server option in the
 * command ({@code --port=P --server-id=N ...} and the caller's replication flags), as a user of the official image
 * passes options. The module sets the root password, the database and the user through the image's environment and
 * waits, as it always does, until that user can run its test query over JDBC.
 *
 * <p>Init scripts go in {@code /docker-entrypoint-initdb.d} ({@link #initScript}, copied into the container, so no
 * password is ever in a command line): the first, always there, empties the binary log the image's own setup wrote
 * (its database and user, under this server's id), so that a replica starts with no transaction of its own; the
 * caller's come after it (accounts and table on a primary, the replication source on a replica).
 *
 * <p>The datadir ({@code /var/lib/mysql}) is a Docker volume of its own, mounted into each container of this server:
 * the first start initialises it, and {@link #start} after {@link #kill} is a new container (possibly with other
 * flags, e.g. a fenced restart) on the same data, as a crashed server restarts; the entrypoint sees the database and
 * starts the server on it. PID 1 of the container is the server itself (the entrypoint exec's it), so kill = SIGKILL,
 * freeze = SIGSTOP, thaw = SIGCONT go through the Docker API straight to the server. {@link #sql} runs statements as
 * root over JDBC. Output goes to {@code log}.
 */
public final class ContainerMariaDb implements AutoCloseable {
    public enum Kind { MARIADB, MYSQL }

    private static final String DATA = "/var/lib/mysql";
    /** The module's database and user (the image's MYSQL_DATABASE / MYSQL_USER); the drills use their own accounts. */
    private static final String LAB_DATABASE = "tc_lab", LAB_USER = "tc_lab";

    public final int port;
    public final int serverId;
    public final Kind kind;
    private final Path log;
    private final String image;
    private final DockerClient docker;
    private final String volume = "failoverkit-lab-mysql-" + UUID.randomUUID();
    /** The module's password, also root's (MySQLContainer and MariaDBContainer set both to it). */
    private final String password;
    private final List<Transferable> initScripts = new ArrayList<>();
    private final List<String> initNames = new ArrayList<>();
    private JdbcDatabaseContainer<?> container;

    /** A MariaDB server; throws LabUnavailable (under CI: fails) as {@link ContainerEngine#require} says when no engine or image can be had. */
    public ContainerMariaDb(Path log, int port, int serverId) {
        this(Kind.MARIADB, log, port, serverId);
    }

    /** A server of {@code kind}; MySQL throws LabUnavailable when no MySQL image is in the engine ({@link ContainerEngine#requireMySql}). */
    public ContainerMariaDb(Kind kind, Path log, int port, int serverId) {
        this.kind = kind;
        this.log = log;
        this.port = port;
        this.serverId = serverId;
        this.image = kind == Kind.MARIADB ? ContainerEngine.mariaDbImage() : ContainerEngine.mySqlImage();
        this.docker = kind == Kind.MARIADB ? ContainerEngine.require(image) : ContainerEngine.requireMySql(image);
        byte[] b = new byte[12];
        new SecureRandom().nextBytes(b);
        this.password = HexFormat.of().formatHex(b);
        // With a binary log: emptied. MySQL 8.4 renamed RESET MASTER (MariaDB and MySQL 8.0 keep the old name), hence a
        // sourced shell step, which the official entrypoints run with their docker_process_sql (as the lab image's does).
        initScript("00-failoverkit-empty-binlog.sh", """
                if [ "$(docker_process_sql --skip-column-names <<<'SELECT @@GLOBAL.log_bin')" = 1 ]; then
                  docker_process_sql <<<'RESET BINARY LOGS AND GTIDS' 2>/dev/null || docker_process_sql <<<'RESET MASTER'
                fi
                """);
    }

    /** Adds {@code /docker-entrypoint-initdb.d/name} for the first start (run in name order after the image's own setup). */
    public ContainerMariaDb initScript(String name, String content) {
        initNames.add(name);
        initScripts.add(Transferable.of(content));
        return this;
    }

    public String address() { return "127.0.0.1:" + port; }

    public String image() { return image; }

    /** The module container of the current start (null before the first). */
    public JdbcDatabaseContainer<?> container() { return container; }

    /** The module's own user and password (MYSQL_USER / MYSQL_PASSWORD), and its database. */
    public String labUser() { return LAB_USER; }

    public String labPassword() { return password; }

    public String labDatabase() { return LAB_DATABASE; }

    /**
     * A new container on this server's datadir with {@code flags} after the base options; returns once the module's
     * readiness check (its user's test query over JDBC) passed.
     */
    public void start(List<String> flags) {
        remove();
        List<String> cmd = new ArrayList<>(List.of("--port=" + port, "--bind-address=127.0.0.1", "--server-id=" + serverId, "--skip-name-resolve"));
        if (kind == Kind.MARIADB) cmd.addAll(List.of("--innodb-log-file-size=16M", "--innodb-buffer-pool-size=64M"));
        cmd.addAll(flags);
        JdbcDatabaseContainer<?> c = kind == Kind.MARIADB ? new LabMariaDb(ContainerEngine.image(image, "mariadb"), port)
                : new LabMySql(ContainerEngine.image(image, "mysql"), port);
        c.withDatabaseName(LAB_DATABASE).withUsername(LAB_USER).withPassword(password)
                .withNetworkMode("host")
                .withCreateContainerCmdModifier(create -> create.getHostConfig().withBinds(new Bind(volume, new Volume(DATA))))
                .withCommand(cmd.toArray(String[]::new))
                .withLogConsumer(ContainerEngine.appendTo(log))
                .withStartupTimeoutSeconds(180);
        for (int i = 0; i < initScripts.size(); i++) c.withCopyToContainer(initScripts.get(i), "/docker-entrypoint-initdb.d/" + initNames.get(i));
        container = c;
        c.start();
    }

    /** SIGKILL to the server; returns when the container has exited. */
    public void kill() throws InterruptedException {
        signal("KILL");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline) {
            if (!running()) return;
            Thread.sleep(20);
        }
        throw new IllegalStateException(address() + ": server still running 10 s after SIGKILL");
    }

    /** Whether the server is running (a frozen one is still running). */
    public boolean running() {
        return container != null && Boolean.TRUE.equals(docker.inspectContainerCmd(container.getContainerId()).exec().getState().getRunning());
    }

    public void freeze() { signal("STOP"); }

    public void thaw() { signal("CONT"); }

    /** A JDBC connection as root (the password the module set), over TCP on loopback. */
    public Connection root() throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "root");
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "2000");
        p.setProperty("socketTimeout", "30000");
        p.setProperty("allowMultiQueries", "true");
        p.setProperty("allowPublicKeyRetrieval", "true");
        return DriverManager.getConnection("jdbc:mysql://" + address() + "/", p);
    }

    /**
     * Runs {@code statements} (separated by ';') as root; returns the last result's rows, one a line, columns separated
     * by tabs, no column names (as the client's batch mode prints them); empty when no statement returned rows.
     */
    public String sql(String statements) throws SQLException {
        try (Connection c = root(); Statement st = c.createStatement()) {
            String out = "";
            boolean isResult = st.execute(statements);
            while (true) {
                if (isResult) {
                    try (ResultSet rs = st.getResultSet()) {
                        StringBuilder b = new StringBuilder();
                        int n = rs.getMetaData().getColumnCount();
                        while (rs.next()) {
                            if (!b.isEmpty()) b.append('\n');
                            for (int i = 1; i <= n; i++) b.append(i > 1 ? "\t" : "").append(rs.getString(i));
                        }
                        out = b.toString();
                    }
                } else if (st.getUpdateCount() == -1) {
                    break;
                }
                isResult = st.getMoreResults();
            }
            return out;
        }
    }

    /** SHOW SLAVE STATUS (SHOW REPLICA STATUS on MySQL) as column -> value; empty when this server is no replica. */
    public Map<String, String> replicaStatus() throws SQLException {
        Map<String, String> status = new LinkedHashMap<>();
        try (Connection c = root(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(kind == Kind.MARIADB ? "SHOW SLAVE STATUS" : "SHOW REPLICA STATUS")) {
            if (rs.next()) {
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) status.put(rs.getMetaData().getColumnLabel(i), rs.getString(i));
            }
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

    /**
     * MariaDBContainer with host networking: the server listens on {@code port} of the host's loopback (no port
     * mapping exists to ask the engine about), so the module's JDBC URL names it directly.
     */
    public static final class LabMariaDb extends MariaDBContainer {
        private final int port;

        LabMariaDb(DockerImageName image, int port) {
            super(image);
            this.port = port;
            setExposedPorts(new ArrayList<>());
        }

        @Override
        public String getJdbcUrl() { return "jdbc:mariadb://127.0.0.1:" + port + "/" + getDatabaseName() + constructUrlParameters("?", "&"); }

        @Override
        public String getHost() { return "127.0.0.1"; }

        /** One attempt: the module's three would start again on the half-initialised datadir and hide why the first failed. */
        @Override
        protected void configure() {
            super.configure();
            setStartupAttempts(1);
        }
    }

    /** MySQLContainer with host networking (as {@link LabMariaDb}). */
    public static final class LabMySql extends MySQLContainer {
        private final int port;

        LabMySql(DockerImageName image, int port) {
            super(image);
            this.port = port;
            setExposedPorts(new ArrayList<>());
        }

        @Override
        public String getJdbcUrl() { return "jdbc:mysql://127.0.0.1:" + port + "/" + getDatabaseName() + constructUrlParameters("?", "&"); }

        @Override
        public String getHost() { return "127.0.0.1"; }

        /** One attempt: the module's three would start again on the half-initialised datadir and hide why the first failed. */
        @Override
        protected void configure() {
            super.configure();
            setStartupAttempts(1);
        }
    }
}

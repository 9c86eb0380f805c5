package io.failoverkit.failover.drill;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's mariadbd as local processes on loopback: a primary and GTID replicas, each with its own datadir, port and
 * socket (never 3306, never the system instance). One datadir is made with mariadb-install-db and copied for each
 * instance. Flags, accounts and replication are {@link MariaDbLabRecipe}'s: tuned for fast detection
 * (slave_net_timeout=2, heartbeat 0.5 s, connect retry 1 s), optionally semi-synchronous (AFTER_SYNC, 5 s timeout). Only the processes started here are ever signalled, by PID.
 */
public final class LocalMariaDbLab implements MariaDbLab {
    public final class Server implements MariaDbLab.Instance {
        public final String host;
        public final int port;
        public final int serverId;
        final Path dir;
        Process process;

        Server(String host, int port, int serverId, Path dir) {
            this.host = host;
            this.port = port;
            this.serverId = serverId;
            this.dir = dir;
        }

        @Override
        public String address() { return host + ":" + port; }

        public long pid() { return process.pid(); }

        public boolean running() { return process != null && process.isAlive(); }

        void start(boolean readOnly, List<String> extra) throws IOException {
            List<String> cmd = new ArrayList<>(List.of(mariadbd, "--no-defaults", "--user=root", "--datadir=" + dir.resolve("data"),
                    "--port=" + port, "--socket=" + socketPath(), "--pid-file=" + dir.resolve("mysqld.pid"),
                    "--log-error=" + dir.resolve("error.log"), "--bind-address=" + host, "--skip-name-resolve",
                    "--server-id=" + serverId));
            cmd.addAll(MariaDbLabRecipe.serverFlags(readOnly, semiSync));
            cmd.addAll(extra);
            process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("stdout.log").toFile())).start();
            awaitReady();
        }

        /**
         * The unix socket (unused: everything connects over TCP) in the server's dir, unless that path is longer than a
         * socket path may be (108 bytes with its NUL): mariadbd then aborts at start, so a deep work dir gets one in /tmp.
         */
        private String socketPath() {
            String inDir = dir.resolve("mysqld.sock").toString();
            return inDir.length() <= 100 ? inDir : "/tmp/failoverkit-mariadb-" + port + "-" + serverId + ".sock";
        }

        private void awaitReady() throws IOException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            SQLException last = null;
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) throw new IOException("mariadbd on port " + port + " exited; see " + dir.resolve("error.log"));
                try (Connection c = connect(ROOT)) {
                    return;
                } catch (SQLException e) {
                    // 4151: root is locked (a fence locked it before this restart): the server answered, so it is up.
                    if (e.getErrorCode() == 4151) return;
                    last = e;
                    try { Thread.sleep(50); } catch (InterruptedException ie) { Thread.currentThread().interrupt(); throw new IOException(ie); }
                }
            }
            throw new IOException("mariadbd on port " + port + " did not accept connections within 60 s: " + (last == null ? "" : last.getMessage()));
        }

        Connection connect(Account a) throws SQLException { return MariaDbLabRecipe.connect(address(), a); }

        @Override
        public Connection admin() throws SQLException { return connect(accounts.operator()); }

        /** Root, for a drill that creates accounts of its own (a fence locks root too: use it before fencing). */
        public Connection root() throws SQLException { return connect(ROOT); }

        /** Makes this server a GTID replica of {@code master} with the lab's fast-detection settings. */
        void replicate(Server master) throws SQLException {
            execute(MariaDbLabRecipe.replicate(master.host, master.port, accounts.replication()));
        }

        @Override
        public void kill() throws InterruptedException { LocalProcesses.kill(process); }

        @Override
        public void freeze() throws IOException, InterruptedException { signal("STOP"); }

        @Override
        public void thaw() throws IOException, InterruptedException { signal("CONT"); }

        @Override
        public void restartFenced() throws IOException {
            if (running()) throw new IllegalStateException(address() + " is still running");
            start(true, MariaDbLabRecipe.FENCED_RESTART);
        }

        /**
         * Starts a killed instance read-only but with its normal crash recovery: unlike {@link #restartFenced}, a
         * binlog tail no replica received is kept (so it may have diverged from the new primary).
         */
        public void restartReadOnlyKeepingBinlog() throws IOException {
            if (running()) throw new IllegalStateException(address() + " is still running");
            start(true, MariaDbLabRecipe.KEEP_BINLOG_RESTART);
        }

        private void execute(List<String> statements) throws SQLException {
            try (Connection c = connect(ROOT); Statement s = c.createStatement()) {
                for (String sql : statements) s.execute(sql);
            }
        }

        private void signal(String sig) throws IOException, InterruptedException { LocalProcesses.signal(process, sig); }
    }

    private static final Account ROOT = new Account("root", null);

    private final String mariadbd;
    private final boolean semiSync;
    private final MariaDbLabRecipe.Accounts accounts = MariaDbLabRecipe.Accounts.fresh();
    public final List<Server> servers = new ArrayList<>();

    /** A primary and {@code replicas} GTID replicas, started, replicating, with the accounts and the drill table in place. */
    public LocalMariaDbLab(Path workDir, int replicas, boolean semiSync) throws IOException, SQLException {
        this(workDir, java.util.Collections.nCopies(replicas + 1, "127.0.0.1"), 0, semiSync);
    }

    /**
     * One server per entry of {@code hosts} (the first the primary), each bound to its host, on {@code port} for all
     * (0: a free port each): distinct loopback addresses on one port give each server an A record of its own, as
     * separate hosts would have (the client-stack drills: a JDBC URL names the host and keeps its port).
     */
    public LocalMariaDbLab(Path workDir, List<String> hosts, int port, boolean semiSync) throws IOException, SQLException {
        int replicas = hosts.size() - 1;
        this.mariadbd = find("mariadbd", "/usr/sbin/mariadbd", "/usr/bin/mariadbd");
        this.semiSync = semiSync;
        String installDb = find("mariadb-install-db", "/usr/bin/mariadb-install-db", "/usr/sbin/mariadb-install-db");
        Path template = workDir.toAbsolutePath().resolve("template");
        Process install = new ProcessBuilder(installDb, "--no-defaults", "--datadir=" + template, "--user=root", "--auth-root-authentication-method=normal",
                "--skip-test-db", "--skip-name-resolve", "--innodb-log-file-size=16M", "--innodb-buffer-pool-size=64M")
                .redirectErrorStream(true).redirectOutput(Files.createDirectories(workDir).resolve("install-db.log").toFile()).start();
        try {
            if (!install.waitFor(120, TimeUnit.SECONDS) || install.exitValue() != 0) {
                install.destroyForcibly();
                throw new IOException("mariadb-install-db failed; see " + workDir.resolve("install-db.log"));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        try {
            for (int i = 0; i <= replicas; i++) {
                Path dir = Files.createDirectories(workDir.toAbsolutePath().resolve("mariadb-" + i));
                copy(template, dir.resolve("data"));
                servers.add(new Server(hosts.get(i), port == 0 ? LocalProcesses.freePort() : port, i + 1, dir));
            }
            Server primary = servers.get(0);
            primary.start(false, List.of());
            primary.execute(MariaDbLabRecipe.primarySetup(accounts));
            for (int i = 1; i <= replicas; i++) {
                servers.get(i).start(true, List.of());
                servers.get(i).replicate(primary);
            }
            if (semiSync) primary.execute(List.of(MariaDbLabRecipe.PRIMARY_SEMI_SYNC_ON));
        } catch (IOException | SQLException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private static void copy(Path from, Path to) throws IOException {
        try (var files = Files.walk(from)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(target);
                else Files.copy(p, target);
            }
        }
    }

    @Override
    public List<Server> instances() { return servers; }

    @Override
    public Account admin() { return accounts.admin(); }

    @Override
    public Account operator() { return accounts.operator(); }

    @Override
    public Account replication() { return accounts.replication(); }

    @Override
    public Account application() { return accounts.application(); }

    @Override
    public boolean semiSync() { return semiSync; }

    static String find(String name, String... paths) throws IOException {
        for (String p : paths) if (Files.isExecutable(Path.of(p))) return p;
        throw new IOException(name + " not found: install Debian's mariadb-server (bin/setup does)");
    }

    @Override
    public void close() {
        for (Server s : servers) {
            if (s.process != null && s.process.isAlive()) {
                try {
                    s.thaw();
                    s.kill();
                } catch (Exception ignored) {
                    s.process.destroyForcibly();
                }
            }
        }
    }
}

package io.failoverkit.drills;

import io.failoverkit.failover.drill.MariaDbLab;
import io.failoverkit.failover.drill.MariaDbLabRecipe;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@link MariaDbLab} with each mariadbd in its own container ({@link ContainerMariaDb}: the lab image's MariaDB, host
 * networking on 127.0.0.1, a datadir volume kept across restarts), started with the same flags, accounts and
 * replication as {@link io.failoverkit.failover.drill.LocalMariaDbLab} ({@link MariaDbLabRecipe}), so a drill runs
 * unchanged on either. Kill, freeze and thaw are SIGKILL, SIGSTOP and SIGCONT through the Docker API to mariadbd (PID
 * 1); a fenced restart is a new container on the same datadir. The setup SQL goes through the image's client over the
 * server's socket (passwords only in a file copied into the container); drills talk to the servers over JDBC as on
 * local processes. Each server's output goes to {@code workDir/mariadb-N/container.log}.
 */
final class ContainerMariaDbLab implements MariaDbLab {
    final class Server implements MariaDbLab.Instance {
        final ContainerMariaDb db;

        Server(ContainerMariaDb db) { this.db = db; }

        @Override
        public String address() { return db.address(); }

        void start(boolean readOnly, List<String> extra) {
            List<String> flags = new ArrayList<>(MariaDbLabRecipe.serverFlags(readOnly, semiSync));
            flags.addAll(extra);
            db.start(flags);
        }

        /** Runs {@code statements} as root through the image's client. */
        void execute(List<String> statements) throws Exception {
            db.sql(String.join(";\n", statements) + ";\n");
        }

        @Override
        public void kill() throws InterruptedException { db.kill(); }

        @Override
        public void freeze() { db.freeze(); }

        @Override
        public void thaw() { db.thaw(); }

        @Override
        public void restartFenced() {
            if (db.running()) throw new IllegalStateException(address() + " is still running");
            start(true, MariaDbLabRecipe.FENCED_RESTART);
        }

        @Override
        public Connection admin() throws SQLException { return MariaDbLabRecipe.connect(address(), accounts.operator()); }
    }

    private final boolean semiSync;
    private final MariaDbLabRecipe.Accounts accounts = MariaDbLabRecipe.Accounts.fresh();
    private final List<Server> servers = new ArrayList<>();

    /**
     * A primary and {@code replicas} GTID replicas in containers, started, replicating, with the accounts and the drill
     * table in place; skips or fails (under CI) as {@link ContainerEngine#require} says when there is no engine or image.
     */
    ContainerMariaDbLab(Path workDir, int replicas, boolean semiSync) throws Exception {
        this.semiSync = semiSync;
        try {
            for (int i = 0; i <= replicas; i++) {
                Path dir = Files.createDirectories(workDir.toAbsolutePath().resolve("mariadb-" + i));
                servers.add(new Server(new ContainerMariaDb(dir.resolve("container.log"), DiscoveryLab.freePort(), i + 1)));
            }
            // The servers start together (each initialises its own datadir first, the slow part); then the primary gets
            // the accounts and the table, and the replicas attach, as on local processes.
            try (ExecutorService starts = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<?>> started = new ArrayList<>();
                for (int i = 0; i < servers.size(); i++) {
                    Server s = servers.get(i);
                    boolean readOnly = i > 0;
                    started.add(starts.submit(() -> s.start(readOnly, List.of())));
                }
                for (Future<?> f : started) {
                    try {
                        f.get();
                    } catch (ExecutionException e) {
                        throw e.getCause() instanceof Exception cause ? cause : e;
                    }
                }
            }
            Server primary = servers.get(0);
            primary.execute(MariaDbLabRecipe.primarySetup(accounts));
            for (Server replica : servers.subList(1, servers.size())) replica.execute(MariaDbLabRecipe.replicate(primary.db.port, accounts.replication()));
            if (semiSync) primary.execute(List.of(MariaDbLabRecipe.PRIMARY_SEMI_SYNC_ON));
        } catch (Exception | Error e) {
            try { close(); } catch (RuntimeException suppressed) { e.addSuppressed(suppressed); }
            throw e;
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

    /** Removes every container and datadir volume. */
    @Override
    public void close() {
        RuntimeException first = null;
        for (Server s : servers) {
            try {
                s.db.close();
            } catch (RuntimeException e) {
                if (first == null) first = e; else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }
}

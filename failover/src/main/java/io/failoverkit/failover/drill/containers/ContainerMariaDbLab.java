package io.failoverkit.failover.drill.containers;

import io.failoverkit.failover.drill.MariaDbLab;
import io.failoverkit.failover.drill.MariaDbLabRecipe;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@link MariaDbLab} with each server in its own container through Testcontainers' module classes
 * ({@link ContainerMariaDb}: {@code MariaDBContainer}, or {@code MySQLContainer} for the MySQL 8 flavor; host
 * networking on 127.0.0.1, a datadir volume kept across restarts). The MariaDB flavor starts its servers with the same
 * flags, accounts and replication as {@link io.failoverkit.failover.drill.LocalMariaDbLab} ({@link MariaDbLabRecipe}),
 * so a drill runs unchanged on either; the MySQL flavor with {@link MySqlLabRecipe}'s equivalents. The set-up goes
 * through the image's contract: server flags as command arguments, the primary's accounts and drill table and each
 * replica's replication source as init scripts in {@code /docker-entrypoint-initdb.d} (each replica's replication
 * threads start with its server). Kill, freeze and thaw are SIGKILL, SIGSTOP and SIGCONT through the Docker API to the
 * server (PID 1); a fenced restart is a new container on the same datadir. Each server's output goes to
 * {@code workDir/mariadb-N/container.log}.
 */
public final class ContainerMariaDbLab implements MariaDbLab {
    public final class Server implements MariaDbLab.Instance {
        public final ContainerMariaDb db;

        Server(ContainerMariaDb db) { this.db = db; }

        @Override
        public String address() { return db.address(); }

        void start(boolean readOnly, List<String> extra) {
            List<String> flags = new ArrayList<>(mysql ? MySqlLabRecipe.serverFlags(readOnly, semiSync) : MariaDbLabRecipe.serverFlags(readOnly, semiSync));
            flags.addAll(extra);
            db.start(flags);
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
            start(true, mysql ? MySqlLabRecipe.FENCED_RESTART : MariaDbLabRecipe.FENCED_RESTART);
        }

        @Override
        public Connection admin() throws SQLException { return MariaDbLabRecipe.connect(address(), accounts.operator()); }
    }

    private final boolean semiSync;
    private final boolean mysql;
    private final MariaDbLabRecipe.Accounts accounts = MariaDbLabRecipe.Accounts.fresh();
    private final List<Server> servers = new ArrayList<>();

    /**
     * A MariaDB primary and {@code replicas} GTID replicas in containers, started, replicating, with the accounts and the
     * drill table in place; throws LabUnavailable (under CI: fails) as {@link ContainerEngine#require} says when there is no engine or image.
     */
    public ContainerMariaDbLab(Path workDir, int replicas, boolean semiSync) throws Exception {
        this(ContainerMariaDb.Kind.MARIADB, workDir, replicas, semiSync);
    }

    /** As above, of {@code kind}: MySQL throws LabUnavailable where no MySQL 8 image is in the engine. */
    public ContainerMariaDbLab(ContainerMariaDb.Kind kind, Path workDir, int replicas, boolean semiSync) throws Exception {
        this.semiSync = semiSync;
        this.mysql = kind == ContainerMariaDb.Kind.MYSQL;
        try {
            int primaryPort = io.failoverkit.failover.drill.LocalProcesses.freePort();
            for (int i = 0; i <= replicas; i++) {
                Path dir = Files.createDirectories(workDir.toAbsolutePath().resolve("mariadb-" + i));
                ContainerMariaDb db = new ContainerMariaDb(kind, dir.resolve("container.log"), i == 0 ? primaryPort : io.failoverkit.failover.drill.LocalProcesses.freePort(), i + 1);
                List<String> setup = i == 0 ? (mysql ? MySqlLabRecipe.primarySetup(accounts) : MariaDbLabRecipe.primarySetup(accounts))
                        : (mysql ? MySqlLabRecipe.replicate(primaryPort, accounts.replication()) : MariaDbLabRecipe.replicate(primaryPort, accounts.replication()))
                                .stream().filter(st -> !st.startsWith("START ")).toList();   // the server starts them itself
                db.initScript(i == 0 ? "10-failoverkit-primary.sql" : "10-failoverkit-replica.sql", String.join(";\n", setup) + ";\n");
                servers.add(new Server(db));
            }
            // The servers start together (each initialises its own datadir first, the slow part); the replicas' IO
            // threads retry every second until the primary and its replication account are there.
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
            // Semi-sync on the primary only once every replica is connected (before, its commits would wait the timeout).
            String io = mysql ? "Replica_IO_Running" : "Slave_IO_Running";
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            for (Server replica : servers.subList(1, servers.size())) {
                while (!"Yes".equals(replica.db.replicaStatus().get(io))) {
                    if (System.nanoTime() > deadline) throw new IllegalStateException(replica.address() + " is not replicating: " + replica.db.replicaStatus());
                    Thread.sleep(100);
                }
            }
            if (semiSync) servers.get(0).db.sql(mysql ? MySqlLabRecipe.PRIMARY_SEMI_SYNC_ON : MariaDbLabRecipe.PRIMARY_SEMI_SYNC_ON);
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

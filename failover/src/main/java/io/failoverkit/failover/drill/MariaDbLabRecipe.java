package io.failoverkit.failover.drill;

import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;

/**
 * What every {@link MariaDbLab} runs, wherever its servers live (local processes, containers), so a drill behaves
 * the same on both: the server flags (GTID replication, fast detection, optional semi-sync), the three accounts and
 * the drill table created on the primary, and the statement that makes a server a replica. The labs differ only in
 * how they start a server and send it SQL.
 */
public final class MariaDbLabRecipe {
    /**
     * How long a primary waits for a replica's acknowledgement before it falls back to async: as long as the server
     * allows (MySQL's maximum, about 49 days), i.e. strict semi-sync, as Vitess runs it. Any finite timeout is a
     * window for a frozen primary: a commit that was waiting for its acknowledgement when the host froze finds its
     * deadline passed the moment it thaws, the primary falls back to async and acknowledges the next writes at once,
     * before any manager can fence it (CI caught exactly that: 20 writes acknowledged 1-10 ms after the thaw, the
     * freeze having outlasted the 5 s this used to be). The price: a primary none of whose replicas can acknowledge
     * stops committing until one can or it is failed over; the manager reports it (the semi-sync record's ackers).
     */
    public static final long SEMI_SYNC_TIMEOUT_MS = 4_294_967_295L;

    /** Flags to start a killed old primary as an operator would: read-only, replication not started, and (with semi-sync) its unacknowledged binlog tail truncated on recovery. */
    public static final List<String> FENCED_RESTART = List.of("--skip-slave-start", "--init-rpl-role=SLAVE");

    /** Flags to start a killed server with its normal crash recovery, replication not started (its binlog tail is kept). */
    public static final List<String> KEEP_BINLOG_RESTART = List.of("--skip-slave-start");

    /** Turns semi-sync on for the primary once its replicas are attached (before, the lab's own setup would wait the timeout). */
    public static final String PRIMARY_SEMI_SYNC_ON = "SET GLOBAL rpl_semi_sync_master_enabled=1";

    /**
     * The manager's (least privileged, as the README documents), the replication, the application account, and the
     * drill's own operator account for its checks, with fresh random passwords.
     */
    public record Accounts(MariaDbLab.Account admin, MariaDbLab.Account replication, MariaDbLab.Account application, MariaDbLab.Account operator) {
        public static Accounts fresh() {
            return new Accounts(new MariaDbLab.Account("failoverkit", secret()), new MariaDbLab.Account("repl", secret()),
                    new MariaDbLab.Account("app", secret()), new MariaDbLab.Account("drill", secret()));
        }
    }

    /**
     * What failoverkit's manager needs on MariaDB 10.11 and nothing more (the README lists the same): read replication
     * and binlog state and every session, change replication and read_only, kill sessions, and lock the accounts that
     * bypass read_only on a fenced server (CREATE USER, BINLOG ADMIN for sql_log_bin=0, SELECT on the two grant tables);
     * RESET SLAVE ALL needs RELOAD.
     */
    public static List<String> managerGrants(String account) {
        return List.of("GRANT SLAVE MONITOR, BINLOG MONITOR, PROCESS, REPLICATION SLAVE ADMIN, REPLICATION MASTER ADMIN, READ_ONLY ADMIN,"
                        + " CONNECTION ADMIN, BINLOG ADMIN, CREATE USER, RELOAD ON *.* TO " + account,
                "GRANT SELECT ON mysql.global_priv TO " + account,
                "GRANT SELECT ON mysql.roles_mapping TO " + account);
    }

    private MariaDbLabRecipe() {}

    /**
     * The replication flags of every lab server, after its own datadir, port, socket and server id: row-based GTID
     * binlogs, replicas noticing a silent master after 2 s, and {@code read_only} as asked.
     */
    public static List<String> serverFlags(boolean readOnly, boolean semiSync) {
        List<String> flags = new ArrayList<>(List.of("--log-bin=mysql-bin", "--relay-log=relay-bin", "--log-slave-updates", "--binlog-format=ROW",
                "--gtid-strict-mode=1", "--slave-net-timeout=2", "--innodb-buffer-pool-size=64M", "--max-connections=200",
                "--read-only=" + (readOnly ? 1 : 0)));
        if (semiSync) {
            // The master side only on the primary (failoverkit turns it on when it promotes, off when it re-points): a
            // replica with it on would wait for acknowledgements of what it applies. wait_no_slave stays ON, so a
            // primary that lost its replicas waits for one to come back (the timeout never ends) instead of acknowledging.
            // The primary's is turned on once its replicas are attached (PRIMARY_SEMI_SYNC_ON).
            flags.addAll(List.of("--rpl-semi-sync-master-enabled=0", "--rpl-semi-sync-slave-enabled=1",
                    "--rpl-semi-sync-master-timeout=" + SEMI_SYNC_TIMEOUT_MS, "--rpl-semi-sync-master-wait-point=AFTER_SYNC"));
        }
        return flags;
    }

    /** Run as root on the new primary: the accounts (replicated to the replicas from its binlog) and the drill table. */
    public static List<String> primarySetup(Accounts a) {
        String admin = "'" + a.admin().user() + "'@'127.0.0.%'", repl = "'" + a.replication().user() + "'@'127.0.0.1'",
                app = "'" + a.application().user() + "'@'127.0.0.1'", operator = "'" + a.operator().user() + "'@'127.0.0.1'";
        List<String> out = new ArrayList<>(List.of(
                // The manager's account from any loopback address: a drill may bind the manager to its own (127.0.0.2).
                "CREATE USER " + admin + " IDENTIFIED BY '" + a.admin().password() + "'"));
        out.addAll(managerGrants(admin));
        out.addAll(List.of(
                // The drill's checks: everything but READ ONLY ADMIN, so a fence leaves it alone and read_only stops it.
                "CREATE USER " + operator + " IDENTIFIED BY '" + a.operator().password() + "'",
                "GRANT ALL PRIVILEGES ON *.* TO " + operator,
                "REVOKE READ_ONLY ADMIN ON *.* FROM " + operator,
                "CREATE USER " + repl + " IDENTIFIED BY '" + a.replication().password() + "'",
                "GRANT REPLICATION SLAVE, REPLICATION CLIENT, SLAVE MONITOR, BINLOG MONITOR ON *.* TO " + repl,
                "CREATE USER " + app + " IDENTIFIED BY '" + a.application().password() + "'",
                "CREATE DATABASE drill",
                "CREATE TABLE drill.probe (seq BIGINT PRIMARY KEY, at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB",
                "GRANT SELECT, INSERT ON drill.* TO " + app));
        return out;
    }

    /** Run as root on a replica: a GTID replica of the primary on 127.0.0.1:{@code masterPort} with the lab's fast-detection settings. */
    public static List<String> replicate(int masterPort, MariaDbLab.Account replication) {
        return replicate("127.0.0.1", masterPort, replication);
    }

    /** As above, the primary on {@code masterHost} (a loopback address). */
    public static List<String> replicate(String masterHost, int masterPort, MariaDbLab.Account replication) {
        if (!masterHost.matches("[0-9.]+")) throw new IllegalArgumentException("a lab primary is an IPv4 address: " + masterHost);
        return List.of("CHANGE MASTER TO MASTER_HOST='" + masterHost + "', MASTER_PORT=" + masterPort + ", MASTER_USER='" + replication.user()
                        + "', MASTER_PASSWORD='" + replication.password() + "', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=0.5",
                "START SLAVE");
    }

    /** A JDBC connection to the lab server at {@code address} (host:port) as {@code account}: 1 s to connect, 10 s per statement. */
    public static Connection connect(String address, MariaDbLab.Account account) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", account.user());
        if (account.password() != null) p.setProperty("password", account.password());
        p.setProperty("connectTimeout", "1000");
        p.setProperty("socketTimeout", "10000");
        return DriverManager.getConnection("jdbc:mysql://" + address + "/", p);
    }

    private static String secret() {
        byte[] b = new byte[12];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}

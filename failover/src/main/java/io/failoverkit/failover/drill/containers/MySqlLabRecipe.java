package io.failoverkit.failover.drill.containers;

import io.failoverkit.failover.drill.MariaDbLab;
import io.failoverkit.failover.drill.MariaDbLabRecipe;

import java.util.ArrayList;
import java.util.List;

/**
 * {@link MariaDbLabRecipe}'s MySQL 8.4 (8.0.26+) counterpart for the container lab's MySQL flavor: the same lab (GTID
 * replication, replicas noticing a silent source after 2 s, semi-sync AFTER_SYNC with the same timeout, read_only on
 * replicas) in MySQL's names, and the manager's grants as the README lists them for MySQL. Debian has no MySQL 8
 * package: this runs where a {@code mysql} image is present ({@link ContainerEngine#requireMySql}).
 */
public final class MySqlLabRecipe {
    /** A killed old primary restarted as an operator would: replication not started (read_only comes with the flags). */
    public static final List<String> FENCED_RESTART = List.of("--skip-replica-start");

    public static final String PRIMARY_SEMI_SYNC_ON = "SET GLOBAL rpl_semi_sync_source_enabled=1";

    private MySqlLabRecipe() {}

    /**
     * Replication flags of every MySQL lab server. Only {@code read_only} on replicas (root, the images' set-up user,
     * bypasses it; failoverkit's fence sets super_read_only itself). The semi-sync plugins are loaded on every server,
     * the source side enabled on the primary once its replicas are attached ({@link #PRIMARY_SEMI_SYNC_ON}).
     */
    public static List<String> serverFlags(boolean readOnly, boolean semiSync) {
        List<String> flags = new ArrayList<>(List.of("--log-bin=mysql-bin", "--relay-log=relay-bin", "--log-replica-updates=ON",
                "--gtid-mode=ON", "--enforce-gtid-consistency=ON", "--replica-net-timeout=2", "--innodb-buffer-pool-size=64M",
                "--max-connections=200", "--read-only=" + (readOnly ? "ON" : "OFF")));
        if (semiSync) {
            flags.addAll(List.of("--plugin-load-add=semisync_source.so", "--plugin-load-add=semisync_replica.so",
                    "--loose-rpl-semi-sync-source-enabled=0", "--loose-rpl-semi-sync-replica-enabled=1",
                    "--loose-rpl-semi-sync-source-timeout=" + MariaDbLabRecipe.SEMI_SYNC_TIMEOUT_MS,
                    "--loose-rpl-semi-sync-source-wait-point=AFTER_SYNC"));
        }
        return flags;
    }

    /** Run as root on the new primary: the same four accounts and drill table as on MariaDB, with MySQL's privileges. */
    public static List<String> primarySetup(MariaDbLabRecipe.Accounts a) {
        String admin = "'" + a.admin().user() + "'@'127.0.0.%'", repl = "'" + a.replication().user() + "'@'127.0.0.1'",
                app = "'" + a.application().user() + "'@'127.0.0.1'", operator = "'" + a.operator().user() + "'@'127.0.0.1'";
        return List.of(
                "CREATE USER " + admin + " IDENTIFIED BY '" + a.admin().password() + "'",
                "GRANT REPLICATION CLIENT, REPLICATION_SLAVE_ADMIN, SYSTEM_VARIABLES_ADMIN, CONNECTION_ADMIN, PROCESS, RELOAD ON *.* TO " + admin,
                // The drill's checks: everything; super_read_only (the fence) stops it, read_only alone does not.
                "CREATE USER " + operator + " IDENTIFIED BY '" + a.operator().password() + "'",
                "GRANT ALL PRIVILEGES ON *.* TO " + operator,
                "CREATE USER " + repl + " IDENTIFIED BY '" + a.replication().password() + "'",
                "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO " + repl,
                "CREATE USER " + app + " IDENTIFIED BY '" + a.application().password() + "'",
                "CREATE DATABASE drill",
                "CREATE TABLE drill.probe (seq BIGINT PRIMARY KEY, at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)) ENGINE=InnoDB",
                "GRANT SELECT, INSERT ON drill.* TO " + app);
    }

    /** Run as root on a replica: a GTID auto-position replica of 127.0.0.1:{@code sourcePort} with the lab's fast detection. */
    public static List<String> replicate(int sourcePort, MariaDbLab.Account replication) {
        return List.of("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=" + sourcePort + ", SOURCE_USER='" + replication.user()
                        + "', SOURCE_PASSWORD='" + replication.password() + "', SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1,"
                        + " SOURCE_HEARTBEAT_PERIOD=0.5, GET_SOURCE_PUBLIC_KEY=1",
                "START REPLICA");
    }
}

package io.failoverkit.failover.mysql;

import io.failoverkit.failover.topology.GtidSet;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What differs between MariaDB and MySQL 8.0/8.4 in the SQL failoverkit sends, detected from {@code SELECT VERSION()}
 * (Connector/J's metadata says "5.5.5-10.11.x-MariaDB" for MariaDB, so the version string is parsed, not trusted).
 * Pure: every statement built here is unit-tested without a server.
 */
public record Flavor(Kind kind, int major, int minor, int patch, String version) {
    public enum Kind { MARIADB, MYSQL }

    private static final Pattern VERSION = Pattern.compile("^(\\d+)\\.(\\d+)\\.(\\d+)");

    /** Parses {@code SELECT VERSION()}: "10.11.19-MariaDB-0+deb12u1", "5.5.5-10.11.19-MariaDB", "8.0.36", "8.4.3-log". */
    public static Flavor parse(String version) {
        if (version == null) throw new IllegalArgumentException("the server reported no version");
        String v = version.strip();
        boolean maria = v.toLowerCase().contains("mariadb");
        if (maria && v.startsWith("5.5.5-")) v = v.substring("5.5.5-".length());
        Matcher m = VERSION.matcher(v);
        if (!m.find()) throw new IllegalArgumentException("cannot parse the server version \"" + version + "\"");
        Flavor f = new Flavor(maria ? Kind.MARIADB : Kind.MYSQL, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)), version.strip());
        return f;
    }

    /** Null when failoverkit can manage this server, else why not. */
    public String unsupported() {
        if (kind == Kind.MARIADB && !atLeast(10, 6, 0)) return "MariaDB " + version + " is older than 10.6, which failoverkit needs (MASTER_DEMOTE_TO_SLAVE needs 10.10 for rejoin)";
        if (kind == Kind.MYSQL && !atLeast(8, 0, 23)) return "MySQL " + version + " is older than 8.0.23, which failoverkit needs (CHANGE REPLICATION SOURCE TO, SOURCE_AUTO_POSITION)";
        return null;
    }

    public boolean atLeast(int maj, int min, int pat) {
        if (major != maj) return major > maj;
        if (minor != min) return minor > min;
        return patch >= pat;
    }

    public boolean mariadb() { return kind == Kind.MARIADB; }

    public String describe() { return (mariadb() ? "MariaDB " : "MySQL ") + major + "." + minor + "." + patch; }

    public GtidSet.Flavor gtidFlavor() { return mariadb() ? GtidSet.Flavor.MARIADB : GtidSet.Flavor.MYSQL; }

    public GtidSet parseGtid(String text) { return mariadb() ? GtidSet.parseMariaDb(text) : GtidSet.parseMySql(text); }

    // --- statements -------------------------------------------------------------------------------------------

    public String replicaStatus() { return mariadb() || !atLeast(8, 0, 22) ? "SHOW SLAVE STATUS" : "SHOW REPLICA STATUS"; }

    public String stopReplica() { return mariadb() ? "STOP SLAVE" : "STOP REPLICA"; }

    public String startReplica() { return mariadb() ? "START SLAVE" : "START REPLICA"; }

    public String resetReplicaAll() { return mariadb() ? "RESET SLAVE ALL" : "RESET REPLICA ALL"; }

    /** Starts only the applier, to apply a relay log that was received but not applied (the IO thread is left alone). */
    public String startSqlThread() { return mariadb() ? "START SLAVE SQL_THREAD" : "START REPLICA SQL_THREAD"; }

    public String startIoThread() { return mariadb() ? "START SLAVE IO_THREAD" : "START REPLICA IO_THREAD"; }

    /** The replica-status column with the GTIDs the IO thread received (written to the relay log), applied or not. */
    public String receivedColumn() { return mariadb() ? "Gtid_IO_Pos" : "Retrieved_Gtid_Set"; }

    /** The global variable(s) holding the executed GTID set. */
    public String positionQuery() {
        return mariadb() ? "SELECT @@GLOBAL.gtid_current_pos, @@GLOBAL.gtid_binlog_pos, @@GLOBAL.gtid_slave_pos, @@GLOBAL.server_id, @@GLOBAL.log_bin+0"
                : "SELECT @@GLOBAL.gtid_executed, @@GLOBAL.server_uuid, @@GLOBAL.gtid_mode, @@GLOBAL.enforce_gtid_consistency";
    }

    /** How long a replica's IO thread waits on its master (also its connect timeout): renamed in MySQL 8.0.26. */
    public String netTimeoutQuery() {
        return !mariadb() && atLeast(8, 0, 26) ? "SELECT @@GLOBAL.replica_net_timeout" : "SELECT @@GLOBAL.slave_net_timeout";
    }

    /**
     * Whether anyone but replication may still write: MySQL's super_read_only stops every user; MariaDB's read_only
     * does not stop users holding READ ONLY ADMIN (or SUPER before 10.11), which {@link ReadOnlyBypass} finds.
     */
    public String readOnlyQuery() {
        return mariadb() ? "SELECT @@GLOBAL.read_only+0" : "SELECT @@GLOBAL.super_read_only+0";
    }

    /** Read-only for every client (MySQL's super_read_only also stops users with SUPER / CONNECTION_ADMIN). */
    public List<String> setReadOnly() {
        return mariadb() ? List.of("SET GLOBAL read_only=1") : List.of("SET GLOBAL super_read_only=1");
    }

    public List<String> setWritable() {
        return mariadb() ? List.of("SET GLOBAL read_only=0") : List.of("SET GLOBAL super_read_only=0", "SET GLOBAL read_only=0");
    }

    /** Waits until the server executed {@code gtid}; the query returns 0 when done, -1 (MariaDB) or 1 (MySQL) on timeout. */
    public String waitForGtid() { return mariadb() ? "SELECT MASTER_GTID_WAIT(?, ?)" : "SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)"; }

    public boolean waitSucceeded(long result) { return result == 0; }

    /**
     * What the wait's result means, or null when everything was applied. MariaDB's MASTER_GTID_WAIT: 0 applied, -1
     * timeout, NULL an error (e.g. a malformed position); MySQL's WAIT_FOR_EXECUTED_GTID_SET: 0 applied, 1 timeout.
     */
    public String waitProblem(Long result, double seconds) {
        if (result == null) return (mariadb() ? "MASTER_GTID_WAIT" : "WAIT_FOR_EXECUTED_GTID_SET") + " returned NULL (an error)";
        if (result == 0) return null;
        boolean timeout = mariadb() ? result == -1 : result == 1;
        return timeout ? "not applied within " + seconds + " s" : "the wait returned " + result;
    }

    /** A replica-status column under this flavor's name: MariaDB and MySQL before 8.0.22 say Slave/Master, later MySQL says Replica/Source. */
    public String column(String modern) {
        if (!mariadb() && atLeast(8, 0, 22)) return modern;
        return switch (modern) {
            case "Replica_IO_Running" -> "Slave_IO_Running";
            case "Replica_SQL_Running" -> "Slave_SQL_Running";
            case "Source_Host" -> "Master_Host";
            case "Source_Port" -> "Master_Port";
            case "Seconds_Behind_Source" -> "Seconds_Behind_Master";
            case "Replica_SQL_Running_State" -> "Slave_SQL_Running_State";
            default -> modern;
        };
    }

    /**
     * The statement that points a replica at {@code host:port} with GTID auto-positioning. {@code demote}: the server
     * was a master, its own transactions become part of the replication position (MariaDB's MASTER_DEMOTE_TO_SLAVE;
     * MySQL's gtid_executed already holds them).
     */
    public String changeSource(String host, int port, String user, String password, boolean demote) {
        List<String> opts = new ArrayList<>();
        String p = mariadb() ? "MASTER_" : "SOURCE_";
        opts.add(p + "HOST=" + quote(host));
        opts.add(p + "PORT=" + port);
        opts.add(p + "USER=" + quote(user));
        if (password != null) opts.add(p + "PASSWORD=" + quote(password));
        if (mariadb()) {
            opts.add("MASTER_USE_GTID=slave_pos");
            if (demote) opts.add("MASTER_DEMOTE_TO_SLAVE=1");
        } else {
            opts.add("SOURCE_AUTO_POSITION=1");
            opts.add("GET_SOURCE_PUBLIC_KEY=1");
        }
        opts.add(p + "CONNECT_RETRY=1");
        return (mariadb() ? "CHANGE MASTER TO " : "CHANGE REPLICATION SOURCE TO ") + String.join(", ", opts);
    }

    /** Client connections to kill when fencing: everything but replication, system threads and this connection. */
    public String clientConnections() {
        return "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER NOT IN ('system user', 'event_scheduler')"
                + " AND COMMAND NOT IN ('Binlog Dump', 'Binlog Dump GTID', 'Daemon', 'Slave_IO', 'Slave_SQL', 'Slave_worker', 'Connect')";
    }

    /** Replicas streaming from this server. */
    public String connectedReplicas() {
        return "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND IN ('Binlog Dump', 'Binlog Dump GTID')";
    }

    /** A SQL string literal: quotes and backslashes escaped (the server runs with default sql_mode quoting). */
    static String quote(String s) {
        StringBuilder b = new StringBuilder("'");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '\'' -> b.append("''");
                case '\\' -> b.append("\\\\");
                case '\0' -> b.append("\\0");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                default -> b.append(c);
            }
        }
        return b.append('\'').toString();
    }
}

package io.failoverkit.failover.mysql;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.GtidSet;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.InstanceState.Role;
import io.failoverkit.failover.topology.Position;
import io.failoverkit.failover.topology.Topology;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * How failoverkit reads and changes MySQL 8.0/8.4 and MariaDB 10.6+ servers (orchestrator's "inst" side). One small
 * HikariCP pool per member keeps the manager's observations cheap (no handshake every 300 ms); every connection has
 * both a connect and a socket timeout, because a frozen (SIGSTOPped) server still accepts TCP connections and only
 * the socket timeout ends the wait. A connection that failed is evicted from its pool at once. Nothing here decides.
 */
public final class MySqlServers implements Servers {
    /** What {@link #rejoin} found. */
    public record RejoinResult(boolean joined, String message) {}

    private final int timeoutMs;
    private final String user;
    private final String password;
    private final String replicationUser;
    private final String replicationPassword;
    private final Map<String, String> driverProperties;
    private final Map<String, HikariDataSource> pools = new ConcurrentHashMap<>();
    private final Map<String, String> serverUuids = new ConcurrentHashMap<>();
    private final ExecutorService observers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "mysql-observe");
        t.setDaemon(true);
        return t;
    });
    private final ExecutorService networkTimeouts = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "mysql-timeout");
        t.setDaemon(true);
        return t;
    });

    public MySqlServers(int timeoutMs, String user, String password, String replicationUser, String replicationPassword) {
        this(timeoutMs, user, password, replicationUser, replicationPassword, Map.of());
    }

    /** {@code driverProperties}: extra Connector/J properties for every connection (e.g. localSocketAddress, sslMode). */
    public MySqlServers(int timeoutMs, String user, String password, String replicationUser, String replicationPassword, Map<String, String> driverProperties) {
        this.timeoutMs = Math.max(timeoutMs, 250);
        this.user = user;
        this.password = password;
        this.replicationUser = replicationUser;
        this.replicationPassword = replicationPassword;
        this.driverProperties = Map.copyOf(driverProperties);
    }

    private HikariDataSource pool(String address) {
        return pools.computeIfAbsent(address, a -> {
            int colon = a.lastIndexOf(':');
            HikariConfig c = new HikariConfig();
            c.setPoolName("failoverkit-" + a);
            c.setJdbcUrl("jdbc:mysql://" + a.substring(0, colon) + ":" + a.substring(colon + 1) + "/");
            c.setUsername(user);
            if (password != null) c.setPassword(password);
            c.addDataSourceProperty("connectTimeout", Integer.toString(timeoutMs));
            c.addDataSourceProperty("socketTimeout", Integer.toString(timeoutMs));
            c.addDataSourceProperty("connectionAttributes", "program_name:failoverkit");
            c.addDataSourceProperty("allowMultiQueries", "false");
            driverProperties.forEach(c::addDataSourceProperty);
            c.setMaximumPoolSize(3);
            c.setMinimumIdle(1);
            c.setConnectionTimeout(timeoutMs);
            c.setValidationTimeout(timeoutMs);
            c.setInitializationFailTimeout(-1);
            c.setIdleTimeout(60_000);
            c.setMaxLifetime(600_000);
            c.setAutoCommit(true);
            return new HikariDataSource(c);
        });
    }

    /**
     * An idle pooled connection when there is one, else a direct short connection with the same timeouts. The pool
     * alone is not enough for failover: after a server was down, HikariCP retries with a growing backoff (up to 5 s)
     * and would make a server that came back (a thawed old primary to fence) look down for seconds more. Callers
     * must use {@link #discard} when a statement failed.
     */
    Connection connect(String address) throws SQLException {
        HikariDataSource ds = pool(address);
        var mx = ds.getHikariPoolMXBean();
        if (mx != null && mx.getIdleConnections() > 0) {
            try {
                return ds.getConnection();
            } catch (SQLException e) {
                // fall through to a direct connection
            }
        }
        int colon = address.lastIndexOf(':');
        Properties p = new Properties();
        p.setProperty("user", user);
        if (password != null) p.setProperty("password", password);
        p.setProperty("connectTimeout", Integer.toString(timeoutMs));
        p.setProperty("socketTimeout", Integer.toString(timeoutMs));
        driverProperties.forEach(p::setProperty);
        return DriverManager.getConnection("jdbc:mysql://" + address.substring(0, colon) + ":" + address.substring(colon + 1) + "/", p);
    }

    private void discard(String address, Connection c) {
        if (c == null) return;
        try { pool(address).evictConnection(c); } catch (RuntimeException ignored) { }
        try { c.close(); } catch (SQLException ignored) { }
    }

    @FunctionalInterface
    private interface SqlWork<T> { T run(Connection c, Flavor f) throws SQLException; }

    /** Runs {@code work} on one connection with a socket timeout of {@code networkMillis}; a failed connection is evicted. */
    private <T> T with(String address, int networkMillis, SqlWork<T> work) throws SQLException {
        Connection c = connect(address);
        try {
            if (networkMillis != timeoutMs) c.setNetworkTimeout(networkTimeouts, networkMillis);
            Flavor f = flavor(c);
            T out = work.run(c, f);
            if (c.getNetworkTimeout() != timeoutMs) c.setNetworkTimeout(networkTimeouts, timeoutMs);
            c.close();
            return out;
        } catch (SQLException | RuntimeException e) {
            discard(address, c);
            throw e;
        }
    }

    /**
     * A change: its socket timeout covers STOP SLAVE, which waits for an IO thread blocked connecting to a frozen
     * master; that connect gives up only after slave_net_timeout (2 s in the drills, 60 s by default).
     */
    private <T> T change(String address, String what, SqlWork<T> work) {
        try {
            return with(address, Math.max(10_000, timeoutMs), (c, f) -> {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(f.netTimeoutQuery())) {
                    rs.next();
                    long netTimeoutSeconds = rs.getLong(1);
                    c.setNetworkTimeout(networkTimeouts, (int) Math.min(600_000, Math.max(10_000, (netTimeoutSeconds + 5) * 1000)));
                }
                return work.run(c, f);
            });
        } catch (SQLException e) {
            throw new IllegalStateException(what + " on " + address + " failed: " + e.getMessage(), e);
        }
    }

    static Flavor flavor(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT VERSION()")) {
            rs.next();
            return Flavor.parse(rs.getString(1));
        }
    }

    // --- reading ----------------------------------------------------------------------------------------------

    @Override
    public InstanceState observe(String address) {
        try {
            return with(address, timeoutMs, (c, f) -> observe(address, c, f));
        } catch (SQLException | RuntimeException e) {
            return InstanceState.unreachable(address, e.getMessage() == null ? e.getClass().getSimpleName() : firstLine(e.getMessage()));
        }
    }

    /** Every member at once (a frozen member costs one timeout, not one per member), then errant transactions are looked for. */
    @Override
    public Topology observeAll(List<String> members) {
        List<Future<InstanceState>> fs = members.stream().map(m -> observers.submit(() -> observe(m))).toList();
        List<InstanceState> out = new ArrayList<>();
        for (int i = 0; i < fs.size(); i++) {
            try {
                out.add(fs.get(i).get(timeoutMs * 4L + 1000, TimeUnit.MILLISECONDS));
            } catch (Exception e) {
                out.add(InstanceState.unreachable(members.get(i), "observation did not finish: " + e));
            }
        }
        return new Topology(markErrant(out));
    }

    /**
     * MySQL: a replica's errant transactions are those of its own server_uuid that the master (when reachable) or, with
     * the master gone, no other member holds. (MariaDB's are found per instance, from gtid_binlog_pos vs gtid_slave_pos.)
     */
    List<InstanceState> markErrant(List<InstanceState> states) {
        List<InstanceState> masters = states.stream().filter(InstanceState::isMaster).toList();
        List<InstanceState> out = new ArrayList<>();
        for (InstanceState s : states) {
            if (!s.isReplica() || !(s.position() instanceof GtidSet g) || g.flavor() != GtidSet.Flavor.MYSQL || serverUuids.get(s.address()) == null) {
                out.add(s);
                continue;
            }
            GtidSet own = g.onlySource(serverUuids.get(s.address()));
            List<InstanceState> against = masters.size() == 1 ? masters : states.stream().filter(o -> o != s && o.reachable()).toList();
            for (InstanceState o : against) if (o.position() instanceof GtidSet og) own = own.minus(og);
            out.add(own.isEmpty() ? s : withPosition(s, g.withBlocker("errant transactions " + own.gtidText() + " (executed on this replica, not from its master)")));
        }
        return out;
    }

    /** For tests of {@link #markErrant}: what observe learns from @@server_uuid. */
    void rememberServerUuid(String address, String uuid) { serverUuids.put(address, uuid); }

    private static InstanceState withPosition(InstanceState s, Position p) {
        return new InstanceState(s.address(), s.reachable(), s.error(), s.role(), s.writable(), s.masterAddress(), s.masterLinkUp(), p,
                s.connectedReplicas(), s.synced(), s.detail());
    }

    private InstanceState observe(String address, Connection c, Flavor f) throws SQLException {
        String unsupported = f.unsupported();
        Map<String, String> status = replicaStatus(c, f);
        boolean readOnly;
        GtidSet position;
        String blocker = unsupported;
        try (Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery(f.mariadb() ? "SELECT @@GLOBAL.read_only+0" : "SELECT @@GLOBAL.read_only+0, @@GLOBAL.super_read_only+0")) {
                rs.next();
                readOnly = rs.getInt(1) != 0 || (!f.mariadb() && rs.getInt(2) != 0);
            }
            try (ResultSet rs = s.executeQuery(f.positionQuery())) {
                rs.next();
                if (f.mariadb()) {
                    position = GtidSet.parseMariaDb(rs.getString(1));
                    if (rs.getInt(5) == 0) blocker = "the binary log is off (log_bin): a promoted replica could not serve the others";
                    else if (!status.isEmpty() && "No".equalsIgnoreCase(status.get("Using_Gtid"))) {
                        blocker = "replicates by binlog file and position, not GTID (MASTER_USE_GTID=No): failoverkit needs GTID replication";
                    } else if (!status.isEmpty()) {
                        String errant = mariaDbErrant(rs.getString(2), rs.getString(3), rs.getLong(4));
                        if (errant != null) blocker = "errant transactions " + errant + " (written on this replica, not replicated from its master)";
                    }
                } else {
                    position = GtidSet.parseMySql(rs.getString(1));
                    serverUuids.put(address, rs.getString(2));
                    if (!"ON".equalsIgnoreCase(rs.getString(3))) blocker = "gtid_mode is " + rs.getString(3) + ", not ON: failoverkit needs GTID replication";
                    else if (!status.isEmpty() && !"1".equals(status.get("Auto_Position"))) {
                        blocker = "replicates without SOURCE_AUTO_POSITION=1: failoverkit needs GTID auto-positioning";
                    }
                }
            }
        }
        if (blocker != null) position = position.withBlocker(blocker);
        String semi = semiSync(c);
        String detail = f.describe() + " read_only=" + (readOnly ? 1 : 0) + (semi.isEmpty() ? "" : " " + semi)
                + (blocker != null ? " NOT PROMOTABLE: " + blocker : "");
        if (status.isEmpty()) {
            int replicas;
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(f.connectedReplicas())) {
                rs.next();
                replicas = rs.getInt(1);
            }
            return new InstanceState(address, true, null, Role.MASTER, !readOnly, null, false, position, replicas, true, detail);
        }
        String io = status.getOrDefault(f.column("Replica_IO_Running"), "");
        String sql = status.getOrDefault(f.column("Replica_SQL_Running"), "");
        String lag = status.get(f.column("Seconds_Behind_Source"));
        String master = status.get(f.column("Source_Host")) + ":" + status.get(f.column("Source_Port"));
        String err = status.getOrDefault("Last_IO_Error", "");
        String sqlErr = status.getOrDefault("Last_SQL_Error", "");
        detail = "io=" + io + " sql=" + sql + " lag=" + (lag == null ? "null" : lag + "s") + " " + detail
                + (err.isEmpty() ? "" : " io_error=\"" + err + "\"") + (sqlErr.isEmpty() ? "" : " sql_error=\"" + sqlErr + "\"");
        return new InstanceState(address, true, null, Role.REPLICA, false, master, "Yes".equalsIgnoreCase(io), position, 0, !position.isEmpty(), detail);
    }

    /**
     * MariaDB: GTIDs this replica wrote itself. gtid_binlog_pos holds, per domain, the last GTID in its binlog; when
     * that one carries its own server_id and goes past what it replicated (gtid_slave_pos), it was written locally.
     */
    static String mariaDbErrant(String binlogPos, String slavePos, long ownServerId) {
        Map<Long, Long> replicated = GtidSet.parseMariaDb(slavePos).mariaDbSequences();
        List<String> errant = new ArrayList<>();
        for (String part : binlogPos == null ? new String[0] : binlogPos.split(",")) {
            String[] f = part.strip().split("-");
            if (f.length != 3) continue;
            long domain = Long.parseLong(f[0]), server = Long.parseLong(f[1]), seq = Long.parseLong(f[2]);
            if (server == ownServerId && seq > replicated.getOrDefault(domain, 0L)) errant.add(part.strip());
        }
        return errant.isEmpty() ? null : String.join(",", errant);
    }

    /** A replica's threads and lag as `checks mysql-replica` reads them; {@code lagSeconds} null when unknown (IO thread down). */
    public record ReplicaHealth(boolean replica, String master, boolean ioRunning, boolean sqlRunning, Long lagSeconds, String ioError, String sqlError, String flavor) {}

    /** The replica threads' state of {@code address}; throws when it cannot be reached. */
    public ReplicaHealth replicaHealth(String address) throws SQLException {
        return with(address, timeoutMs, (c, f) -> {
            Map<String, String> st = replicaStatus(c, f);
            if (st.isEmpty()) return new ReplicaHealth(false, null, false, false, null, "", "", f.describe());
            String lag = st.get(f.column("Seconds_Behind_Source"));
            return new ReplicaHealth(true, st.get(f.column("Source_Host")) + ":" + st.get(f.column("Source_Port")),
                    "Yes".equalsIgnoreCase(st.get(f.column("Replica_IO_Running"))), "Yes".equalsIgnoreCase(st.get(f.column("Replica_SQL_Running"))),
                    lag == null || lag.isBlank() ? null : Long.parseLong(lag), st.getOrDefault("Last_IO_Error", ""), st.getOrDefault("Last_SQL_Error", ""), f.describe());
        });
    }

    /** The replica status row as column name to text; empty when the server replicates from nobody. */
    static Map<String, String> replicaStatus(Connection c, Flavor f) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(f.replicaStatus())) {
            if (!rs.next()) return out;
            ResultSetMetaData md = rs.getMetaData();
            for (int i = 1; i <= md.getColumnCount(); i++) out.put(md.getColumnLabel(i), rs.getString(i));
        }
        return out;
    }

    /** Semi-sync as configured and as it is now: "semi-sync master=ON status=OFF (FELL BACK TO ASYNC ...)". */
    static String semiSync(Connection c) throws SQLException {
        Map<String, String> vars = new HashMap<>();
        try (Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%enabled'")) {
                while (rs.next()) vars.put(rs.getString(1).toLowerCase(), rs.getString(2));
            }
            try (ResultSet rs = s.executeQuery("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%'")) {
                while (rs.next()) vars.put(rs.getString(1).toLowerCase(), rs.getString(2));
            }
        }
        return describeSemiSync(vars);
    }

    /** Pure: the semi-sync report from the server's variables and status (both the master/slave and source/replica names). */
    static String describeSemiSync(Map<String, String> v) {
        String masterOn = first(v, "rpl_semi_sync_source_enabled", "rpl_semi_sync_master_enabled");
        String replicaOn = first(v, "rpl_semi_sync_replica_enabled", "rpl_semi_sync_slave_enabled");
        if (masterOn == null && replicaOn == null) return "";
        List<String> parts = new ArrayList<>();
        if ("ON".equalsIgnoreCase(masterOn)) {
            String status = first(v, "rpl_semi_sync_source_status", "rpl_semi_sync_master_status");
            String clients = first(v, "rpl_semi_sync_source_clients", "rpl_semi_sync_master_clients");
            String yes = first(v, "rpl_semi_sync_source_yes_tx", "rpl_semi_sync_master_yes_tx");
            String no = first(v, "rpl_semi_sync_source_no_tx", "rpl_semi_sync_master_no_tx");
            parts.add("semi-sync master=ON status=" + status + " clients=" + clients + " acked_tx=" + yes + " unacked_tx=" + no
                    + ("OFF".equalsIgnoreCase(status) ? " (FELL BACK TO ASYNC: acknowledged writes can be lost in a crash)" : ""));
        }
        if ("ON".equalsIgnoreCase(replicaOn)) {
            parts.add("semi-sync replica=ON status=" + first(v, "rpl_semi_sync_replica_status", "rpl_semi_sync_slave_status"));
        }
        if (parts.isEmpty()) parts.add("semi-sync off");
        return String.join(" ", parts);
    }

    private static String first(Map<String, String> v, String a, String b) {
        return v.containsKey(a) ? v.get(a) : v.get(b);
    }

    // --- changing ---------------------------------------------------------------------------------------------

    /** Applies what the replica already received (its relay log) within {@code max}; a stopped SQL thread applies nothing, so it is not waited for. */
    @Override
    public InstanceState drain(String candidate, Duration max) {
        try {
            with(candidate, (int) Math.min(Integer.MAX_VALUE, max.toMillis() + timeoutMs), (c, f) -> {
                Map<String, String> st = replicaStatus(c, f);
                if (st.isEmpty() || !"Yes".equalsIgnoreCase(st.get(f.column("Replica_SQL_Running")))) return null;
                String received = f.mariadb() ? st.get("Gtid_IO_Pos") : st.get("Retrieved_Gtid_Set");
                if (received == null || received.isBlank()) return null;
                try (PreparedStatement ps = c.prepareStatement(f.waitForGtid())) {
                    ps.setString(1, received.replace("\n", ""));
                    if (f.mariadb()) ps.setDouble(2, max.toMillis() / 1000.0);
                    else ps.setLong(2, Math.max(1, max.toSeconds()));
                    try (ResultSet rs = ps.executeQuery()) { rs.next(); }
                }
                return null;
            });
        } catch (SQLException | RuntimeException e) {
            return InstanceState.unreachable(candidate, firstLine(String.valueOf(e.getMessage())));
        }
        return observe(candidate);
    }

    /**
     * Replication stopped and forgotten, then writable. A cluster running semi-sync (the replica side is on here) gets
     * the master side on: the new primary waits for a replica's acknowledgement as the old one did.
     */
    @Override
    public void promote(String address) {
        change(address, "promote", (c, f) -> {
            exec(c, f.stopReplica());
            exec(c, f.resetReplicaAll());
            String master = semiSyncSwitch(c, true);
            if (master != null) exec(c, "SET GLOBAL " + master + "=1");
            for (String s : f.setWritable()) exec(c, s);
            return null;
        });
    }

    /**
     * The semi-sync master-side variable to change on a server whose replica side is on (promote), or whose master
     * side is on (re-point: a replica with the master side on would wait for acknowledgements of what it applies);
     * null when there is nothing to change. Both the master/slave and the source/replica names are recognised.
     */
    private static String semiSyncSwitch(Connection c, boolean promoting) throws SQLException {
        Map<String, String> v = new HashMap<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%enabled'")) {
            while (rs.next()) v.put(rs.getString(1).toLowerCase(), rs.getString(2));
        }
        return semiSyncSwitch(v, promoting);
    }

    static String semiSyncSwitch(Map<String, String> v, boolean promoting) {
        String masterVar = v.containsKey("rpl_semi_sync_source_enabled") ? "rpl_semi_sync_source_enabled"
                : v.containsKey("rpl_semi_sync_master_enabled") ? "rpl_semi_sync_master_enabled" : null;
        if (masterVar == null) return null;
        boolean masterOn = "ON".equalsIgnoreCase(v.get(masterVar));
        if (!promoting) return masterOn ? masterVar : null;
        boolean replicaOn = "ON".equalsIgnoreCase(first(v, "rpl_semi_sync_replica_enabled", "rpl_semi_sync_slave_enabled"));
        return replicaOn && !masterOn ? masterVar : null;
    }

    /** Read-only first, then replicating from {@code master} with GTID auto-positioning. A former master is demoted (its GTIDs kept). */
    @Override
    public void repoint(String address, String master) {
        int colon = master.lastIndexOf(':');
        change(address, "re-point to " + master, (c, f) -> {
            for (String s : f.setReadOnly()) exec(c, s);
            boolean wasMaster = replicaStatus(c, f).isEmpty();
            exec(c, f.stopReplica());
            exec(c, f.changeSource(master.substring(0, colon), Integer.parseInt(master.substring(colon + 1)), replicationUser, replicationPassword, wasMaster));
            String semiMaster = semiSyncSwitch(c, false);
            if (semiMaster != null) exec(c, "SET GLOBAL " + semiMaster + "=0");
            exec(c, f.startReplica());
            return null;
        });
    }

    /**
     * Client connections killed, read-only (super_read_only on MySQL), and killed again, before anything else. Killed
     * first because SET GLOBAL read_only waits for commits in flight, and a commit of a thawed old primary waits for a
     * semi-sync acknowledgement that will not come: killed, its client gets an error instead of an acknowledgement.
     * It is not re-pointed: it may hold transactions the new master lacks (`failover rejoin` checks).
     */
    @Override
    public void fence(String address) {
        change(address, "fence", (c, f) -> {
            killClients(c, f);
            for (String s : f.setReadOnly()) exec(c, s);
            killClients(c, f);
            return null;
        });
    }

    /**
     * After the new master was promoted: a covered old master (a switchover waited for the candidate to hold all of
     * it) replicates from it at once; any other stays fenced, read-only, for `failover rejoin` to check.
     */
    @Override
    public void demote(String address, String newMaster, boolean covered) {
        if (covered) repoint(address, newMaster);
    }

    private static void killClients(Connection c, Flavor f) throws SQLException {
        List<Long> ids = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(f.clientConnections())) {
            while (rs.next()) ids.add(rs.getLong(1));
        }
        for (long id : ids) {
            try {
                exec(c, "KILL CONNECTION " + id);
            } catch (SQLException e) {
                if (e.getErrorCode() != 1094) throw e; // 1094: gone meanwhile
            }
        }
    }

    /** Switchover: the master refuses writes (read-only) until the candidate took over or {@link #resumeWrites}. */
    @Override
    public void stopWrites(String master, Duration max) {
        change(master, "stop writes", (c, f) -> {
            for (String s : f.setReadOnly()) exec(c, s);
            return null;
        });
    }

    @Override
    public void resumeWrites(String master) {
        change(master, "resume writes", (c, f) -> {
            for (String s : f.setWritable()) exec(c, s);
            return null;
        });
    }

    /**
     * Makes a fenced old master a replica of {@code master} again, unless it diverged: when it holds transactions the
     * master lacks it is left read-only and untouched, and must be rebuilt from a copy of the master.
     */
    /**
     * Client errors a replica's IO thread reports when it cannot reach its master or loses the connection (can't
     * connect, server gone, lost during the handshake): it retries them by itself, so a rejoin keeps waiting.
     */
    private static final Set<String> IO_CONNECTION_ERRORS = Set.of("2003", "2006", "2013");

    public RejoinResult rejoin(String address, String master, Duration max) {
        InstanceState m = observe(master);
        if (!m.isMaster()) return new RejoinResult(false, master + " is not a writable master (" + (m.reachable() ? m.detail() : m.error()) + "); not rejoining");
        InstanceState me = observe(address);
        if (!me.reachable()) return new RejoinResult(false, address + " is unreachable: " + me.error());
        if (me.isMaster()) return new RejoinResult(false, address + " is writable: fence it first (it could be taking writes); not rejoining");
        String masterBinlogState = change(master, "read the master's binlog state", (c, f) -> {
            if (!f.mariadb()) return null;
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@GLOBAL.gtid_binlog_state")) {
                rs.next();
                return rs.getString(1);
            }
        });
        String diverged = change(address, "divergence check", (c, f) -> {
            if (f.mariadb()) {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@GLOBAL.gtid_binlog_pos")) {
                    rs.next();
                    return mariaDbDiverged(rs.getString(1), masterBinlogState);
                }
            }
            GtidSet extra = ((GtidSet) me.position()).minus((GtidSet) m.position());
            return extra.isEmpty() ? null : "it executed transactions the master lacks: " + extra.gtidText();
        });
        if (diverged != null) {
            return new RejoinResult(false, address + " DIVERGED from " + master + ": " + diverged
                    + "; left read-only and not replicating. Rebuild it from a copy of the master (mariadb-dump --gtid / clone) before it rejoins");
        }
        repoint(address, master);
        long deadline = System.nanoTime() + max.toNanos();
        String last = "";
        while (System.nanoTime() < deadline) {
            String problem = change(address, "rejoin check", (c, f) -> {
                Map<String, String> st = replicaStatus(c, f);
                String errno = st.getOrDefault("Last_IO_Errno", "0");
                // A connection that failed or dropped is retried by the IO thread (MASTER_CONNECT_RETRY): not divergence.
                if (!"0".equals(errno) && !IO_CONNECTION_ERRORS.contains(errno)) return "error " + errno + ": " + st.get("Last_IO_Error");
                String sqlErrno = st.getOrDefault("Last_SQL_Errno", "0");
                if (!"0".equals(sqlErrno)) return "error " + sqlErrno + ": " + st.get("Last_SQL_Error");
                return null;
            });
            if (problem != null) {
                change(address, "stop replication after a failed rejoin", (c, f) -> { exec(c, f.stopReplica()); return null; });
                return new RejoinResult(false, address + " DIVERGED from " + master + " (" + problem + "); replication stopped, left read-only."
                        + " Rebuild it from a copy of the master before it rejoins");
            }
            InstanceState now = observe(address);
            last = now.detail();
            if (now.isReplica() && now.masterLinkUp() && now.position().covers(m.position())) {
                return new RejoinResult(true, address + " replicates from " + master + " at " + now.position().text());
            }
            try { Thread.sleep(100); } catch (InterruptedException e) { Thread.currentThread().interrupt(); break; }
        }
        return new RejoinResult(false, address + " did not catch up with " + master + " within " + max.toSeconds() + " s: " + last);
    }

    /**
     * MariaDB: the old primary's last GTID of each domain (gtid_binlog_pos, d-s-n) must be in the master's binlog. The
     * master's gtid_binlog_state lists the last GTID of every (domain, server) pair it logged; with gtid_strict_mode
     * it holds d-s-n when it has some d-s-m with m >= n. Same sequence numbers from different servers (each side
     * wrote after the split) are exactly the divergence a comparison of sequence numbers alone would miss.
     */
    static String mariaDbDiverged(String oldBinlogPos, String masterBinlogState) {
        Map<String, Long> masterLast = new HashMap<>();
        for (String part : masterBinlogState == null ? new String[0] : masterBinlogState.split(",")) {
            String[] f = part.strip().split("-");
            if (f.length == 3) masterLast.merge(f[0] + "-" + f[1], Long.parseLong(f[2]), Math::max);
        }
        List<String> missing = new ArrayList<>();
        for (String part : oldBinlogPos == null ? new String[0] : oldBinlogPos.split(",")) {
            String[] f = part.strip().split("-");
            if (f.length != 3) continue;
            Long have = masterLast.get(f[0] + "-" + f[1]);
            if (have == null || have < Long.parseLong(f[2])) missing.add(part.strip());
        }
        return missing.isEmpty() ? null : "its last transactions " + missing + " are not in the master's binlog (master's state: " + masterBinlogState + ")";
    }

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    private static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    @Override
    public void close() {
        pools.values().forEach(HikariDataSource::close);
        pools.clear();
        observers.shutdownNow();
        networkTimeouts.shutdownNow();
    }
}

package io.failoverkit.failover.mysql;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.failoverkit.failover.inst.AcknowledgingReplicas;
import io.failoverkit.failover.cluster.Timings;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.SemiSync;
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
import java.util.Optional;
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
public final class MySqlServers implements Servers, AcknowledgingReplicas {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(MySqlServers.class);
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
    private final Set<String> slowNetTimeoutWarned = ConcurrentHashMap.newKeySet();
    /** Each member's semi-sync variables and status as last observed; absent when the last observation failed (unknown). */
    private final Map<String, Map<String, String>> semiSyncSeen = new ConcurrentHashMap<>();
    private volatile boolean closed;
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
        if (closed) throw new IllegalStateException("closed");
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
        // Evicted, HikariCP's proxy may throw on close (its connection already gone): the caller's error is what matters.
        try { c.close(); } catch (SQLException | RuntimeException ignored) { }
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
     * A change: its socket timeout is the failover's step limit ({@link Timings#MYSQL_STEP_LIMIT}), which the lock's
     * lock-delay is sized for: a change still running after it could overlap another manager's. STOP SLAVE waits for
     * an IO thread blocked connecting to a frozen master, which gives up only after slave_net_timeout (2 s in the
     * drills, 60 s by default): with a slave_net_timeout over 5 s such a STOP SLAVE can outlast the step, and the
     * change fails (the run rolls back) instead of running on beyond the lock. Set slave_net_timeout low.
     */
    private <T> T change(String address, String what, SqlWork<T> work) {
        int stepMs = (int) Timings.MYSQL_STEP_LIMIT.toMillis();
        try {
            return with(address, Math.max(stepMs, timeoutMs), (c, f) -> {
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(f.netTimeoutQuery())) {
                    rs.next();
                    long netTimeoutSeconds = rs.getLong(1);
                    if ((netTimeoutSeconds + 5) * 1000 > stepMs && slowNetTimeoutWarned.add(address)) {
                        LOG.warn("{}: slave_net_timeout {} s: a STOP SLAVE waiting for a frozen master's connect can outlast the"
                                + " {} ms step limit and fail the failover; set it to 5 s or less", address, netTimeoutSeconds, stepMs);
                    }
                    c.setNetworkTimeout(networkTimeouts, stepMs);
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
            semiSyncSeen.remove(address);
            return InstanceState.unreachable(address, e.getMessage() == null ? e.getClass().getSimpleName() : firstLine(e.getMessage()));
        }
    }

    /** Every member at once (a frozen member costs one timeout, not one per member), then errant transactions are looked for. */
    @Override
    public Topology observeAll(List<String> members) {
        // Closed: whoever still observes (a loop not stopped before its servers were closed) gets an answer, not a
        // RejectedExecutionException from the shut-down observer pool.
        if (closed) return new Topology(members.stream().map(m -> InstanceState.unreachable(m, "observer closed")).toList());
        List<Future<InstanceState>> fs = members.stream().map(m -> observers.submit(() -> observe(m))).toList();
        List<InstanceState> out = new ArrayList<>();
        for (int i = 0; i < fs.size(); i++) {
            try {
                out.add(fs.get(i).get(timeoutMs * 4L + 1000, TimeUnit.MILLISECONDS));
            } catch (InterruptedException e) {
                // Keep the interrupt for the caller's loop (it is how a loop is told to end), and wait for nothing more.
                Thread.currentThread().interrupt();
                for (int j = i; j < fs.size(); j++) {
                    fs.get(j).cancel(true);
                    out.add(InstanceState.unreachable(members.get(j), "observation interrupted"));
                }
                break;
            } catch (Exception e) {
                fs.get(i).cancel(true);
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
                s.connectedReplicas(), s.synced(), s.detail(), s.writableByAdmins());
    }

    private InstanceState observe(String address, Connection c, Flavor f) throws SQLException {
        String unsupported = f.unsupported();
        Map<String, String> status = replicaStatus(c, f);
        boolean readOnly;
        GtidSet position;
        String blocker = unsupported;
        try (Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery(f.readOnlyQuery())) {
                rs.next();
                readOnly = rs.getInt(1) != 0;
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
        Map<String, String> semiVars = semiSyncVars(c);
        semiSyncSeen.put(address, semiVars);
        String semi = describeSemiSync(semiVars);
        String detail = f.describe() + " read_only=" + (readOnly ? 1 : 0) + (semi.isEmpty() ? "" : " " + semi)
                + (blocker != null ? " NOT PROMOTABLE: " + blocker : "");
        if (status.isEmpty()) {
            // Hole 3: on MariaDB read_only does not stop READ ONLY ADMIN holders: unless they are locked, someone can still write.
            String bypass = readOnly ? unlockedBypass(c, f) : null;
            if (bypass != null) detail += " WRITABLE DESPITE read_only: " + bypass;
            int replicas;
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(f.connectedReplicas())) {
                rs.next();
                replicas = rs.getInt(1);
            }
            return new InstanceState(address, true, null, Role.MASTER, !readOnly, null, false, position, replicas, true, detail, bypass != null);
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

    /**
     * Whether read_only (super_read_only on MySQL) is on: applications without READ ONLY ADMIN cannot write. Not the
     * same as not {@code writable}: on MariaDB an account that bypasses read_only may still write. Throws when unreachable.
     */
    public boolean readOnly(String address) throws SQLException {
        return with(address, timeoutMs, (c, f) -> {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(f.readOnlyQuery())) {
                rs.next();
                return rs.getInt(1) != 0;
            }
        });
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

    /**
     * MariaDB, a read-only server replicating from nobody: why someone could still write on it (accounts that bypass
     * read_only and are not locked), or null when nobody can. When the accounts cannot be read, it says so: not
     * knowing counts as writable, so a split-brain check is never fooled by read_only alone.
     */
    private String unlockedBypass(Connection c, Flavor f) {
        if (!f.mariadb()) return null;
        try {
            List<String> open = ReadOnlyBypass.read(c, f, exemptUsers()).stream().filter(a -> !a.locked()).map(ReadOnlyBypass.Account::display).toList();
            return open.isEmpty() ? null : "accounts " + open + " bypass it (READ ONLY ADMIN" + (f.atLeast(10, 11, 0) ? "" : " or SUPER") + ") and are not locked";
        } catch (SQLException e) {
            return "cannot read which accounts bypass it (" + firstLine(String.valueOf(e.getMessage()))
                    + "; grant the manager SELECT ON mysql.global_priv and mysql.roles_mapping)";
        }
    }

    /** Accounts never locked by a fence: the manager's own (it fences) and replication's (it writes no data). */
    private Set<String> exemptUsers() {
        Set<String> exempt = new java.util.HashSet<>();
        exempt.add(user);
        if (replicationUser != null) exempt.add(replicationUser);
        return exempt;
    }

    /** The semi-sync variables and status (lower-case names), empty when the server has no semi-sync. */
    static Map<String, String> semiSyncVars(Connection c) throws SQLException {
        Map<String, String> vars = new HashMap<>();
        try (Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("SHOW GLOBAL VARIABLES LIKE 'rpl_semi_sync_%'")) {
                while (rs.next()) vars.put(rs.getString(1).toLowerCase(), rs.getString(2));
            }
            try (ResultSet rs = s.executeQuery("SHOW GLOBAL STATUS LIKE 'Rpl_semi_sync_%'")) {
                while (rs.next()) vars.put(rs.getString(1).toLowerCase(), rs.getString(2));
            }
        }
        return vars;
    }

    /** Pure: the semi-sync report from the server's variables and status (both the master/slave and source/replica names). */
    /** The largest semi-sync timeout both MySQL and MariaDB accept: strict semi-sync, never falling back to async. */
    public static final long STRICT_SEMI_SYNC_TIMEOUT_MS = 4_294_967_295L;

    private static boolean stalled(String clients, String waiting) {
        try {
            return clients != null && waiting != null && Long.parseLong(clients) == 0 && Long.parseLong(waiting) > 0;
        } catch (NumberFormatException e) {
            return false;
        }
    }

    private static boolean finite(String timeout) {
        try {
            return timeout != null && Long.parseLong(timeout) < STRICT_SEMI_SYNC_TIMEOUT_MS;
        } catch (NumberFormatException e) {
            return false;
        }
    }

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
            String waiting = first(v, "rpl_semi_sync_source_wait_sessions", "rpl_semi_sync_master_wait_sessions");
            String timeout = first(v, "rpl_semi_sync_source_timeout", "rpl_semi_sync_master_timeout");
            parts.add("semi-sync master=ON status=" + status + " clients=" + clients + " acked_tx=" + yes + " unacked_tx=" + no
                    + (waiting == null ? "" : " waiting=" + waiting) + (timeout == null ? "" : " timeout=" + timeout + "ms")
                    + ("OFF".equalsIgnoreCase(status) ? " (FELL BACK TO ASYNC: acknowledged writes can be lost in a crash)" : "")
                    + (stalled(clients, waiting) ? " (STALLED: " + waiting + " commit(s) wait for an acknowledgement and no replica is connected to give one)" : "")
                    + (finite(timeout) ? " (FINITE TIMEOUT: a primary frozen with a commit in flight falls back to async at the thaw and acknowledges before any fence; set it to "
                        + STRICT_SEMI_SYNC_TIMEOUT_MS + ")" : ""));
        }
        if ("ON".equalsIgnoreCase(replicaOn)) {
            parts.add("semi-sync replica=ON status=" + first(v, "rpl_semi_sync_replica_status", "rpl_semi_sync_slave_status"));
        }
        if (parts.isEmpty()) parts.add("semi-sync off");
        return String.join(" ", parts);
    }

    /** Who can acknowledge {@code master}'s commits, from the semi-sync settings of the observation of {@code t}. */
    @Override
    public Optional<SemiSync> semiSync(Topology t, String master, long nowMillis) {
        return semiSync(Map.copyOf(semiSyncSeen), t, master, nowMillis);
    }

    /**
     * Pure: an acknowledger is a replica of {@code master} (or of an address that is no member: it may name the master
     * differently) with its replica side on, or a member whose settings are unknown (unreachable): it could acknowledge.
     */
    static Optional<SemiSync> semiSync(Map<String, Map<String, String>> seen, Topology t, String master, long nowMillis) {
        Map<String, String> m = seen.get(master);
        if (m == null) return Optional.empty();
        boolean enabled = "ON".equalsIgnoreCase(first(m, "rpl_semi_sync_source_enabled", "rpl_semi_sync_master_enabled"));
        boolean active = enabled && "ON".equalsIgnoreCase(first(m, "rpl_semi_sync_source_status", "rpl_semi_sync_master_status"));
        List<String> ackers = new ArrayList<>();
        for (InstanceState i : t.instances()) {
            if (i.address().equals(master)) continue;
            Map<String, String> v = i.reachable() ? seen.get(i.address()) : null;
            boolean replicaOfMaster = i.isReplica() && (master.equals(i.masterAddress()) || t.get(i.masterAddress()).isEmpty());
            boolean on = v != null && "ON".equalsIgnoreCase(first(v, "rpl_semi_sync_replica_enabled", "rpl_semi_sync_slave_enabled"));
            if (v == null || (replicaOfMaster && on)) ackers.add(i.address());
        }
        return Optional.of(new SemiSync(master, enabled, active, ackers, nowMillis));
    }

    private static String first(Map<String, String> v, String a, String b) {
        return v.containsKey(a) ? v.get(a) : v.get(b);
    }

    // --- changing ---------------------------------------------------------------------------------------------

    /** What {@link #applyRelayLog} did: the SQL thread it started (or null), why the relay log may not be applied, what was received. */
    record Applied(String started, String problem, String received) {}

    /**
     * Applies what the replica already received (its relay log) within {@code max}, then reports whether it did. A
     * SQL thread stopped without an error (an operator's STOP SLAVE SQL_THREAD) is started first, as MHA and
     * orchestrator apply relay logs before choosing; one stopped by an error is not restarted blindly. A replica that
     * still has not applied everything it received is not caught up: its position becomes what it holds, executed or
     * only received (so no candidate that lacks those transactions covers it), with a blocker saying so (so decide
     * refuses to promote it unless forced).
     */
    @Override
    public InstanceState drain(String candidate, Duration max) {
        Applied applied;
        try {
            applied = with(candidate, (int) Math.min(Integer.MAX_VALUE, max.toMillis() + timeoutMs + 1000), (c, f) -> applyRelayLog(c, f, max));
        } catch (SQLException | RuntimeException e) {
            return InstanceState.unreachable(candidate, firstLine(String.valueOf(e.getMessage())));
        }
        return notCaughtUp(observe(candidate), applied);
    }

    private Applied applyRelayLog(Connection c, Flavor f, Duration max) throws SQLException {
        Map<String, String> st = replicaStatus(c, f);
        if (st.isEmpty()) return new Applied(null, null, null);
        String started = null;
        String problem = null;
        if (!"Yes".equalsIgnoreCase(st.get(f.column("Replica_SQL_Running")))) {
            String errno = st.getOrDefault("Last_SQL_Errno", "0");
            if (errno != null && !errno.isBlank() && !"0".equals(errno)) {
                problem = "its SQL thread stopped with error " + errno + " (" + st.get("Last_SQL_Error") + "), not restarted: an operator must look";
            } else {
                exec(c, f.startSqlThread());
                started = "its SQL thread was stopped without an error: started it to apply the relay log";
                LOG.warn("{}: {} (received {})", c.getMetaData().getURL(), started, st.get(f.receivedColumn()));
            }
        }
        String received = clean(st.get(f.receivedColumn()));
        if (problem == null && received != null) {
            try (PreparedStatement ps = c.prepareStatement(f.waitForGtid())) {
                ps.setString(1, received);
                if (f.mariadb()) ps.setDouble(2, max.toMillis() / 1000.0);
                else ps.setLong(2, Math.max(1, max.toSeconds()));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    long r = rs.getLong(1);
                    problem = f.waitProblem(rs.wasNull() ? null : r, max.toMillis() / 1000.0);
                }
            }
        }
        // Read again: the IO thread may have received more meanwhile (a switchover's master until it stopped writes).
        return new Applied(started, problem, clean(replicaStatus(c, f).get(f.receivedColumn())));
    }

    private static String clean(String gtids) {
        return gtids == null || gtids.isBlank() ? null : gtids.replace("\n", "").replace("\r", "").strip();
    }

    /** The observed state, marked not caught up when it holds received transactions it has not applied. */
    static InstanceState notCaughtUp(InstanceState s, Applied applied) {
        if (!s.reachable() || applied.received() == null || !(s.position() instanceof GtidSet executed)) return s;
        String detail = applied.started() == null ? s.detail() : s.detail() + " (" + applied.started() + ")";
        GtidSet received = executed.flavor() == GtidSet.Flavor.MARIADB ? GtidSet.parseMariaDb(applied.received()) : GtidSet.parseMySql(applied.received());
        GtidSet missing = received.minus(executed);
        if (missing.isEmpty()) return withDetail(s, detail);
        String why = "received " + received.gtidText() + " but applied only " + executed.gtidText()
                + (applied.problem() == null ? "" : " (" + applied.problem() + ")")
                + ": its relay log holds transactions no other data set may have (with semi-sync, acknowledged to clients)";
        String blocker = executed.blocker() == null ? why : executed.blocker() + "; " + why;
        InstanceState out = withPosition(s, executed.union(received).withBlocker(blocker));
        return withDetail(out, detail + " NOT CAUGHT UP: " + why);
    }

    private static InstanceState withDetail(InstanceState s, String detail) {
        return new InstanceState(s.address(), s.reachable(), s.error(), s.role(), s.writable(), s.masterAddress(), s.masterLinkUp(), s.position(),
                s.connectedReplicas(), s.synced(), detail, s.writableByAdmins());
    }

    /** Promotes unless it would throw away a relay log that was received but not applied (see {@link #promote(String, boolean)}). */
    @Override
    public void promote(String address) { promote(address, false); }

    /**
     * Replication stopped and forgotten, then writable. RESET SLAVE ALL deletes the relay log: a replica whose executed
     * set does not cover what it received would lose those transactions, so it is refused (its threads left as they
     * were) unless {@code force}, when the loss is logged. A cluster running semi-sync (the replica side is on here)
     * gets the master side on: the new primary waits for a replica's acknowledgement as the old one did.
     */
    @Override
    public void promote(String address, boolean force) {
        change(address, "promote", (c, f) -> {
            Map<String, String> before = replicaStatus(c, f);
            exec(c, f.stopReplica());
            if (!before.isEmpty()) {
                String unapplied = unapplied(c, f);
                if (unapplied != null && !force) {
                    if ("Yes".equalsIgnoreCase(before.get(f.column("Replica_IO_Running")))) exec(c, f.startIoThread());
                    if ("Yes".equalsIgnoreCase(before.get(f.column("Replica_SQL_Running")))) exec(c, f.startSqlThread());
                    throw new IllegalStateException("refusing to promote " + address + ": " + unapplied
                            + "; RESET SLAVE ALL would delete that relay log. Let it apply (START SLAVE SQL_THREAD, fix its error) or force the promotion to accept the loss");
                }
                if (unapplied != null) LOG.warn("promoting {} FORCED: {}; that relay log is deleted", address, unapplied);
            }
            exec(c, f.resetReplicaAll());
            String master = semiSyncSwitch(c, true);
            if (master != null) exec(c, "SET GLOBAL " + master + "=1");
            for (String s : f.setWritable()) exec(c, s);
            return null;
        });
    }

    /** With replication stopped: what was received but not executed, as text, or null when nothing is missing. */
    private static String unapplied(Connection c, Flavor f) throws SQLException {
        String received = clean(replicaStatus(c, f).get(f.receivedColumn()));
        if (received == null) return null;
        String executedText;
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(f.positionQuery())) {
            rs.next();
            executedText = rs.getString(1);
        }
        GtidSet executed = f.parseGtid(executedText);
        GtidSet missing = f.parseGtid(received).minus(executed);
        return missing.isEmpty() ? null : "it received " + received + " but executed only " + executed.gtidText() + " (missing " + missing.gtidText() + ")";
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
            // A fenced old master becomes an ordinary replica: the accounts its fence locked may log in again.
            List<String> unlocked = wasMaster ? setBypassLocked(c, f, false) : List.of();
            if (!unlocked.isEmpty()) LOG.info("{} replicates from {}: unlocked {}", address, master, unlocked);
            return null;
        });
    }

    /**
     * Read-only (super_read_only on MySQL) with the client connections killed while it waits, then killed again,
     * before anything else. SET GLOBAL read_only first blocks new writes, then waits for the commits in flight; on a
     * thawed old primary those wait for a semi-sync acknowledgement that will not come, and are killed (see
     * {@link #setReadOnlyBounded} for the order, which matters: killing the session that waits for the acknowledgement
     * releases every commit grouped with it, acknowledged to clients that were not killed yet). Killed, a client gets
     * an error instead of an acknowledgement.
     * On MariaDB read_only does not stop accounts holding READ ONLY ADMIN (SUPER before 10.11): those are locked
     * (not binlogged) before the second kill, so nobody can write; a re-point of this server unlocks them.
     * It is not re-pointed: it may hold transactions the new master lacks (`failover rejoin` checks).
     */
    @Override
    public void fence(String address) {
        change(address, "fence", (c, f) -> {
            setReadOnlyBounded(address, c, f, true, Timings.MYSQL_STEP_LIMIT.minusMillis(500));
            List<String> locked = setBypassLocked(c, f, true);
            killClients(c, f, -1);
            if (!locked.isEmpty()) LOG.warn("fenced {}: locked the accounts that bypass read_only {} (a re-point or failover rejoin unlocks them)", address, locked);
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

    /**
     * MariaDB: locks (or unlocks) the accounts that can write through read_only, except the manager's and the
     * replication account; with sql_log_bin=0, so the change stays on this server and adds no GTID. Returns them.
     */
    private List<String> setBypassLocked(Connection c, Flavor f, boolean lock) throws SQLException {
        if (!f.mariadb()) return List.of();
        List<ReadOnlyBypass.Account> todo = ReadOnlyBypass.read(c, f, exemptUsers()).stream().filter(a -> a.locked() != lock).toList();
        if (todo.isEmpty()) return List.of();
        exec(c, "SET SESSION sql_log_bin=0");
        try {
            for (ReadOnlyBypass.Account a : todo) {
                try {
                    exec(c, "ALTER USER " + a.sql() + (lock ? " ACCOUNT LOCK" : " ACCOUNT UNLOCK"));
                } catch (SQLException e) {
                    // 1396: the server did not load this account (so nobody can log in with it); anything else fails the fence.
                    if (e.getErrorCode() != 1396) throw e;
                    LOG.warn("{} {}: not loaded by the server ({}), skipped", lock ? "locking" : "unlocking", a.display(), e.getMessage());
                }
            }
        } finally {
            exec(c, "SET SESSION sql_log_bin=1");
        }
        return todo.stream().map(ReadOnlyBypass.Account::display).toList();
    }

    /**
     * Read-only (super_read_only on MySQL) on {@code c}, bounded by {@code limit}. SET GLOBAL read_only first takes the
     * global read lock (new writes wait, none can start a commit) and then waits for the commits in flight. On a thawed
     * old primary those wait for a semi-sync acknowledgement that will not come (forever with strict semi-sync). With
     * {@code killing} (the fence) a second connection, opened before anything is killed, kills the client sessions
     * while read_only waits, in rounds (5 ms, then doubling to 100 ms) until it is set: the fence ends within rounds,
     * never within the semi-sync timeout after which such a commit would be acknowledged. Each round kills the
     * sessions waiting for the acknowledgement LAST: on MariaDB the commits of one binlog group wait behind one
     * session's acknowledgement, and killing it first releases the others, acknowledged to their clients (the drill
     * under writes saw five); killed first, their connections are closed before they can be told. Without
     * {@code killing} (a switchover's stop of writes) it only waits. If read_only is not set within {@code limit} the
     * statement is killed on the server (KILL QUERY) before this throws, so it cannot land later, unseen, after the
     * caller rolled back.
     */
    private void setReadOnlyBounded(String address, Connection c, Flavor f, boolean killing, Duration limit) throws SQLException {
        long spare;
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT CONNECTION_ID()")) {
            rs.next();
            spare = rs.getLong(1);
        }
        // A low global lock_wait_timeout would fail read_only (1205) before the rounds could free it.
        exec(c, "SET SESSION lock_wait_timeout = " + Math.max(1, (limit.toMillis() + 999) / 1000));
        Connection k = connect(address);
        Future<?> readOnly;
        try {
            readOnly = networkTimeouts.submit(() -> {
                for (String s : f.setReadOnly()) exec(c, s);
                return null;
            });
        } catch (RuntimeException e) {
            discard(address, k);
            throw e;
        }
        long deadline = System.nanoTime() + limit.toNanos();
        long pauseMs = 5;
        int rounds = 0;
        boolean semiSyncReleased = false;
        try {
            while (true) {
                try {
                    readOnly.get(pauseMs, TimeUnit.MILLISECONDS);
                    if (rounds > 0) LOG.warn("fence of {}: read_only waited for commits in flight; killed clients {} more time(s) until it was set", address, rounds);
                    return;
                } catch (java.util.concurrent.TimeoutException waiting) {
                    if (System.nanoTime() > deadline) {
                        k = cancelOnServer(address, k, spare);
                        throw new SQLException("read_only not set within " + limit.toMillis() + " ms: commits in flight hold it"
                                + (killing ? " although their clients were killed " + rounds + " times" : " (a switchover does not kill them)"));
                    }
                    pauseMs = Math.min(100, pauseMs * 2);
                    if (!killing) continue;
                    rounds++;
                    try {
                        if (k == null) k = connect(address);
                        int waitingAlive = killClients(k, f, spare);
                        if (rounds >= RELEASE_AFTER_ROUNDS && waitingAlive == 0 && !semiSyncReleased) {
                            // Every session that waits for an acknowledgement is killed, its connection closed: none of
                            // their clients can be told anything. Where a kill does not end that wait (it holds read_only
                            // back round after round), turning the semi-sync master side off lets those commits finish
                            // on this server alone, unacknowledged, and read_only land. Logged: it is a destructive step.
                            semiSyncReleased = releaseKilledSemiSyncWaiters(address, k, f);
                        }
                    } catch (SQLException e) {
                        discard(address, k);
                        k = null;
                        LOG.warn("fence of {}: killing the commits that hold read_only back failed ({}); trying again", address, e.getMessage());
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            k = cancelOnServer(address, k, spare);
            throw new SQLException("read_only interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            // c failed (its socket timeout, a kill): the statement may still wait on the server; cancel it there.
            k = cancelOnServer(address, k, spare);
            if (e.getCause() instanceof SQLException se) throw se;
            throw new SQLException(e.getCause());
        } finally {
            if (k != null) {
                try { k.close(); } catch (SQLException ignored) { discard(address, k); }
            }
        }
    }

    /** Kill rounds (about 5+10+20+40+80 ms) after which killed sessions still waiting for an acknowledgement are released. */
    private static final int RELEASE_AFTER_ROUNDS = 5;

    /**
     * Turns the semi-sync master side off on a server being fenced whose acknowledgement waiters are all killed, so
     * their commits finish here (their clients are gone) and read_only can land. True when it was turned off.
     */
    private boolean releaseKilledSemiSyncWaiters(String address, Connection k, Flavor f) throws SQLException {
        Map<String, String> v = semiSyncVars(k);
        String masterVar = v.containsKey("rpl_semi_sync_source_enabled") ? "rpl_semi_sync_source_enabled"
                : v.containsKey("rpl_semi_sync_master_enabled") ? "rpl_semi_sync_master_enabled" : null;
        if (masterVar == null || !"ON".equalsIgnoreCase(v.get(masterVar))) return false;
        int killedWaiters;
        try (Statement s = k.createStatement(); ResultSet rs = s.executeQuery(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND = 'Killed' AND STATE LIKE '%semi-sync%'")) {
            rs.next();
            killedWaiters = rs.getInt(1);
        }
        if (killedWaiters == 0) return false; // read_only is held by something else: nothing to release
        exec(k, "SET GLOBAL " + masterVar + " = 0");
        LOG.warn("fence of {}: {}=0: every session waiting for a semi-sync acknowledgement was killed (its client can no longer"
                + " be told anything) and the wait still held read_only back; their commits finish on this fenced server alone,"
                + " which `failover rejoin` then finds diverged", address, masterVar);
        return true;
    }

    /**
     * KILL QUERY of a read_only statement given up on, so it cannot land later; logged either way. Returns the
     * connection to go on with (null when it had to be dropped); a connection it opened itself is closed.
     */
    private Connection cancelOnServer(String address, Connection k, long id) {
        Connection own = null;
        try {
            if (k == null) k = own = connect(address);
            exec(k, "KILL QUERY " + id);
            LOG.warn("{}: cancelled the read_only statement (session {}) that commits in flight held back", address, id);
        } catch (SQLException e) {
            if (e.getErrorCode() != 1094) { // 1094: the session is gone: nothing can land
                LOG.error("{}: could not cancel the pending read_only statement (session {}): it may still be set later ({})", address, id, e.getMessage());
            }
            if (own == null && k != null) { discard(address, k); k = null; }
        } finally {
            if (own != null) {
                try { own.close(); } catch (SQLException ignored) { discard(address, own); }
                k = null;
            }
        }
        return k;
    }

    /**
     * Kills every client connection but this one, {@code spare} (the fence's own statement; -1: none) and failoverkit's
     * own accounts' (the manager's, the guard's, replication's: a guard and a manager fencing the same thawed server at
     * once must not kill each other's read_only). The sessions waiting for a semi-sync acknowledgement are killed last,
     * once a fresh look finds every other session killed (see {@link #setReadOnlyBounded}): on MariaDB killing the
     * waiter releases the commits grouped with it. Returns how many acknowledgement waiters were left alive (0: all
     * killed).
     */
    private int killClients(Connection c, Flavor f, long spare) throws SQLException {
        Set<String> exempt = exemptUsers();
        String query = f.clientConnections().replace("SELECT ID FROM", "SELECT ID, USER, STATE, COMMAND FROM")
                .replace(" AND COMMAND NOT IN (", " AND COMMAND NOT IN ('Killed', ");
        List<Long> waiters = List.of();
        for (int look = 0; look < 5; look++) {
            List<Long> others = new ArrayList<>();
            waiters = new ArrayList<>();
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
                while (rs.next()) {
                    if (rs.getLong(1) == spare || exempt.contains(rs.getString(2))) continue;
                    String state = rs.getString(3);
                    (state != null && state.toLowerCase(java.util.Locale.ROOT).contains("semi-sync") ? waiters : others).add(rs.getLong(1));
                }
            }
            if (others.isEmpty()) break;
            kill(c, others);
        }
        kill(c, waiters);
        int alive = 0;
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
            while (rs.next()) {
                String state = rs.getString(3);
                if (rs.getLong(1) != spare && !exempt.contains(rs.getString(2)) && state != null && state.toLowerCase(java.util.Locale.ROOT).contains("semi-sync")) alive++;
            }
        }
        return alive;
    }

    private static void kill(Connection c, List<Long> ids) throws SQLException {
        for (long id : ids) {
            try {
                exec(c, "KILL CONNECTION " + id);
            } catch (SQLException e) {
                if (e.getErrorCode() != 1094) throw e; // 1094: gone meanwhile
            }
        }
    }

    /**
     * Switchover: the master refuses writes (read-only) until the candidate took over or {@link #resumeWrites}. On
     * MariaDB the accounts that bypass read_only are locked and their sessions killed too, or they could still commit
     * after the candidate's target position was taken.
     */
    @Override
    public void stopWrites(String master, Duration max) {
        change(master, "stop writes", (c, f) -> {
            setReadOnlyBounded(master, c, f, false, Timings.MYSQL_STEP_LIMIT.minusMillis(500));
            List<String> locked = setBypassLocked(c, f, true);
            if (!locked.isEmpty()) {
                killSessionsOf(c, f, locked.stream().map(a -> a.substring(0, a.lastIndexOf('@'))).collect(java.util.stream.Collectors.toSet()));
                LOG.warn("stopped writes on {}: locked the accounts that bypass read_only {} until the switchover ends", master, locked);
            }
            return null;
        });
    }

    /** Undoes {@link #stopWrites}: writable again, and on MariaDB the accounts it locked unlocked. */
    @Override
    public void resumeWrites(String master) {
        change(master, "resume writes", (c, f) -> {
            for (String s : f.setWritable()) exec(c, s);
            setBypassLocked(c, f, false);
            return null;
        });
    }

    /** Kills the client sessions of {@code users} (never replication or system threads, nor this connection). */
    private static void killSessionsOf(Connection c, Flavor f, Set<String> users) throws SQLException {
        List<Long> ids = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(f.clientConnections().replace("SELECT ID FROM", "SELECT ID, USER FROM"))) {
            while (rs.next()) if (users.contains(rs.getString(2))) ids.add(rs.getLong(1));
        }
        for (long id : ids) {
            try {
                exec(c, "KILL CONNECTION " + id);
            } catch (SQLException e) {
                if (e.getErrorCode() != 1094) throw e; // 1094: gone meanwhile
            }
        }
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
        // read_only itself, not `writable`: accounts that bypass it are unlocked by the re-point anyway.
        boolean readOnly;
        try {
            readOnly = readOnly(address);
        } catch (SQLException e) {
            return new RejoinResult(false, address + " is unreachable: " + e.getMessage());
        }
        if (me.isMaster() && !readOnly) return new RejoinResult(false, address + " is writable: fence it first (it could be taking writes); not rejoining");
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
        closed = true;
        pools.values().forEach(HikariDataSource::close);
        pools.clear();
        observers.shutdownNow();
        networkTimeouts.shutdownNow();
    }
}

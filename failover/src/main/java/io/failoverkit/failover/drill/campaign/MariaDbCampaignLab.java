package io.failoverkit.failover.drill.campaign;

import io.failoverkit.failover.drill.FaultProxy;
import io.failoverkit.failover.drill.LocalMariaDbLab;
import io.failoverkit.failover.drill.MariaDbLab;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.mysql.MySqlServers;
import io.failoverkit.failover.topology.InstanceState;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Three local mariadbd processes (a primary, two GTID replicas, semi-sync AFTER_SYNC on) behind one front fault
 * proxy each. The replicas dial it from 127.0.0.1, the manager from 127.0.0.2, so a proxy cuts either alone; the
 * application and the samplers dial the real servers.
 */
final class MariaDbCampaignLab implements CampaignLab {
    static final String MANAGER_SOURCE = "127.0.0.2", REPLICA_SOURCE = "127.0.0.1";

    private final String name;
    private final LocalMariaDbLab lab;
    private final List<String> members = new ArrayList<>();
    private final Map<String, LocalMariaDbLab.Server> byMember = new HashMap<>();
    private final Map<String, FaultProxy> front = new HashMap<>();
    private final MySqlServers viaProxies;
    private final Map<String, Connection> samplers = new ConcurrentHashMap<>();

    MariaDbCampaignLab(Path dir, String name) throws Exception {
        this.name = name;
        this.lab = new LocalMariaDbLab(dir, 2, true);
        MySqlServers s = null;
        try {
            for (LocalMariaDbLab.Server server : lab.servers) {
                FaultProxy f = new FaultProxy(server.address());
                members.add(f.address());
                byMember.put(f.address(), server);
                front.put(f.address(), f);
            }
            s = new MySqlServers(1000, lab.admin().user(), lab.admin().password(), lab.replication().user(), lab.replication().password());
            for (String r : members.subList(1, 3)) s.repoint(r, members.get(0));
        } catch (Exception e) {
            if (s != null) s.close();
            close();
            throw e;
        }
        viaProxies = s;
    }

    @Override public String kind() { return "mysql"; }
    @Override public String name() { return name; }
    @Override public List<String> members() { return members; }
    @Override public String real(String member) { return byMember.get(member).address(); }
    @Override public Servers servers() { return viaProxies; }
    @Override public List<String> managerArgs() { return List.of(String.join(",", members)); }

    @Override
    public Map<String, String> managerEnv() {
        return Map.of(ManagerProcess.ADMIN_USER, lab.admin().user(), ManagerProcess.ADMIN_PASSWORD, lab.admin().password(),
                ManagerProcess.REPL_USER, lab.replication().user(), ManagerProcess.REPL_PASSWORD, lab.replication().password());
    }

    private static Connection connect(String address, MariaDbLab.Account a, int timeoutMs) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", a.user());
        p.setProperty("password", a.password());
        p.setProperty("connectTimeout", Integer.toString(timeoutMs));
        p.setProperty("socketTimeout", Integer.toString(timeoutMs));
        return DriverManager.getConnection("jdbc:mysql://" + address + "/", p);
    }

    /** Writable for the application (a user without READ ONLY ADMIN): read_only off. */
    @Override
    public boolean writable(String member) {
        try {
            Connection c = samplers.get(member);
            if (c == null) {
                c = connect(real(member), lab.operator(), 200);
                samplers.put(member, c);
            }
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@global.read_only")) {
                return rs.next() && rs.getInt(1) == 0;
            }
        } catch (SQLException e) {
            Connection c = samplers.remove(member);
            if (c != null) try { c.close(); } catch (SQLException ignored) { }
            return false;
        }
    }

    @Override public void kill(String member) throws Exception { byMember.get(member).kill(); }
    @Override public void freeze(String member) throws Exception { byMember.get(member).freeze(); }
    @Override public void thaw(String member) throws Exception { byMember.get(member).thaw(); }
    @Override public void startEmpty(String member) { throw new UnsupportedOperationException("a MariaDB server keeps its data dir"); }

    @Override public void stopSqlThread(String member) throws Exception { admin(member, "STOP SLAVE SQL_THREAD"); }
    @Override public void startSqlThread(String member) throws Exception { admin(member, "START SLAVE SQL_THREAD"); }

    private void admin(String member, String sql) throws SQLException {
        try (Connection c = connect(real(member), lab.operator(), 5000); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    @Override public void cutManager(String member) { front.get(member).partitionFrom(MANAGER_SOURCE); }
    @Override public void cutReplicas(String member) { front.get(member).partitionFrom(REPLICA_SOURCE); }
    @Override public void healAll() { front.values().forEach(FaultProxy::heal); }

    @Override
    public boolean revive(String master) throws Exception {
        LocalMariaDbLab.Server primary = byMember.get(master);
        if (!primary.running()) return false;
        primary.thaw();
        for (String m : members) {
            if (m.equals(master)) continue;
            LocalMariaDbLab.Server s = byMember.get(m);
            if (s.running()) s.thaw();
            else s.restartFenced();
            try { startSqlThread(m); } catch (SQLException ignored) { /* not a replica (yet): the rejoin below starts it */ }
            InstanceState st = viaProxies.observe(m);
            if (st.isReplica() && master.equals(st.masterAddress()) && st.masterLinkUp()) continue;
            MySqlServers.RejoinResult r = viaProxies.rejoin(m, master, Duration.ofSeconds(20));
            if (!r.joined()) {
                System.out.println("    revive: " + m + " cannot rejoin " + master + ": " + r.message());
                return false;
            }
        }
        return true;
    }

    @Override
    public CampaignWriter writer(int dnsPort) {
        return new CampaignWriter(name, dnsPort, this::real, System.nanoTime()) {
            private Connection c;
            private PreparedStatement insert;

            @Override
            void connect(String address) throws SQLException {
                Properties p = new Properties();
                p.setProperty("user", lab.application().user());
                p.setProperty("password", lab.application().password());
                p.setProperty("connectTimeout", "300");
                // Longer than the semi-sync timeout: a commit waiting for a replica's acknowledgement is not cut short.
                p.setProperty("socketTimeout", "8000");
                c = DriverManager.getConnection("jdbc:mysql://" + address + "/drill", p);
                insert = c.prepareStatement("INSERT INTO probe (seq) VALUES (?)");
            }

            @Override
            boolean write(long id) throws SQLException {
                insert.setLong(1, id);
                insert.executeUpdate();
                return true;
            }

            @Override
            void disconnect() {
                if (c != null) try { c.close(); } catch (SQLException ignored) { }
                c = null;
                insert = null;
            }
        };
    }

    @Override
    public Set<Long> missing(String member, List<Long> ids) throws SQLException {
        Set<Long> present = new HashSet<>();
        if (ids.isEmpty()) return present;
        long min = ids.stream().mapToLong(Long::longValue).min().orElseThrow(), max = ids.stream().mapToLong(Long::longValue).max().orElseThrow();
        try (Connection c = connect(real(member), lab.operator(), 10_000);
             PreparedStatement s = c.prepareStatement("SELECT seq FROM drill.probe WHERE seq BETWEEN ? AND ?")) {
            s.setLong(1, min);
            s.setLong(2, max);
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) present.add(rs.getLong(1));
            }
        }
        Set<Long> out = new HashSet<>();
        for (long id : ids) if (!present.contains(id)) out.add(id);
        return out;
    }

    @Override
    public void close() throws Exception {
        samplers.values().forEach(c -> { try { c.close(); } catch (SQLException ignored) { } });
        for (FaultProxy p : front.values()) p.close();
        if (viaProxies != null) viaProxies.close();
        lab.close();
    }
}

package io.failoverkit.drills;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalMariaDbLab;
import io.failoverkit.failover.drill.MariaDbLab;
import io.failoverkit.failover.mysql.MySqlServers;
import io.failoverkit.failover.topology.InstanceState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The switchover and replica-rebuild playbooks for real on MariaDB (a primary and two GTID replicas as local mariadbd
 * processes): the mysql steps (mariadb-dump of the primary into the replica, `failover rejoin`) run as written.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PlaybookMariaDbDrill {
    static Agent agent;
    static String http;
    static LocalMariaDbLab lab;
    static Path work, bin, pages, definition, adminCnf;
    static MySqlServers mysql;
    static final String CLUSTER = "pb-db";

    @BeforeAll
    static void start() throws Exception {
        work = Files.createTempDirectory("playbook-mariadb");
        agent = DiscoveryLab.start("pb-db-discovery");
        http = "127.0.0.1:" + agent.httpPort();
        lab = new LocalMariaDbLab(work.resolve("mariadb"), 2, false);
        Path pw = secret("admin.pw", lab.admin().password()), repl = secret("repl.pw", lab.replication().password());
        Map<String, Object> def = new LinkedHashMap<>();
        def.put("name", CLUSTER);
        def.put("kind", "mysql");
        def.put("members", lab.addresses());
        def.put("passwordFile", pw.toString());
        def.put("mysql", Map.of("user", lab.admin().user(), "replicationUser", lab.replication().user(), "replicationPasswordFile", repl.toString()));
        definition = Files.writeString(work.resolve(CLUSTER + ".json"), PlaybookLab.JSON.writeValueAsString(def));
        // The rebuild's admin account: the lab's root (no password, as mariadb-install-db made it), in an option file.
        adminCnf = secret("admin.cnf", "[client]\nuser=root\npassword=\n");
        mysql = new MySqlServers(1000, lab.admin().user(), lab.admin().password(), lab.replication().user(), lab.replication().password());
        DiscoveryClient d = new DiscoveryClient(http);
        String primary = lab.servers.get(0).address();
        try (Connection c = lab.servers.get(0).root(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE pb");
            s.execute("CREATE TABLE pb.t (id INT PRIMARY KEY, v VARCHAR(20))");
            for (int i = 0; i < 50; i++) s.execute("INSERT INTO pb.t VALUES (" + i + ", 'before')");
        }
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
            new Catalog(d, CLUSTER).register(primary, List.of(lab.servers.get(1).address(), lab.servers.get(2).address()));
            return mysql.observeAll(lab.addresses()).instances().stream().skip(1)
                    .allMatch(i -> i.isReplica() && i.masterLinkUp() && i.position().covers(mysql.observe(primary).position()));
        });
        bin = PlaybookLab.bin(work);
        pages = PlaybookLab.pages();
    }

    static Path secret(String name, String text) throws Exception {
        Path p = work.resolve(name);
        Files.writeString(p, text);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
        return p;
    }

    @AfterAll
    static void stop() throws Exception {
        if (mysql != null) mysql.close();
        if (lab != null) lab.close();
        if (agent != null) agent.close();
        PlaybookLab.delete(work);
    }

    static List<String> writable() {
        return lab.addresses().stream().filter(a -> { InstanceState s = mysql.observe(a); return s.isMaster() && s.writable(); }).toList();
    }

    static LocalMariaDbLab.Server server(String address) {
        return lab.servers.stream().filter(s -> s.address().equals(address)).findFirst().orElseThrow();
    }

    static int count(String address, String where) throws Exception {
        try (Connection c = server(address).root(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM pb.t WHERE " + where)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    static void assertFollowing(String master) {
        assertThat(writable()).as("exactly one writable: " + master).containsExactly(master);
        for (String a : lab.addresses()) {
            if (a.equals(master)) continue;
            InstanceState s = mysql.observe(a);
            assertThat(s.isReplica() && s.masterLinkUp() && master.equals(s.masterAddress())).as(a + " follows " + master + ": " + s).isTrue();
        }
    }

    /** The cluster pages in dry run on MariaDB: the mysql steps are shown (the admin account check runs), none changes anything. */
    @Test
    @Order(0)
    void theClusterPagesInDryRunChangeNothing() throws Exception {
        String primary = lab.servers.get(0).address(), replica = lab.servers.get(2).address();
        String c = definition.toString();
        PlaybookLab.Run rebuild = PlaybookLab.run(http, pages, bin, "replica-rebuild", "--cluster", c, "--dry-run", "--set", "REPLICA=" + replica,
                "--set", "DB_ADMIN_CNF=" + adminCnf);
        assertThat(rebuild.exit()).as(rebuild.out()).isZero();
        assertThat(rebuild.out()).contains("step 2/7 mysql-admin-account").containsPattern("\\| 10\\.\\d+\\.\\d+-MariaDB")
                .doesNotContain("redis-replicaof [");
        for (String step : List.of("mysql-stop-replica", "mysql-load-dump", "mysql-rejoin")) {
            assertThat(rebuild.out()).containsPattern(step + " \\[DESTRUCTIVE, mysql only\\][^\\n]*\\n(  \\$ [^\\n]*\\n)+  would run \\(dry run\\)");
        }
        PlaybookLab.Run rejoin = PlaybookLab.run(http, pages, bin, "old-master-returns", "--cluster", c, "--dry-run", "--set", "OLD_MASTER=" + replica);
        assertThat(rejoin.exit()).as(rejoin.out()).isZero();
        assertThat(rejoin.out()).containsPattern("mysql-rejoin \\[DESTRUCTIVE, mysql only\\][^\\n]*\\n(  \\$ [^\\n]*\\n)+  would run \\(dry run\\)")
                .doesNotContain("redis-follows [");
        assertThat(PlaybookLab.run(http, pages, bin, "switchover", "--cluster", c, "--dry-run").exit()).isZero();
        assertThat(new EpochStore(new DiscoveryClient(http), CLUSTER).read().state().master()).as("no epoch written").isNull();
        assertFollowing(primary);
        assertThat(count(replica, "v = 'before'")).isEqualTo(50);
    }

    @Test
    @Order(1)
    void switchoverForReal() throws Exception {
        String old = lab.servers.get(0).address();
        PlaybookLab.Run r = PlaybookLab.run(http, pages, bin, "switchover", "--cluster", definition.toString(), "--yes");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        DiscoveryClient d = new DiscoveryClient(http);
        String now = new EpochStore(d, CLUSTER).read().state().master();
        assertThat(now).isNotNull().isNotEqualTo(old);
        assertFollowing(now);
        assertThat(new Catalog(d, CLUSTER).masters()).containsExactly(now);
        assertThat(count(now, "v = 'before'")).isEqualTo(50);
        assertThat(PlaybookLab.audit(http, "failover/" + CLUSTER + "/audit/", "switchover").entrySet())
                .anyMatch(e -> e.getKey().endsWith("-04-promote") && e.getValue().path("outcome").asText().equals("ok"));
    }

    @Test
    @Order(2)
    void replicaRebuildForRealReplacesADivergedReplica() throws Exception {
        String master = new EpochStore(new DiscoveryClient(http), CLUSTER).read().state().master();
        assertThat(master).as("the switchover ran first").isNotNull();
        String broken = lab.addresses().stream().filter(a -> !a.equals(master)).findFirst().orElseThrow();
        // Diverged: replication stopped, a local write binlogged on the replica (an errant GTID), rows it missed.
        try (Connection c = server(broken).root(); Statement s = c.createStatement()) {
            s.execute("STOP SLAVE");
            s.execute("INSERT INTO pb.t VALUES (1000, 'errant')");
        }
        try (Connection c = server(master).root(); Statement s = c.createStatement()) {
            for (int i = 100; i < 150; i++) s.execute("INSERT INTO pb.t VALUES (" + i + ", 'missed')");
        }
        PlaybookLab.Run r = PlaybookLab.run(http, pages, bin, "replica-rebuild", "--cluster", definition.toString(), "--set", "REPLICA=" + broken,
                "--set", "DB_ADMIN_CNF=" + adminCnf, "--set", "CATCH_UP_SECONDS=120", "--yes");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).doesNotContain("redis-replicaof");
        assertFollowing(master);
        await().atMost(Duration.ofSeconds(30)).until(() -> count(broken, "v = 'missed'") == 50);
        assertThat(count(broken, "v = 'before'")).isEqualTo(50);
        assertThat(count(broken, "v = 'errant'")).as("the errant row is gone with the rebuild").isZero();
        // Replication goes on from the rebuilt position.
        try (Connection c = server(master).root(); Statement s = c.createStatement()) {
            s.execute("INSERT INTO pb.t VALUES (2000, 'after')");
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> count(broken, "v = 'after'") == 1);
        Map<String, JsonNode> audit = PlaybookLab.audit(http, "failover/" + CLUSTER + "/audit/", "replica-rebuild");
        for (String step : List.of("-mysql-stop-replica", "-mysql-load-dump", "-mysql-rejoin")) {
            assertThat(audit.entrySet()).as(step).anyMatch(e -> e.getKey().endsWith(step) && e.getValue().path("outcome").asText().equals("ok"));
        }
    }
}

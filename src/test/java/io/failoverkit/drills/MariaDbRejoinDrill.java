package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.decide.StoredState;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalMariaDbLab;
import io.failoverkit.failover.drill.MySqlKillDrill;
import io.failoverkit.failover.mysql.MySqlServers;
import io.failoverkit.failover.topology.InstanceState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Incident: with asynchronous replication the primary acknowledged a row no replica received, then died; the new
 * primary took other writes. The old primary, brought back, must not silently rejoin (its row would be a hidden
 * divergence, or replication would break later): `failover rejoin` refuses, leaves it read-only and says to rebuild
 * it. A clean old primary rejoins.
 */
class MariaDbRejoinDrill {
    @TempDir Path dir;

    @Test
    void aDivergedOldPrimaryIsRefusedAndACleanOneRejoins() throws Exception {
        Agent agent = DiscoveryLab.start("rejoin-discovery");
        try (LocalMariaDbLab lab = new LocalMariaDbLab(dir.resolve("lab"), 2, false)) {
            DiscoveryClient d = new DiscoveryClient("127.0.0.1:" + agent.httpPort());
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> { d.put("ready", "1"); return true; });
            var cluster = MySqlKillDrill.cluster("rejoin-mysql", lab);
            LocalMariaDbLab.Server old = lab.servers.get(0), next = lab.servers.get(1), other = lab.servers.get(2);
            try (MySqlServers mysql = MySqlKillDrill.servers(cluster, lab)) {
                await().atMost(Duration.ofSeconds(30)).until(() -> mysql.observe(next.address()).position().covers(mysql.observe(old.address()).position())
                        && mysql.observe(other.address()).position().covers(mysql.observe(old.address()).position()));
                // The replicas stop receiving; the primary acknowledges one more row, then dies.
                for (LocalMariaDbLab.Server r : List.of(next, other)) exec(r, "STOP SLAVE IO_THREAD");
                exec(old, "INSERT INTO drill.probe (seq) VALUES (1)");
                old.kill();
                mysql.promote(next.address());
                mysql.repoint(other.address(), next.address());
                exec(next, "INSERT INTO drill.probe (seq) VALUES (2)");
                new EpochStore(d, cluster.name()).bump(new EpochStore(d, cluster.name()).read(), new StoredState(2, next.address(), 0, true), List.of(), "drill");

                // Started read-only with its normal crash recovery: its acknowledged row 1 is still there. (Started with
                // --init-rpl-role=SLAVE, MariaDB truncates that unreplicated tail and the old primary rejoins cleanly.)
                old.restartReadOnlyKeepingBinlog();
                assertThat(MySqlKillDrill.rows(lab, old.address())).contains(1L);
                // read_only alone does not stop root (READ ONLY ADMIN): until fenced, it counts as writable (issue 9 hole 3).
                InstanceState restarted = mysql.observe(old.address());
                assertThat(restarted.writable()).as("read-only for the application").isFalse();
                assertThat(restarted.isMaster()).as("but a master an admin can still write to").isTrue();
                // As the manager does when an old primary comes back: fenced, its accounts that bypass read_only locked.
                mysql.fence(old.address());
                Path clusterFile = dir.resolve("cluster.json");
                Files.writeString(dir.resolve("admin.pw"), lab.admin().password());
                Files.writeString(dir.resolve("repl.pw"), lab.replication().password());
                Files.writeString(clusterFile, """
                        {"name": "rejoin-mysql", "kind": "mysql", "members": %s, "passwordFile": "%s",
                         "mysql": {"user": "%s", "replicationUser": "%s", "replicationPasswordFile": "%s"}}
                        """.formatted(lab.addresses().stream().map(a -> "\"" + a + "\"").toList(), dir.resolve("admin.pw"), lab.admin().user(),
                        lab.replication().user(), dir.resolve("repl.pw")));
                Run status = run("status", "--cluster=" + clusterFile, "--discovery=127.0.0.1:" + agent.httpPort());
                System.out.println(status.out);
                assertThat(status.code).isZero();
                // 14 GTIDs: the lab's setup (least-privileged manager and operator accounts, drill table) and the rows.
                assertThat(status.out).contains("epoch 2 names " + next.address()).contains("read-only").contains("gtid 0-2-14")
                        .contains("io=Yes sql=Yes").contains("semi-sync off").contains("MariaDB 10.");
                String[] args = {"rejoin", "--cluster=" + clusterFile, "--discovery=127.0.0.1:" + agent.httpPort(), "--instance=" + old.address(), "--timeout=15"};
                Run diverged = run(args);
                System.out.println("diverged rejoin: " + diverged.out);
                assertThat(diverged.code).isEqualTo(1);
                assertThat(diverged.out).contains("DIVERGED").contains("Rebuild");
                InstanceState o = mysql.observe(old.address());
                assertThat(o.isMaster()).as("left fenced: nobody can write").isFalse();
                assertThat(o.masterLinkUp()).as("not replicating").isFalse();
                assertThat(MySqlKillDrill.rows(lab, next.address())).doesNotContain(1L);

                // The other replica, as an old primary with nothing the new one lacks, rejoins.
                mysql.stopWrites(other.address(), Duration.ofSeconds(5)); // read_only needs READ ONLY ADMIN: the manager's account has it
                Run clean = run("rejoin", "--cluster=" + clusterFile, "--discovery=127.0.0.1:" + agent.httpPort(), "--instance=" + next.address());
                assertThat(clean.code).as("the epoch's master cannot rejoin: " + clean.out).isEqualTo(1);
                Run ok = run("rejoin", "--cluster=" + clusterFile, "--discovery=127.0.0.1:" + agent.httpPort(), "--instance=" + other.address());
                System.out.println("clean rejoin: " + ok.out);
                assertThat(ok.code).as(ok.out).isZero();
                assertThat(MySqlKillDrill.rows(lab, other.address())).contains(2L);
                assertThat(run("rejoin", "--cluster=" + clusterFile, "--instance=" + other.address() + "x").code).as("bad instance: usage").isEqualTo(64);
            }
        } finally {
            agent.close();
        }
    }

    record Run(int code, String out) {}

    private static Run run(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true));
        try {
            int code = io.failoverkit.failover.Main.commandLine().execute(args);
            return new Run(code, buf.toString());
        } finally {
            System.setOut(saved);
        }
    }

    private static void exec(LocalMariaDbLab.Server s, String sql) throws Exception {
        try (Connection c = s.admin(); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}

package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalMariaDbLab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The seeds' master and replica checks for MySQL, against real MariaDB and our DNS: nagios exit codes follow the servers' state. */
class MySqlChecksTest {
    @TempDir Path dir;

    private static int check(String... args) {
        return io.failoverkit.checks.Main.commandLine().execute(args);
    }

    @Test
    void masterAndReplicaChecksFollowTheServersAndWhatDnsSays() throws Exception {
        Agent agent = DiscoveryLab.start("mysql-check-discovery");
        try (LocalMariaDbLab lab = new LocalMariaDbLab(dir.resolve("lab"), 1, false)) {
            DiscoveryClient d = new DiscoveryClient("127.0.0.1:" + agent.httpPort());
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> { d.put("ready", "1"); return true; });
            Path pw = Files.writeString(dir.resolve("password"), lab.admin().password());
            String dns = "--dns=127.0.0.1:" + agent.dnsPort();
            LocalMariaDbLab.Server primary = lab.servers.get(0), replica = lab.servers.get(1);
            String[] auth = {"--user=" + lab.admin().user(), "--password-file=" + pw};
            java.util.function.Function<LocalMariaDbLab.Server, String[]> master = s -> concat(new String[]{"mysql-master", "--port=" + s.port, "--service=db", dns}, auth);
            java.util.function.BiFunction<LocalMariaDbLab.Server, String, String[]> rep = (s, extra) -> concat(new String[]{"mysql-replica", "--port=" + s.port, extra}, auth);

            assertThat(check(master.apply(primary))).as("master, but DNS names none yet").isEqualTo(1);
            d.register("m", "127.0.0.1", "db-m", "db", List.of("master"), primary.port);
            assertThat(check(master.apply(primary))).as("the one true master").isZero();
            assertThat(check(master.apply(replica))).as("a replica is never OK as master").isEqualTo(2);
            assertThat(check(rep.apply(replica, "--warning=30"))).as("a healthy replica").isZero();
            assertThat(check(rep.apply(primary, "--warning=30"))).as("a master is not a replica").isEqualTo(2);
            try (Connection c = lab.servers.get(1).admin(); Statement s = c.createStatement()) {
                s.execute("STOP SLAVE SQL_THREAD");
                assertThat(check(rep.apply(replica, "--warning=30"))).as("SQL thread stopped").isEqualTo(2);
                s.execute("START SLAVE SQL_THREAD");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> check(rep.apply(replica, "--warning=30")) == 0);
            assertThat(check(rep.apply(replica, "--warning=0"))).as("lag 0 s reaches a 0 s warning threshold").isEqualTo(1);
            assertThat(check(concat(new String[]{"mysql-replica", "--port=" + replica.port, "--warning=0", "--critical=0"}, auth))).as("lag at the critical threshold").isEqualTo(2);
            d.register("other", "127.0.0.2", "db-o", "db", List.of("master"), primary.port);
            assertThat(check(master.apply(primary))).as("two masters in DNS: split brain").isEqualTo(2);
            try (Connection c = primary.root(); Statement s = c.createStatement()) {
                s.execute("SET GLOBAL read_only=1"); // needs READ ONLY ADMIN, which the drill's operator account lacks
            }
            assertThat(check(master.apply(primary))).as("a fenced (read-only) primary is not OK").isEqualTo(2);
            assertThat(check("mysql-master", "--port=" + DiscoveryLab.freePort(), "--service=db", dns)).as("not running").isEqualTo(2);
            assertThat(check("mysql-replica", "--port=1", "--warning=10", "--critical=5")).as("thresholds out of order: usage").isEqualTo(64);
        } finally {
            agent.close();
        }
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

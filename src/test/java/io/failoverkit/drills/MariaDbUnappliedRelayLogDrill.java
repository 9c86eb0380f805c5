package io.failoverkit.drills;

import io.failoverkit.failover.drill.LocalMariaDbLab;
import io.failoverkit.failover.drill.MySqlKillDrill;
import io.failoverkit.failover.drill.SqlWriterProbe;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.watch.Promote;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Incident (issue 9 hole 1): with semi-sync, replica A's SQL thread was stopped (an operator's STOP SLAVE
 * SQL_THREAD) while its IO thread kept receiving and acknowledging commits; replica B's IO thread stopped later, so B
 * has applied more than A but received less. The primary dies. The commits after B stopped exist only in A's relay
 * log, and clients were told they are safe. Before: the drain skipped A (its SQL thread applies nothing), B was
 * promoted as "most advanced", A was re-pointed and its relay log thrown away: acknowledged rows lost. Now A's SQL
 * thread is started and its relay log applied before the candidates are compared, and nothing acknowledged is lost.
 */
class MariaDbUnappliedRelayLogDrill {
    @TempDir Path dir;

    @Test
    void relayLogReceivedButNotAppliedIsAppliedBeforeChoosingAndNoAcknowledgedRowIsLost() throws Exception {
        try (MariaDbDrillSetup<LocalMariaDbLab> s = MariaDbDrillSetup.local("relaylog-mysql", dir, true)) {
            LocalMariaDbLab.Server primary = s.lab.servers.get(0), a = s.lab.servers.get(1), b = s.lab.servers.get(2);
            s.startManager();
            s.startProbe(20);
            exec(a, "STOP SLAVE SQL_THREAD");
            long aStopped = System.currentTimeMillis();
            await().atMost(Duration.ofSeconds(20)).until(() -> s.probe.acks().stream().filter(x -> x.atMillis() > aStopped).count() >= 30);
            exec(b, "STOP SLAVE IO_THREAD");
            long bStopped = System.currentTimeMillis();
            // Acknowledged from here on by A alone (B receives nothing): they exist only in A's relay log.
            await().atMost(Duration.ofSeconds(20)).until(() -> s.probe.acks().stream().filter(x -> x.atMillis() > bStopped).count() >= 30);
            InstanceState ao = s.observe(a.address()), bo = s.observe(b.address());
            System.out.println("before the kill: A " + ao.position().text() + " " + ao.detail() + "; B " + bo.position().text() + " " + bo.detail());
            assertThat(bo.position().covers(ao.position())).as("B has applied more than A").isTrue();
            assertThat(ao.position().covers(bo.position())).isFalse();

            long killedAt = System.currentTimeMillis();
            primary.kill();
            await().atMost(Duration.ofSeconds(40)).until(() -> s.outcome.get() != null);
            MySqlKillDrill.lines(s.outcome.get().timeline().steps()).forEach(System.out::println);
            assertThat(s.outcome.get().success()).as(s.outcome.get().message()).isTrue();
            String promoted = s.outcome.get().timeline().steps().stream().filter(st -> st.name().equals("promoted")).findFirst().orElseThrow().detail();
            assertThat(promoted).as("A applied its relay log and holds the most").startsWith(a.address());
            await().atMost(Duration.ofSeconds(20)).until(() -> s.probe.acks().stream().anyMatch(x -> x.atMillis() > killedAt && x.address().equals(a.address())));
            List<SqlWriterProbe.Ack> acks = s.stopProbe();
            Set<Long> onNew = MySqlKillDrill.rows(s.lab, a.address());
            List<Long> lost = acks.stream().map(SqlWriterProbe.Ack::seq).filter(q -> !onNew.contains(q)).toList();
            System.out.printf("rows acknowledged %d, lost %s%n", acks.size(), lost);
            assertThat(lost).as("semi-sync: every acknowledged row is on the new primary").isEmpty();
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                InstanceState bn = s.observe(b.address());
                return bn.isReplica() && a.address().equals(bn.masterAddress()) && bn.masterLinkUp() && bn.position().covers(s.observe(a.address()).position());
            });
        }
    }

    @Test
    void aSqlThreadStoppedByAnErrorIsNotRestartedAndTheFailoverIsRefusedSayingWhy() throws Exception {
        try (MariaDbDrillSetup<LocalMariaDbLab> s = MariaDbDrillSetup.local("sqlerror-mysql", dir, true)) {
            LocalMariaDbLab.Server primary = s.lab.servers.get(0), a = s.lab.servers.get(1), b = s.lab.servers.get(2);
            s.startManager();
            s.startProbe(20);
            // A row written on A alone (not binlogged) that the probe will write too: A's SQL thread stops on a
            // duplicate key (1062) when it gets there, while its IO thread keeps receiving and acknowledging.
            long conflict = s.probe.acks().stream().mapToLong(SqlWriterProbe.Ack::seq).max().orElse(0) + 30;
            try (Connection c = a.root(); Statement st = c.createStatement()) {
                st.execute("SET SESSION sql_log_bin=0");
                st.execute("INSERT INTO drill.probe (seq) VALUES (" + conflict + ")");
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> s.observe(a.address()).detail().contains("sql=No"));
            exec(b, "STOP SLAVE IO_THREAD");
            long bStopped = System.currentTimeMillis();
            await().atMost(Duration.ofSeconds(20)).until(() -> s.probe.acks().stream().filter(x -> x.atMillis() > bStopped).count() >= 20);
            primary.kill();

            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                Promote.Result r = Promote.run(s.cluster, s.discovery, s.mysql, null, true, false);
                System.out.println("dry run: " + r.message());
                return !r.success() && r.message().contains(a.address()) && r.message().contains("error 1062") && r.message().contains("received");
            });
            await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(30)).until(() -> s.outcome.get() == null
                    && !s.observe(a.address()).writable() && !s.observe(b.address()).writable());
            InstanceState ao = s.observe(a.address());
            System.out.println("A after: " + ao.detail());
            assertThat(ao.detail()).as("a SQL thread stopped by an error is not restarted blindly").contains("sql=No");
        }
    }

    static void exec(LocalMariaDbLab.Server s, String sql) throws Exception {
        try (Connection c = s.admin(); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}

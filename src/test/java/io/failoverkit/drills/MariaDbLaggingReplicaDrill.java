package io.failoverkit.drills;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.drill.LocalMariaDbLab;
import io.failoverkit.failover.drill.MySqlKillDrill;
import io.failoverkit.failover.drill.SqlWriterProbe;
import io.failoverkit.failover.topology.InstanceState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Incident (the seeds' MHA failure): a replica whose SQL thread is stopped (an operator's STOP SLAVE SQL_THREAD) has
 * received everything but applied nothing for seconds; the primary dies. It must never be promoted while behind the
 * replica that is up to date: its SQL thread (stopped without an error) is started and its relay log applied before
 * the candidates are compared (issue 9 hole 1), so whichever is promoted holds every acknowledged row, and the other
 * ends up replicating from it with every row.
 */
class MariaDbLaggingReplicaDrill {
    @TempDir Path dir;

    @Test
    void aReplicaWithItsSqlThreadStoppedIsNeverPromotedOverAnUpToDateOne() throws Exception {
        try (MariaDbDrillSetup<LocalMariaDbLab> s = MariaDbDrillSetup.local("lagging-mysql", dir, true)) {
            LocalMariaDbLab.Server primary = s.lab.servers.get(0);
            LocalMariaDbLab.Server lagging = s.lab.servers.get(1);
            LocalMariaDbLab.Server upToDate = s.lab.servers.get(2);
            // The rules prefer the lagging one: only the data may decide against it.
            ClusterDefinition preferLagging = new ClusterDefinition(s.cluster.name(), "mysql", s.cluster.members(), s.cluster.service(), null, null, null,
                    new ClusterDefinition.Promotion(Map.of(lagging.address(), 100), List.of()), null, 0, s.cluster.mysql());
            s.cluster = preferLagging;
            s.startManager();
            s.startProbe(20);
            try (Connection c = lagging.admin(); Statement st = c.createStatement()) {
                st.execute("STOP SLAVE SQL_THREAD");
            }
            long stoppedAt = System.currentTimeMillis();
            await().atMost(Duration.ofSeconds(10)).until(() -> s.probe.acks().stream().filter(a -> a.atMillis() > stoppedAt).count() >= 40);
            InstanceState lag = s.observe(lagging.address());
            InstanceState ok = s.observe(upToDate.address());
            System.out.println("before the kill: lagging " + lag.position().text() + " " + lag.detail() + "; up to date " + ok.position().text());
            assertThat(lag.position().covers(ok.position())).as("the lagging replica is behind").isFalse();

            long killedAt = System.currentTimeMillis();
            primary.kill();
            await().atMost(Duration.ofSeconds(30)).until(() -> s.outcome.get() != null);
            MySqlKillDrill.lines(s.outcome.get().timeline().steps()).forEach(System.out::println);
            assertThat(s.outcome.get().success()).as(s.outcome.get().message()).isTrue();
            String promoted = s.outcome.get().timeline().steps().stream().filter(st -> st.name().equals("promoted")).findFirst().orElseThrow().detail();
            // Once its relay log is applied the lagging one is as advanced as the other, and the rules prefer it.
            LocalMariaDbLab.Server next = promoted.startsWith(lagging.address()) ? lagging : upToDate;
            LocalMariaDbLab.Server other = next == lagging ? upToDate : lagging;
            await().atMost(Duration.ofSeconds(10)).until(() -> s.probe.acks().stream().anyMatch(a -> a.atMillis() > killedAt && a.address().equals(next.address())));
            List<SqlWriterProbe.Ack> acks = s.stopProbe();

            await().atMost(Duration.ofSeconds(20)).until(() -> {
                InstanceState l = s.observe(other.address());
                return l.isReplica() && next.address().equals(l.masterAddress()) && l.masterLinkUp()
                        && l.position().covers(s.observe(next.address()).position());
            });
            Set<Long> onNew = MySqlKillDrill.rows(s.lab, next.address());
            Set<Long> onOther = MySqlKillDrill.rows(s.lab, other.address());
            List<Long> lost = acks.stream().map(SqlWriterProbe.Ack::seq).filter(q -> !onNew.contains(q)).toList();
            assertThat(lost).as("semi-sync: acknowledged rows on the new primary " + next.address()).isEmpty();
            assertThat(onOther).as("the other replica caught up from the new primary").containsAll(onNew);
        }
    }
}

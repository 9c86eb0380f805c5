package io.failoverkit.drills;

import org.junit.jupiter.api.extension.ExtendWith;
import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.drill.MariaDbLab;
import io.failoverkit.failover.drill.MySqlKillDrill;
import io.failoverkit.failover.drill.SqlWriterProbe;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.watch.Promote;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Planned maintenance: an operator moves the MySQL primary with `failover promote` while the application inserts.
 * The old primary refuses writes (read-only), the candidate applies exactly its GTID set, then takes over: no
 * acknowledged row may be lost, the old primary must replicate from the new one, and DNS must follow.
 */
@ExtendWith(LabUnavailableSkips.class)
class MariaDbSwitchoverDrill {
    @TempDir Path dir;

    /** On local mariadbd processes, with each server in its own container, and the same on MySQL 8 (skips without a mysql image). */
    @ParameterizedTest(name = "on {0}")
    @ValueSource(strings = {"processes", "containers", "mysql containers"})
    void switchoverUnderInsertsLosesNoRowAndTheOldPrimaryReplicatesFromTheNew(String where) throws Exception {
        try (MariaDbDrillSetup<MariaDbLab> s = MariaDbDrillSetup.on(where, "switch-mysql", dir, false)) {
            String old = s.primary();
            new Catalog(s.discovery, s.cluster.service()).register(old, List.of(s.lab.instances().get(1).address(), s.lab.instances().get(2).address()));

            Promote.Result dry = Promote.run(s.cluster, s.discovery, s.mysql, null, true, false);
            assertThat(dry.success()).as(dry.message()).isTrue();
            assertThat(dry.message()).contains("dry run").contains(old);
            assertThat(s.observe(old).isMaster()).as("a dry run changes nothing").isTrue();

            s.startProbe(30);
            Promote.Result r = Promote.run(s.cluster, s.discovery, s.mysql, null, false, false);
            MySqlKillDrill.lines(r.timeline().steps()).forEach(System.out::println);
            assertThat(r.success()).as(r.message()).isTrue();
            await().atMost(Duration.ofSeconds(10)).until(() -> s.probe.acks().stream().anyMatch(a -> !a.address().equals(old)));
            Thread.sleep(300);
            List<SqlWriterProbe.Ack> acks = s.stopProbe();
            String newPrimary = acks.stream().filter(a -> !a.address().equals(old)).findFirst().orElseThrow().address();

            Set<Long> present = MySqlKillDrill.rows(s.lab, newPrimary);
            List<Long> lost = acks.stream().map(SqlWriterProbe.Ack::seq).filter(q -> !present.contains(q)).toList();
            long lastOld = acks.stream().filter(a -> a.address().equals(old)).mapToLong(SqlWriterProbe.Ack::atMillis).max().orElseThrow();
            long firstNew = acks.stream().filter(a -> a.address().equals(newPrimary)).mapToLong(SqlWriterProbe.Ack::atMillis).min().orElseThrow();
            System.out.printf("switchover on " + where + ": %d rows acknowledged, lost %s; writes paused for %d ms%n", acks.size(), lost, firstNew - lastOld);
            assertThat(lost).as("no acknowledged row lost").isEmpty();
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                InstanceState o = s.observe(old);
                return o.isReplica() && newPrimary.equals(o.masterAddress()) && o.masterLinkUp() && o.position().covers(s.observe(newPrimary).position());
            });
            assertThat(MySqlKillDrill.rows(s.lab, old)).as("the old primary holds what the new one holds").containsAll(present);
            assertThat(new Catalog(s.discovery, s.cluster.service()).masters()).containsExactly(newPrimary);
            InstanceState other = s.observe(s.lab.instances().stream().map(x -> x.address()).filter(a -> !a.equals(old) && !a.equals(newPrimary)).findFirst().orElseThrow());
            assertThat(other.masterAddress()).isEqualTo(newPrimary);
        }
    }
}

package io.failoverkit.drills;

import org.junit.jupiter.api.extension.ExtendWith;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.drill.MariaDbLab;
import io.failoverkit.failover.drill.MySqlKillDrill;
import io.failoverkit.failover.drill.SqlWriterProbe;
import io.failoverkit.failover.drill.WritableWatch;
import io.failoverkit.failover.topology.InstanceState;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Incident: the primary's host hangs (SIGSTOP: a frozen VM, a stuck disk, a long GC) and comes back after the
 * failover, still believing it is the primary. orchestrator does not fence such a master; failoverkit must: when it
 * thaws, it is fenced (read-only, clients killed) before it acknowledges any write, including one from a client that
 * kept an old connection to it rather than following DNS. Semi-sync is what makes that certain: a thawed primary's
 * commit waits for a replica's acknowledgement that cannot come, and the fence kills it first.
 */
@ExtendWith(LabUnavailableSkips.class)
class MariaDbPrimaryFrozenDrill {
    @TempDir Path dir;

    /**
     * On local mariadbd processes, with each server in its own container (SIGSTOP through the Docker API), and the same
     * on MySQL 8 (skips without a mysql image).
     */
    @ParameterizedTest(name = "on {0}")
    @ValueSource(strings = {"processes", "containers", "mysql containers"})
    void frozenPrimaryIsReplacedAndOnThawFencedBeforeAcknowledgingAnyWrite(String where) throws Exception {
        try (MariaDbDrillSetup<MariaDbLab> s = MariaDbDrillSetup.on(where, "frozen-mysql", dir, true)) {
            MariaDbLab.Instance old = s.lab.instances().get(0);
            s.startManager();
            s.startProbe(30);
            // An application instance that keeps its connection instead of following DNS.
            Properties p = new Properties();
            p.setProperty("user", s.lab.application().user());
            p.setProperty("password", s.lab.application().password());
            p.setProperty("socketTimeout", "10000");
            try (Connection stale = DriverManager.getConnection("jdbc:mysql://" + old.address() + "/drill", p);
                 WritableWatch watch = new WritableWatch(MySqlKillDrill.servers(s.cluster, s.lab), s.lab.addresses(), Duration.ofMinutes(1))) {
                PreparedStatement insert = stale.prepareStatement("INSERT INTO probe (seq) VALUES (?)");
                insert.setLong(1, 9_000_000);
                insert.executeUpdate();

                long frozenAt = System.currentTimeMillis();
                old.freeze();
                await().atMost(Duration.ofSeconds(30)).until(() -> s.outcome.get() != null);
                assertThat(s.outcome.get().success()).as(s.outcome.get().message()).isTrue();
                await().atMost(Duration.ofSeconds(10)).until(() -> s.probe.acks().stream().anyMatch(a -> a.atMillis() > frozenAt && !a.address().equals(old.address())));
                long promotedAt = s.outcome.get().timeline().steps().stream().filter(st -> st.name().equals("promoted")).findFirst().orElseThrow().atMillis();
                MySqlKillDrill.lines(s.outcome.get().timeline().steps()).forEach(System.out::println);

                old.thaw();
                long thawedAt = System.currentTimeMillis();
                List<String> staleResults = new ArrayList<>();
                long staleAcked = 0;
                for (int i = 1; i <= 20; i++) {
                    try {
                        insert.setLong(1, 9_000_000 + i);
                        insert.executeUpdate();
                        staleAcked++;
                        staleResults.add("ACKNOWLEDGED after " + (System.currentTimeMillis() - thawedAt) + " ms");
                    } catch (SQLException e) {
                        staleResults.add(e.getErrorCode() + " " + e.getMessage());
                        break;
                    }
                }
                System.out.println("stale client after thaw: " + staleResults);
                await().atMost(Duration.ofSeconds(10)).until(() -> {
                    InstanceState o = s.observe(old.address());
                    return o.reachable() && !o.isMaster(); // fenced: nobody, not even an admin, can write
                });
                long fencedAfter = System.currentTimeMillis() - thawedAt;
                List<SqlWriterProbe.Ack> acks = s.stopProbe();
                String newPrimary = s.outcome.get().timeline().steps().stream().filter(st -> st.name().equals("promoted")).findFirst().orElseThrow().detail().split(" ")[0];
                Set<Long> present = MySqlKillDrill.rows(s.lab, newPrimary);
                List<Long> lost = acks.stream().map(SqlWriterProbe.Ack::seq).filter(q -> !present.contains(q)).toList();
                System.out.printf("on " + where + ": frozen primary fenced %d ms after thaw; two writable (sampled) for %d ms; probe rows %d, lost %s%n",
                        fencedAfter, watch.twoWritableMillis(), acks.size(), lost);

                assertThat(staleAcked).as("writes the thawed old primary acknowledged: " + staleResults).isZero();
                assertThat(acks).as("no probe row acknowledged by the old primary after the switch")
                        .noneMatch(a -> a.address().equals(old.address()) && a.atMillis() >= promotedAt);
                assertThat(lost).as("semi-sync: acknowledged rows on the new primary").isEmpty();
                assertThat(s.outcome.get().timeline().steps()).extracting(Timeline.Step::name).contains("fence deferred", "promoted", "dns moved");
                InstanceState o = s.observe(old.address());
                assertThat(o.role()).as("the old primary is left fenced, not replicating, for failover rejoin").isEqualTo(InstanceState.Role.MASTER);
                assertThat(o.isMaster()).as("fenced: nobody can write").isFalse();
            }
        }
    }
}

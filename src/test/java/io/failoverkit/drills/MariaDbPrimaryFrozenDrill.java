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
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

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
    private static final long FROZEN_AT_LEAST_MS = 10_500;

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

                // A commit in flight when the host freezes, waiting for an acknowledgement no replica can give (their
                // IO threads stopped first). With any finite semi-sync timeout its deadline has passed when the host
                // thaws: the primary falls back to async and acknowledges the next writes before anyone can fence it.
                for (MariaDbLab.Instance r : s.lab.instances().subList(1, s.lab.instances().size())) {
                    try (Connection a = r.admin(); Statement st = a.createStatement()) {
                        st.execute("STOP REPLICA IO_THREAD");
                    }
                }
                Connection inflight = DriverManager.getConnection("jdbc:mysql://" + old.address() + "/drill", withTimeout(p, 120_000));
                AtomicReference<String> inflightResult = new AtomicReference<>();
                Thread inflightWriter = Thread.ofVirtual().start(() -> {
                    try (PreparedStatement st = inflight.prepareStatement("INSERT INTO probe (seq) VALUES (8000000)")) {
                        st.executeUpdate();
                        inflightResult.set("ACKNOWLEDGED at " + System.currentTimeMillis());
                    } catch (SQLException e) {
                        inflightResult.set(e.getErrorCode() + " " + e.getMessage());
                    }
                });
                await().atMost(Duration.ofSeconds(30)).until(() -> waitingForAck(old) > 0);
                assertThat(inflightResult.get()).as("no replica could acknowledge the in-flight commit").isNull();

                long frozenAt = System.currentTimeMillis();
                old.freeze();
                await().atMost(Duration.ofSeconds(30)).until(() -> s.outcome.get() != null);
                assertThat(s.outcome.get().success()).as(s.outcome.get().message()).isTrue();
                await().atMost(Duration.ofSeconds(10)).until(() -> s.probe.acks().stream().anyMatch(a -> a.atMillis() > frozenAt && !a.address().equals(old.address())));
                long promotedAt = s.outcome.get().timeline().steps().stream().filter(st -> st.name().equals("promoted")).findFirst().orElseThrow().atMillis();
                MySqlKillDrill.lines(s.outcome.get().timeline().steps()).forEach(System.out::println);

                // A frozen VM stays frozen for a while: at least 10 s here, longer than the semi-sync timeouts people
                // run (MySQL's default is 10 s), so the drill fails on any primary that falls back to async at the thaw.
                long frozenFor = System.currentTimeMillis() - frozenAt;
                if (frozenFor < FROZEN_AT_LEAST_MS) Thread.sleep(FROZEN_AT_LEAST_MS - frozenFor);
                long thawedAt = System.currentTimeMillis(); // before the signal: "acknowledged after" counts from the earliest moment
                old.thaw();
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

                inflightWriter.join(Duration.ofSeconds(30));
                System.out.println("commit in flight at the freeze: " + inflightResult.get());
                inflight.close();
                assertThat(staleAcked).as("writes the thawed old primary acknowledged: " + staleResults).isZero();
                assertThat(inflightResult.get()).as("the commit in flight at the freeze ended (killed by the fence)").isNotNull();
                if (inflightResult.get().startsWith("ACKNOWLEDGED")) {
                    assertThat(present).as("the in-flight commit was acknowledged: it must be on the new primary").contains(8_000_000L);
                }
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

    private static Properties withTimeout(Properties base, int socketTimeoutMillis) {
        Properties p = new Properties();
        p.putAll(base);
        p.setProperty("socketTimeout", Integer.toString(socketTimeoutMillis));
        return p;
    }

    /** Sessions of {@code i} waiting for a semi-sync acknowledgement (MariaDB says "slave", MySQL "replica"). */
    private static int waitingForAck(MariaDbLab.Instance i) throws SQLException {
        try (Connection a = i.admin(); Statement st = a.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE '%semi-sync ACK%'")) {
            rs.next();
            return rs.getInt(1);
        }
    }
}

package io.failoverkit.drills;

import io.failoverkit.failover.drill.LocalMariaDbLab;
import io.failoverkit.failover.drill.MySqlKillDrill;
import io.failoverkit.failover.drill.SqlWriterProbe;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.SemiSync;
import io.failoverkit.failover.watch.Promote;
import io.failoverkit.failover.watch.SemiSyncRecorder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Incident (issue 9 hole 2): semi-sync, replica B's IO thread stopped (it lags), so every later commit was
 * acknowledged by replica A alone; then A becomes unreachable and the primary is SIGKILLed. Candidates and the covers
 * check only see reachable replicas, so before this B was promoted and the commits clients were told are safe were
 * lost. Now the manager knows from the KV record that A could acknowledge, refuses to promote B and says why; once A
 * is back (it was frozen, SIGSTOP), the failover goes ahead from A and nothing acknowledged is lost.
 */
class MariaDbUnreachableAcknowledgerDrill {
    @TempDir Path dir;

    @Test
    void noPromotionWhileTheReplicaThatAcknowledgedIsUnreachableThenNoAcknowledgedRowLost() throws Exception {
        try (MariaDbDrillSetup<LocalMariaDbLab> s = MariaDbDrillSetup.local("acker-mysql", dir, true)) {
            LocalMariaDbLab.Server primary = s.lab.servers.get(0), a = s.lab.servers.get(1), b = s.lab.servers.get(2);
            s.startManager();
            s.startProbe(20);
            // The manager records who can acknowledge while the master is healthy.
            await().atMost(Duration.ofSeconds(30)).until(() -> SemiSyncRecorder.read(s.discovery, s.cluster.name())
                    .filter(r -> r.active() && r.ackers().containsAll(List.of(a.address(), b.address()))).isPresent());
            System.out.println("record: " + s.discovery.get(SemiSyncRecorder.key(s.cluster.name())).orElseThrow().text());

            MariaDbUnappliedRelayLogDrill.exec(b, "STOP SLAVE IO_THREAD");
            long bStopped = System.currentTimeMillis();
            await().atMost(Duration.ofSeconds(20)).until(() -> s.probe.acks().stream().filter(x -> x.atMillis() > bStopped).count() >= 30);
            a.freeze(); // SIGSTOP: unreachable (observations time out), its relay log intact for when it thaws
            primary.kill();

            // The manager must not promote B; a dry run says why.
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofSeconds(1)).until(() -> {
                Promote.Result r = Promote.run(s.cluster, s.discovery, s.mysql, null, true, false);
                System.out.println("dry run: " + r.message());
                return !r.success() && r.message().contains("semi-sync") && r.message().contains(a.address());
            });
            await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(30)).until(() -> s.outcome.get() == null && !s.observe(b.address()).writable());
            InstanceState bo = s.observe(b.address());
            assertThat(bo.isReplica()).as("B is still a replica: " + bo.detail()).isTrue();

            // A comes back: the failover goes ahead from it.
            a.thaw();
            await().atMost(Duration.ofSeconds(60)).until(() -> s.outcome.get() != null);
            MySqlKillDrill.lines(s.outcome.get().timeline().steps()).forEach(System.out::println);
            assertThat(s.outcome.get().success()).as(s.outcome.get().message()).isTrue();
            assertThat(s.outcome.get().timeline().steps().stream().filter(st -> st.name().equals("promoted")).findFirst().orElseThrow().detail())
                    .startsWith(a.address());
            // A was never a primary before: any row it acknowledged was written after the failover.
            await().atMost(Duration.ofSeconds(20)).until(() -> s.probe.acks().stream().anyMatch(x -> x.address().equals(a.address())));
            List<SqlWriterProbe.Ack> acks = s.stopProbe();
            Set<Long> onNew = MySqlKillDrill.rows(s.lab, a.address());
            List<Long> lost = acks.stream().map(SqlWriterProbe.Ack::seq).filter(q -> !onNew.contains(q)).toList();
            System.out.printf("rows acknowledged %d, lost %s%n", acks.size(), lost);
            assertThat(lost).isEmpty();
            Optional<SemiSync> rec = SemiSyncRecorder.read(s.discovery, s.cluster.name());
            System.out.println("record after: " + rec);
        }
    }
}

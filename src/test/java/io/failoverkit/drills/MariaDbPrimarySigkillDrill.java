package io.failoverkit.drills;

import io.failoverkit.failover.drill.containers.ContainerEngine;
import org.junit.jupiter.api.extension.ExtendWith;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.drill.MariaDbLab;
import io.failoverkit.failover.drill.MySqlKillDrill;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Incident: a MySQL primary dies (SIGKILL) under writes. The seeds' operators ran mysqlfailover/MHA with hand-written
 * hooks moving the Consul registration. failoverkit must confirm the death through the replicas, promote the replica
 * that holds every transaction (relay log applied first), re-point the other one, move the DNS name; with semi-sync
 * no acknowledged row may be lost, and the old primary, back read-only, rejoins as a replica. On local mariadbd
 * processes, with every server in its own container (MariaDBContainer; killed through the Docker API; the old primary
 * returns in a new container on its own datadir), and the same on MySQL 8 (MySQLContainer; skips without a mysql image).
 */
@ExtendWith(LabUnavailableSkips.class)
class MariaDbPrimarySigkillDrill {
    @TempDir Path dir;

    @ParameterizedTest(name = "on {0}")
    @ValueSource(strings = {"processes", "containers", "mysql containers"})
    void primaryKilledUnderWritesWithSemiSyncLosesNoAcknowledgedRowAndEveryoneFollowsTheNewPrimary(String where) throws Exception {
        try (MariaDbLab lab = MariaDbDrillSetup.lab(where, dir, true)) {
            Agent discovery = DiscoveryLab.start("mysql-drill-discovery");
            try {
                MySqlKillDrill.Report r = MySqlKillDrill.run("127.0.0.1:" + discovery.httpPort(), discovery.dnsPort(), lab);
                MySqlKillDrill.lines(r.timeline()).forEach(System.out::println);
                System.out.printf("%s: kill -> first write on the new primary: %d ms; rows acknowledged %d, lost %s; two writable for %d ms; rejoin: %s%n",
                        where.equals("processes") ? "processes" : "image " + (where.startsWith("mysql") ? ContainerEngine.mySqlImage() : ContainerEngine.mariaDbImage()), r.killToFirstWriteMillis(), r.acknowledged(),
                        r.lostAcknowledged(), r.twoWritableMillis(), r.rejoinMessage());
                assertThat(r.success()).as(r.message()).isTrue();
                assertThat(r.newMaster()).isNotEqualTo(r.oldMaster());
                assertThat(r.timeline()).extracting(Timeline.Step::name)
                        .containsSubsequence("detected", "decided", "master deregistered", "caught up", "epoch", "promoted", "replicas re-pointed", "dns moved");
                assertThat(r.killToFirstWriteMillis()).isPositive();
                assertThat(r.acknowledged()).isGreaterThan(50);
                assertThat(r.lostAcknowledged()).as("semi-sync: every acknowledged row is on the new primary").isEmpty();
                assertThat(r.otherReplicaFollows()).isTrue();
                assertThat(r.oldMasterRejoined()).as(r.rejoinMessage()).isTrue();
                assertThat(r.twoWritableMillis()).isZero();
            } finally {
                discovery.close();
            }
        }
    }
}

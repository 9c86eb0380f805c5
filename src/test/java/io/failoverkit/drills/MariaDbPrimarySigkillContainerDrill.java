package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.drill.MySqlKillDrill;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link MariaDbPrimarySigkillDrill} with every MariaDB server in its own container ({@link ContainerMariaDbLab}): the
 * primary's mariadbd is SIGKILLed through the Docker API under writes through DNS, with semi-sync on. The manager must
 * promote the replica holding every transaction, re-point the other one and move the DNS name; no acknowledged row may
 * be lost, there may never be two writable primaries, and the old primary, back read-only in a new container on its
 * own datadir, rejoins as a replica.
 */
class MariaDbPrimarySigkillContainerDrill {
    @TempDir Path dir;

    @Test
    void containerPrimaryKilledUnderWritesWithSemiSyncLosesNoAcknowledgedRowAndEveryoneFollowsTheNewPrimary() throws Exception {
        try (ContainerMariaDbLab lab = new ContainerMariaDbLab(dir, 2, true)) {
            Agent discovery = DiscoveryLab.start("mysql-container-drill-discovery");
            try {
                MySqlKillDrill.Report r = MySqlKillDrill.run("127.0.0.1:" + discovery.httpPort(), discovery.dnsPort(), lab);
                MySqlKillDrill.lines(r.timeline()).forEach(System.out::println);
                System.out.printf("image %s: kill -> first write on the new primary: %d ms; rows acknowledged %d, lost %s; two writable for %d ms; rejoin: %s%n",
                        ContainerEngine.mariaDbImage(), r.killToFirstWriteMillis(), r.acknowledged(), r.lostAcknowledged(), r.twoWritableMillis(), r.rejoinMessage());
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

package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.drill.RedisKillDrill;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link RedisMasterSigkillDrill} with every Redis server in its own container ({@link ContainerRedisLab}): the master
 * is SIGKILLed through the Docker API under DNS-resolved writes; the manager must promote the best replica, move the
 * DNS name, and demote the old master when it comes back (a new container on the same port).
 */
class RedisMasterSigkillContainerDrill {
    @TempDir Path dir;

    @Test
    void containerMasterKilledUnderWritesNewMasterTakesWritesAndTheReturningOldMasterIsDemoted() throws Exception {
        try (ContainerRedisLab lab = new ContainerRedisLab(dir, 2)) {
            Agent discovery = DiscoveryLab.start("drill-discovery");
            try {
                RedisKillDrill.Report r = RedisKillDrill.run("127.0.0.1:" + discovery.httpPort(), discovery.dnsPort(), lab);
                for (Timeline.Step s : r.timeline()) System.out.printf("%d %-22s %s%n", s.atMillis(), s.name(), s.detail());
                System.out.printf("image %s: kill -> first write on the new master: %d ms; acknowledged writes lost: %d%n",
                        ContainerEngine.redisImage(), r.killToFirstWriteMillis(), r.lostAcknowledged());
                assertThat(r.success()).as(r.message()).isTrue();
                assertThat(r.newMaster()).isNotEqualTo(r.oldMaster());
                assertThat(r.oldMasterDemoted()).isTrue();
                assertThat(r.timeline()).extracting(Timeline.Step::name).contains("detected", "decided", "master deregistered", "epoch", "promoted", "dns moved");
                assertThat(r.killToFirstWriteMillis()).isPositive();
                // As on local processes: host networking on loopback, asynchronous replication; more than half a second
                // of writes (25) lost means the candidate was badly behind.
                assertThat(r.lostAcknowledged()).as("acknowledged writes lost (async replication on loopback)").isLessThanOrEqualTo(25);
            } finally {
                discovery.close();
            }
        }
    }
}

package io.failoverkit.drills;

import io.failoverkit.failover.drill.containers.ContainerEngine;
import io.failoverkit.failover.drill.containers.ContainerRedisLab;
import org.junit.jupiter.api.extension.ExtendWith;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.drill.RedisKillDrill;
import io.failoverkit.failover.drill.RedisLab;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Incident: a Redis master dies (SIGKILL) under write load. The seeds' team moved `master.foo-redis` by hand-written
 * Consul checks and Sentinel; failoverkit must promote the best replica, move the DNS name, and demote the old master
 * when it comes back, with the application finding the new master through DNS alone. On local redis-server processes
 * and with each server in its own container (killed through the Docker API; the old master returns as a new
 * container on the same port).
 */
@ExtendWith(LabUnavailableSkips.class)
class RedisMasterSigkillDrill {
    @TempDir Path dir;

    @ParameterizedTest(name = "on {0}")
    @ValueSource(strings = {"processes", "containers"})
    void masterKilledUnderWritesNewMasterTakesWritesAndTheReturningOldMasterIsDemoted(String where) throws Exception {
        try (RedisLab lab = where.equals("processes") ? new LocalRedisLab(dir, 2) : new ContainerRedisLab(dir, 2)) {
            Agent discovery = DiscoveryLab.start("drill-discovery");
            try {
                RedisKillDrill.Report r = RedisKillDrill.run("127.0.0.1:" + discovery.httpPort(), discovery.dnsPort(), lab);
                for (Timeline.Step s : r.timeline()) System.out.printf("%d %-22s %s%n", s.atMillis(), s.name(), s.detail());
                System.out.printf("%s: kill -> first write on the new master: %d ms; acknowledged writes lost: %d%n",
                        where.equals("processes") ? "processes" : "image " + ContainerEngine.redisImage(), r.killToFirstWriteMillis(), r.lostAcknowledged());
                assertThat(r.success()).as(r.message()).isTrue();
                assertThat(r.newMaster()).isNotEqualTo(r.oldMaster());
                assertThat(r.oldMasterDemoted()).isTrue();
                assertThat(r.timeline()).extracting(Timeline.Step::name).contains("detected", "decided", "master deregistered", "epoch", "promoted", "dns moved");
                assertThat(r.killToFirstWriteMillis()).isPositive();
                // Replication is asynchronous: writes acknowledged after the last replication are lost; on loopback that is a
                // few at most (0 in quiet runs). More than half a second of writes (25) means the candidate was badly behind.
                assertThat(r.lostAcknowledged()).as("acknowledged writes lost (async replication on loopback)").isLessThanOrEqualTo(25);
            } finally {
                discovery.close();
            }
        }
    }
}

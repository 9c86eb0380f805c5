package io.failoverkit.drills;

import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.drill.RedisKillDrill;
import io.failoverkit.failover.drill.RedisLab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpResponse;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Incident replayed under the seeds' final setup (issue 12): ACLs on with default deny, and the manager holding only
 * the token `failover acl-policy --create` made for its cluster. The Redis master dies (SIGKILL) under writes; the
 * manager, with nothing but that token, must take its lock, confirm the death, promote, move `master.drill-redis`
 * in the catalog, record the epoch and demote the returning old master, while anonymous requests see none of it.
 */
class LeastPrivilegeRedisFailoverDrill {
    @TempDir Path dir;

    @Test
    void masterKilledUnderWritesFailsOverWithOnlyTheLeastPrivilegeTokenWhileAnonymousReadsNothing() throws Exception {
        try (AclDiscoveryLab discovery = AclDiscoveryLab.start(dir.resolve("discovery"), "acl-drill-discovery");
             RedisLab lab = new LocalRedisLab(dir.resolve("redis"), 2)) {
            String managerToken = discovery.createManagerToken(dir, RedisKillDrill.cluster(lab));

            RedisKillDrill.Report r = RedisKillDrill.run(discovery.http(), discovery.agent.dnsPort(), lab, managerToken);
            for (Timeline.Step s : r.timeline()) System.out.printf("%d %-22s %s%n", s.atMillis(), s.name(), s.detail());
            System.out.printf("least privilege: kill -> first write on the new master: %d ms; acknowledged writes lost: %d%n",
                    r.killToFirstWriteMillis(), r.lostAcknowledged());
            assertThat(r.success()).as(r.message()).isTrue();
            assertThat(r.newMaster()).isNotEqualTo(r.oldMaster());
            assertThat(r.oldMasterDemoted()).isTrue();
            assertThat(r.timeline()).extracting(Timeline.Step::name).contains("detected", "decided", "master deregistered", "epoch", "promoted", "dns moved");

            // What the manager wrote is there for its token, and for nobody without one.
            String epochKey = "/v1/kv/failover/" + RedisKillDrill.SERVICE + "/epoch";
            HttpResponse<String> mine = discovery.send("GET", epochKey, managerToken, null);
            assertThat(mine.statusCode()).isEqualTo(200);
            HttpResponse<String> anonymous = discovery.send("GET", epochKey, null, null);
            assertThat(anonymous.statusCode()).isEqualTo(403);
            assertThat(anonymous.body()).contains("Permission denied");
            HttpResponse<String> anonymousWrite = discovery.send("PUT", "/v1/kv/failover/" + RedisKillDrill.SERVICE + "/epoch", null, "{}");
            assertThat(anonymousWrite.statusCode()).isEqualTo(403);
            // The catalog names the new master (read with the manager's token: its service and its member nodes).
            var masters = new io.failoverkit.failover.act.Catalog(new io.failoverkit.failover.discovery.DiscoveryClient(discovery.http(), managerToken),
                    RedisKillDrill.SERVICE).masters();
            assertThat(masters).containsExactly(r.newMaster());
        }
    }
}

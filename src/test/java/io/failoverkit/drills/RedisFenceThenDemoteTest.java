package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.redis.RedisServers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Topology;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Hole 13 on real servers: a fenced Redis master refuses writes at once while its replicas keep replicating from it;
 * only after the candidate was promoted is it made a replica, so at no sampled moment does it replicate from a
 * candidate that still replicates from it. Hole 12 on a real discovery node: a replica whose check the manager turns
 * critical drops out of `replica.<service>` in DNS.
 */
class RedisFenceThenDemoteTest {
    @TempDir Path dir;

    @Test
    void aFencedMasterRefusesWritesKeepsItsReplicasAndIsDemotedOnlyAfterThePromotion() throws Exception {
        try (LocalRedisLab lab = new LocalRedisLab(dir, 2)) {
            RedisServers redis = new RedisServers(1000, null);
            String master = lab.servers.get(0).address();
            String candidate = lab.servers.get(1).address();
            String other = lab.servers.get(2).address();
            await().atMost(Duration.ofSeconds(30)).until(() -> redis.observe(candidate).masterLinkUp() && redis.observe(other).masterLinkUp());
            // The lab master keeps min-replicas-to-write: its replicas' link being up is not yet its count of good
            // replicas (refreshed by their acks, once a second), so on a loaded machine the first write may get
            // NOREPLICAS. The setup waits for the master to take a write; the property under test comes after.
            try (redis.clients.jedis.Jedis m = new redis.clients.jedis.Jedis("127.0.0.1", lab.servers.get(0).port)) {
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> "OK".equals(m.set("before", "1")));
            }
            // Sample the replication graph while the verbs run: a loop is two instances each replicating from the other.
            AtomicBoolean sampling = new AtomicBoolean(true);
            List<String> loops = new ArrayList<>();
            Thread sampler = Thread.ofPlatform().start(() -> {
                while (sampling.get()) {
                    InstanceState a = redis.observe(master);
                    InstanceState b = redis.observe(candidate);
                    if (a.isReplica() && b.isReplica() && candidate.equals(a.masterAddress()) && master.equals(b.masterAddress())) {
                        loops.add(a.detail() + " / " + b.detail());
                    }
                }
            });
            try {
                redis.fence(master);
                InstanceState fenced = redis.observe(master);
                assertThat(fenced.role()).isEqualTo(InstanceState.Role.MASTER);
                assertThat(fenced.writable()).as("observed as taking no writes").isFalse();
                try (redis.clients.jedis.Jedis m = new redis.clients.jedis.Jedis("127.0.0.1", lab.servers.get(0).port)) {
                    assertThatThrownBy(() -> m.set("after-fence", "1")).hasMessageContaining("NOREPLICAS");
                }
                assertThat(redis.observe(candidate).masterAddress()).as("the candidate still replicates from the fenced master").isEqualTo(master);
                redis.promote(candidate);
                redis.demote(master, candidate, false);
                redis.repoint(other, candidate);
            } finally {
                sampling.set(false);
                sampler.join(10_000);
            }
            assertThat(loops).as("moments with a replication loop").isEmpty();
            await().atMost(Duration.ofSeconds(30)).until(() -> redis.observe(master).masterLinkUp());
            assertThat(redis.observe(master).masterAddress()).isEqualTo(candidate);
            assertThat(redis.observe(candidate).isMaster()).isTrue();
            try (redis.clients.jedis.Jedis c = new redis.clients.jedis.Jedis("127.0.0.1", lab.servers.get(1).port)) {
                c.set("on-the-new-master", "1");
                assertThat(c.get("before")).isEqualTo("1");
            }
        }
    }

    @Test
    void aFenceIsUndoneByResumeWrites() throws Exception {
        try (LocalRedisLab lab = new LocalRedisLab(dir, 1)) {
            RedisServers redis = new RedisServers(1000, null);
            String master = lab.servers.get(0).address();
            await().atMost(Duration.ofSeconds(30)).until(() -> redis.observe(lab.servers.get(1).address()).masterLinkUp());
            redis.fence(master);
            assertThat(redis.observe(master).writable()).isFalse();
            redis.resumeWrites(master);
            assertThat(redis.observe(master).isMaster()).isTrue();
            try (redis.clients.jedis.Jedis m = new redis.clients.jedis.Jedis("127.0.0.1", lab.servers.get(0).port)) {
                assertThat(m.set("k", "v")).isEqualTo("OK");
            }
        }
    }

    @Test
    void aReplicaWhoseCheckTurnsCriticalDropsOutOfDns() throws Exception {
        Agent agent = DiscoveryLab.start("catalog-checks");
        try (LocalRedisLab lab = new LocalRedisLab(dir, 2)) {
            DiscoveryClient d = new DiscoveryClient("127.0.0.1:" + agent.httpPort());
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> { d.put("ready", "1"); return true; });
            RedisServers redis = new RedisServers(1000, null);
            String master = lab.servers.get(0).address();
            await().atMost(Duration.ofSeconds(30)).until(() -> lab.servers.stream().skip(1).allMatch(s -> redis.observe(s.address()).masterLinkUp()));
            Catalog catalog = new Catalog(d, "checked");
            List<String> members = lab.servers.stream().map(LocalRedisLab.Server::address).toList();
            catalog.sync(master, redis.observeAll(members));
            assertThat(replicaPorts(agent.dnsPort())).containsExactlyInAnyOrder(lab.servers.get(1).port, lab.servers.get(2).port);
            lab.servers.get(2).kill();
            Topology after = redis.observeAll(members);
            assertThat(catalog.sync(master, after)).singleElement().asString().contains("replica check critical");
            assertThat(replicaPorts(agent.dnsPort())).containsExactly(lab.servers.get(1).port);
            assertThat(catalog.sync(master, after)).as("nothing written when nothing changed").isEmpty();
        } finally {
            agent.close();
        }
    }

    private static List<Integer> replicaPorts(int dnsPort) throws Exception {
        Lookup l = new Lookup("replica.checked.service.consul", Type.SRV);
        SimpleResolver r = new SimpleResolver("127.0.0.1");
        r.setPort(dnsPort);
        l.setResolver(r);
        l.setCache(null);
        Record[] records = l.run();
        List<Integer> ports = new ArrayList<>();
        if (records != null) for (Record rec : records) ports.add(((org.xbill.DNS.SRVRecord) rec).getPort());
        return ports;
    }
}

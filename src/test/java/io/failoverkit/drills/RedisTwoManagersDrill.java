package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.redis.RedisServers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.watch.Manager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Incident: two failover managers run for the same cluster (a second one started by hand during an incident, or an
 * old host that came back). If both act, each promotes a different replica: two masters. Only the holder of
 * `failover/<cluster>/leader` may act; a manager whose session is gone stops acting at once and the other takes over.
 */
class RedisTwoManagersDrill {
    @TempDir Path dir;

    @Test
    void onlyTheLockHolderFailsOverAndALostSessionHandsOver() throws Exception {
        Agent discoveryNode = DiscoveryLab.start("two-managers-discovery");
        Map<String, List<FailoverRun.Outcome>> outcomes = new ConcurrentHashMap<>();
        try (LocalRedisLab lab = new LocalRedisLab(dir, 2)) {
            String service = "two-managers-redis";
            ClusterDefinition cluster = new ClusterDefinition(service, "redis", lab.addresses(), service, null, null, null, null, null, 0);
            DiscoveryClient discovery = new DiscoveryClient("127.0.0.1:" + discoveryNode.httpPort());
            RedisServers direct = new RedisServers(1000, null);
            Map<String, Manager> managers = new ConcurrentHashMap<>();
            List<Thread> threads = new CopyOnWriteArrayList<>();
            for (String id : List.of("manager-a", "manager-b")) {
                outcomes.put(id, new CopyOnWriteArrayList<>());
                Manager m = new Manager(cluster, discovery, new RedisServers(cluster.detection().timeoutMs(), null), id, outcomes.get(id)::add);
                managers.put(id, m);
                threads.add(Thread.ofPlatform().name(id).start(() -> {
                    try { m.run(System.nanoTime() + Duration.ofMinutes(2).toNanos()); } catch (InterruptedException ignored) { }
                }));
            }
            try {
                EpochStore epochs = new EpochStore(discovery, service);
                String master = lab.servers.get(0).address();
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> epochs.read().state().epoch() == 1
                        && lab.servers.stream().skip(1).map(s -> direct.observe(s.address())).allMatch(InstanceState::masterLinkUp));
                DiscoveryClient.KvEntry lock = discovery.get(epochs.lockKey()).orElseThrow();
                String holder = lock.text();
                String other = holder.equals("manager-a") ? "manager-b" : "manager-a";
                assertThat(managers.get(holder).isLeader()).isTrue();
                assertThat(managers.get(other).isLeader()).as("the manager without the lock").isFalse();

                lab.servers.get(0).kill();
                await().atMost(Duration.ofSeconds(15)).until(() -> outcomes.values().stream().mapToInt(List::size).sum() > 0);
                Thread.sleep(2000); // would a second failover follow, from the other manager?
                assertThat(outcomes.get(holder)).hasSize(1);
                assertThat(outcomes.get(holder).get(0).success()).as(outcomes.get(holder).get(0).message()).isTrue();
                assertThat(outcomes.get(other)).as("failovers run by the manager without the lock").isEmpty();
                assertThat(epochs.read().state().epoch()).isEqualTo(2);
                String newMaster = epochs.read().state().master();
                assertThat(lab.servers.stream().map(s -> direct.observe(s.address())).filter(InstanceState::isMaster).map(InstanceState::address).toList())
                        .containsExactly(newMaster);
                System.out.printf("lock holder %s failed over %s -> %s; %s did nothing%n", holder, master, newMaster, other);

                // The holder's session disappears (its discovery server lost it, an operator destroyed it): it must stop
                // acting, and the other manager takes the lock.
                long lostAt = System.currentTimeMillis();
                discovery.destroySession(lock.session());
                // Safety: from the moment the session is gone, the old holder stops acting before anyone (the other
                // manager, or itself with a new session) holds the lock again; never two at once.
                long both = 0, holderStoppedMs = -1, nextLeaderMs = -1;
                String next = null;
                long deadline = System.currentTimeMillis() + 15_000;
                while (System.currentTimeMillis() < deadline && next == null) {
                    boolean h = managers.get(holder).isLeader(), o = managers.get(other).isLeader();
                    if (h && o) both++;
                    if (!h && holderStoppedMs < 0) holderStoppedMs = System.currentTimeMillis() - lostAt;
                    if (o) next = other;
                    else if (h && holderStoppedMs >= 0) next = holder;
                    if (next != null) nextLeaderMs = System.currentTimeMillis() - lostAt;
                    Thread.sleep(10);
                }
                assertThat(next).as("a manager holds the lock again").isNotNull();
                assertThat(both).as("samples where both managers considered themselves the lock holder").isZero();
                assertThat(holderStoppedMs).as("the old holder stopped acting before the lock was held again").isBetween(0L, nextLeaderMs);
                assertThat(discovery.get(epochs.lockKey()).orElseThrow().session()).as("a new session holds the lock").isNotEqualTo(lock.session());
                System.out.printf("session of %s destroyed: it stopped acting %d ms later; %s holds the lock %d ms later (lock delay %d s)%n",
                        holder, holderStoppedMs, next, nextLeaderMs, io.failoverkit.failover.cluster.Timings.of(cluster).lockDelay().toSeconds());
                String nextLeader = next;
                String notLeader = next.equals(holder) ? other : holder;
                await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3)).until(() -> managers.get(nextLeader).isLeader() && !managers.get(notLeader).isLeader());
            } finally {
                for (Thread t : threads) t.interrupt();
                for (Thread t : threads) t.join(10_000);
            }
        } finally {
            discoveryNode.close();
        }
    }
}

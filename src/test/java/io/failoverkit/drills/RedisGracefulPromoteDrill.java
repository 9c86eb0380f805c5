package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.drill.WriterProbe;
import io.failoverkit.failover.redis.RedisServers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.watch.Manager;
import io.failoverkit.failover.watch.Promote;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Planned maintenance: an operator moves the Redis master with `failover promote` while the application writes.
 * No acknowledged write may be lost, the old master must end up a replica of the new one, and DNS must follow.
 */
class RedisGracefulPromoteDrill {
    @TempDir Path dir;


    @Test
    void switchoverUnderWritesLosesNoAcknowledgedWrite() throws Exception {
        Agent agent = DiscoveryLab.start("promote-discovery");
        try (LocalRedisLab lab = new LocalRedisLab(dir, 2)) {
            ClusterDefinition cluster = new ClusterDefinition("promo-redis", "redis", lab.addresses(), null, null, null, null, null, null, 0);
            DiscoveryClient discovery = new DiscoveryClient("127.0.0.1:" + agent.httpPort());
            RedisServers redis = new RedisServers(500, null);
            String master = lab.servers.get(0).address();
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
                new Catalog(discovery, "promo-redis").register(master, List.of(lab.servers.get(1).address(), lab.servers.get(2).address()));
                return lab.servers.stream().skip(1).map(s -> redis.observe(s.address())).allMatch(InstanceState::masterLinkUp);
            });

            Promote.Result dry = Promote.run(cluster, discovery, redis, null, true, false);
            assertThat(dry.success()).isTrue();
            assertThat(dry.message()).contains("dry run").contains(master);
            assertThat(redis.observe(master).isMaster()).as("a dry run changes nothing").isTrue();

            WriterProbe probe = new WriterProbe("promo-redis", agent.dnsPort(), "promo:counter", Duration.ofSeconds(60));
            Thread writer = Thread.ofPlatform().start(probe);
            await().atMost(Duration.ofSeconds(10)).until(() -> probe.acks().size() > 30);
            Promote.Result r = Promote.run(cluster, discovery, redis, null, false, false);
            r.timeline().steps().forEach(s -> System.out.printf("%d %-16s %s%n", s.atMillis(), s.name(), s.detail()));
            assertThat(r.success()).as(r.message()).isTrue();
            await().atMost(Duration.ofSeconds(10)).until(() -> probe.acks().stream().anyMatch(a -> !a.address().equals(master)));
            Thread.sleep(500);
            probe.stop();
            writer.join(5000);

            List<WriterProbe.Ack> acks = probe.acks();
            long lastOld = acks.stream().filter(a -> a.address().equals(master)).mapToLong(WriterProbe.Ack::value).max().orElseThrow();
            WriterProbe.Ack firstNew = acks.stream().filter(a -> !a.address().equals(master)).findFirst().orElseThrow();
            System.out.printf("switchover: last write on the old master %d, first on the new %d (gap %d ms)%n", lastOld, firstNew.value(),
                    firstNew.atMillis() - acks.stream().filter(a -> a.address().equals(master)).mapToLong(WriterProbe.Ack::atMillis).max().orElseThrow());
            assertThat(firstNew.value()).as("no acknowledged write lost").isEqualTo(lastOld + 1);
            InstanceState old = redis.observe(master);
            assertThat(old.isReplica()).isTrue();
            assertThat(old.masterAddress()).isEqualTo(firstNew.address());
            assertThat(new Catalog(discovery, "promo-redis").masters()).containsExactly(firstNew.address());
        } finally {
            agent.close();
        }
    }

    /** With `failover watch` running, the operator's promote is carried out by the lock-holding manager, never beside it. */
    @Test
    void promoteWhileAManagerWatchesIsCarriedOutByTheManager() throws Exception {
        Agent agent = DiscoveryLab.start("promote-watch-discovery");
        try (LocalRedisLab lab = new LocalRedisLab(dir, 2)) {
            ClusterDefinition cluster = new ClusterDefinition("promo-watch", "redis", lab.addresses(), null, null, null, null, null, null, 0);
            DiscoveryClient discovery = new DiscoveryClient("127.0.0.1:" + agent.httpPort());
            RedisServers redis = new RedisServers(500, null);
            Manager manager = new Manager(cluster, discovery, new RedisServers(cluster.detection().timeoutMs(), null), "watching-manager", o -> { });
            Thread managerThread = Thread.ofPlatform().start(() -> {
                try { manager.run(System.nanoTime() + Duration.ofMinutes(2).toNanos()); } catch (InterruptedException ignored) { }
            });
            try {
                String master = lab.servers.get(0).address();
                WriterProbe probe = new WriterProbe("promo-watch", agent.dnsPort(), "promo:counter", Duration.ofSeconds(60));
                await().atMost(Duration.ofSeconds(30)).until(() -> master.equals(probe.resolve()) && manager.isLeader()
                        && lab.servers.stream().skip(1).map(s -> redis.observe(s.address())).allMatch(InstanceState::masterLinkUp));
                Thread writer = Thread.ofPlatform().start(probe);
                await().atMost(Duration.ofSeconds(10)).until(() -> probe.acks().size() > 30);
                String to = lab.servers.get(2).address();
                Promote.Result r = Promote.run(cluster, discovery, redis, to, false, false);
                r.timeline().steps().forEach(s -> System.out.printf("%-16s %s%n", s.name(), s.detail()));
                assertThat(r.success()).as(r.message()).isTrue();
                assertThat(r.message()).contains("done by manager watching-manager");
                assertThat(r.timeline().steps()).extracting(io.failoverkit.failover.act.Timeline.Step::name).contains("requested", "caught up", "promoted");
                await().atMost(Duration.ofSeconds(10)).until(() -> probe.acks().stream().anyMatch(a -> a.address().equals(to)));
                Thread.sleep(500);
                probe.stop();
                writer.join(5000);
                List<WriterProbe.Ack> acks = probe.acks();
                long lastOld = acks.stream().filter(a -> a.address().equals(master)).mapToLong(WriterProbe.Ack::value).max().orElseThrow();
                WriterProbe.Ack firstNew = acks.stream().filter(a -> a.address().equals(to)).findFirst().orElseThrow();
                assertThat(firstNew.value()).as("no acknowledged write lost").isEqualTo(lastOld + 1);
                assertThat(redis.observe(master).masterAddress()).isEqualTo(to);
                assertThat(discovery.get(Promote.requestKey("promo-watch")).map(DiscoveryClient.KvEntry::text).orElse("")).as("request consumed").isEmpty();
                // The manager goes on, now guarding the new master; nothing else happened.
                Thread.sleep(1000);
                assertThat(new io.failoverkit.failover.act.EpochStore(discovery, "promo-watch").read().state().master()).isEqualTo(to);
            } finally {
                managerThread.interrupt();
                managerThread.join(10_000);
            }
        } finally {
            agent.close();
        }
    }
}

package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.drill.WriterProbe;
import io.failoverkit.failover.redis.RedisServers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.watch.Manager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Incident: the failover manager loses its network path to the master while the master and its replicas are fine
 * (a switch port, a firewall rule on the manager's host). A manager that trusts only its own view fails over and
 * makes two masters. failoverkit's manager must ask the replicas, see that they still replicate from the master,
 * and do nothing. A TCP fault proxy sits between the manager and the master only; the replicas reach it directly.
 */
class RedisManagerPartitionDrill {
    @TempDir Path dir;

    @Test
    void managerCutOffFromTheMasterAloneDoesNotFailOver() throws Exception {
        Agent discoveryNode = DiscoveryLab.start("partition-discovery");
        List<FailoverRun.Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
        try (LocalRedisLab lab = new LocalRedisLab(dir, 2); FaultProxy proxy = new FaultProxy(lab.servers.get(0).address())) {
            String service = "partition-redis";
            String master = lab.servers.get(0).address();
            ClusterDefinition cluster = new ClusterDefinition(service, "redis", lab.addresses(), service, null, null, null, null, null, 0);
            DiscoveryClient discovery = new DiscoveryClient("127.0.0.1:" + discoveryNode.httpPort());
            // The manager dials the master through the proxy; every other address, and the replicas' own links, are direct.
            RedisServers managerView = new RedisServers(cluster.detection().timeoutMs(), null, cluster.fencing().maxLagSeconds(),
                    a -> a.equals(master) ? proxy.address() : a);
            RedisServers direct = new RedisServers(1000, null);
            Manager manager = new Manager(cluster, discovery, managerView, "partitioned-manager", outcomes::add);
            Thread managerThread = Thread.ofPlatform().name("partition-manager").start(() -> {
                try { manager.run(System.nanoTime() + Duration.ofMinutes(2).toNanos()); } catch (InterruptedException ignored) { }
            });
            WriterProbe probe = new WriterProbe(service, discoveryNode.dnsPort(), "drill:counter", Duration.ofSeconds(60));
            Thread probeThread = null;
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> master.equals(probe.resolve())
                        && lab.servers.stream().skip(1).map(s -> direct.observe(s.address())).allMatch(InstanceState::masterLinkUp));
                probeThread = Thread.ofPlatform().name("writer-probe").start(probe);
                await().atMost(Duration.ofSeconds(10)).until(() -> probe.acks().size() > 20);
                EpochStore epochs = new EpochStore(discovery, service);
                long epochBefore = epochs.read().state().epoch();

                long cutAt = System.currentTimeMillis();
                proxy.partition();
                await().atMost(Duration.ofSeconds(5)).until(() -> !managerView.observe(master).reachable());
                // Longer than detection (0.9 s), the replicas' silence threshold (3 s) and their repl-timeout (5 s).
                Thread.sleep(8000);
                long healedAt = System.currentTimeMillis();
                proxy.heal();

                assertThat(outcomes).as("failovers attempted while only the manager was cut off").isEmpty();
                assertThat(epochs.read().state().epoch()).isEqualTo(epochBefore);
                assertThat(epochs.read().state().master()).isEqualTo(master);
                assertThat(direct.observe(master).isMaster()).isTrue();
                for (LocalRedisLab.Server r : lab.servers.subList(1, 3)) {
                    InstanceState s = direct.observe(r.address());
                    assertThat(s.isReplica() && master.equals(s.masterAddress()) && s.masterLinkUp()).as(r.address() + " still replicates from the master").isTrue();
                }
                assertThat(new Catalog(discovery, service).masters()).containsExactly(master);
                long writesDuringCut = probe.acks().stream().filter(a -> a.atMillis() > cutAt && a.atMillis() < healedAt && a.address().equals(master)).count();
                System.out.printf("partition of %d ms between manager and master: %d writes acknowledged by the master meanwhile, no failover%n",
                        healedAt - cutAt, writesDuringCut);
                assertThat(writesDuringCut).as("the application kept writing to the master").isGreaterThan(100);

                // Healed: the manager sees the master again and stays put.
                await().atMost(Duration.ofSeconds(5)).until(() -> managerView.observe(master).isMaster());
                Thread.sleep(1000);
                assertThat(outcomes).isEmpty();
            } finally {
                probe.stop();
                if (probeThread != null) probeThread.join(5000);
                managerThread.interrupt();
                managerThread.join(10_000);
            }
        } finally {
            discoveryNode.close();
        }
    }
}

package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalMariaDbLab;
import io.failoverkit.failover.drill.MySqlKillDrill;
import io.failoverkit.failover.drill.SqlWriterProbe;
import io.failoverkit.failover.mysql.MySqlServers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.watch.Manager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Incident (orchestrator's and MHA's classic false positive): the network between the failover manager and the
 * primary fails, nothing else does. The replicas and the application still reach the primary through the same
 * address. The manager must not fail over: the replicas' IO threads say the primary is alive.
 */
class MariaDbManagerPartitionDrill {
    @TempDir Path dir;

    @Test
    void aManagerCutOffFromThePrimaryAloneDoesNotFailOver() throws Exception {
        Agent agent = DiscoveryLab.start("partition-discovery");
        try (LocalMariaDbLab lab = new LocalMariaDbLab(dir.resolve("lab"), 2, false);
             FaultProxy proxy = new FaultProxy(lab.servers.get(0).address())) {
            DiscoveryClient discovery = new DiscoveryClient("127.0.0.1:" + agent.httpPort());
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> { discovery.put("ready", "1"); return true; });
            String primary = proxy.address();
            List<String> members = List.of(primary, lab.servers.get(1).address(), lab.servers.get(2).address());
            ClusterDefinition cluster = new ClusterDefinition("partition-mysql", "mysql", members, null, null, null, null, null, null, 0,
                    new ClusterDefinition.MySql(lab.admin().user(), lab.replication().user(), null, null));
            try (MySqlServers direct = MySqlKillDrill.servers(cluster, lab);
                 MySqlServers managerSide = new MySqlServers(cluster.detection().timeoutMs(), lab.admin().user(), lab.admin().password(),
                         lab.replication().user(), lab.replication().password(), Map.of("localSocketAddress", "127.0.0.2"))) {
                // Everyone reaches the primary through the proxy's address, the replicas included.
                for (String r : members.subList(1, 3)) direct.repoint(r, primary);
                await().atMost(Duration.ofSeconds(20)).until(() -> members.subList(1, 3).stream().map(direct::observe)
                        .allMatch(i -> i.isReplica() && primary.equals(i.masterAddress()) && i.masterLinkUp()));

                AtomicReference<FailoverRun.Outcome> outcome = new AtomicReference<>();
                Manager manager = new Manager(cluster, discovery, managerSide, "partitioned-manager", outcome::set);
                Thread managerThread = Thread.ofPlatform().name("drill-manager").start(() -> {
                    try { manager.run(System.nanoTime() + Duration.ofMinutes(2).toNanos()); } catch (InterruptedException ignored) { }
                });
                SqlWriterProbe probe = new SqlWriterProbe(cluster.service(), agent.dnsPort(), lab.application(), Duration.ofMinutes(1));
                Thread writer = null;
                try {
                    await().atMost(Duration.ofSeconds(30)).until(() -> primary.equals(probe.resolve()));
                    writer = Thread.ofPlatform().start(probe);
                    await().atMost(Duration.ofSeconds(10)).until(() -> probe.acks().size() >= 20);
                    EpochStore epochs = new EpochStore(discovery, cluster.name());
                    await().atMost(Duration.ofSeconds(10)).until(() -> primary.equals(epochs.read().state().master()));
                    long epochBefore = epochs.read().state().epoch();

                    long cutAt = System.currentTimeMillis();
                    proxy.partitionFrom("127.0.0.2");
                    await().atMost(Duration.ofSeconds(5)).until(() -> !managerSide.observe(primary).reachable());
                    // Far longer than detection (3 failures 300 ms apart) plus the replicas' slave_net_timeout (2 s).
                    Thread.sleep(8000);
                    assertThat(outcome.get()).as("no failover while only the manager is cut off").isNull();
                    assertThat(epochs.read().state().epoch()).isEqualTo(epochBefore);
                    assertThat(epochs.read().state().master()).isEqualTo(primary);
                    InstanceState p = direct.observe(primary);
                    assertThat(p.isMaster()).as("the primary still takes writes").isTrue();
                    assertThat(members.subList(1, 3).stream().map(direct::observe)).allMatch(i -> i.masterLinkUp() && primary.equals(i.masterAddress()));
                    long writesDuringCut = probe.acks().stream().filter(a -> a.atMillis() > cutAt + 1000 && a.address().equals(primary)).count();
                    System.out.printf("partition: manager cut off for 8 s, no failover; the application wrote %d rows meanwhile%n", writesDuringCut);
                    assertThat(writesDuringCut).as("the application is not affected").isGreaterThan(50);

                    proxy.heal();
                    await().atMost(Duration.ofSeconds(10)).until(() -> managerSide.observe(primary).isMaster());
                    assertThat(outcome.get()).isNull();
                } finally {
                    probe.stop();
                    if (writer != null) writer.join(5000);
                    managerThread.interrupt();
                    managerThread.join(10_000);
                }
            }
        } finally {
            agent.close();
        }
    }
}

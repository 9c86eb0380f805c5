package io.failoverkit.drills;

import io.failoverkit.failover.drill.containers.ContainerRedisLab;
import org.junit.jupiter.api.extension.ExtendWith;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.drill.RedisLab;
import io.failoverkit.failover.drill.WriterProbe;
import io.failoverkit.failover.redis.RedisServers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.watch.Manager;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Incident: the master hangs (SIGSTOP: a stuck host, a long fork, a frozen VM) for 15 s, then resumes. Sentinel fails
 * over, but the resumed old master stays master and writable for ~10 s, and a client still connected to it gets
 * writes acknowledged that are all lost. failoverkit must fail over (the replicas confirm: their master went silent),
 * and the old master must not acknowledge a single write after the new master took over: Redis's own
 * min-replicas-to-write / min-replicas-max-lag, set by the manager while the master was healthy, make it refuse
 * (NOREPLICAS), and the manager demotes it to a replica of the new master as soon as it answers again.
 *
 * <p>Two stale clients keep writing to the old master's address (never re-resolving): one with Jedis's default 2 s
 * socket timeout, one that waits 30 s for a reply. The limit of what any manager can do shows with the second: a
 * request the frozen master had already received before it froze is executed in the first event-loop turn after it
 * resumes, before Redis refreshes its count of good replicas (a cached value, refreshed once a second or when a
 * replica disconnects). That one request per connection is acknowledged if its client is still waiting; every
 * request sent after the promotion must be refused.
 */
@ExtendWith(LabUnavailableSkips.class)
class RedisFrozenMasterDrill {
    @TempDir Path dir;

    /** A client that keeps its connection to the old master's address across everything (as a pooled client would). */
    static final class StaleClient implements Runnable {
        record Reply(long sentAtMillis, long atMillis, boolean acknowledged, String text) {}

        final String address;
        final int timeoutMillis;
        final List<Reply> replies = new CopyOnWriteArrayList<>();
        volatile boolean stop;

        StaleClient(String address, int timeoutMillis) {
            this.address = address;
            this.timeoutMillis = timeoutMillis;
        }

        @Override
        public void run() {
            int colon = address.lastIndexOf(':');
            HostAndPort hp = new HostAndPort(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
            Jedis jedis = null;
            long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
            while (!stop && System.nanoTime() < deadline) {
                long sent = System.currentTimeMillis();
                try {
                    if (jedis == null) jedis = new Jedis(hp, DefaultJedisClientConfig.builder().connectionTimeoutMillis(1000).socketTimeoutMillis(timeoutMillis).build());
                    long v = jedis.incr("drill:stale");
                    replies.add(new Reply(sent, System.currentTimeMillis(), true, Long.toString(v)));
                } catch (RuntimeException e) {
                    replies.add(new Reply(sent, System.currentTimeMillis(), false, String.valueOf(e.getMessage())));
                    if (jedis != null && jedis.isBroken()) { try { jedis.close(); } catch (RuntimeException ignored) { } jedis = null; }
                }
                try { Thread.sleep(20); } catch (InterruptedException e) { return; }
            }
            if (jedis != null) jedis.close();
        }
    }

    /** On local redis-server processes, and with each server in its own container (SIGSTOP through the Docker API). */
    @ParameterizedTest(name = "on {0}")
    @ValueSource(strings = {"processes", "containers"})
    void frozenMasterResumesWithoutAcknowledgingAWriteAndBecomesAReplica(String where) throws Exception {
        List<FailoverRun.Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
        try (RedisLab lab = where.equals("processes") ? new LocalRedisLab(dir, 2) : new ContainerRedisLab(dir, 2)) {
            Agent discoveryNode = DiscoveryLab.start("frozen-discovery");
            try {
                String service = "frozen-redis";
                ClusterDefinition cluster = new ClusterDefinition(service, "redis", lab.addresses(), service, null, null, null, null, null, 0);
                DiscoveryClient discovery = new DiscoveryClient("127.0.0.1:" + discoveryNode.httpPort());
                RedisServers redis = new RedisServers(cluster.detection().timeoutMs(), null);
                Manager manager = new Manager(cluster, discovery, redis, "frozen-manager", outcomes::add);
                Thread managerThread = Thread.ofPlatform().name("frozen-manager").start(() -> {
                    try { manager.run(System.nanoTime() + Duration.ofMinutes(2).toNanos()); } catch (InterruptedException ignored) { }
                });
                RedisLab.Instance master = lab.instances().get(0);
                WriterProbe probe = new WriterProbe(service, discoveryNode.dnsPort(), "drill:counter", Duration.ofSeconds(90));
                StaleClient stale = new StaleClient(master.address(), 2000);
                StaleClient patient = new StaleClient(master.address(), 30_000);
                Thread probeThread = null, staleThread = null, patientThread = null;
                try {
                    // The manager has taken charge: DNS names the master, the replicas are synced, and write fencing is set.
                    await().atMost(Duration.ofSeconds(30)).until(() -> master.address().equals(probe.resolve())
                            && lab.instances().stream().skip(1).map(s -> redis.observe(s.address())).allMatch(InstanceState::masterLinkUp)
                            && "1".equals(config(master.address(), "min-replicas-to-write")));
                    assertThat(config(master.address(), "min-replicas-max-lag")).isEqualTo("2");
                    probeThread = Thread.ofPlatform().name("writer-probe").start(probe);
                    staleThread = Thread.ofPlatform().name("stale-client").start(stale);
                    patientThread = Thread.ofPlatform().name("patient-client").start(patient);
                    await().atMost(Duration.ofSeconds(10)).until(() -> probe.acks().size() > 20 && stale.replies.size() > 20 && patient.replies.size() > 20);

                    long frozenAt = System.currentTimeMillis();
                    master.freeze();
                    await().atMost(Duration.ofSeconds(14)).until(() -> !outcomes.isEmpty());
                    FailoverRun.Outcome outcome = outcomes.get(0);
                    outcome.timeline().steps().forEach(s -> System.out.printf("%d %-22s %s%n", s.atMillis() - frozenAt, s.name(), s.detail()));
                    assertThat(outcome.success()).as(outcome.message()).isTrue();
                    long promotedAt = outcome.timeline().steps().stream().filter(s -> s.name().equals("promoted")).mapToLong(Timeline.Step::atMillis).findFirst().orElseThrow();
                    long sleep = frozenAt + 15_000 - System.currentTimeMillis();
                    if (sleep > 0) Thread.sleep(sleep);
                    long resumedAt = System.currentTimeMillis();
                    master.thaw();

                    String newMaster = outcome.timeline().steps().stream().filter(s -> s.name().equals("promoted")).findFirst().orElseThrow().detail().split(" ")[0];
                    await().atMost(Duration.ofSeconds(10)).until(() -> {
                        InstanceState s = redis.observe(master.address());
                        return s.isReplica() && newMaster.equals(s.masterAddress());
                    });
                    long demotedAt = System.currentTimeMillis();
                    Thread.sleep(1000);
                    stale.stop = true;
                    patient.stop = true;
                    probe.stop();
                    staleThread.join(35_000);
                    patientThread.join(35_000);
                    probeThread.join(5000);

                    List<StaleClient.Reply> lateAcks = stale.replies.stream().filter(r -> r.acknowledged() && r.atMillis() > promotedAt).toList();
                    List<StaleClient.Reply> afterResume = stale.replies.stream().filter(r -> r.atMillis() >= resumedAt).toList();
                    List<StaleClient.Reply> patientLate = patient.replies.stream().filter(r -> r.acknowledged() && r.atMillis() > promotedAt).toList();
                    System.out.printf("patient client (30 s timeout): acknowledged after the promotion: %s%n",
                            patientLate.stream().map(r -> "sent at " + (r.sentAtMillis() - frozenAt) + " ms, answered at " + (r.atMillis() - frozenAt) + " ms").toList());
                    System.out.printf("frozen at 0; promoted %d ms; resumed %d ms; old master a replica of %s %d ms after resuming%n",
                            promotedAt - frozenAt, resumedAt - frozenAt, newMaster, demotedAt - resumedAt);
                    System.out.printf("stale client: %d replies after resuming, of which acknowledged after the promotion: %d; first ones: %s%n",
                            afterResume.size(), lateAcks.size(), afterResume.stream().limit(3).map(r -> (r.acknowledged() ? "OK " : "ERR ") + r.text()).toList());
                    assertThat(afterResume).as("the stale client was answered after the old master resumed").isNotEmpty();
                    assertThat(lateAcks).as("writes acknowledged by the old master after the new master took over (all lost)").isEmpty();
                    assertThat(patientLate).as("only a request already sent before the promotion (in flight while frozen) may still be answered")
                            .allMatch(r -> r.sentAtMillis() < promotedAt);
                    assertThat(patientLate).as("at most the one request in flight on that connection").hasSizeLessThanOrEqualTo(1);
                    assertThat(patient.replies.stream().filter(r -> r.acknowledged() && r.sentAtMillis() > promotedAt).toList())
                            .as("writes sent after the promotion and acknowledged by the old master").isEmpty();
                    assertThat(probe.acks().stream().filter(a -> a.address().equals(master.address()) && a.atMillis() > promotedAt).toList())
                            .as("DNS clients' writes acknowledged by the old master after the promotion").isEmpty();
                    assertThat(probe.acks().stream().anyMatch(a -> a.address().equals(newMaster))).isTrue();
                    assertThat(outcomes).as("exactly one failover").hasSize(1);
                } finally {
                    stale.stop = true;
                    patient.stop = true;
                    probe.stop();
                    if (probeThread != null) probeThread.join(5000);
                    if (staleThread != null) staleThread.join(35_000);
                    if (patientThread != null) patientThread.join(35_000);
                    managerThread.interrupt();
                    managerThread.join(10_000);
                }
            } finally {
                discoveryNode.close();
            }
        }
    }

    private static String config(String address, String name) {
        int colon = address.lastIndexOf(':');
        try (Jedis j = new Jedis(new HostAndPort(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))),
                DefaultJedisClientConfig.builder().socketTimeoutMillis(1000).build())) {
            return j.configGet(name).get(name);
        }
    }
}

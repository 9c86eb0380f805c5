package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.HistoryStore;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.drill.MasterResolver;
import io.failoverkit.failover.redis.RedisServers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.watch.Manager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Incident (issue 9, hole 4): three redis-servers with persistence off and min-replicas-to-write 1 in their
 * config, 2,000 keys, `failover watch` running; the master is SIGKILLed and its supervisor starts it again 50 ms later,
 * empty, on the same port. Before the fix, 12 s later all three held 0 keys: the replicas reconnected, could not
 * continue their stream on the new process and full-resynced from it, while the manager took the empty master as
 * healthy (and even lowered its min-replicas-to-write to 0). Now the keys must survive on the master that DNS names;
 * if a run loses the race (every replica already resynced) the loss must be reported and the empty master never
 * followed: its write fencing left at 1, the epoch unchanged.
 *
 * <p>Two replication settings: Redis 7's default diskless sync (the master waits repl-diskless-sync-delay, 5 s, before
 * it sends anything) and disk-based sync (repl-diskless-sync no: the empty RDB arrives milliseconds after a replica
 * reconnects, which it does on its next replication cron tick, within a second). Runs per setting:
 * {@code -Dfailoverkit.drill.restartEmpty.runs=N} (default 2).
 */
class RedisMasterRestartedEmptyDrill {
    static final int KEYS = 2000;
    private static final AtomicInteger RUN = new AtomicInteger();
    private static final Map<String, List<String>> RESULTS = new ConcurrentHashMap<>();
    private static Agent discoveryNode;

    @TempDir Path dir;

    @BeforeAll
    static void startDiscovery() throws Exception {
        discoveryNode = DiscoveryLab.start("restart-empty-discovery");
    }

    @AfterAll
    static void summary() throws Exception {
        if (discoveryNode != null) discoveryNode.close();
        RESULTS.forEach((sync, outcomes) -> System.out.printf("SUMMARY restart-empty sync=%s runs=%d kept=%d lost_reported=%d%n", sync,
                outcomes.size(), outcomes.stream().filter("kept"::equals).count(), outcomes.stream().filter("lost-reported"::equals).count()));
    }

    static Stream<Arguments> runs() {
        int n = Integer.getInteger("failoverkit.drill.restartEmpty.runs", 2);
        return Stream.of("diskless", "disk").flatMap(sync -> IntStream.rangeClosed(1, n).mapToObj(i -> Arguments.of(sync, i)));
    }

    @ParameterizedTest(name = "{0} sync, run {1}")
    @MethodSource("runs")
    void masterRestartedEmptyWithinTheDetectionWindowIsNeverFollowedAndTheKeysSurvive(String sync, int run) throws Exception {
        String service = "restart-empty-" + RUN.incrementAndGet();
        List<String> extra = sync.equals("disk") ? List.of("--repl-diskless-sync", "no") : List.of();
        List<FailoverRun.Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
        try (LocalRedisLab lab = new LocalRedisLab(dir, 2, true, extra)) {
            ClusterDefinition cluster = new ClusterDefinition(service, "redis", lab.addresses(), service, null, null, null, null, null, 0);
            DiscoveryClient discovery = new DiscoveryClient("127.0.0.1:" + discoveryNode.httpPort());
            RedisServers redis = new RedisServers(cluster.detection().timeoutMs(), null);
            RedisServers probe = new RedisServers(1000, null);
            LocalRedisLab.Server master = lab.servers.get(0);
            MasterResolver dns = new MasterResolver(service, discoveryNode.dnsPort());
            HistoryStore history = new HistoryStore(discovery, service);
            Manager manager = new Manager(cluster, discovery, redis, "restart-empty-manager", outcomes::add);
            Thread managerThread = Thread.ofPlatform().name("restart-empty-manager").start(() -> {
                try { manager.run(System.nanoTime() + Duration.ofMinutes(3).toNanos()); } catch (InterruptedException ignored) { }
            });
            try {
                // Replicas attached (min-replicas-to-write 1 refuses writes before), then 2,000 keys on every member.
                await().atMost(Duration.ofSeconds(30)).until(() -> lab.servers.stream().skip(1).map(s -> probe.observe(s.address()))
                        .allMatch(InstanceState::masterLinkUp));
                try (Jedis j = jedis(master.address())) {
                    Pipeline p = j.pipelined();
                    for (int i = 1; i <= KEYS; i++) p.set("key:" + i, "value:" + i);
                    p.sync();
                    assertThat(j.waitReplicas(2, 10_000)).as("both replicas acknowledged the keys").isEqualTo(2);
                }
                // The manager guards the master and recorded its history (in the KV too) since the keys were written.
                long offsetWithKeys = probe.observe(master.address()).offset();
                // (60 s: a setup wait, not a property; a CI box loaded by seven builds once needed more than 30.)
                await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> master.address().equals(dns.resolve())
                        && "1".equals(config(master.address(), "min-replicas-to-write"))
                        && history.read().history() != null && history.read().history().offset() >= offsetWithKeys);
                // The drill's precondition, not its property: every replica holds the keys (WAIT counted both, yet a CI run
                // under load once read 1,096 of them on a replica right after it; wait for it rather than fail the setup).
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                        .until(() -> lab.servers.stream().skip(1).allMatch(r -> keysOn(r.address()) == KEYS));

                master.kill();
                Thread.sleep(50);
                long restartedAt = System.currentTimeMillis();
                master.start(null);

                // Either the keys are on the master DNS names (a failover to the replica that kept them), or the loss was
                // found and reported. Nothing else may last: old code leaves DNS on the empty master, unreported.
                await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() -> {
                    String named = dns.resolve();
                    return named != null && !named.equals(master.address()) && probe.observe(named).isMaster() && keysOn(named) == KEYS
                            || history.read().dataLost() != null;
                });
                Thread.sleep(1500); // let the next cycles run: what the manager does after the verdict counts too
                String named = dns.resolve();
                String lost = history.read().dataLost();
                String result = lost == null ? "kept" : "lost-reported";
                RESULTS.computeIfAbsent(sync, k -> Collections.synchronizedList(new ArrayList<>())).add(result);
                List<Integer> held = lab.servers.stream().map(s -> keysOn(s.address())).toList();
                for (FailoverRun.Outcome o : outcomes) {
                    for (Timeline.Step s : o.timeline().steps()) System.out.printf("  %+6d ms %-18s %s%n", s.atMillis() - restartedAt, s.name(), s.detail());
                }
                System.out.printf("RESULT restart-empty sync=%s run=%d result=%s dns_master=%s keys_held=%s restart_to_fenced_ms=%d restart_to_promoted_ms=%d%n",
                        sync, run, result, named, held, stepAfter(outcomes, "fenced", restartedAt), stepAfter(outcomes, "promoted", restartedAt));

                if (lost == null) {
                    assertThat(named).as("DNS names a master other than the restarted one").isNotNull().isNotEqualTo(master.address());
                    assertThat(keysOn(named)).as("keys on the master DNS names").isEqualTo(KEYS);
                    assertThat(new EpochStore(discovery, service).read().state().master()).isEqualTo(named);
                    assertThat(outcomes).as("one failover, done").hasSize(1).allMatch(FailoverRun.Outcome::success);
                    assertThat(outcomes.get(0).timeline().steps()).extracting(Timeline.Step::name)
                            .containsSubsequence("detected", "fenced", "decided", "epoch", "promoted", "dns moved");
                    // The restarted master rejoins as a replica of the new one and gets the data set back.
                    await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> keysOn(master.address()) == KEYS
                            && named.equals(probe.observe(master.address()).masterAddress()));
                    try (Jedis j = jedis(named)) {
                        assertThat(j.set("after", "failover")).as("the new master takes writes").isEqualTo("OK");
                    }
                } else {
                    assertThat(lost).startsWith("data set lost: master restarted empty and the replicas resynced from it; restore from backup");
                    assertThat(held).as("reported lost only when no member holds the keys").doesNotContain(KEYS);
                    assertThat(config(master.address(), "min-replicas-to-write")).as("the empty master's write fencing is not lowered").isEqualTo("1");
                    assertThat(new EpochStore(discovery, service).read().state().master()).isEqualTo(master.address());
                }
            } finally {
                managerThread.interrupt();
                managerThread.join(10_000);
                redis.close();
            }
        }
    }

    /**
     * The race lost for sure: no manager runs while the master restarts empty and both replicas resync from it. A
     * manager started afterwards knows the master's history from the KV (recorded by the one before), reports the loss
     * (log, KV, `failover status` CRITICAL), changes nothing (no failover, epoch unchanged, write fencing at 1), and
     * follows the master as it is only once an operator ran `failover ack`.
     */
    @org.junit.jupiter.api.Test
    void aLossFoundAfterTheFactIsReportedAndTheEmptyMasterNotFollowedUntilAcknowledged() throws Exception {
        String service = "restart-empty-lost";
        List<FailoverRun.Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
        try (LocalRedisLab lab = new LocalRedisLab(dir, 2)) {
            ClusterDefinition cluster = new ClusterDefinition(service, "redis", lab.addresses(), service, null, null, null, null, null, 0);
            String http = "127.0.0.1:" + discoveryNode.httpPort();
            DiscoveryClient discovery = new DiscoveryClient(http);
            RedisServers probe = new RedisServers(1000, null);
            LocalRedisLab.Server master = lab.servers.get(0);
            HistoryStore history = new HistoryStore(discovery, service);
            await().atMost(Duration.ofSeconds(30)).until(() -> lab.servers.stream().skip(1).map(s -> probe.observe(s.address()))
                    .allMatch(InstanceState::masterLinkUp));
            try (Jedis j = jedis(master.address())) {
                Pipeline p = j.pipelined();
                for (int i = 1; i <= KEYS; i++) p.set("key:" + i, "value:" + i);
                p.sync();
                assertThat(j.waitReplicas(2, 10_000)).isEqualTo(2);
            }
            long offsetWithKeys = probe.observe(master.address()).offset();
            RedisServers first = new RedisServers(cluster.detection().timeoutMs(), null);
            Thread firstManager = Thread.ofPlatform().start(() -> {
                try { new Manager(cluster, discovery, first, "first", outcomes::add).run(System.nanoTime() + Duration.ofMinutes(1).toNanos()); }
                catch (InterruptedException ignored) { }
            });
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> history.read().history() != null
                    && history.read().history().offset() >= offsetWithKeys);
            firstManager.interrupt();
            firstManager.join(10_000);
            first.close();

            master.kill();
            Thread.sleep(50);
            master.start(null);
            await().atMost(Duration.ofSeconds(30)).until(() -> lab.servers.stream().skip(1).allMatch(s -> probe.observe(s.address()).masterLinkUp()
                    && keysOn(s.address()) == 0));

            RedisServers second = new RedisServers(cluster.detection().timeoutMs(), null);
            Thread secondManager = Thread.ofPlatform().start(() -> {
                try { new Manager(cluster, discovery, second, "second", outcomes::add).run(System.nanoTime() + Duration.ofMinutes(2).toNanos()); }
                catch (InterruptedException ignored) { }
            });
            try {
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> history.read().dataLost() != null);
                Thread.sleep(1500);
                String lost = history.read().dataLost();
                System.out.println("reported: " + lost);
                assertThat(lost).startsWith("data set lost: master restarted empty and the replicas resynced from it; restore from backup");
                assertThat(outcomes).as("no failover: nothing holds the data").isEmpty();
                assertThat(new EpochStore(discovery, service).read().state().master()).isEqualTo(master.address());
                assertThat(config(master.address(), "min-replicas-to-write")).isEqualTo("1");
                Path def = dir.resolve(service + ".json");
                java.nio.file.Files.writeString(def, cluster.toJson());
                FailoverCliTest.Run status = FailoverCliTest.run("status", "--cluster", def.toString(), "--discovery", http);
                assertThat(status.exit()).as(status.out()).isEqualTo(2);
                assertThat(status.out()).contains("CRITICAL: data set lost");

                FailoverCliTest.Run ack = FailoverCliTest.run("ack", "--cluster", def.toString(), "--discovery", http);
                assertThat(ack.out()).contains("data-set loss of " + service + " acknowledged");
                // Acknowledged: the manager follows the master as it is now, and records its new history.
                String newRun = ((io.failoverkit.failover.topology.ReplicationHistory) probe.observe(master.address()).position()).runId();
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> history.read().dataLost() == null
                        && history.read().history() != null && newRun.equals(history.read().history().runId()));
                assertThat(FailoverCliTest.run("status", "--cluster", def.toString(), "--discovery", http).exit()).isZero();
            } finally {
                secondManager.interrupt();
                secondManager.join(10_000);
                second.close();
            }
        }
    }

    private static long stepAfter(List<FailoverRun.Outcome> outcomes, String step, long since) {
        return outcomes.stream().flatMap(o -> o.timeline().steps().stream()).filter(s -> s.name().equals(step))
                .mapToLong(s -> s.atMillis() - since).findFirst().orElse(-1);
    }

    private static Jedis jedis(String address) {
        int colon = address.lastIndexOf(':');
        return new Jedis(new HostAndPort(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))),
                DefaultJedisClientConfig.builder().connectionTimeoutMillis(1000).socketTimeoutMillis(5000).build());
    }

    private static int keysOn(String address) {
        try (Jedis j = jedis(address)) {
            int n = 0;
            for (int from = 1; from <= KEYS; from += 500) {
                String[] keys = IntStream.range(from, Math.min(from + 500, KEYS + 1)).mapToObj(i -> "key:" + i).toArray(String[]::new);
                List<String> values = j.mget(keys);
                for (int i = 0; i < values.size(); i++) if (("value:" + (from + i)).equals(values.get(i))) n++;
            }
            return n;
        } catch (RuntimeException e) {
            return -1;
        }
    }

    private static String config(String address, String name) {
        try (Jedis j = jedis(address)) {
            return j.configGet(name).get(name);
        }
    }
}

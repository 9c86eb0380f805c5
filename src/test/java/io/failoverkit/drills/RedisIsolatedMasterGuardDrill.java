package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.guard.Guard;
import io.failoverkit.failover.guard.GuardTiming;
import io.failoverkit.failover.redis.RedisServers;
import io.failoverkit.failover.watch.Manager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The Redis form of hole 6: a master cut off from the manager, its replicas and the discovery servers, its
 * application still connected. With min-replicas-to-write (failoverkit's default) Redis refuses writes by itself
 * once its replicas fall silent; this drill turns that off (fencing.maxLagSeconds 0, no min-replicas in the servers'
 * config), so only the guard stands between the old master and the new one. Writability is sampled every 10 ms by
 * a real write on each server.
 */
class RedisIsolatedMasterGuardDrill {
    @TempDir Path dir;

    @Test
    void theGuardFencesTheIsolatedMasterBeforeTheNewOneTakesWrites() throws Exception {
        Result r = run("guarded", true);
        assertThat(r.outcome().success()).as(r.outcome().message()).isTrue();
        assertThat(r.guardFences()).isEqualTo(1);
        assertThat(r.newWritableAt()).isPositive();
        assertThat(r.twoWritable()).as("samples with two writable masters after the new one took writes").isEmpty();
        assertThat(r.lateAcks()).as("writes acknowledged by the old master once the new one was writable").isZero();
    }

    @Test
    void withoutTheGuardTheIsolatedMasterTakesWritesBesideTheNewOne() throws Exception {
        Result r = run("unguarded", false);
        assertThat(r.outcome().success()).as(r.outcome().message()).isTrue();
        assertThat(r.twoWritable()).isNotEmpty();
        assertThat(r.lateAcks()).isPositive();
    }

    record Result(FailoverRun.Outcome outcome, int guardFences, long newWritableAt, List<String> twoWritable, long lateAcks) {}

    private Result run(String name, boolean guarded) throws Exception {
        Agent agent = DiscoveryLab.start("redis-" + name + "-discovery");
        try (LocalRedisLab lab = new LocalRedisLab(dir.resolve("lab"), 2, false);
             FaultProxy masterLink = new FaultProxy(lab.servers.get(0).address());
             FaultProxy guardToDiscovery = new FaultProxy("127.0.0.1:" + agent.httpPort())) {
            String oldReal = lab.servers.get(0).address();
            String master = masterLink.address();
            List<String> members = List.of(master, lab.servers.get(1).address(), lab.servers.get(2).address());
            ClusterDefinition cluster = new ClusterDefinition("isolated-redis-" + name, "redis", members, null, null, null, null, null, null, 0,
                    null, new ClusterDefinition.Fencing(0));
            DiscoveryClient discovery = new DiscoveryClient("127.0.0.1:" + agent.httpPort());
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> { discovery.put("ready", "1"); return true; });
            RedisServers redis = new RedisServers(cluster.detection().timeoutMs(), null, 0, java.util.function.UnaryOperator.identity());
            for (String r : members.subList(1, 3)) redis.repoint(r, master);
            await().atMost(Duration.ofSeconds(30)).until(() -> members.subList(1, 3).stream().map(redis::observe)
                    .allMatch(i -> i.isReplica() && master.equals(i.masterAddress()) && i.masterLinkUp()));

            AtomicReference<FailoverRun.Outcome> outcome = new AtomicReference<>();
            Manager manager = new Manager(cluster, discovery, redis, "drill-manager", outcome::set);
            Thread managerThread = Thread.ofPlatform().name("drill-manager").start(() -> {
                try { manager.run(System.nanoTime() + Duration.ofMinutes(3).toNanos()); } catch (InterruptedException ignored) { }
            });
            Guard guard = guarded ? Guard.forCluster(cluster, master, oldReal, List.of(guardToDiscovery.address()), GuardTiming.DEFAULT) : null;
            Thread guardThread = guard == null ? null : Thread.ofPlatform().name("drill-guard").start(
                    () -> guard.run(System.nanoTime() + Duration.ofMinutes(3).toNanos()));
            List<long[]> acks = new ArrayList<>(); // {sentAt, ackAt}
            Map<Long, List<String>> samples = new java.util.LinkedHashMap<>();
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread app = Thread.ofPlatform().name("stuck-application").start(() -> {
                // One connection to the master it was given, never re-resolved; INCR every 20 ms, each acknowledgement logged.
                Jedis j = null;
                long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
                while (!stop.get() && System.nanoTime() < deadline) {
                    try {
                        if (j == null) j = jedis(oldReal, 10_000);
                        long sent = System.currentTimeMillis();
                        j.incr("drill:counter");
                        synchronized (acks) { acks.add(new long[]{sent, System.currentTimeMillis()}); }
                    } catch (RuntimeException e) {
                        if (j != null) { try { j.close(); } catch (RuntimeException ignored) { } }
                        j = null;
                    }
                    try { Thread.sleep(20); } catch (InterruptedException e) { break; }
                }
                if (j != null) j.close();
            });
            List<String> dial = List.of(oldReal, members.get(1), members.get(2));
            Thread sampler = Thread.ofPlatform().name("writable-sampler").start(() -> {
                Map<String, Jedis> conns = new HashMap<>();
                long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
                while (!stop.get() && System.nanoTime() < deadline) {
                    long at = System.currentTimeMillis();
                    List<String> writable = new ArrayList<>();
                    for (String a : dial) {
                        try {
                            Jedis j = conns.computeIfAbsent(a, x -> jedis(x, 500));
                            j.set("drill:sample", Long.toString(at));
                            writable.add(a);
                        } catch (RuntimeException e) {
                            // READONLY (a replica) or NOREPLICAS (fenced): not writable; a killed connection is dialed again.
                            if (!String.valueOf(e.getMessage()).startsWith("READONLY") && !String.valueOf(e.getMessage()).startsWith("NOREPLICAS")) {
                                Jedis dead = conns.remove(a);
                                if (dead != null) { try { dead.close(); } catch (RuntimeException ignored) { } }
                                if (a.equals(oldReal)) writable.add(a); // unknown counts as writable
                            }
                        }
                    }
                    synchronized (samples) { samples.put(at, writable); }
                    try { Thread.sleep(10); } catch (InterruptedException e) { break; }
                }
                conns.values().forEach(Jedis::close);
            });
            try {
                EpochStore epochs = new EpochStore(discovery, cluster.name());
                await().atMost(Duration.ofSeconds(30)).until(() -> master.equals(epochs.read().state().master()));
                await().atMost(Duration.ofSeconds(20)).until(() -> { synchronized (acks) { return acks.size() >= 50; } });
                Thread.sleep(1000);
                assertThat(guard == null ? 0 : guard.fences()).as("no false fence before the cut").isZero();
                long cutAt = System.currentTimeMillis();
                masterLink.partition();
                guardToDiscovery.partition();
                await().atMost(Duration.ofSeconds(60)).until(() -> outcome.get() != null);
                Thread.sleep(Math.max(0, cutAt + 8000 - System.currentTimeMillis()));
                stop.set(true);
                app.join(15_000);
                sampler.join(5000);
                long newWritableAt;
                List<String> two;
                long fencedAt;
                synchronized (samples) {
                    newWritableAt = samples.entrySet().stream().filter(e -> e.getValue().stream().anyMatch(a -> !a.equals(oldReal)))
                            .mapToLong(Map.Entry::getKey).findFirst().orElse(-1);
                    two = samples.entrySet().stream().filter(e -> newWritableAt > 0 && e.getKey() >= newWritableAt && e.getValue().size() >= 2)
                            .map(e -> e.getKey() + " " + e.getValue()).toList();
                    fencedAt = samples.entrySet().stream().filter(e -> e.getKey() >= cutAt && !e.getValue().contains(oldReal))
                            .mapToLong(Map.Entry::getKey).findFirst().orElse(-1);
                }
                long late;
                synchronized (acks) { late = acks.stream().filter(a -> newWritableAt > 0 && a[1] >= newWritableAt).count(); }
                System.out.printf("redis %s: cut at 0; old master refusing writes at +%d ms; new master writable at +%d ms; %d writes acknowledged"
                                + " by the old master after that; %d samples (10 ms) with two writable masters after it; guard fences %d%n",
                        name, fencedAt > 0 ? fencedAt - cutAt : -1, newWritableAt > 0 ? newWritableAt - cutAt : -1, late, two.size(),
                        guard == null ? 0 : guard.fences());
                return new Result(outcome.get(), guard == null ? 0 : guard.fences(), newWritableAt, two, late);
            } finally {
                stop.set(true);
                app.join(15_000);
                sampler.join(5000);
                if (guardThread != null) {
                    guardThread.interrupt();
                    guardThread.join(10_000);
                    guard.close();
                }
                managerThread.interrupt();
                managerThread.join(10_000);
            }
        } finally {
            agent.close();
        }
    }

    private static Jedis jedis(String address, int timeoutMs) {
        int colon = address.lastIndexOf(':');
        return new Jedis(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)), timeoutMs);
    }
}

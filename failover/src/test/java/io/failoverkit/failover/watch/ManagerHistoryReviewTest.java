package io.failoverkit.failover.watch;

import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.fake.FakeDiscovery;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.InstanceState.Role;
import io.failoverkit.failover.topology.ReplicationHistory;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Review 5: the record Regression judges by, in a manager that held the lock before, lost it, and takes it again. */
class ManagerHistoryReviewTest {
    static final String M = "10.0.0.1:6379", R1 = "10.0.0.2:6379", R2 = "10.0.0.3:6379", NAME = "foo";
    static final String A = "a".repeat(40), N = "b".repeat(40);

    /** Redis-like servers that report replication histories (FakeServers reports plain offsets). */
    static class HistServers implements Servers {
        record Node(Role role, String master, ReplicationHistory h) {}
        final Map<String, Node> nodes = new LinkedHashMap<>();
        final List<String> calls = new ArrayList<>();
        @Override public synchronized InstanceState observe(String a) {
            Node n = nodes.get(a);
            return n.role == Role.MASTER ? new InstanceState(a, true, null, Role.MASTER, true, null, false, n.h, 2, true, "")
                    : new InstanceState(a, true, null, Role.REPLICA, false, n.master, true, n.h, 0, true, "");
        }
        @Override public synchronized void promote(String a) { calls.add("promote " + a); }
        @Override public synchronized void repoint(String a, String m) { calls.add("repoint " + a); }
        @Override public synchronized void fence(String a) { calls.add("fence " + a); }
        @Override public synchronized void demote(String a, String m, boolean c) { calls.add("demote " + a); }
        @Override public synchronized void stopWrites(String m, Duration d) { calls.add("stopWrites " + m); }
        @Override public synchronized void resumeWrites(String m) { calls.add("resumeWrites " + m); }
        synchronized void all(String run, String replid, String replid2, long until, long offset, boolean replicasResynced) {
            nodes.put(M, new Node(Role.MASTER, null, new ReplicationHistory(offset, replid, replid2, until, run)));
            for (String r : List.of(R1, R2)) {
                nodes.put(r, new Node(Role.REPLICA, M, new ReplicationHistory(offset, replid, replicasResynced ? ReplicationHistory.NO_REPLID : replid2,
                        replicasResynced ? -1 : until, "run-" + r)));
            }
        }
    }

    final FakeDiscovery discovery = new FakeDiscovery();
    final ClusterDefinition cluster = new ClusterDefinition(NAME, "redis", List.of(M, R1, R2), NAME, null, null, null, null,
            new ClusterDefinition.Hooks(List.of(), List.of(), 10_000), 600, null, null);

    /** The lock passes to {@code to} (as after a blip or the holder's death); returns what its first cycle as holder did. */
    String handOver(Manager to) throws Exception {
        String key = new EpochStore(discovery, NAME).lockKey();
        discovery.release(key, discovery.get(key).orElseThrow().session());
        String first = to.cycle();
        assertThat(to.isLeader()).isTrue();
        return first;
    }

    @Test
    void aManagerThatTakesTheLockBackJudgesByTheCurrentRecordNotTheOneItKeptInMemory() throws Exception {
        HistServers s = new HistServers();
        s.all("run0", A, ReplicationHistory.NO_REPLID, -1, 1_000, false);
        Manager a = new Manager(cluster, discovery, s, "a", o -> {});
        Manager b = new Manager(cluster, discovery, s, "b", o -> {});
        assertThat(a.cycle()).isEqualTo("master " + M + " is up"); // a records run0/A/1000
        assertThat(handOver(b)).isEqualTo("master " + M + " is up"); // a lost the lock (a blip); b leads
        s.all("run0", A, ReplicationHistory.NO_REPLID, -1, 50_000, false);
        assertThat(b.cycle()).isEqualTo("master " + M + " is up"); // b records run0/A/50000, in the KV too
        // The master's host reboots: b (on it) dies, Redis reloads an RDB saved at 20000: writes 20000..50000 are gone,
        // and by the time a takes the lock (b's session TTL + lock-delay) the replicas have full-resynced from it.
        s.all("run1", N, A, 20_000, 20_000, true);
        String first = handOver(a);
        // A manager that never held the lock loads the KV record and says "data set lost"; a, with its own stale
        // record (A up to 1000, which the new run continues), followed the regressed master before review 5.
        assertThat(first).startsWith("data set lost");
    }

    @Test
    void controlAManagerThatNeverHeldTheLockReportsTheLoss() throws Exception {
        HistServers s = new HistServers();
        s.all("run0", A, ReplicationHistory.NO_REPLID, -1, 1_000, false);
        Manager b = new Manager(cluster, discovery, s, "b", o -> {});
        b.cycle();
        Thread.sleep(HistoryKeeper.PERSIST_EVERY_MILLIS + 100); // the KV record of an unchanged stream is refreshed every 5 s
        s.all("run0", A, ReplicationHistory.NO_REPLID, -1, 50_000, false);
        b.cycle();
        s.all("run1", N, A, 20_000, 20_000, true);
        Manager c = new Manager(cluster, discovery, s, "c", o -> {});
        assertThat(handOver(c)).startsWith("data set lost"); // a fresh manager reads the KV record
    }

    // Part 2: the drill's fallback (ManagerThread interrupts a loop that did not stop in 60 s) and MySqlServers.observeAll,
    // which now keeps the interrupt: the loop ends with the flag set, and Lease.close's release goes through
    // DiscoveryClient, whose HttpClient.send throws InterruptedException at once while the flag is set.
    @Test
    void aLoopEndedByAnInterruptStillReleasesTheLock() throws Exception {
        io.failoverkit.failover.discovery.Discovery d = (io.failoverkit.failover.discovery.Discovery) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[]{io.failoverkit.failover.discovery.Discovery.class}, (proxy, m, args) -> {
                    // As DiscoveryClient.send now (DiscoveryClientInterruptTest): an interrupted thread's request still
                    // goes through, and the flag is kept. (It threw IOException("interrupted") before review 5.)
                    try { return m.invoke(discovery, args); } catch (java.lang.reflect.InvocationTargetException e) { throw e.getCause(); }
                });
        java.util.concurrent.CountDownLatch observing = new java.util.concurrent.CountDownLatch(2);
        HistServers s = new HistServers() {
            @Override public io.failoverkit.failover.topology.Topology observeAll(List<String> members) {
                observing.countDown();
                try {
                    if (observing.getCount() == 0) Thread.sleep(10_000); // the second cycle's observation is slow
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // as MySqlServers.observeAll now does
                }
                return super.observeAll(members);
            }
        };
        s.all("run0", A, ReplicationHistory.NO_REPLID, -1, 1_000, false);
        Manager m = new Manager(cluster, d, s, "a", o -> {});
        Thread t = Thread.ofPlatform().start(() -> {
            try { m.run(System.nanoTime() + Duration.ofMinutes(1).toNanos()); } catch (InterruptedException ignored) { }
        });
        observing.await();
        Thread.sleep(600); // the interrupted cycle outlasts the 300 ms interval: no sleep (which would clear the flag) follows it
        t.interrupt();
        t.join(5_000);
        assertThat(t.isAlive()).isFalse();
        String key = new EpochStore(discovery, NAME).lockKey();
        // Before review 5 the release was refused (interrupted): the lock stayed held until the session's TTL and lock-delay.
        assertThat(discovery.get(key).orElseThrow().session()).as("lock holder after the loop ended").isNull();
    }

    // Part 2: an interrupt that lands during a failover step (ManagerThread's fallback after 60 s) is no stop signal the
    // run obeys: the server steps go on (Jedis and JDBC sockets ignore it), every discovery step after it fails.
    @Test
    void anInterruptDuringPromotionLeavesNoHalfRecordedFailover() throws Exception {
        io.failoverkit.failover.discovery.Discovery d = (io.failoverkit.failover.discovery.Discovery) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[]{io.failoverkit.failover.discovery.Discovery.class}, (proxy, m, args) -> {
                    // As DiscoveryClient.send now: not interruptible (it threw IOException("interrupted") before review 5).
                    try { return m.invoke(discovery, args); } catch (java.lang.reflect.InvocationTargetException e) { throw e.getCause(); }
                });
        io.failoverkit.failover.fake.FakeServers f = io.failoverkit.failover.fake.FakeServers.cluster(true, M, R1, R2);
        Servers s = new Servers() {
            @Override public InstanceState observe(String a) { return f.observe(a); }
            @Override public InstanceState drain(String a, Duration max) { return f.drain(a, max); }
            @Override public void promote(String a) { f.promote(a); Thread.currentThread().interrupt(); } // lands during the step
            @Override public void repoint(String a, String m) { f.repoint(a, m); }
            @Override public void fence(String a) { f.fence(a); }
            @Override public void demote(String a, String m, boolean c) { f.demote(a, m, c); }
            @Override public void stopWrites(String m, Duration max) { f.stopWrites(m, max); }
            @Override public void resumeWrites(String m) { f.resumeWrites(m); }
        };
        Manager m = new Manager(cluster, d, s, "a", o -> {});
        m.cycle();
        f.kill(M);
        String last = "";
        for (int i = 0; i < 5 && !last.contains("failover to") && !last.contains("FAILED"); i++) last = m.cycle();
        boolean wasInterrupted = Thread.interrupted(); // the test thread ran the cycle
        assertThat(wasInterrupted).isTrue();
        assertThat(f.writers()).containsExactly(R1); // promoted, R2 re-pointed: the servers' side went through
        var attempt = new io.failoverkit.failover.act.Attempts(discovery, NAME).last().orElseThrow();
        // Before review 5 the run's end was only in memory: the KV kept "running" and DNS no master.
        String said = last;
        org.assertj.core.api.SoftAssertions.assertSoftly(soft -> {
            soft.assertThat(discovery.dns(NAME, "master")).as("master in DNS; the cycle said: " + said).containsExactly(R1);
            soft.assertThat(attempt.state()).as("attempt state in the KV").isNotEqualTo(io.failoverkit.failover.act.Attempts.Attempt.RUNNING);
        });
    }
}

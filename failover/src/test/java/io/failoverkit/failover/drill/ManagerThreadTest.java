package io.failoverkit.failover.drill;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.fake.FakeDiscovery;
import io.failoverkit.failover.fake.FakeServers;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.Topology;
import io.failoverkit.failover.watch.Manager;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The drill's shutdown (issue 11): `failover drill` ended with a RejectedExecutionException stack trace because the
 * manager's thread was interrupted, the interrupt was swallowed inside an observation, the join gave up after 10 s
 * and the servers were closed under the still-running loop. ManagerThread asks the loop to stop and returns only when
 * it has ended, so nothing reaches closed servers, and the lock is released by a thread that is not interrupted.
 */
class ManagerThreadTest {
    static final String M = "10.0.0.1:6379", R1 = "10.0.0.2:6379", R2 = "10.0.0.3:6379";

    @Test
    void closeEndsTheLoopBeforeReturningEvenWhenObservationsSwallowInterruptsAndTheLockIsReleased() throws Exception {
        FakeServers fake = FakeServers.cluster(true, M, R1, R2);
        AtomicBoolean closed = new AtomicBoolean();
        AtomicInteger observations = new AtomicInteger();
        AtomicInteger afterClose = new AtomicInteger();
        // Servers whose observeAll swallows an interrupt, as MySqlServers's did, and that count calls after close().
        Servers servers = (Servers) Proxy.newProxyInstance(Servers.class.getClassLoader(), new Class<?>[]{Servers.class}, (proxy, method, args) -> {
            if (method.getName().equals("close")) { closed.set(true); return null; }
            if (closed.get()) afterClose.incrementAndGet();
            if (method.getName().equals("observeAll")) {
                observations.incrementAndGet();
                try { Thread.sleep(30); } catch (InterruptedException swallowed) { /* the old defect */ }
                return (Topology) fake.observeAll((List<String>) args[0]);
            }
            try {
                return method.invoke(fake, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
        ClusterDefinition c = new ClusterDefinition("mt", "redis", List.of(M, R1, R2), "mt", null, null, null, null,
                new ClusterDefinition.Hooks(List.of(), List.of(), 10_000), 600, null, null);
        FakeDiscovery discovery = new FakeDiscovery();
        Manager manager = new Manager(c, discovery, servers, "test", o -> { });
        ManagerThread t = ManagerThread.start(manager, Duration.ofMinutes(5));
        await().atMost(Duration.ofSeconds(30)).until(() -> observations.get() >= 3 && manager.isLeader());
        assertThat(discovery.sessions()).hasSize(1);

        t.close();
        assertThat(t.ended()).as("the loop has ended when close returns").isTrue();
        servers.close();
        Thread.sleep(200); // anything still running would call in here
        assertThat(afterClose.get()).as("calls into the servers after they were closed").isZero();
        assertThat(discovery.sessions()).as("the manager's session was destroyed on the way out (the lock released)").isEmpty();
    }
}

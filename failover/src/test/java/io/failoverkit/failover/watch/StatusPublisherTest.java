package io.failoverkit.failover.watch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.fake.FakeDiscovery;
import io.failoverkit.failover.fake.FakeServers;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 15: the lock holder publishes what it observed under failover/<cluster>/status (the web UI and
 * `failover status --json` read it): the facts, the epoch it acted on, its lock; rewritten when a fact changes, and
 * otherwise only as a heartbeat, at most every {@link StatusPublisher#HEARTBEAT_MILLIS}.
 */
class StatusPublisherTest {
    static final String M = ManagerTest.M, R1 = ManagerTest.R1, R2 = ManagerTest.R2;
    final FakeDiscovery discovery = new FakeDiscovery();
    final ObjectMapper json = new ObjectMapper();

    JsonNode published() throws Exception {
        return json.readTree(discovery.text(StatusPublisher.key(ManagerTest.NAME)));
    }

    @Test
    void theHolderPublishesTopologyLagEpochAndLockAndAFailoverIsSeenAtOnce() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        s.node(R2).offset = 990;
        Manager m = new Manager(ManagerTest.cluster("redis", List.of()), discovery, s, "test-manager", o -> {});
        m.cycle();
        JsonNode doc = published();
        assertThat(doc.path("cluster").asText()).isEqualTo(ManagerTest.NAME);
        assertThat(doc.path("manager").path("identity").asText()).isEqualTo("test-manager");
        assertThat(doc.path("manager").path("holdsLock").asBoolean()).isTrue();
        assertThat(doc.path("manager").path("lastCycle").asText()).isEqualTo("master " + M + " is up");
        assertThat(doc.path("epoch").path("epoch").asLong()).as("the first epoch, written this cycle").isEqualTo(1);
        assertThat(doc.path("epoch").path("master").asText()).isEqualTo(M);
        assertThat(doc.path("splitBrain").asBoolean()).isFalse();
        List<String> roles = new ArrayList<>();
        for (JsonNode i : doc.path("instances")) roles.add(i.path("address").asText() + "=" + i.path("role").asText());
        assertThat(roles).containsExactly(M + "=master", R1 + "=replica", R2 + "=replica");
        JsonNode r2 = doc.path("instances").get(2);
        long masterOffset = doc.path("instances").get(0).path("offset").asLong();
        assertThat(r2.path("lag").asLong()).isEqualTo(masterOffset - 990).isPositive();
        assertThat(r2.path("masterAddress").asText()).isEqualTo(M);
        assertThat(doc.path("heartbeatMillis").asLong()).isPositive();

        s.kill(M);
        m.cycle();
        assertThat(published().path("instances").get(0).path("reachable").asBoolean()).as("a changed fact is published the same cycle").isFalse();
        m.cycle();
        assertThat(m.cycle()).startsWith("failover to " + R1);
        // Published after the failover, as the failover left it: not the topology the cycle started from.
        doc = published();
        assertThat(doc.path("epoch").path("epoch").asLong()).isEqualTo(2);
        assertThat(doc.path("epoch").path("master").asText()).isEqualTo(R1);
        assertThat(doc.path("epoch").path("acknowledged").asBoolean()).as("anti-flapping block until ack").isFalse();
        assertThat(doc.path("writableMasters").get(0).asText()).isEqualTo(R1);
    }

    @Test
    void aSteadyClusterIsRewrittenOnlyAsAHeartbeatButAChangeIsWrittenAtOnce() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        AtomicLong now = new AtomicLong(1_000_000);
        ClusterDefinition c = ManagerTest.cluster("redis", List.of());
        StatusPublisher p = new StatusPublisher(discovery, c, "me", "failover/foo/leader", now::get);
        var epoch = new io.failoverkit.failover.decide.StoredState(1, M, 0, true);
        String sess = discovery.createSession("me", java.time.Duration.ofSeconds(10), java.time.Duration.ZERO);
        assertThat(discovery.acquire("failover/foo/leader", sess, "me")).isTrue();
        assertThat(p.publish(s.observeAll(c.members()), epoch, sess, "master up")).isTrue();
        s.node(R1).offset += 100; // positions move under writes: not a change of facts
        for (int i = 0; i < 10; i++) {
            now.addAndGet(400);
            assertThat(p.publish(s.observeAll(c.members()), epoch, sess, "master up")).isFalse();
        }
        now.addAndGet(StatusPublisher.HEARTBEAT_MILLIS);
        assertThat(p.publish(s.observeAll(c.members()), epoch, sess, "master up")).as("heartbeat due").isTrue();
        assertThat(published().path("heartbeatMillis").asLong()).isEqualTo(now.get());
        now.addAndGet(10);
        s.kill(R2);
        assertThat(p.publish(s.observeAll(c.members()), epoch, sess, "master up")).as("a replica went down").isTrue();
        assertThat(p.writes()).isEqualTo(3);

        // The lock lost meanwhile (a stalled manager): its view is not published over the new holder's.
        discovery.destroySession(sess);
        now.addAndGet(StatusPublisher.HEARTBEAT_MILLIS);
        s.kill(R1);
        String before = discovery.text(StatusPublisher.key(c.name()));
        assertThat(p.publish(s.observeAll(c.members()), epoch, sess, "master up")).as("no longer the lock holder").isFalse();
        assertThat(discovery.text(StatusPublisher.key(c.name()))).isEqualTo(before);
        assertThat(p.publish(s.observeAll(c.members()), epoch, null, "not the lock holder")).isFalse();
        assertThat(p.writes()).isEqualTo(3);
    }

    @Test
    void aManagerThatDoesNotHoldTheLockPublishesNothing() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager holder = new Manager(ManagerTest.cluster("redis", List.of()), discovery, s, "holder", o -> {});
        holder.cycle();
        Manager other = new Manager(ManagerTest.cluster("redis", List.of()), discovery, s, "other", o -> {});
        assertThat(other.cycle()).startsWith("not the lock holder");
        assertThat(published().path("manager").path("identity").asText()).isEqualTo("holder");
        assertThat(other.statusPublisher().writes()).isZero();
    }

    @Test
    void anObservationCutShortByAnInterruptIsNotPublished() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager m = new Manager(ManagerTest.cluster("redis", List.of()), discovery, s, "test-manager", o -> {});
        m.cycle();
        String before = discovery.text(StatusPublisher.key(ManagerTest.NAME));
        assertThat(published().path("instances").get(1).path("reachable").asBoolean()).isTrue();
        // The interrupt lands while members are observed (MySqlServers.observeAll keeps the flag); what that cycle saw
        // differs (R1 reads as down, as a member not asked before the interrupt does), and would be published at once.
        s.kill(R1);
        Thread.currentThread().interrupt();
        try {
            assertThat(m.cycle()).isEqualTo("interrupted while observing, not acting");
        } finally {
            Thread.interrupted();
        }
        assertThat(discovery.text(StatusPublisher.key(ManagerTest.NAME))).as("the last complete cycle's document stays").isEqualTo(before);
    }
}

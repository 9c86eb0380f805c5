package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.serf.SerfMessages.Join;
import io.failoverkit.discovery.gossip.serf.SerfMessages.Leave;
import io.failoverkit.discovery.gossip.swim.Node;
import io.failoverkit.discovery.gossip.swim.SwimConfig;
import io.failoverkit.discovery.gossip.wire.NodeState;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Serf-layer defects an adversarial review found (both failed before Lamport times more than 2^32 ahead of the local
 * clock were dropped and counted, and the clock stopped wrapping).
 */
class SerfReviewTest {
    private static final long MAX_LTIME = -1L; // 2^64 - 1, Go's largest uint64

    /**
     * A Lamport clock never goes back. witness(2^64 - 1) sets it to seen + 1, which wraps to 0: from then on every
     * intent and event this node sends carries a time older than what it sent before, and its peers drop them as
     * stale (its graceful leave among them, which they then see as a failure).
     */
    @Test
    void witnessingTheLargestTimeNeverMovesTheClockBack() {
        LamportClock c = new LamportClock();
        for (int i = 0; i < 10; i++) c.increment();
        long before = c.time();
        c.witness(MAX_LTIME);
        assertThat(Long.compareUnsigned(c.time(), before)).as("time() after witnessing 2^64 - 1 (was %d, now %d)", before, c.time())
                .isGreaterThanOrEqualTo(0);
    }

    /**
     * One leave intent for a live member with the largest Lamport time (garbled, forged in a plain pool, or from a
     * buggy peer) makes that member LEAVING for good: nothing later can be newer, its refuting join intent included.
     * When it then crashes, this node reports a graceful leave (LEFT: the catalog deregisters it) instead of a failure.
     */
    @Test
    void anIntentWithTheLargestLamportTimeDoesNotFreezeAMembersStatus() {
        ManualScheduler sched = new ManualScheduler(1);
        List<SerfEvent> events = new ArrayList<>();
        SerfConfig cfg = SerfConfig.defaults(SwimConfig.lan("self"), Map.of())
                .withReaping(Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(60));
        Serf serf = Serf.detached(cfg, sched, events::add);
        serf.listener().notifyJoin(node("self", 1));
        Node b = node("b", 2);
        serf.listener().notifyJoin(b);
        serf.delegate().notifyMsg(SerfMessages.encode(new Join(5, "b")));

        serf.delegate().notifyMsg(SerfMessages.encode(new Leave(MAX_LTIME, "b", false)));
        // b refutes with a join intent from its own clock (which witnessed the same time, and wrapped)
        serf.delegate().notifyMsg(SerfMessages.encode(new Join(1, "b")));
        sched.advance(0);
        serf.listener().notifyLeave(b); // b crashes

        assertThat(serf.members()).filteredOn(m -> m.name().equals("b")).extracting(SerfMember::status)
                .as("a crash after a bogus leave intent").containsExactly(MemberStatus.FAILED);
    }

    private static Node node(String name, int last) {
        return new Node(name, new InetSocketAddress("127.0.0." + last, 7946), SerfMessages.encodeTags(Map.of()),
                NodeState.ALIVE, 1, SwimConfig.DEFAULT_VERSIONS.clone());
    }
}

package io.failoverkit.discovery.gossip.swim;

import io.failoverkit.discovery.gossip.transport.Transport;
import io.failoverkit.discovery.gossip.transport.sim.SimScheduler;
import io.failoverkit.discovery.gossip.wire.Message;
import io.failoverkit.discovery.gossip.wire.NodeState;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Paths an adversarial review walked: each test failed before its fix. Simulated, fixed seeds, deterministic. */
class SwimReviewTest {
    private static final Duration STEP = Duration.ofMillis(50);

    /**
     * A node paused (GC, SIGSTOP, an overloaded box) while it suspects another: the suspect refutes at once, and the
     * refutation waits in the paused node's socket buffer. On resume the paused node's overdue timers run before it
     * reads a single packet (they were due earlier). Its suspicion timer must not declare the live node dead then:
     * what is overdue is this node's own view, not the suspect.
     */
    @Test
    void aNodeResumingFromAPauseDoesNotDeclareDeadANodeWhoseRefutationWaitedInItsBuffer() {
        SimPool pool = new SimPool(5005, SwimConfig::agent);
        pool.grow(10, Duration.ofMillis(50));
        assertThat(pool.runUntil(() -> pool.converged(10), STEP, Duration.ofSeconds(30))).isGreaterThanOrEqualTo(0);
        pool.clock.runFor(Duration.ofSeconds(5));
        SimPool.SimNode accuser = pool.nodes.get(2);
        SimPool.SimNode x = pool.nodes.get(7);
        long inc = x.memberlist.localNode().incarnation();

        // a stranger's suspicion of x reaches the accuser and x itself (x refutes at once)
        Transport raw = pool.net.attach(SimPool.address(60), new SimScheduler(pool.clock, "raw", 3));
        raw.start(new SwimSimulationTest.NullInbox());
        raw.sendPacket(accuser.address, List.of(new Message.Suspect(inc, x.name, "raw")));
        pool.clock.runFor(Duration.ofMillis(5));
        assertThat(accuser.stateOf(x.name)).isEqualTo(NodeState.SUSPECT);
        accuser.scheduler.pause();
        raw.sendPacket(x.address, List.of(new Message.Suspect(inc, x.name, "raw")));

        // paused longer than the longest suspicion (6 x 1.5 s at N = 10)
        pool.clock.runFor(Duration.ofSeconds(12));
        assertThat(x.memberlist.localNode().incarnation()).as("x refuted").isGreaterThan(inc);
        accuser.scheduler.resume();
        pool.clock.runFor(Duration.ofSeconds(10));

        // (the accuser itself, paused past the suspicion timeout, is rightly declared dead by the others; it refutes)
        assertThat(pool.deadObservers(x.name)).as("no one, the resumed accuser included, declared x dead").isEmpty();
        assertThat(pool.allSee(x.name, Set.of(NodeState.ALIVE))).isTrue();
        assertThat(pool.converged(10)).isTrue();
    }
}

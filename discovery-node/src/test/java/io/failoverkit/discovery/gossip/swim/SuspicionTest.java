package io.failoverkit.discovery.gossip.swim;

import io.failoverkit.discovery.gossip.transport.sim.SimClock;
import io.failoverkit.discovery.gossip.transport.sim.SimScheduler;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class SuspicionTest {
    private static final long MS = 1_000_000L;
    private static final long S = 1000 * MS;

    @Test
    void remainingTimeShrinksLogarithmicallyFromMaxToMin() {
        // no confirmation: the whole max
        assertThat(Suspicion.remainingNanos(0, 3, 0, 2 * S, 30 * S)).isEqualTo(30 * S);
        // 1 of 3: log(2)/log(4) = 1/2 of the way: 30 - 14 = 16 s total, 2 s elapsed
        assertThat(Suspicion.remainingNanos(1, 3, 2 * S, 2 * S, 30 * S)).isEqualTo(14 * S);
        // 2 of 3: log(3)/log(4) = 0.7925 of 28 s = 22.19 s off 30 s = 7.810 s (rounded down to the ms), 3 s elapsed
        assertThat(Suspicion.remainingNanos(2, 3, 3 * S, 2 * S, 30 * S)).isEqualTo(4810 * MS);
        // all confirmations: the min, here already overdue
        assertThat(Suspicion.remainingNanos(3, 3, 4 * S, 2 * S, 30 * S)).isEqualTo(-2 * S);
        // more than k never goes below the min
        assertThat(Suspicion.remainingNanos(5, 3, 0, 2 * S, 30 * S)).isEqualTo(2 * S);
        // agent() at N = 10: min 1.5 s, max 9 s, k = 1: one confirmation reaches the min
        assertThat(Suspicion.remainingNanos(1, 1, 0, 1500 * MS, 9 * S)).isEqualTo(1500 * MS);
        // k = 2, min 1 s, max 6 s: one confirmation: 6 - 5 x log(2)/log(3) = 2.845 s
        assertThat(Suspicion.remainingNanos(1, 2, 0, S, 6 * S)).isEqualTo(2845 * MS);
    }

    @Test
    void timerFiresAtMaxWithoutConfirmationsAndSoonerWithThem() {
        SimClock clock = new SimClock();
        SimScheduler s = new SimScheduler(clock, "t", 1);
        List<Long> fired = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();

        new Suspicion(s, "a", 2, S, 6 * S, n -> { fired.add(clock.nanoTime()); counts.add(n); });
        clock.runUntil(10 * S);
        assertThat(fired).containsExactly(6 * S);
        assertThat(counts).containsExactly(0);

        fired.clear();
        counts.clear();
        long t0 = clock.nanoTime();
        Suspicion sus = new Suspicion(s, "a", 2, S, 6 * S, n -> { fired.add(clock.nanoTime() - t0); counts.add(n); });
        clock.runUntil(t0 + 500 * MS);
        assertThat(sus.confirm("b")).isTrue();
        assertThat(sus.confirm("b")).as("the same member twice").isFalse();
        assertThat(sus.confirm("a")).as("the accuser itself").isFalse();
        clock.runUntil(t0 + 2 * S);
        assertThat(fired).isEmpty();
        clock.runUntil(t0 + 2845 * MS);
        assertThat(fired).containsExactly(2845 * MS);
        assertThat(counts).containsExactly(1);
        assertThat(sus.confirm("c")).as("after it fired").isFalse();
    }

    @Test
    void aConfirmationPastTheMinimumFiresAtOnceAndKZeroMeansMin() {
        SimClock clock = new SimClock();
        SimScheduler s = new SimScheduler(clock, "t", 1);
        List<Long> fired = new ArrayList<>();
        Suspicion sus = new Suspicion(s, "a", 2, S, 6 * S, n -> fired.add(clock.nanoTime()));
        clock.runUntil(1500 * MS);
        assertThat(sus.confirm("b")).isTrue();
        assertThat(sus.confirm("c")).isTrue(); // 2 of 2: the min (1 s) has passed
        assertThat(sus.confirm("d")).as("no more than k count").isFalse();
        clock.runUntil(1500 * MS);
        assertThat(fired).containsExactly(1500 * MS);

        fired.clear();
        long t0 = clock.nanoTime();
        new Suspicion(s, "a", 0, S, 6 * S, n -> fired.add(clock.nanoTime() - t0));
        clock.runUntil(t0 + 10 * S);
        assertThat(fired).containsExactly(S);

        fired.clear();
        Suspicion cancelled = new Suspicion(s, "a", 2, S, 6 * S, n -> fired.add(0L));
        cancelled.cancel();
        clock.runFor(java.time.Duration.ofSeconds(10));
        assertThat(fired).isEmpty();
    }

    @Test
    void suspicionTimeoutScalesWithLog10OfTheNodeCount() {
        long i = 500 * MS;
        assertThat(Memberlist.suspicionTimeout(3, 1, i)).isEqualTo(1500 * MS);
        assertThat(Memberlist.suspicionTimeout(3, 10, i)).isEqualTo(1500 * MS);
        assertThat(Memberlist.suspicionTimeout(3, 100, i)).isEqualTo(3000 * MS);
        assertThat(Memberlist.suspicionTimeout(3, 1000, i)).isEqualTo(4500 * MS);
        assertThat(Memberlist.suspicionTimeout(4, 30, S)).isEqualTo(5908 * MS); // LAN at 30 nodes: 4 x 1.477 s
    }

    @Test
    void gossipFanoutGrowsByOnePerDecadeBeyondNinetyNineNodes() {
        assertThat(Memberlist.gossipFanout(3, 1)).isEqualTo(3);
        assertThat(Memberlist.gossipFanout(3, 99)).isEqualTo(3);
        assertThat(Memberlist.gossipFanout(3, 100)).isEqualTo(4);
        assertThat(Memberlist.gossipFanout(3, 999)).isEqualTo(4);
        assertThat(Memberlist.gossipFanout(3, 1000)).isEqualTo(5);
    }

    @Test
    void pushPullIntervalScalesBeyondThirtyTwoNodes() {
        assertThat(Memberlist.pushPullScale(30 * S, 32)).isEqualTo(30 * S);
        assertThat(Memberlist.pushPullScale(30 * S, 33)).isEqualTo(60 * S);
        assertThat(Memberlist.pushPullScale(30 * S, 64)).isEqualTo(60 * S);
        assertThat(Memberlist.pushPullScale(30 * S, 65)).isEqualTo(90 * S);
        assertThat(Memberlist.pushPullScale(30 * S, 1000)).isEqualTo(180 * S);
    }
}

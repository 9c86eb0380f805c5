package io.failoverkit.failover.watch;

import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.decide.Action;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.InstanceState;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** Issue 9, hole 4: the manager's response to a regressed master, with the servers faked (it stops before any failover here). */
class RegressionResponseTest {
    private static final String M = "127.0.0.1:6380";
    private static final String R1 = "127.0.0.1:6381";
    private static final String R2 = "127.0.0.1:6382";
    private static final ClusterDefinition CLUSTER = new ClusterDefinition("foo-redis", "redis", List.of(M, R1, R2), null, null, null,
            null, null, null, 600);

    private static final java.util.function.BiFunction<Action.Failover, Timeline, FailoverRun.Outcome> NO_FAILOVER =
            (f, t) -> { throw new AssertionError("no failover expected: " + f); };

    /** Records every fence; every other verb fails the test. */
    static final class FencingOnly implements Servers {
        final List<String> fences = new ArrayList<>();
        RuntimeException failWith;

        @Override public InstanceState observe(String address) { throw new AssertionError("observe " + address); }
        @Override public void promote(String address) { throw new AssertionError("promote " + address); }
        @Override public void repoint(String address, String master) { throw new AssertionError("repoint " + address); }
        @Override public void fence(String address) { throw new AssertionError("fence " + address); }
        @Override public void demote(String address, String newMaster, boolean covered) { throw new AssertionError("demote " + address); }
        @Override public void stopWrites(String master, Duration max) { throw new AssertionError("stopWrites"); }
        @Override public void resumeWrites(String master) { throw new AssertionError("resumeWrites"); }
        @Override public void fenceRegressed(String address, String holder) {
            fences.add(address + "->" + holder);
            if (failWith != null) throw failWith;
        }
    }

    private static Action.FenceRegressed fenceTo(String holder, boolean promotable) {
        Action.Failover f = promotable ? new Action.Failover(M, holder, List.of(holder.equals(R1) ? R2 : R1), "failing over to " + holder) : null;
        return new Action.FenceRegressed(M, holder, f, "regressed; " + holder + " holds the old history");
    }

    @Test
    void theFenceFollowsTheHolderWhenAFullSyncEmptiedItMeanwhileAndStopsWhenNothingIsLeft() {
        FencingOnly servers = new FencingOnly();
        List<Action> next = new ArrayList<>(List.of(fenceTo(R1, true), new Action.DataLost(M, "data set lost: ...")));
        FailoverRun.Outcome o = RegressionResponse.fenceThenFailOver(fenceTo(R2, true), CLUSTER, servers, () -> true, () -> next.remove(0), NO_FAILOVER);
        assertThat(servers.fences).containsExactly(M + "->" + R2, M + "->" + R1);
        assertThat(o.success()).isFalse();
        assertThat(o.message()).contains("not failing over", "data set lost");
        assertThat(o.timeline().steps()).extracting(Timeline.Step::name).containsExactly("detected", "fenced", "holder changed", "fenced", "FAILED");
    }

    @Test
    void theFenceIsRetriedABoundedNumberOfTimes() {
        FencingOnly servers = new FencingOnly();
        AtomicInteger n = new AtomicInteger();
        FailoverRun.Outcome o = RegressionResponse.fenceThenFailOver(fenceTo(R2, true), CLUSTER, servers, () -> true,
                () -> fenceTo(n.incrementAndGet() % 2 == 1 ? R1 : R2, true), NO_FAILOVER);
        assertThat(servers.fences).hasSize(RegressionResponse.MAX_FENCE_ROUNDS);
        assertThat(o.success()).isFalse();
    }

    @Test
    void withNoPromotableHolderItFencesAndSaysSo() {
        FencingOnly servers = new FencingOnly();
        FailoverRun.Outcome o = RegressionResponse.fenceThenFailOver(fenceTo(R1, false), CLUSTER, servers, () -> true, () -> fenceTo(R1, false), NO_FAILOVER);
        assertThat(servers.fences).containsExactly(M + "->" + R1);
        assertThat(o.success()).isFalse();
        assertThat(o.message()).contains("fenced, but not failing over");
    }

    @Test
    void aManagerThatLostTheLockChangesNothing() {
        FencingOnly servers = new FencingOnly();
        FailoverRun.Outcome o = RegressionResponse.fenceThenFailOver(fenceTo(R1, true), CLUSTER, servers, () -> false,
                () -> { throw new AssertionError("no second look without the lock"); }, NO_FAILOVER);
        assertThat(servers.fences).isEmpty();
        assertThat(o.message()).contains("lost the manager lock");
    }

    @Test
    void aFailedFenceIsOnTheTimelineAndTheNextLookDecides() {
        FencingOnly servers = new FencingOnly();
        servers.failWith = new IllegalStateException("connection reset");
        FailoverRun.Outcome o = RegressionResponse.fenceThenFailOver(fenceTo(R1, true), CLUSTER, servers, () -> true,
                () -> new Action.Wait("master " + M + " unreachable (1/3)"), NO_FAILOVER);
        assertThat(o.timeline().steps()).extracting(Timeline.Step::name).containsExactly("detected", "fence failed", "FAILED");
        assertThat(o.message()).contains("unreachable");
    }
}

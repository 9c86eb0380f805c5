package io.failoverkit.failover.act;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.cluster.Timings;
import io.failoverkit.failover.decide.Action;
import io.failoverkit.failover.decide.StoredState;
import io.failoverkit.failover.decide.Trigger;
import io.failoverkit.failover.fake.FakeDiscovery;
import io.failoverkit.failover.fake.FakeServers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** The one failover path, step by step, with the lock lost or a step failing at each point. */
class FailoverRunTest {
    static final String M = "10.0.0.1:6379";
    static final String R1 = "10.0.0.2:6379";
    static final String R2 = "10.0.0.3:6379";
    static final ClusterDefinition CLUSTER = new ClusterDefinition("foo", "redis", List.of(M, R1, R2), null, null, null, null, null, null, 0);

    final FakeDiscovery discovery = new FakeDiscovery();
    final EpochStore epochs = new EpochStore(discovery, "foo");
    final Catalog catalog = new Catalog(discovery, "foo");

    String session;

    @BeforeEach
    void epochOne() throws Exception {
        session = discovery.createSession("test manager", java.time.Duration.ofSeconds(10), java.time.Duration.ofSeconds(10));
        assertThat(discovery.acquire(epochs.lockKey(), session, "test manager")).isTrue();
        epochs.bump(epochs.read(), new StoredState(1, M, 0, true), List.of(), "test");
        catalog.register(M, List.of(R1, R2));
    }

    FailoverRun run(FakeServers s, BooleanSupplier stillLeader) {
        LockHold lock = new LockHold() {
            @Override public boolean valid() { return stillLeader.getAsBoolean(); }
            @Override public String session() { return session; }
        };
        return new FailoverRun(CLUSTER, s, catalog, epochs, new Attempts(discovery, "foo"), Timings.of(CLUSTER), lock);
    }

    /** True for the first {@code n} checks, then false: the lock is lost at the n+1th. */
    static BooleanSupplier leaderFor(int n) {
        AtomicInteger checks = new AtomicInteger();
        return () -> checks.incrementAndGet() <= n;
    }

    static Action.Failover failover() {
        return new Action.Failover(M, R1, List.of(R2), "test", new Trigger.Detected(3));
    }

    @Test
    void losingTheLockBeforeThePromotionWritesTheEpochBackAndPromotesNothing() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        s.kill(M);
        // checks: before acting, before the epoch; lost before promoting
        FailoverRun.Outcome o = run(s, leaderFor(2)).run(failover(), new Timeline("foo"), false);
        assertThat(o.success()).isFalse();
        assertThat(o.message()).startsWith("lost the manager lock before promoting");
        assertThat(s.calls).doesNotContain("promote " + R1);
        assertThat(s.writers()).isEmpty();
        assertThat(epochs.read().state().master()).as("the rollback needs the lock too: the epoch is left naming the candidate, loudly")
                .isEqualTo(R1);
        assertThat(o.message()).contains("NOT rolled back: the epoch still names " + R1);
    }

    @Test
    void losingTheLockBeforeFencingChangesNothing() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        s.node(M).writable = false; // a read-only master: reachable, so it would be fenced
        FailoverRun.Outcome o = run(s, leaderFor(1)).run(failover(), new Timeline("foo"), false);
        assertThat(o.message()).startsWith("lost the manager lock before fencing").contains("nothing changed on the servers");
        assertThat(s.calls).doesNotContain("fence " + M);
        assertThat(epochs.read().state().epoch()).isEqualTo(1);
    }

    @Test
    void aFailoverFromAReachableOldMasterFencesItBeforeAndDemotesItAfterThePromotion() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        s.node(M).writable = false;
        FailoverRun.Outcome o = run(s, () -> true).run(failover(), new Timeline("foo"), false);
        assertThat(o.success()).as(o.message()).isTrue();
        assertThat(s.calls).containsSubsequence("fence " + M, "promote " + R1, "demote " + M, "repoint " + R2);
        assertThat(s.violations).isEmpty();
        assertThat(o.timeline().steps()).extracting(Timeline.Step::name)
                .containsSubsequence("decided", "attempt", "master deregistered", "fenced", "caught up", "epoch", "promoted", "demoted",
                        "replicas re-pointed", "dns moved");
    }

    @Test
    void anUnexpectedExceptionInAStepIsAFailedOutcomeNotAThrow() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        s.kill(M);
        s.failOn("drain", R1);
        FailoverRun.Outcome o = run(s, () -> true).run(failover(), new Timeline("foo"), false);
        assertThat(o.success()).isFalse();
        assertThat(o.message()).startsWith("unexpected error: ").contains("drain on " + R1 + " failed");
        assertThat(new Attempts(discovery, "foo").last()).hasValueSatisfying(a -> assertThat(a.state()).isEqualTo("failed"));
        assertThat(epochs.read().state().epoch()).isEqualTo(1);
    }

    @Test
    void aCandidateTheDrainFoundUnfitIsNotPromotedUnlessForced() throws Exception {
        FakeServers s = FakeServers.cluster(false, M, R1, R2);
        s.kill(M);
        s.drainBlocker = "relay log not applied within 10 s";
        FailoverRun.Outcome o = run(s, () -> true).run(failover(), new Timeline("foo"), false);
        assertThat(o.message()).startsWith("candidate " + R1 + " must not be promoted: relay log not applied within 10 s");
        assertThat(s.calls).doesNotContain("promote " + R1);
        assertThat(epochs.read().state().epoch()).isEqualTo(1);
        FailoverRun.Outcome forced = run(s, () -> true).run(failover(), new Timeline("foo"), true);
        assertThat(forced.success()).as(forced.message()).isTrue();
    }

    @Test
    void aRunWhoseSessionLostTheLockWritesNoEpochAndPromotesNothingThoughItsClockSaysItMayAct() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        s.kill(M);
        discovery.destroySession(session); // invalidated behind the manager's back, right after a renewal
        FailoverRun.Outcome o = run(s, () -> true).run(failover(), new Timeline("foo"), false);
        assertThat(o.success()).isFalse();
        assertThat(o.message()).contains("no longer holds " + epochs.lockKey());
        assertThat(s.calls).doesNotContain("promote " + R1);
        assertThat(epochs.read().state().epoch()).isEqualTo(1);
        assertThat(epochs.read().state().master()).isEqualTo(M);
    }

    @Test
    void theAuditRecordOfAFinishedFailoverHoldsItsWholeTimelineAndOutcome() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        s.kill(M);
        FailoverRun.Outcome o = run(s, () -> true).run(failover(), new Timeline("foo"), false);
        assertThat(o.success()).isTrue();
        String audit = discovery.text("failover/foo/audit/2");
        assertThat(audit).contains("\"outcome\"").contains("\"success\":true").contains("dns moved");
    }

    @Test
    void aPromoteThatFailsAfterItTookEffectIsNotRolledBackToTheDeadMaster() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        s.kill(M);
        s.promoteFailsAfterEffect.add(R1);
        FailoverRun.Outcome o = run(s, () -> true).run(failover(), new Timeline("foo"), false);
        assertThat(o.timeline().steps()).extracting(Timeline.Step::name).contains("promote call failed, but it took effect");
        assertThat(s.writers()).containsExactly(R1);
        assertThat(epochs.read().state().master()).as("the epoch keeps naming the promoted candidate").isEqualTo(R1);
        assertThat(s.violations).isEmpty();
    }

    @Test
    void aSwitchoverWhosePromoteFailsAfterItTookEffectNeverResumesTheOldMaster() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        s.promoteFailsAfterEffect.add(R1);
        Switchover.Plan plan = Switchover.plan(CLUSTER, s.observeAll(CLUSTER.members()), R1);
        run(s, () -> true).switchover(plan, new Timeline("foo"), new Trigger.Requested("test"));
        assertThat(s.violations).as("never two writable").isEmpty();
        assertThat(s.writers()).containsExactly(R1);
        assertThat(epochs.read().state().master()).isEqualTo(R1);
    }
}

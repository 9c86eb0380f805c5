package io.failoverkit.failover.guard;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** The guard's rounds with a fake clock, epoch and instance: when it fences, that it only fences, and that it survives. */
class GuardTest {
    static final String ME = "10.0.0.1:3306";
    final AtomicLong clock = new AtomicLong(1_000_000_000L);
    final List<String> fences = new ArrayList<>();
    EpochView epoch = new EpochView.Names(1, ME, "s1");
    LocalView.State state = LocalView.State.WRITABLE;
    RuntimeException observeFails;
    RuntimeException fenceFails;

    final Guard.LocalInstance local = new Guard.LocalInstance() {
        @Override public LocalView observe() {
            if (observeFails != null) throw observeFails;
            return new LocalView(state, "fake");
        }

        @Override public void fence(String epochMaster, String reason) {
            if (fenceFails != null) throw fenceFails;
            fences.add(epochMaster + ": " + reason);
            state = LocalView.State.FENCED;
        }
    };

    Guard guard() {
        return new Guard("db", ME, GuardTiming.DEFAULT, () -> epoch, local, clock::get);
    }

    void advanceMs(long ms) { clock.addAndGet(ms * 1_000_000); }

    @Test
    void theGraceCountsFromTheLastConfirmationThenTheInstanceIsFencedOnce() {
        try (Guard g = guard()) {
            assertThat(g.round()).isInstanceOf(Verdict.Confirmed.class);
            epoch = new EpochView.Unconfirmed("no leader");
            advanceMs(100);
            assertThat(g.round()).isInstanceOf(Verdict.Waiting.class);
            advanceMs(100);
            assertThat(g.round()).isInstanceOf(Verdict.Waiting.class);
            assertThat(fences).isEmpty();
            advanceMs(50);
            assertThat(g.round()).isInstanceOf(Verdict.Fence.class);
            assertThat(fences).hasSize(1).first().asString().startsWith("null: writable and unconfirmed for 250 ms");
            advanceMs(100);
            assertThat(g.round()).as("already fenced: left alone").isInstanceOf(Verdict.Fenced.class);
            assertThat(g.fences()).isEqualTo(1);
        }
    }

    @Test
    void aConfirmationWithinTheGraceKeepsTheInstanceWritable() {
        try (Guard g = guard()) {
            g.round();
            for (int i = 0; i < 10; i++) {
                epoch = i % 2 == 0 ? new EpochView.Unconfirmed("slow") : new EpochView.Names(1, ME, "s1");
                advanceMs(100);
                g.round();
            }
            assertThat(fences).isEmpty();
        }
    }

    @Test
    void aGuardStartsWithOneGracePeriodToConfirm() {
        epoch = new EpochView.Unconfirmed("agent restarting");
        try (Guard g = guard()) {
            assertThat(g.round()).isInstanceOf(Verdict.Waiting.class);
            advanceMs(250);
            assertThat(g.round()).isInstanceOf(Verdict.Fence.class);
        }
    }

    @Test
    void anEpochNamingAnotherFencesAtOnceAndAFencedInstanceIsNeverUnfenced() {
        try (Guard g = guard()) {
            epoch = new EpochView.Names(2, "10.0.0.2:3306", "s1");
            assertThat(g.round()).isInstanceOf(Verdict.Fence.class);
            assertThat(fences).containsExactly("10.0.0.2:3306: writable, but epoch 2 names 10.0.0.2:3306 (read from s1): another master may take writes");
            epoch = new EpochView.Names(3, ME, "s1");
            assertThat(g.round()).isInstanceOf(Verdict.Fenced.class);
            assertThat(state).isEqualTo(LocalView.State.FENCED);
        }
    }

    @Test
    void failuresOfTheServerOrTheDiscoveryNeverEndTheGuard() {
        try (Guard g = guard()) {
            observeFails = new IllegalStateException("driver bug");
            assertThat(g.round()).isInstanceOf(Verdict.Unknown.class);
            observeFails = null;
            Guard throwingEpoch = new Guard("db", ME, GuardTiming.DEFAULT, () -> { throw new IllegalStateException("boom"); }, local, clock::get);
            advanceMs(100);
            fenceFails = new IllegalStateException("server gone");
            Verdict v = throwingEpoch.round();
            assertThat(v).as("an epoch read that throws counts as unconfirmed").isInstanceOf(Verdict.Waiting.class);
            advanceMs(300);
            assertThat(throwingEpoch.round()).isInstanceOf(Verdict.Fence.class);
            assertThat(fences).as("the fence failed; tried again next round").isEmpty();
            fenceFails = null;
            advanceMs(100);
            assertThat(throwingEpoch.round()).isInstanceOf(Verdict.Fence.class);
            assertThat(fences).hasSize(1);
        }
    }

    @Test
    void onceReturnsTheFirstVerdictThatIsNotWaiting() {
        epoch = new EpochView.Names(1, ME, "s1");
        try (Guard g = guard()) {
            assertThat(g.once()).isInstanceOf(Verdict.Confirmed.class);
        }
        state = LocalView.State.REPLICA;
        try (Guard g = guard()) {
            assertThat(g.once().exitCode()).isZero();
        }
    }

    @Test
    void theDiscoveryAnswerIsParsedAsConsulReturnsIt() throws Exception {
        String value = java.util.Base64.getEncoder().encodeToString("{\"epoch\":7,\"master\":\"10.0.0.2:3306\",\"timeline\":[]}".getBytes());
        assertThat(DiscoveryEpochReader.parse(200, "[{\"Key\":\"failover/db/epoch\",\"Value\":\"" + value + "\",\"ModifyIndex\":42}]", "s1"))
                .isEqualTo(new EpochView.Names(7, "10.0.0.2:3306", "s1"));
        assertThat(DiscoveryEpochReader.parse(404, "", "s1")).isEqualTo(new EpochView.None("s1"));
        assertThat(DiscoveryEpochReader.parse(500, "No cluster leader", "s1")).isNull();
    }
}

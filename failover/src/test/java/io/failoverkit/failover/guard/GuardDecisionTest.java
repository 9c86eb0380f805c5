package io.failoverkit.failover.guard;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The guard's decision as a specification: what it does with each thing it can read, and the sentence it says. */
class GuardDecisionTest {
    static final String ME = "10.0.0.1:3306";
    static final LocalView WRITABLE = new LocalView(LocalView.State.WRITABLE, "read_only=0");
    static final EpochView.Names NAMES_ME = new EpochView.Names(4, ME, "127.0.0.1:8500");
    static final EpochView.Names NAMES_OTHER = new EpochView.Names(5, "10.0.0.2:3306", "127.0.0.1:8500");
    static final EpochView.Unconfirmed UNREACHABLE = new EpochView.Unconfirmed("127.0.0.1:8500: HttpTimeoutException");

    @Test
    void aWritableInstanceTheEpochNamesIsConfirmed() {
        Verdict v = GuardDecision.decide(ME, NAMES_ME, WRITABLE, 10_000, 250);
        assertThat(v).isInstanceOf(Verdict.Confirmed.class);
        assertThat(((Verdict.Confirmed) v).epoch()).isEqualTo(4);
        assertThat(v.reason()).isEqualTo("epoch 4 names 10.0.0.1:3306 master (read from 127.0.0.1:8500)");
        assertThat(v.exitCode()).isZero();
    }

    @Test
    void aWritableInstanceIsFencedAtOnceWhenTheEpochNamesAnother() {
        // No grace: the epoch is a definite answer, and the named master may already take writes.
        Verdict v = GuardDecision.decide(ME, NAMES_OTHER, WRITABLE, 5, 250);
        assertThat(v).isEqualTo(new Verdict.Fence("10.0.0.2:3306",
                "writable, but epoch 5 names 10.0.0.2:3306 (read from 127.0.0.1:8500): another master may take writes"));
        assertThat(v.exitCode()).isEqualTo(2);
    }

    @Test
    void anEpochNamingNoMasterDoesNotConfirm() {
        Verdict v = GuardDecision.decide(ME, new EpochView.Names(3, null, "s1"), WRITABLE, 5, 250);
        assertThat(v).isInstanceOf(Verdict.Fence.class);
        assertThat(v.reason()).contains("epoch 3 names no master");
    }

    @Test
    void anUnconfirmedWritableInstanceWaitsOutTheGraceThenIsFenced() {
        Verdict within = GuardDecision.decide(ME, UNREACHABLE, WRITABLE, 100, 250);
        assertThat(within).isEqualTo(new Verdict.Waiting(150, "writable and unconfirmed for 100 ms (127.0.0.1:8500: HttpTimeoutException); "
                + "fencing in 150 ms unless the epoch confirms 10.0.0.1:3306"));
        assertThat(within.exitCode()).isEqualTo(2);

        Verdict after = GuardDecision.decide(ME, UNREACHABLE, WRITABLE, 250, 250);
        assertThat(after).isInstanceOf(Verdict.Fence.class);
        assertThat(((Verdict.Fence) after).epochMaster()).isNull();
        assertThat(after.reason()).isEqualTo("writable and unconfirmed for 250 ms, longer than the 250 ms grace "
                + "(127.0.0.1:8500: HttpTimeoutException): a manager on the other side may have promoted another master");
    }

    @Test
    void neverConfirmedIsNoGrace() {
        Verdict v = GuardDecision.decide(ME, UNREACHABLE, WRITABLE, -1, 250);
        assertThat(v).isInstanceOf(Verdict.Fence.class);
        assertThat(v.reason()).startsWith("writable and never confirmed");
    }

    @Test
    void noEpochYetMeansNoFailoverEverPromotedAnotherSoNothingIsFenced() {
        // A new cluster: the manager records epoch 1 only once it saw a healthy writable master; fencing it would deadlock.
        Verdict v = GuardDecision.decide(ME, new EpochView.None("s1"), WRITABLE, -1, 250);
        assertThat(v).isInstanceOf(Verdict.NoEpoch.class);
        assertThat(v.exitCode()).isEqualTo(1);
    }

    @Test
    void aReplicaIsLeftAloneWhateverTheEpochSays() {
        for (EpochView e : new EpochView[]{NAMES_ME, NAMES_OTHER, UNREACHABLE, new EpochView.None("s1")}) {
            Verdict v = GuardDecision.decide(ME, e, new LocalView(LocalView.State.REPLICA, "of 10.0.0.2:3306"), 99_999, 250);
            assertThat(v).isEqualTo(new Verdict.Replica("10.0.0.1:3306 is a replica (of 10.0.0.2:3306): it takes no writes"));
            assertThat(v.exitCode()).isZero();
        }
    }

    @Test
    void aReadOnlyMasterIsNeverMadeWritableEvenWhenTheEpochNamesIt() {
        // Un-fencing is the manager's job: the guard only ever takes writes away.
        Verdict v = GuardDecision.decide(ME, NAMES_ME, new LocalView(LocalView.State.FENCED, "read_only=1"), 0, 250);
        assertThat(v).isInstanceOf(Verdict.Fenced.class);
        assertThat(v.reason()).isEqualTo("10.0.0.1:3306 takes no writes (read_only=1) and is no replica; epoch 4 names 10.0.0.1:3306; "
                + "left for the manager (un-fence) or failover rejoin");
        assertThat(v.exitCode()).isEqualTo(2);
    }

    @Test
    void anUnobservableInstanceIsUnknownAndUntouched() {
        Verdict v = GuardDecision.decide(ME, NAMES_OTHER, LocalView.unreachable("Connection refused"), 99_999, 250);
        assertThat(v).isEqualTo(new Verdict.Unknown("cannot observe 10.0.0.1:3306: Connection refused; nothing changed"));
        assertThat(v.exitCode()).isEqualTo(3);
    }
}

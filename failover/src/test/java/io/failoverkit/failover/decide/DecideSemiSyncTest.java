package io.failoverkit.failover.decide;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.topology.GtidSet;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.InstanceState.Role;
import io.failoverkit.failover.topology.SemiSync;
import io.failoverkit.failover.topology.Topology;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 9 hole 2: with semi-sync in effect a commit may have been acknowledged by one replica alone; when that one is
 * unreachable the covers check cannot see it, so the failover is refused, saying which acknowledger is missing.
 */
class DecideSemiSyncTest {
    private static final String M = "127.0.0.1:3307", R1 = "127.0.0.1:3308", R2 = "127.0.0.1:3309";
    private static final ClusterDefinition CLUSTER = new ClusterDefinition("db", "mysql", List.of(M, R1, R2), null, null, null, null, null, null, 600, null);
    private static final StoredState EPOCH_1 = new StoredState(1, M, 0, true);

    private static InstanceState replica(String a, String gtid) {
        return new InstanceState(a, true, null, Role.REPLICA, false, M, false, GtidSet.parseMariaDb(gtid), 0, true, "");
    }

    /** The acknowledging replica R1 is gone; R2 lags (its IO thread was stopped before the last commits). */
    private static final Topology ACKER_GONE = new Topology(List.of(InstanceState.unreachable(M, "refused"),
            InstanceState.unreachable(R1, "connect timed out"), replica(R2, "0-1-90")));

    @Test
    void anUnreachableAcknowledgerBlocksTheFailoverAndIsNamed() {
        SemiSync on = new SemiSync(M, true, true, List.of(R1, R2), 1_000);
        assertThat(Decide.decide(CLUSTER, ACKER_GONE, EPOCH_1, new Trigger.Detected(3), 0)).as("without the record: the old behaviour promotes R2")
                .isInstanceOf(Action.Failover.class);
        Action a = Decide.decide(CLUSTER, ACKER_GONE, EPOCH_1, on, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOf(Action.Refuse.class);
        assertThat(a.reason()).contains("semi-sync").contains(R1 + " (unreachable: connect timed out)").contains("acknowledged")
                .doesNotContain(R2 + " (");
    }

    @Test
    void everyAcknowledgerReachableLetsTheCoversCheckDecide() {
        SemiSync on = new SemiSync(M, true, true, List.of(R1, R2), 1_000);
        Topology all = new Topology(List.of(InstanceState.unreachable(M, "refused"), replica(R1, "0-1-100"), replica(R2, "0-1-90")));
        assertThat(Decide.decide(CLUSTER, all, EPOCH_1, on, new Trigger.Detected(3), 0)).isInstanceOfSatisfying(Action.Failover.class,
                f -> assertThat(f.candidate()).isEqualTo(R1));
    }

    @Test
    void aMemberThatCannotAcknowledgeMayBeMissing() {
        SemiSync onlyR2 = new SemiSync(M, true, true, List.of(R2), 1_000);
        assertThat(Decide.decide(CLUSTER, ACKER_GONE, EPOCH_1, onlyR2, new Trigger.Detected(3), 0)).isInstanceOf(Action.Failover.class);
    }

    @Test
    void aFallbackToAsyncDoesNotBlockButTheReasonWarns() {
        SemiSync fellBack = new SemiSync(M, true, false, List.of(R1, R2), 1_000);
        Action a = Decide.decide(CLUSTER, ACKER_GONE, EPOCH_1, fellBack, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOf(Action.Failover.class);
        assertThat(a.reason()).contains("fallen back to async").contains("may be lost");
    }

    @Test
    void aRecordOfAnotherMasterOrOfAnAsyncClusterIsNotApplied() {
        assertThat(Decide.decide(CLUSTER, ACKER_GONE, EPOCH_1, new SemiSync(R2, true, true, List.of(R1), 1_000), new Trigger.Detected(3), 0)).isInstanceOf(Action.Failover.class);
        Action async = Decide.decide(CLUSTER, ACKER_GONE, EPOCH_1, new SemiSync(M, false, false, List.of(R1), 1_000), new Trigger.Detected(3), 0);
        assertThat(async).isInstanceOf(Action.Failover.class);
        assertThat(async.reason()).doesNotContain("semi-sync");
    }

    @Test
    void anAcknowledgerReachableButNotReplicatingIsNotCompared() {
        InstanceState fenced = new InstanceState(R1, true, null, Role.MASTER, false, null, false, GtidSet.parseMariaDb("0-1-100"), 0, true, "");
        Topology t = new Topology(List.of(InstanceState.unreachable(M, "refused"), fenced, replica(R2, "0-1-90")));
        Action a = Decide.decide(CLUSTER, t, EPOCH_1, new SemiSync(M, true, true, List.of(R1, R2), 1_000), new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOf(Action.Refuse.class);
        assertThat(a.reason()).contains(R1 + " (reachable but not a replica");
    }
}

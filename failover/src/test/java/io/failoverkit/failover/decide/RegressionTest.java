package io.failoverkit.failover.decide;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.InstanceState.Role;
import io.failoverkit.failover.topology.ReplicationHistory;
import io.failoverkit.failover.topology.Topology;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.failoverkit.failover.topology.ReplicationHistory.NO_REPLID;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 9, hole 4: a Redis master restarted empty inside the detection window (persistence off, a supervisor restarts
 * it) is never followed; the cluster fails over to the replica that still holds the data, or reports the loss.
 */
class RegressionTest {
    private static final String M = "127.0.0.1:6380";
    private static final String R1 = "127.0.0.1:6381";
    private static final String R2 = "127.0.0.1:6382";
    private static final ClusterDefinition CLUSTER = new ClusterDefinition("foo-redis", "redis", List.of(M, R1, R2), null, null, null,
            null, new ClusterDefinition.Promotion(Map.of(), List.of()), null, 600);
    private static final StoredState EPOCH_1 = new StoredState(1, M, 0, true);
    private static final String X1 = "1111111111111111111111111111111111111111";
    private static final String X2 = "2222222222222222222222222222222222222222";
    private static final String X3 = "3333333333333333333333333333333333333333";
    private static final String RUN1 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    private static final String RUN2 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    /** What the manager recorded while M was healthy: run 1 held stream X1 up to offset 100000. */
    private static final MasterHistory RECORDED = new MasterHistory(M, RUN1, X1, 100_000);

    private static ReplicationHistory fresh(String replid, long offset, String run) { return new ReplicationHistory(offset, replid, NO_REPLID, -1, run); }

    private static InstanceState master(String a, ReplicationHistory h) {
        return new InstanceState(a, true, null, Role.MASTER, true, null, false, h, 0, true, "");
    }

    private static InstanceState replica(String a, String of, boolean linkUp, ReplicationHistory h) {
        return new InstanceState(a, true, null, Role.REPLICA, false, of, linkUp, h, 0, true, "");
    }

    /** A replica of M that still holds stream X1 up to {@code offset} (its link down: M's process went away). */
    private static InstanceState holding(String a, long offset) { return replica(a, M, false, fresh(X1, offset, "r-" + a)); }

    /** A replica of M that already full-resynced from M's new, empty run (stream X2). */
    private static InstanceState resynced(String a) { return replica(a, M, true, fresh(X2, 60, "r-" + a)); }

    private static final InstanceState RESTARTED_EMPTY = master(M, fresh(X2, 60, RUN2));

    private static Action decide(MasterHistory recorded, InstanceState... instances) {
        return Decide.decide(CLUSTER, new Topology(List.of(instances)), EPOCH_1, new Trigger.Detected(0), 0, recorded);
    }

    @Test
    void aMasterRestartedEmptyIsFencedAsAReplicaOfTheMostAdvancedHolderAndFailedOverToIt() {
        Action a = decide(RECORDED, RESTARTED_EMPTY, holding(R1, 99_900), holding(R2, 100_000));
        assertThat(a).isInstanceOfSatisfying(Action.FenceRegressed.class, f -> {
            assertThat(f.instance()).isEqualTo(M);
            assertThat(f.holder()).isEqualTo(R2);
            assertThat(f.failover().oldMaster()).isEqualTo(M);
            assertThat(f.failover().candidate()).isEqualTo(R2);
            assertThat(f.failover().others()).containsExactly(R1);
            assertThat(f.reason()).contains("regressed", "bbbbbbbb", "up to offset 100000", R2 + " holds the old history");
        });
    }

    @Test
    void oneReplicaAlreadyEmptiedLeavesTheOtherAsTheHolder() {
        Action a = decide(RECORDED, RESTARTED_EMPTY, resynced(R1), holding(R2, 99_000));
        assertThat(a).isInstanceOfSatisfying(Action.FenceRegressed.class, f -> {
            assertThat(f.holder()).isEqualTo(R2);
            assertThat(f.failover().others()).containsExactly(R1);
        });
    }

    @Test
    void aReplicaWaitingForAFullSyncStillHoldsItsDataAndIsRankedByIt() {
        // While a full sync is pending Redis reports slave_repl_offset 1; the data set (master_repl_offset) is intact.
        InstanceState pending = new InstanceState(R1, true, null, Role.REPLICA, false, M, false, fresh(X1, 100_000, "r1"), 0, true, "");
        Action a = decide(RECORDED, RESTARTED_EMPTY, pending, holding(R2, 90_000));
        assertThat(a).isInstanceOfSatisfying(Action.FenceRegressed.class, f -> assertThat(f.holder()).isEqualTo(R1));
    }

    @Test
    void whenEveryReplicaResyncedTheLossIsReportedAndTheMasterNotFollowed() {
        Action a = decide(RECORDED, RESTARTED_EMPTY, resynced(R1), resynced(R2));
        assertThat(a).isInstanceOfSatisfying(Action.DataLost.class, l -> {
            assertThat(l.master()).isEqualTo(M);
            assertThat(l.reason()).startsWith("data set lost: master restarted empty and the replicas resynced from it; restore from backup")
                    .contains("failover ack");
        });
        assertThat(a).as("never Healthy: the manager would register it and lower its write fencing").isNotInstanceOf(Action.Healthy.class);
    }

    @Test
    void theLossNamesMembersThatCouldNotBeChecked() {
        Action a = decide(RECORDED, RESTARTED_EMPTY, resynced(R1), InstanceState.unreachable(R2, "refused"));
        assertThat(a).isInstanceOfSatisfying(Action.DataLost.class, l -> assertThat(l.reason()).contains("unreachable, not checked: [" + R2 + "]"));
    }

    @Test
    void theSameProcessIsFollowedWhateverItsOffsets() {
        Action a = decide(RECORDED, master(M, fresh(X1, 100_500, RUN1)), holding(R1, 100_500), holding(R2, 100_400));
        assertThat(a).isInstanceOf(Action.Healthy.class);
    }

    @Test
    void aMasterRestartedFromAFileThatCarriesItsWholeStreamIsFollowed() {
        // Redis reloads replid/offset from an RDB file as replid2: the replicas continue there by PSYNC.
        ReplicationHistory reloaded = new ReplicationHistory(100_000, X3, X1, 100_000, RUN2);
        Action a = decide(RECORDED, master(M, reloaded), holding(R1, 100_000), holding(R2, 99_000));
        assertThat(a).isInstanceOf(Action.Healthy.class);
    }

    @Test
    void aMasterRestartedFromAnOlderFileRegressedAndFailsOverToTheReplicaThatHoldsMore() {
        ReplicationHistory reloaded = new ReplicationHistory(80_000, X3, X1, 80_000, RUN2);
        Action a = decide(RECORDED, master(M, reloaded), holding(R1, 100_000), holding(R2, 70_000));
        assertThat(a).isInstanceOfSatisfying(Action.FenceRegressed.class, f -> {
            assertThat(f.holder()).isEqualTo(R1);
            assertThat(f.failover().others()).as("R2 holds nothing the master lacks, but is re-pointed with the rest").containsExactly(R2);
        });
    }

    @Test
    void aRestartedMasterThatContinuesTheRecordButNotAReplicaRegressed() {
        // The record is a few seconds old in the KV: a replica holds more of the stream than the reloaded file.
        MasterHistory stale = new MasterHistory(M, RUN1, X1, 70_000);
        ReplicationHistory reloaded = new ReplicationHistory(80_000, X3, X1, 80_000, RUN2);
        Action a = decide(stale, master(M, reloaded), holding(R1, 95_000), holding(R2, 80_000));
        assertThat(a).isInstanceOfSatisfying(Action.FenceRegressed.class, f -> assertThat(f.holder()).isEqualTo(R1));
    }

    @Test
    void theFencedMasterNowAReplicaIsStillFailedOverToTheHolder() {
        // The next cycle (or the manager's check right after the fence) sees the epoch master as a replica of the holder.
        InstanceState fenced = replica(M, R2, false, fresh(X2, 60, RUN2));
        Action a = decide(RECORDED, fenced, replica(R1, M, false, fresh(X1, 99_000, "r1")), replica(R2, M, false, fresh(X1, 100_000, "r2")));
        assertThat(a).isInstanceOfSatisfying(Action.FenceRegressed.class, f -> {
            assertThat(f.holder()).isEqualTo(R2);
            assertThat(f.failover().others()).as("the old master is not a replica to re-point").containsExactly(R1);
        });
    }

    @Test
    void theBlockPeriodDoesNotHoldItBack() {
        StoredState justFailedOver = new StoredState(2, M, 1_000, false);
        Action a = Decide.decide(CLUSTER, new Topology(List.of(RESTARTED_EMPTY, holding(R1, 1), holding(R2, 100_000))), justFailedOver, new Trigger.Detected(0), 2_000, RECORDED);
        assertThat(a).isInstanceOf(Action.FenceRegressed.class);
    }

    @Test
    void holdersMarkedNeverPromoteAreFencedToButNotPromoted() {
        ClusterDefinition never = new ClusterDefinition("foo-redis", "redis", List.of(M, R1, R2), null, null, null, null,
                new ClusterDefinition.Promotion(Map.of(), List.of(R1, R2)), null, 600);
        Action a = Decide.decide(never, new Topology(List.of(RESTARTED_EMPTY, holding(R1, 100_000), holding(R2, 90_000))), EPOCH_1, new Trigger.Detected(0), 0, RECORDED);
        assertThat(a).isInstanceOfSatisfying(Action.FenceRegressed.class, f -> {
            assertThat(f.holder()).isEqualTo(R1);
            assertThat(f.failover()).isNull();
            assertThat(f.reason()).contains("never-promote");
        });
    }

    @Test
    void withoutARecordAFreshMasterBehindItsOwnReplicasRegressed() {
        // A manager that never saw M healthy (first start, KV lost): M's new run continues no stream, its replicas hold more.
        Action a = decide(null, RESTARTED_EMPTY, holding(R1, 100_000), holding(R2, 100_000));
        assertThat(a).isInstanceOfSatisfying(Action.FenceRegressed.class, f -> assertThat(f.reason()).contains("no healthy history"));
    }

    @Test
    void replicasReadAfterTheMasterAreAheadOnItsOwnStreamAndThatIsNoRegression() {
        // Under writes the replicas are read after the master: on the master's own stream they show more than the
        // master's earlier reading. A loaded CI run fenced a healthy master over this (master 279, replica 331).
        InstanceState m = master(M, fresh(X1, 279, RUN1));
        Action a = decide(null, m, replica(R1, M, true, fresh(X1, 331, "r1")), replica(R2, M, true, fresh(X1, 331, "r2")));
        assertThat(a).isInstanceOf(Action.Healthy.class);
        // With a record of an earlier run that the new one continues, the same skew is no evidence either.
        MasterHistory earlier = new MasterHistory(M, RUN2, X1, 200);
        a = decide(earlier, m, replica(R1, M, true, fresh(X1, 331, "r1")), replica(R2, M, true, fresh(X1, 331, "r2")));
        assertThat(a).isInstanceOf(Action.Healthy.class);
    }

    @Test
    void withoutARecordAPromotedMasterIsNotJudgedByADivergedOldMaster() {
        // After a failover the old master returns as a replica with writes the new master never got: it diverged, and
        // that is no regression of the new master (whose stream continues the old one, replid2).
        ReplicationHistory promoted = new ReplicationHistory(50_000, X2, X1, 49_000, "run-r1");
        InstanceState oldMaster = replica(M, R1, false, fresh(X1, 49_100, RUN1));
        Action a = Decide.decide(CLUSTER, new Topology(List.of(master(R1, promoted), oldMaster, replica(R2, R1, true, fresh(X2, 50_000, "r2")))),
                new StoredState(2, R1, 0, true), new Trigger.Detected(0), 0, null);
        assertThat(a).isInstanceOf(Action.Healthy.class);
    }

    @Test
    void aRecordOfAnotherMasterIsIgnored() {
        // The record still describes the old master after a failover until the new one is seen healthy.
        ReplicationHistory promoted = new ReplicationHistory(100_100, X2, X1, 100_000, "run-r2");
        Action a = Decide.decide(CLUSTER, new Topology(List.of(master(R2, promoted), replica(R1, R2, true, fresh(X2, 100_100, "r1")),
                replica(M, R2, true, fresh(X2, 100_100, RUN2)))), new StoredState(2, R2, 0, true), new Trigger.Detected(0), 0, RECORDED);
        assertThat(a).isInstanceOf(Action.Healthy.class);
    }

    @Test
    void aHealthyClusterWithoutARecordIsHealthy() {
        Action a = decide(null, master(M, fresh(X1, 100_000, RUN1)), replica(R1, M, true, fresh(X1, 100_000, "r1")),
                replica(R2, M, true, fresh(X1, 99_990, "r2")));
        assertThat(a).isInstanceOf(Action.Healthy.class);
    }

    @Test
    void newReplicasStillInTheirFirstSyncAreNoEvidence() {
        Action a = decide(null, master(M, fresh(X1, 100_000, RUN1)), replica(R1, M, false, fresh(X3, 0, "r1")),
                replica(R2, M, false, fresh(X3, 0, "r2")));
        assertThat(a).isInstanceOf(Action.Healthy.class);
    }

    @Test
    void anUnreachableMasterIsLeftToTheUsualDetection() {
        Action a = decide(RECORDED, InstanceState.unreachable(M, "refused"), holding(R1, 100_000), holding(R2, 100_000));
        assertThat(a).isInstanceOf(Action.Wait.class);
    }

    @Test
    void historiesContinueThroughReplid2UpToItsEnd() {
        ReplicationHistory h = new ReplicationHistory(500, X2, X1, 300, RUN1);
        assertThat(h.continues(X2, 500)).isTrue();
        assertThat(h.continues(X2, 501)).isFalse();
        assertThat(h.continues(X1, 300)).isTrue();
        assertThat(h.continues(X1, 301)).isFalse();
        assertThat(fresh(X2, 10, RUN1).continues(NO_REPLID, 0)).as("the all-zero id is no stream").isFalse();
        assertThat(Regression.historyOf(master(M, h))).isEqualTo(new MasterHistory(M, RUN1, X2, 500));
    }
}

package io.failoverkit.failover.decide;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Position;
import io.failoverkit.failover.topology.InstanceState.Role;
import io.failoverkit.failover.topology.Topology;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The failover rules, from observed topologies alone. */
class DecideTest {
    private static final String M = "127.0.0.1:6380";
    private static final String R1 = "127.0.0.1:6381";
    private static final String R2 = "127.0.0.1:6382";
    private static final ClusterDefinition CLUSTER = new ClusterDefinition("foo-redis", "redis", List.of(M, R1, R2), null, null, null,
            null, new ClusterDefinition.Promotion(Map.of(), List.of()), null, 600);
    private static final StoredState EPOCH_1 = new StoredState(1, M, 0, true);

    private static InstanceState master(String a) { return new InstanceState(a, true, null, Role.MASTER, true, null, false, new Position.Offset(1000), 2, true, ""); }
    private static InstanceState replica(String a, boolean linkUp, long offset) { return new InstanceState(a, true, null, Role.REPLICA, false, M, linkUp, new Position.Offset(offset), 0, true, ""); }
    private static InstanceState neverSynced(String a) { return new InstanceState(a, true, null, Role.REPLICA, false, M, false, new Position.Offset(1), 0, false, ""); }
    private static InstanceState down(String a) { return InstanceState.unreachable(a, "connection refused"); }

    @Test
    void healthyMasterIsLeftAlone() {
        Action a = Decide.decide(CLUSTER, new Topology(List.of(master(M), replica(R1, true, 1000), replica(R2, true, 990))), EPOCH_1, new Trigger.Detected(0), 0);
        assertThat(a).isInstanceOf(Action.Healthy.class);
    }

    @Test
    void anUnreachableMasterIsNotFailedOverBeforeTheConfiguredFailures() {
        Action a = Decide.decide(CLUSTER, new Topology(List.of(down(M), replica(R1, false, 1000), replica(R2, false, 990))), EPOCH_1, new Trigger.Detected(2), 0);
        assertThat(a).isInstanceOf(Action.Wait.class);
    }

    @Test
    void confirmedDeadMasterPromotesTheMostAdvancedReplica() {
        Action a = Decide.decide(CLUSTER, new Topology(List.of(down(M), replica(R1, false, 990), replica(R2, false, 1000))), EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOfSatisfying(Action.Failover.class, f -> {
            assertThat(f.oldMaster()).isEqualTo(M);
            assertThat(f.candidate()).isEqualTo(R2);
            assertThat(f.others()).containsExactly(R1);
        });
    }

    @Test
    void aManagerCutOffFromTheMasterAloneDoesNotFailOver() {
        Action a = Decide.decide(CLUSTER, new Topology(List.of(down(M), replica(R1, true, 1000), replica(R2, false, 1000))), EPOCH_1, new Trigger.Detected(10), 0);
        assertThat(a).isInstanceOf(Action.Refuse.class);
        assertThat(a.reason()).contains("cut off");
    }

    @Test
    void noReachableReplicaMeansNoFailover() {
        Action a = Decide.decide(CLUSTER, new Topology(List.of(down(M), down(R1), down(R2))), EPOCH_1, new Trigger.Detected(10), 0);
        assertThat(a).isInstanceOf(Action.Refuse.class);
    }

    @Test
    void neverPromoteIsHonouredAndALaggingAllowedReplicaIsRefused() {
        ClusterDefinition never = new ClusterDefinition("foo-redis", "redis", List.of(M, R1, R2), null, null, null, null,
                new ClusterDefinition.Promotion(Map.of(), List.of(R2)), null, 600);
        Action a = Decide.decide(never, new Topology(List.of(down(M), replica(R1, false, 990), replica(R2, false, 1000))), EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).as("R1 lacks writes R2 has").isInstanceOf(Action.Refuse.class);
        a = Decide.decide(never, new Topology(List.of(down(M), replica(R1, false, 1000), replica(R2, false, 1000))), EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOfSatisfying(Action.Failover.class, f -> assertThat(f.candidate()).isEqualTo(R1));
    }

    @Test
    void priorityBreaksTiesBetweenEquallyAdvancedReplicas() {
        ClusterDefinition prio = new ClusterDefinition("foo-redis", "redis", List.of(M, R1, R2), null, null, null, null,
                new ClusterDefinition.Promotion(Map.of(R1, 10), List.of()), null, 600);
        Action a = Decide.decide(prio, new Topology(List.of(down(M), replica(R1, false, 1000), replica(R2, false, 1000))), EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOfSatisfying(Action.Failover.class, f -> assertThat(f.candidate()).isEqualTo(R1));
    }

    @Test
    void anotherFailoverWithinTheBlockPeriodWaitsForAnAcknowledgement() {
        StoredState recent = new StoredState(2, M, 1_000_000, false);
        Topology dead = new Topology(List.of(down(M), replica(R1, false, 1000), replica(R2, false, 990)));
        assertThat(Decide.decide(CLUSTER, dead, recent, new Trigger.Detected(3), 1_000_000 + 60_000)).isInstanceOf(Action.Refuse.class);
        assertThat(Decide.decide(CLUSTER, dead, recent, new Trigger.Detected(3), 1_000_000 + 601_000)).isInstanceOf(Action.Failover.class);
        assertThat(Decide.decide(CLUSTER, dead, new StoredState(2, M, 1_000_000, true), new Trigger.Detected(3), 1_000_000 + 60_000)).isInstanceOf(Action.Failover.class);
    }

    @Test
    void splitBrainDemotesOnlyTheInstanceThatIsNotTheEpochMaster() {
        Action a = Decide.decide(CLUSTER, new Topology(List.of(master(M), master(R1), replica(R2, true, 1000))), new StoredState(2, R1, 0, true), new Trigger.Detected(0), 0);
        assertThat(a).isInstanceOfSatisfying(Action.Demote.class, d -> {
            assertThat(d.instance()).isEqualTo(M);
            assertThat(d.master()).isEqualTo(R1);
        });
        a = Decide.decide(CLUSTER, new Topology(List.of(master(M), master(R1), replica(R2, true, 1000))), StoredState.NONE, new Trigger.Detected(0), 0);
        assertThat(a).as("no epoch: never demote both, never guess").isInstanceOf(Action.Refuse.class);
    }

    @Test
    void badDefinitionsAreRefusedWithAMessage() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ClusterDefinition("x", "redis", List.of(M), null, null, null, null, null, null, 0))
                .hasMessageContaining("two");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ClusterDefinition("x", "memcached", List.of(M, R1), null, null, null, null, null, null, 0))
                .hasMessageContaining("kind");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ClusterDefinition("x", "redis", List.of(M, "nohost"), null, null, null, null, null, null, 0))
                .hasMessageContaining("host:port");
    }

    @Test
    void aReplicaThatNeverSyncedIsNeverPromoted() {
        Action a = Decide.decide(CLUSTER, new Topology(List.of(down(M), neverSynced(R1), neverSynced(R2))), EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOf(Action.Refuse.class);
        assertThat(a.reason()).contains("ever completed a sync");
        a = Decide.decide(CLUSTER, new Topology(List.of(down(M), neverSynced(R1), replica(R2, false, 900))), EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOfSatisfying(Action.Failover.class, f -> assertThat(f.candidate()).isEqualTo(R2));
    }

    private static InstanceState readOnlyMaster(String a, long offset) {
        return new InstanceState(a, true, null, Role.MASTER, false, null, false, new Position.Offset(offset), 2, true, "read_only=1");
    }

    // Hole 10: an operator's promote is its own trigger, not "Integer.MAX_VALUE failures".
    @Test
    void anOperatorRequestSaysSoAndIsNotHeldByTheBlockPeriod() {
        Topology dead = new Topology(List.of(down(M), replica(R1, false, 1000), replica(R2, false, 990)));
        StoredState recent = new StoredState(2, M, 1_000_000, false);
        Action a = Decide.decide(CLUSTER, dead, recent, new Trigger.Requested("failover promote"), 1_000_000 + 1_000);
        assertThat(a).isInstanceOfSatisfying(Action.Failover.class, f -> {
            assertThat(f.reason()).contains("requested by an operator").doesNotContain("2147483647").doesNotContain("times");
            assertThat(f.trigger()).isInstanceOf(Trigger.Requested.class);
        });
        Action auto = Decide.decide(CLUSTER, dead, recent, new Trigger.Detected(3), 1_000_000 + 1_000);
        assertThat(auto.reason()).contains("1 s ago");
    }

    @Test
    void aLastFailoverStampedAheadOfThisManagersClockNeverGivesANegativeAge() {
        Topology dead = new Topology(List.of(down(M), replica(R1, false, 1000), replica(R2, false, 990)));
        Action a = Decide.decide(CLUSTER, dead, new StoredState(2, M, 5_000_000, false), new Trigger.Detected(3), 1_000_000);
        assertThat(a).isInstanceOf(Action.Refuse.class);
        assertThat(a.reason()).contains("was 0 s ago").doesNotContain("-");
    }

    // Hole 5: a reachable master that takes no writes, and nobody else does.
    @Test
    void aReadOnlyMasterIsNotCalledUnreachableAndIsConfirmedLikeADeath() {
        Topology t = new Topology(List.of(readOnlyMaster(M, 1000), replica(R1, true, 1000), replica(R2, true, 990)));
        Action a = Decide.decide(CLUSTER, t, EPOCH_1, new Trigger.Detected(1), 0);
        assertThat(a).isInstanceOf(Action.Wait.class);
        assertThat(a.reason()).doesNotContain("unreachable").contains("takes no writes").contains("(1/3)");
    }

    @Test
    void aReadOnlyMasterThatHoldsEveryWriteIsReopened() {
        Topology t = new Topology(List.of(readOnlyMaster(M, 1000), replica(R1, true, 1000), replica(R2, true, 990)));
        Action a = Decide.decide(CLUSTER, t, EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOfSatisfying(Action.Reopen.class, r -> assertThat(r.master()).isEqualTo(M));
        assertThat(a.reason()).contains("holds every write");
    }

    @Test
    void aMariaDbMasterReadOnlyForTheApplicationButWritableByAnAdminIsNotHealthyAndIsReopened() {
        InstanceState adminOnly = new InstanceState(M, true, null, Role.MASTER, false, null, false, new Position.Offset(1000), 2, true,
                "read_only=1 WRITABLE DESPITE read_only: root@localhost", true);
        Topology t = new Topology(List.of(adminOnly, replica(R1, true, 1000), replica(R2, true, 990)));
        assertThat(Decide.decide(CLUSTER, t, EPOCH_1, new Trigger.Detected(1), 0))
                .as("the application cannot write: not healthy, counted like a death").isInstanceOf(Action.Wait.class);
        Action a = Decide.decide(CLUSTER, t, EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOfSatisfying(Action.Reopen.class, r -> assertThat(r.master()).isEqualTo(M));
        assertThat(t.masters()).as("still a master for split-brain counting").extracting(InstanceState::address).containsExactly(M);
    }

    @Test
    void anEpochNamingANeverPromotedReplicaOfTheOneWritableMasterNamesThatMasterAgain() {
        Topology t = new Topology(List.of(master(M), replica(R1, true, 1000), replica(R2, true, 990)));
        StoredState epoch2 = new StoredState(2, R1, 1, false);
        Action a = Decide.decide(CLUSTER, t, epoch2, new Trigger.Detected(0), 0);
        assertThat(a).isInstanceOfSatisfying(Action.Reopen.class, r -> assertThat(r.master()).isEqualTo(M));
        assertThat(a.reason()).contains("never promoted");
    }

    @Test
    void aReadOnlyMasterBehindItsReplicasFailsOverToOneThatHoldsEverything() {
        Topology t = new Topology(List.of(readOnlyMaster(M, 900), replica(R1, true, 1000), replica(R2, true, 990)));
        Action a = Decide.decide(CLUSTER, t, EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOfSatisfying(Action.Failover.class, f -> {
            assertThat(f.oldMaster()).isEqualTo(M);
            assertThat(f.candidate()).isEqualTo(R1);
        });
        assertThat(a.reason()).contains("lacks");
    }

    @Test
    void aReadOnlyMasterWithWritesNoReplicaHoldsIsNeitherReopenedNorFailedOverFrom() {
        InstanceState diverged = new InstanceState(M, true, null, Role.MASTER, false, null, false,
                io.failoverkit.failover.topology.GtidSet.parseMariaDb("0-1-50,1-1-7"), 2, true, "");
        InstanceState r1 = new InstanceState(R1, true, null, Role.REPLICA, false, M, true,
                io.failoverkit.failover.topology.GtidSet.parseMariaDb("0-1-60"), 0, true, "");
        Action a = Decide.decide(CLUSTER, new Topology(List.of(diverged, r1, down(R2))), EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOf(Action.Refuse.class);
        assertThat(a.reason()).contains("lacks").contains(M);
    }

    @Test
    void aWritableInstanceTheEpochDoesNotNameIsNeverJoinedByASecondOne() {
        Topology t = new Topology(List.of(down(M), master(R1), replica(R2, false, 1000)));
        Action a = Decide.decide(CLUSTER, t, EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOf(Action.Refuse.class);
        assertThat(a.reason()).contains(R1 + " takes writes but epoch 1 names " + M);
    }
}

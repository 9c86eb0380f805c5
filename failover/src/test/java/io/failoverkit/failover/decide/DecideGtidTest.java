package io.failoverkit.failover.decide;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.topology.GtidSet;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.InstanceState.Role;
import io.failoverkit.failover.topology.Topology;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The failover rules on MySQL GTID positions: superset, not count, decides; a blocked candidate is refused. */
class DecideGtidTest {
    private static final String M = "127.0.0.1:3307", R1 = "127.0.0.1:3308", R2 = "127.0.0.1:3309";
    private static final String U = "3e11fa47-71ca-11e1-9e33-c80aa9429562", V = "6f5c9a3e-1b2c-11ef-8a4b-0242ac120002";
    private static final ClusterDefinition CLUSTER = new ClusterDefinition("db", "mysql", List.of(M, R1, R2), null, null, null, null, null, null, 600, null);
    private static final StoredState EPOCH_1 = new StoredState(1, M, 0, true);

    private static InstanceState replica(String a, GtidSet p) { return new InstanceState(a, true, null, Role.REPLICA, false, M, false, p, 0, true, ""); }

    @Test
    void theCandidateMustHoldEveryTransactionOfTheOthersNotJustMoreOfThem() {
        // R1 has more transactions, but R2 has one R1 lacks: promoting either loses a transaction.
        Action a = Decide.decide(CLUSTER, new Topology(List.of(InstanceState.unreachable(M, "refused"),
                replica(R1, GtidSet.parseMySql(U + ":1-100")), replica(R2, GtidSet.parseMySql(U + ":1-90," + V + ":1")))), EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOf(Action.Refuse.class);
        assertThat(a.reason()).contains("lacks").contains(V);
    }

    @Test
    void theMostAdvancedMariaDbReplicaIsPromoted() {
        Action a = Decide.decide(CLUSTER, new Topology(List.of(InstanceState.unreachable(M, "refused"),
                replica(R1, GtidSet.parseMariaDb("0-1-99")), replica(R2, GtidSet.parseMariaDb("0-1-100")))), EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOfSatisfying(Action.Failover.class, f -> assertThat(f.candidate()).isEqualTo(R2));
    }

    @Test
    void aCandidateWithErrantTransactionsIsRefusedWithTheReason() {
        Action a = Decide.decide(CLUSTER, new Topology(List.of(InstanceState.unreachable(M, "refused"),
                replica(R1, GtidSet.parseMariaDb("0-1-99")), replica(R2, GtidSet.parseMariaDb("0-3-100").withBlocker("errant transactions 0-3-100")))), EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOf(Action.Refuse.class);
        assertThat(a.reason()).contains(R2).contains("errant transactions 0-3-100");
    }

    @Test
    void aReplicaNamingItsMasterByAnotherNameStillConfirmsItIsAlive() {
        InstanceState viaHostname = new InstanceState(R1, true, null, Role.REPLICA, false, "db1.example:3307", true, GtidSet.parseMariaDb("0-1-5"), 0, true, "");
        Action a = Decide.decide(CLUSTER, new Topology(List.of(InstanceState.unreachable(M, "timeout"), viaHostname,
                replica(R2, GtidSet.parseMariaDb("0-1-5")))), EPOCH_1, new Trigger.Detected(10), 0);
        assertThat(a).isInstanceOf(Action.Refuse.class);
        assertThat(a.reason()).contains("cut off");
    }

    @Test
    void gtidOffIsRefusedClearly() {
        Action a = Decide.decide(CLUSTER, new Topology(List.of(InstanceState.unreachable(M, "refused"),
                replica(R1, GtidSet.parseMySql(U + ":1-5").withBlocker("gtid_mode is OFF, not ON: failoverkit needs GTID replication")),
                replica(R2, GtidSet.parseMySql(U + ":1-5").withBlocker("gtid_mode is OFF, not ON: failoverkit needs GTID replication")))), EPOCH_1, new Trigger.Detected(3), 0);
        assertThat(a).isInstanceOf(Action.Refuse.class);
        assertThat(a.reason()).contains("gtid_mode is OFF");
    }
}

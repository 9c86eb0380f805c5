package io.failoverkit.failover.decide;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.InstanceState.Role;
import io.failoverkit.failover.topology.ReplicationHistory;
import io.failoverkit.failover.topology.Topology;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Review 5: Regression.judge when the master's stream moved more than one hop since the record. */
class RegressionReviewTest {
    static final String M = "127.0.0.1:6380", R1 = "127.0.0.1:6381", R2 = "127.0.0.1:6382";
    static final ClusterDefinition CLUSTER = new ClusterDefinition("foo-redis", "redis", List.of(M, R1, R2), null, null, null,
            null, new ClusterDefinition.Promotion(Map.of(), List.of()), null, 600);
    static final String A = "a".repeat(40), N1 = "1".repeat(40), N2 = "2".repeat(40);

    static InstanceState master(ReplicationHistory h) { return new InstanceState(M, true, null, Role.MASTER, true, null, false, h, 2, true, ""); }
    static InstanceState replica(String a, ReplicationHistory h) { return new InstanceState(a, true, null, Role.REPLICA, false, M, true, h, 0, true, ""); }

    @Test
    void twoCleanRestartsBetweenRecordsAreNoDataLoss() {
        // The manager recorded run0 on stream A at 100000. While it did not look (it was not the lock holder, or it was
        // down), the master was restarted cleanly twice (SHUTDOWN SAVE, Redis 7 restores the RDB's id as replid2):
        //   run1: replid N1, replid2 A up to 150000; the replicas PSYNC to it; writes go on to 200000;
        //   run2: replid N2, replid2 N1 up to 200000; the replicas PSYNC again (replid N2, replid2 N1).
        // Not one write was lost: every offset continues, and every replica continues the master.
        MasterHistory recorded = new MasterHistory(M, "run0", A, 100_000);
        InstanceState m = master(new ReplicationHistory(200_010, N2, N1, 200_000, "run2"));
        Action a = Decide.decide(CLUSTER, new Topology(List.of(m,
                        replica(R1, new ReplicationHistory(200_010, N2, N1, 200_000, "r1")),
                        replica(R2, new ReplicationHistory(200_010, N2, N1, 200_000, "r2")))),
                new StoredState(1, M, 0, true), new Trigger.Detected(0), 0, recorded);
        // Before review 5: DataLost "data set lost: master restarted empty ... restore from backup".
        assertThat(a).isInstanceOf(Action.Healthy.class);
    }
}

package io.failoverkit.failover.guard;

import io.failoverkit.failover.cluster.ClusterDefinition;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The relation between the guard's timing and the earliest promotion the cluster's detection allows. */
class GuardTimingTest {
    static ClusterDefinition cluster(ClusterDefinition.Detection d) {
        return new ClusterDefinition("db", "mysql", List.of("a:1", "b:1", "c:1"), null, null, null, d, null, null, 0);
    }

    @Test
    void theDefaultsFenceBeforeTheDefaultDetectionCanPromote() {
        ClusterDefinition c = cluster(null);
        assertThat(GuardTiming.earliestPromotionMs(c.detection())).isEqualTo(600); // (3 - 1) x 300 ms
        assertThat(GuardTiming.DEFAULT.worstFenceMs()).isEqualTo(550);             // 250 + 100 + 150 + 50
        assertThat(GuardTiming.DEFAULT.problem(c)).isNull();
        assertThat(GuardTiming.DEFAULT.relation(c)).contains("fences within 550 ms").contains("earliest promotion 600 ms").endsWith("margin 50 ms");
    }

    @Test
    void aGraceThatOutlastsTheDetectionIsRefusedWithTheNumbers() {
        String problem = new GuardTiming(100, 150, 400).problem(cluster(null));
        assertThat(problem).startsWith("the guard could fence only 700 ms after losing contact (grace 400 + interval 100 + timeout 150 + fence 50)")
                .contains("can promote a new master 600 ms after it (detection 3 failures x 300 ms");
    }

    @Test
    void aFasterDetectionNeedsAFasterGuard() {
        ClusterDefinition fast = cluster(new ClusterDefinition.Detection(100, 3, 80));
        assertThat(GuardTiming.DEFAULT.problem(fast)).contains("can promote a new master 200 ms after it");
        assertThat(new GuardTiming(20, 40, 70).problem(fast)).isNull();
    }

    @Test
    void oneFailureDetectionCannotBeGuarded() {
        assertThat(GuardTiming.DEFAULT.problem(cluster(new ClusterDefinition.Detection(300, 1, 250)))).contains("0 ms after it");
    }

    @Test
    void aGraceShorterThanTwoReadsIsRefused() {
        assertThat(new GuardTiming(100, 150, 200).problem(cluster(null))).startsWith("grace 200 ms is shorter than interval + timeout (250 ms)");
        assertThat(new GuardTiming(5, 150, 200).problem(cluster(null))).contains("at least 10 ms");
    }
}

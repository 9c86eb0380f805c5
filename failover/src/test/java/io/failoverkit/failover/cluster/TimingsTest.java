package io.failoverkit.failover.cluster;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Hole 14 and the manager's side of hole 8: the timings that depend on each other are checked in one place. */
class TimingsTest {
    private static ClusterDefinition cluster(String kind, ClusterDefinition.Detection d) {
        return new ClusterDefinition("t", kind, List.of("127.0.0.1:1", "127.0.0.1:2"), null, null, null, d, null, null, 0);
    }

    private static Timings with(Duration lockDelay, Duration validity) {
        return new Timings(Duration.ofMillis(300), 3, Duration.ofMillis(250), Duration.ofSeconds(10), lockDelay, validity,
                Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(4),
                Duration.ofSeconds(3), Duration.ofSeconds(10), Duration.ofMinutes(5));
    }

    @Test
    void theDefaultsOfEveryKindKeepAMarginBetweenTheManagersValidityAndTheLockDelay() {
        for (String kind : List.of("redis", "mysql")) {
            Timings t = Timings.of(cluster(kind, null));
            assertThat(t.validity().plus(t.stepLimit()).plus(Timings.MARGIN)).as(kind).isLessThanOrEqualTo(t.lockDelay());
            assertThat(t.validity()).as(kind).isLessThan(t.sessionTtl());
            assertThat(t.renewEvery().multipliedBy(2)).as(kind).isLessThanOrEqualTo(t.validity());
        }
    }

    @Test
    void theOldZeroMarginIsRefused() {
        // Before: validity TTL/2 = 5 s and lock-delay 5 s.
        assertThatThrownBy(() -> with(Duration.ofSeconds(5), Duration.ofSeconds(5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lockDelay");
        assertThat(with(Duration.ofSeconds(6), Duration.ofSeconds(3)).lockDelay()).isEqualTo(Duration.ofSeconds(6));
    }

    @Test
    void aSlowDetectionGetsABackoffAtLeastAsLongAsADetection() {
        Timings t = Timings.of(cluster("redis", new ClusterDefinition.Detection(5000, 5, 1000)));
        assertThat(t.retryBackoff()).isGreaterThanOrEqualTo(Duration.ofSeconds(25));
        assertThat(t.backoffAfter(1)).isEqualTo(t.retryBackoff());
        assertThat(t.backoffAfter(2)).isEqualTo(t.retryBackoff().multipliedBy(2));
        assertThat(t.backoffAfter(50)).isEqualTo(t.retryBackoffMax());
    }

    @Test
    void aSwitchoverPauseShorterThanTheCatchUpAndTheFenceIsRefused() {
        assertThatThrownBy(() -> new Timings(Duration.ofMillis(300), 3, Duration.ofMillis(250), Duration.ofSeconds(10), Duration.ofSeconds(10),
                Duration.ofSeconds(3), Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(10),
                Duration.ofSeconds(3), Duration.ofSeconds(3), Duration.ofSeconds(10), Duration.ofMinutes(5)))
                .hasMessageContaining("switchoverPause");
    }

    @Test
    void aDetectionIntervalTheSessionCannotOutliveAtRestIsRefused() {
        // The holder renews once per cycle at rest: a 9 s interval with a 10 s TTL leaves less than the margin.
        assertThatThrownBy(() -> Timings.of(cluster("redis", new ClusterDefinition.Detection(9000, 3, 1000))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("detectionInterval").hasMessageContaining("sessionTtl");
        Timings t = Timings.of(cluster("redis", new ClusterDefinition.Detection(8000, 3, 1000)));
        assertThat(t.detectionInterval().plus(Timings.MARGIN)).isLessThanOrEqualTo(t.sessionTtl());
    }
}

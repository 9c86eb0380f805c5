package io.failoverkit.discovery.raft;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The servers of a group take their snapshots at their own turns: once per threshold each, never at the same index. */
class SnapshotScheduleTest {
    /** The indexes at which a server applying one entry at a time takes its snapshots, up to {@code until}. */
    private static List<Long> turns(SnapshotSchedule s, long until) {
        List<Long> out = new ArrayList<>();
        for (long applied = 1; applied <= until; applied++) {
            // Ratis asks only once its own threshold (a quarter) has passed since the last snapshot it was told of.
            long last = out.isEmpty() ? 0 : out.get(out.size() - 1);
            if (applied - last < s.ratisThreshold()) continue;
            if (s.due(applied)) {
                s.taken(applied);
                out.add(applied);
            }
        }
        return out;
    }

    @Test
    void threeServersSnapshotAThirdOfTheThresholdApartForever() {
        List<String> peers = List.of("s1", "s2", "s3");
        long threshold = 16384;
        List<List<Long>> all = new ArrayList<>();
        for (String self : peers) all.add(turns(SnapshotSchedule.forServer(self, peers, threshold), 50 * threshold));
        Set<Long> seen = new HashSet<>();
        for (List<Long> t : all) {
            assertThat(t).hasSizeBetween(49, 50);
            for (int i = 1; i < t.size(); i++) assertThat(t.get(i) - t.get(i - 1)).as("one snapshot per threshold").isEqualTo(threshold);
            for (long i : t) assertThat(seen.add(i)).as("index %d taken by two servers", i).isTrue();
        }
        // Any two snapshots (of any servers) are at least a third of the threshold apart.
        List<Long> merged = new ArrayList<>(seen);
        merged.sort(null);
        for (int i = 1; i < merged.size(); i++) assertThat(merged.get(i) - merged.get(i - 1)).isGreaterThanOrEqualTo(threshold / 3);
    }

    @Test
    void aRestartedOrInstalledServerKeepsItsTurnsAndAJoiningOneGetsOneFromItsName() {
        SnapshotSchedule s = SnapshotSchedule.forServer("s2", List.of("s1", "s2", "s3"), 300);
        assertThat(s.offset()).isEqualTo(100);
        s.taken(1000); // loaded at start, or installed from the leader
        assertThat(s.due(1099)).isFalse();
        assertThat(s.due(1100)).as("(1100 + 100) %% 300 == 0").isTrue();
        SnapshotSchedule joining = SnapshotSchedule.forServer("s4", List.of("s1", "s2", "s3"), 300);
        assertThat(joining.offset()).isBetween(0L, 299L).isEqualTo(SnapshotSchedule.forServer("s4", List.of("s1"), 300).offset());
        assertThat(new SnapshotSchedule(1, 0).ratisThreshold()).isEqualTo(1);
    }

    @Test
    void aTurnThatComesSoonerThanTheIntervalWaitsForIt() {
        long[] now = {0};
        SnapshotSchedule s = new SnapshotSchedule(1000, 0, java.time.Duration.ofSeconds(30), () -> now[0]);
        assertThat(s.due(1000)).as("the first turn: nothing to wait for").isTrue();
        s.begin(1000);
        now[0] = java.time.Duration.ofSeconds(5).toNanos();
        assertThat(s.due(2000)).as("the next turn 5 s later (a fast write load)").isFalse();
        assertThat(s.due(5000)).as("however many entries came").isFalse();
        now[0] = java.time.Duration.ofSeconds(30).toNanos();
        assertThat(s.due(5000)).as("once the interval has passed").isTrue();
        s.begin(5000);
        assertThat(s.due(5999)).as("and again only at the next turn of the threshold").isFalse();
        // A snapshot loaded or installed (no write of this server's) does not start the interval.
        SnapshotSchedule loaded = new SnapshotSchedule(1000, 0, java.time.Duration.ofSeconds(30), () -> 0L);
        loaded.taken(1000);
        assertThat(loaded.due(2000)).isTrue();
    }
}

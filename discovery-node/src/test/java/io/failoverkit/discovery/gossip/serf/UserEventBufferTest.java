package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.serf.SerfMessages.UserEvent;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class UserEventBufferTest {
    private static UserEvent ev(long t, String name, String payload) {
        return new UserEvent(t, name, payload.getBytes(), false);
    }

    @Test
    void theSameEventAtTheSameTimeIsNewOnce() {
        LamportClock clock = new LamportClock();
        UserEventBuffer b = new UserEventBuffer(clock, 8);
        assertThat(b.offer(ev(3, "deploy", "v1"))).isTrue();
        assertThat(b.offer(ev(3, "deploy", "v1"))).isFalse();
        // same time, other payload or other name: distinct events
        assertThat(b.offer(ev(3, "deploy", "v2"))).isTrue();
        assertThat(b.offer(ev(3, "restart", "v1"))).isTrue();
        // same name and payload at another time: a new event
        assertThat(b.offer(ev(4, "deploy", "v1"))).isTrue();
        assertThat(clock.time()).isEqualTo(5);
        assertThat(b.recent()).hasSize(2);
        assertThat(b.recent().get(0).events()).hasSize(3);
    }

    @Test
    void eventsOlderThanTheWindowAreDropped() {
        LamportClock clock = new LamportClock();
        UserEventBuffer b = new UserEventBuffer(clock, 8);
        assertThat(b.offer(ev(1, "a", ""))).isTrue();
        assertThat(b.offer(ev(20, "b", ""))).isTrue();    // clock now 21
        assertThat(b.offer(ev(12, "c", ""))).isFalse();   // 12 < 21 - 8
        assertThat(b.offer(ev(13, "c", ""))).isTrue();    // 13 is inside the window
        assertThat(b.offer(ev(1, "a", ""))).isFalse();    // old, and its slot was reused
        assertThat(b.tooOld()).isEqualTo(2);
    }

    @Test
    void aSlotReusedForANewerTimeForgetsTheOlderOne() {
        LamportClock clock = new LamportClock();
        UserEventBuffer b = new UserEventBuffer(clock, 4);
        assertThat(b.offer(ev(2, "a", ""))).isTrue();
        assertThat(b.offer(ev(6, "a", ""))).isTrue();     // same slot (6 % 4 == 2)
        assertThat(b.recent()).extracting(SerfMessages.EventsAt::ltime).containsExactly(6L);
    }

    @Test
    void theMinimumTimeHidesEventsFromBeforeAJoin() {
        LamportClock clock = new LamportClock();
        UserEventBuffer b = new UserEventBuffer(clock, 16);
        b.raiseMinTime(10);
        b.raiseMinTime(4); // never lowered
        assertThat(b.offer(ev(9, "old", ""))).isFalse();
        assertThat(b.offer(ev(10, "new", ""))).isTrue();
        assertThat(b.minTime()).isEqualTo(10);
    }
}

package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.serf.SerfMessages.EventsAt;
import io.failoverkit.discovery.gossip.serf.SerfMessages.NamedPayload;
import io.failoverkit.discovery.gossip.serf.SerfMessages.UserEvent;

import java.util.ArrayList;
import java.util.List;

/**
 * Serf's user event deduplication: a ring of {@code size} slots indexed by event time modulo size, each holding
 * the events seen at that time. An event is new (delivered once, then re-gossiped) unless
 * <ul>
 *   <li>its time is before the minimum (set by a join with ignoreOld: events from before the join are not
 *       replayed),</li>
 *   <li>it is older than the window: the event clock is more than {@code size} past it,</li>
 *   <li>or the same name and payload was already seen at the same time.</li>
 * </ul>
 * Not thread-safe: Serf touches it only on its scheduler thread.
 */
final class UserEventBuffer {
    private final LamportClock clock;
    private final EventsAt[] ring;
    private final List<NamedPayload>[] slots;
    private long minTime;
    private long tooOld;

    @SuppressWarnings("unchecked")
    UserEventBuffer(LamportClock clock, int size) {
        if (size < 1) throw new IllegalArgumentException("event buffer size must be >= 1, got " + size);
        this.clock = clock;
        this.ring = new EventsAt[size];
        this.slots = new List[size];
    }

    /** Witnesses the event's time and says whether it is new; a new one is recorded. */
    boolean offer(UserEvent e) {
        clock.witness(e.ltime());
        if (Long.compareUnsigned(e.ltime(), minTime) < 0) return false;
        long size = ring.length;
        long now = clock.time();
        if (Long.compareUnsigned(now, size) > 0 && Long.compareUnsigned(e.ltime(), now - size) < 0) {
            tooOld++;
            return false;
        }
        int idx = (int) Long.remainderUnsigned(e.ltime(), size);
        NamedPayload named = new NamedPayload(e.name(), e.payload());
        List<NamedPayload> seen = slots[idx];
        if (seen != null && ring[idx].ltime() == e.ltime()) {
            if (seen.contains(named)) return false;
        } else {
            seen = new ArrayList<>(1);
            slots[idx] = seen;
        }
        seen.add(named);
        ring[idx] = new EventsAt(e.ltime(), seen);
        return true;
    }

    /** Events from before {@code t} are ignored from now on (never lowers it). */
    void raiseMinTime(long t) {
        if (Long.compareUnsigned(t, minTime) > 0) minTime = t;
    }

    long minTime() { return minTime; }

    /** Events refused as older than the window, since start. */
    long tooOld() { return tooOld; }

    /** The buffered events (for push-pull), in ring order, empty slots left out. */
    List<EventsAt> recent() {
        List<EventsAt> out = new ArrayList<>();
        for (EventsAt at : ring) if (at != null) out.add(at);
        return out;
    }
}

package io.failoverkit.discovery.gossip.serf.handlers;

import io.failoverkit.discovery.gossip.serf.SerfEvent;
import io.failoverkit.discovery.gossip.serf.SerfMember;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What Serf's coalescers do with the events of one window, without the timing (see {@link CoalescingStage}).
 * Not thread-safe: a stage uses it from one thread.
 */
public interface Coalescer {
    /** Whether this coalescer takes the event (others pass straight through). */
    boolean handles(SerfEvent e);

    void add(SerfEvent e);

    /** The merged events of the window; the window starts empty again. */
    List<SerfEvent> flush();

    /**
     * Member events: per member only the latest event of the window counts; a flush sends one event per kind with
     * its members (sorted by name), in the order join, update, leave, failed, reap. A member whose latest kind is
     * the same as the one last sent for it is not sent again (a join after a join says nothing), except updates.
     */
    final class Members implements Coalescer {
        private static final List<SerfEvent.Kind> ORDER = List.of(SerfEvent.Kind.JOIN, SerfEvent.Kind.UPDATE,
                SerfEvent.Kind.LEAVE, SerfEvent.Kind.FAILED, SerfEvent.Kind.REAP);
        private record Latest(SerfEvent.Kind kind, SerfMember member) {}

        private final Map<String, SerfEvent.Kind> lastSent = new HashMap<>();
        private final Map<String, Latest> latest = new TreeMap<>();

        @Override public boolean handles(SerfEvent e) { return e instanceof SerfEvent.Members; }

        @Override public void add(SerfEvent e) {
            SerfEvent.Members m = (SerfEvent.Members) e;
            for (SerfMember member : m.members()) latest.put(member.name(), new Latest(m.kind(), member));
        }

        @Override public List<SerfEvent> flush() {
            Map<SerfEvent.Kind, List<SerfMember>> byKind = new EnumMap<>(SerfEvent.Kind.class);
            for (var e : latest.entrySet()) {
                Latest l = e.getValue();
                SerfEvent.Kind prev = lastSent.get(e.getKey());
                if (prev == l.kind && l.kind != SerfEvent.Kind.UPDATE) continue;
                if (l.kind == SerfEvent.Kind.REAP) lastSent.remove(e.getKey()); // a reaped member is forgotten
                else lastSent.put(e.getKey(), l.kind);
                byKind.computeIfAbsent(l.kind, k -> new ArrayList<>()).add(l.member);
            }
            latest.clear();
            List<SerfEvent> out = new ArrayList<>();
            for (SerfEvent.Kind k : ORDER) {
                List<SerfMember> ms = byKind.get(k);
                if (ms != null) out.add(new SerfEvent.Members(k, List.copyOf(ms)));
            }
            return out;
        }
    }

    /**
     * User events fired with coalesce=true: per event name only those of the latest event time in the window are
     * sent (all of them if several share that time); events without the flag pass through.
     */
    final class Users implements Coalescer {
        private record Latest(long ltime, List<SerfEvent> events) {}

        private final Map<String, Latest> latest = new TreeMap<>();

        @Override public boolean handles(SerfEvent e) { return e instanceof SerfEvent.User u && u.coalesce(); }

        @Override public void add(SerfEvent e) {
            SerfEvent.User u = (SerfEvent.User) e;
            Latest l = latest.get(u.name());
            if (l == null || Long.compareUnsigned(l.ltime, u.ltime()) < 0) {
                List<SerfEvent> events = new ArrayList<>();
                events.add(u);
                latest.put(u.name(), new Latest(u.ltime(), events));
            } else if (l.ltime == u.ltime()) {
                l.events.add(u);
            }
        }

        @Override public List<SerfEvent> flush() {
            List<SerfEvent> out = new ArrayList<>();
            for (Latest l : latest.values()) out.addAll(l.events);
            latest.clear();
            return out;
        }
    }
}

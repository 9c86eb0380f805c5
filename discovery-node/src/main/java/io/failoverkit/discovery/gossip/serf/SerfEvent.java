package io.failoverkit.discovery.gossip.serf;

import java.util.List;

/** What Serf reports upward (to event handlers and the agent), on the gossip scheduler thread: consumers must not block. */
public sealed interface SerfEvent {
    enum Kind {
        JOIN("member-join"), LEAVE("member-leave"), FAILED("member-failed"), UPDATE("member-update"), REAP("member-reap");
        /** Serf's SERF_EVENT name. */
        public final String serfName;
        Kind(String serfName) { this.serfName = serfName; }
    }

    record Members(Kind kind, List<SerfMember> members) implements SerfEvent {}

    record User(long ltime, String name, byte[] payload, boolean coalesce) implements SerfEvent {}
}

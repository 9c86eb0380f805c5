package io.failoverkit.failover.topology;

import java.util.List;

/**
 * Which members can acknowledge a commit of {@code master} (as Patroni's synchronous mode records its synchronous
 * standby): recorded in the KV ({@code failover/<cluster>/semisync}) by the manager on healthy cycles, read at
 * failover, when the dead master can no longer say. {@code enabled}: the master side of semi-sync is on;
 * {@code active}: it is in effect (false: it fell back to async after a timeout, so commits since were acknowledged
 * without any replica). {@code ackers}: members whose replica side is on, plus every member whose setting could not be
 * read (unknown counts as could acknowledge).
 */
public record SemiSync(String master, boolean enabled, boolean active, List<String> ackers, long updatedAtMillis) {
    public SemiSync {
        ackers = List.copyOf(ackers);
    }

    /** The same facts, ignoring when they were recorded: a record is rewritten only when these change. */
    public boolean sameFacts(SemiSync o) {
        return o != null && master.equals(o.master) && enabled == o.enabled && active == o.active && ackers.equals(o.ackers);
    }
}

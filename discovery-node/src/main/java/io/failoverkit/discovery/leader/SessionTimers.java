package io.failoverkit.discovery.leader;

import io.failoverkit.discovery.config.Durations;
import io.failoverkit.discovery.raft.RaftNode;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model.Session;
import io.failoverkit.discovery.state.StateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Session TTLs, kept by the leader alone, in memory, as Consul does: a deadline per session, pushed back by each
 * renew the leader receives, and an invalidation proposed through Raft when it passes. A new leader starts every
 * deadline afresh at a full TTL, so a leader change can only lengthen a session, never cut it short: a holder
 * that renewed at time t may trust its lock until t + TTL.
 */
public final class SessionTimers {
    private static final Logger LOG = LoggerFactory.getLogger(SessionTimers.class);

    private final StateStore store;
    private final RaftNode raft;
    private final Map<String, Long> deadlines = new ConcurrentHashMap<>();
    private final Set<String> proposed = ConcurrentHashMap.newKeySet();
    private volatile boolean leading;

    public SessionTimers(StateStore store, RaftNode raft) {
        this.store = store;
        this.raft = raft;
    }

    /** Resets a session's deadline; false if the session does not exist (any more). */
    public boolean renew(String id) {
        Session s = store.session(id);
        if (s == null) return false;
        if (s.ttl() != null && !s.ttl().isEmpty()) deadlines.put(id, System.nanoTime() + Durations.parse(s.ttl()).toNanos());
        return true;
    }

    /** Runs every ~100 ms on each server; acts only on the leader. */
    public void tick() {
        boolean leaderNow = raft.isLeader();
        if (!leaderNow) {
            if (leading) {
                deadlines.clear();
                proposed.clear();
            }
            leading = false;
            return;
        }
        if (!leading) LOG.info("leading: session TTL timers start afresh at a full TTL");
        leading = true;
        long now = System.nanoTime();
        Set<String> live = new HashSet<>();
        for (Session s : store.sessionsWithTtl()) {
            live.add(s.id());
            long deadline = deadlines.computeIfAbsent(s.id(), id -> now + Durations.parse(s.ttl()).toNanos());
            if (now - deadline > 0 && proposed.add(s.id())) {
                LOG.info("session {} ({}) TTL {} lapsed: invalidating it", s.id(), s.name(), s.ttl());
                raft.propose(new Command.SessionDestroy(s.id(), "ttl", System.currentTimeMillis())).whenComplete((r, err) -> {
                    proposed.remove(s.id());
                    if (err != null) LOG.warn("could not invalidate session {}: {}", s.id(), err.getMessage());
                });
            }
        }
        deadlines.keySet().retainAll(live);
    }
}

package io.failoverkit.discovery.leader;

import io.failoverkit.discovery.raft.RaftNode;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model.Session;
import io.failoverkit.discovery.state.SessionRules;
import io.failoverkit.discovery.state.StateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.failoverkit.discovery.state.ApplyResult;

import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Session TTLs, kept by the leader alone, in memory, as Consul does: a deadline per session, pushed back by each
 * renew the leader receives, and an invalidation proposed through Raft when it passes. A new leader starts every
 * deadline afresh at a full TTL, so a leader change can only lengthen a session, never cut it short: a holder
 * that renewed at time t may trust its lock until t + TTL.
 */
public final class SessionTimers {
    private static final Logger LOG = LoggerFactory.getLogger(SessionTimers.class);

    private final StateStore store;
    private final BooleanSupplier isLeader;
    private final Function<Command, CompletableFuture<ApplyResult>> propose;
    private final LongSupplier nanoClock;
    private final Map<String, Long> deadlines = new ConcurrentHashMap<>();
    private final Set<String> proposed = ConcurrentHashMap.newKeySet();
    /** Sessions whose TTL could not be handled, each logged once. */
    private final Set<String> unusable = ConcurrentHashMap.newKeySet();
    private volatile boolean leading;

    public SessionTimers(StateStore store, RaftNode raft) {
        this(store, raft::isLeader, raft::propose, System::nanoTime);
    }

    /** With who leads, how to propose and the monotonic clock given (tests pass their own). */
    public SessionTimers(StateStore store, BooleanSupplier isLeader, Function<Command, CompletableFuture<ApplyResult>> propose, LongSupplier nanoClock) {
        this.store = store;
        this.isLeader = isLeader;
        this.propose = propose;
        this.nanoClock = nanoClock;
    }

    /** Resets a session's deadline; false if the session does not exist (any more). */
    public boolean renew(String id) {
        Session s = store.session(id);
        if (s == null) return false;
        Duration ttl = ttlOf(s);
        if (ttl != null) deadlines.put(id, nanoClock.getAsLong() + ttl.toNanos());
        return true;
    }

    /**
     * The session's TTL, or null when it has none or one the timers cannot enforce (it does not parse or is out of
     * range: only an old snapshot could hold such a session, since create and restore refuse it), logged once.
     */
    private Duration ttlOf(Session s) {
        try {
            return SessionRules.ttl(s.ttl());
        } catch (RuntimeException e) {
            if (unusable.add(s.id())) LOG.error("session {} ({}) has an unusable TTL, not enforced: {}", s.id(), s.name(), e.getMessage());
            return null;
        }
    }

    /** Runs every ~100 ms on each server; acts only on the leader. */
    public void tick() {
        boolean leaderNow = isLeader.getAsBoolean();
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
        long now = nanoClock.getAsLong();
        Set<String> live = new HashSet<>();
        for (Session s : store.sessionsWithTtl()) {
            live.add(s.id());
            // One session's trouble must not stop the TTLs of the others.
            try {
                Long deadline = deadlines.get(s.id());
                if (deadline == null) {
                    Duration ttl = ttlOf(s);
                    if (ttl == null) continue;
                    deadline = now + ttl.toNanos();
                    deadlines.put(s.id(), deadline);
                }
                if (now - deadline > 0 && proposed.add(s.id())) {
                    LOG.info("session {} ({}) TTL {} lapsed: invalidating it", s.id(), s.name(), s.ttl());
                    propose.apply(new Command.SessionDestroy(s.id(), "ttl", System.currentTimeMillis())).whenComplete((r, err) -> {
                        proposed.remove(s.id());
                        if (err != null) LOG.warn("could not invalidate session {}: {}", s.id(), err.getMessage());
                    });
                }
            } catch (RuntimeException e) {
                proposed.remove(s.id());
                if (unusable.add(s.id())) LOG.error("session {} ({}): TTL timer failed, going on with the others", s.id(), s.name(), e);
            }
        }
        deadlines.keySet().retainAll(live);
        unusable.retainAll(live);
    }
}

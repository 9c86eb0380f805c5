package io.failoverkit.failover.watch;

import io.failoverkit.failover.act.HistoryStore;
import io.failoverkit.failover.decide.MasterHistory;
import io.failoverkit.failover.decide.Regression;
import io.failoverkit.failover.topology.InstanceState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.Objects;

/**
 * Issue 9, hole 4: the manager's memory of the master's last healthy replication history (see
 * {@link Regression}). Updated on every healthy cycle, in memory at once and in the KV when the master, its process or
 * its stream changed, else at most every {@value #PERSIST_EVERY_MILLIS} ms (a stale offset there only weakens the
 * "below the recorded offset" test for a master that kept its stream; a new stream is caught at any offset). Loaded
 * from the KV once, so a restarted manager judges a master that restarted while it was away.
 */
final class HistoryKeeper {
    private static final Logger LOG = LoggerFactory.getLogger(HistoryKeeper.class);
    static final long PERSIST_EVERY_MILLIS = 5_000;
    static final long LOST_REMINDER_MILLIS = 60_000;

    private final HistoryStore store;
    private final String cluster;
    private boolean loaded;
    private MasterHistory current;
    private MasterHistory persisted;
    private long persistedAtMillis;
    private String lostReason;
    private long lostLoggedAtMillis;

    HistoryKeeper(HistoryStore store, String cluster) {
        this.store = store;
        this.cluster = cluster;
    }

    /** The recorded history for Decide, or null when none is known (the KV could not be read yet: tried again next cycle). */
    MasterHistory recorded() {
        if (!loaded) {
            try {
                HistoryStore.Stored s = store.read();
                current = persisted = s.history();
                lostReason = s.dataLost();
                loaded = true;
            } catch (IOException e) {
                LOG.warn("[{}] cannot read the master's recorded history ({}): judging without it this cycle", cluster, e.getMessage());
            }
        }
        return current;
    }

    /** Forget what this manager remembered: the next {@link #recorded()} reads the KV (on taking the lock). */
    void reload() {
        loaded = false;
        current = persisted = null;
        persistedAtMillis = 0;
        lostReason = null;
    }

    /** The master was judged healthy (its history did not regress): remember where it is now. */
    void healthy(InstanceState master) {
        MasterHistory h = Regression.historyOf(master);
        if (h == null || !loaded) return;
        current = h;
        lostReason = null;
        long now = System.currentTimeMillis();
        boolean moved = persisted == null || !Objects.equals(persisted.address(), h.address()) || !Objects.equals(persisted.runId(), h.runId())
                || !Objects.equals(persisted.replid(), h.replid());
        if (!moved && (persisted.offset() == h.offset() || now - persistedAtMillis < PERSIST_EVERY_MILLIS)) return;
        try {
            store.write(h, null);
            persisted = h;
            persistedAtMillis = now;
        } catch (IOException e) {
            LOG.warn("[{}] cannot store the master's history: {}", cluster, e.getMessage());
        }
    }

    /**
     * No member holds the data set any more: say so loudly (and in the KV, for `failover status`), keep the record so
     * the master stays unfollowed, until an operator clears the loss (`failover ack` deletes the record).
     */
    void dataLost(String reason) {
        long now = System.currentTimeMillis();
        if (lostReason != null) {
            try {
                if (store.read().dataLost() == null) {
                    LOG.warn("[{}] the data-set loss was acknowledged: following the master as it is now", cluster);
                    current = persisted = null;
                    lostReason = null;
                    return;
                }
            } catch (IOException e) {
                LOG.debug("[{}] cannot re-read the history: {}", cluster, e.getMessage());
            }
        }
        if (lostReason == null || now - lostLoggedAtMillis >= LOST_REMINDER_MILLIS) {
            LOG.error("[{}] {}", cluster, reason);
            lostLoggedAtMillis = now;
        }
        if (lostReason != null) return;
        try {
            store.write(current, reason);
            lostReason = reason;
        } catch (IOException e) {
            LOG.warn("[{}] cannot record the data-set loss in the KV: {}", cluster, e.getMessage());
        }
    }
}

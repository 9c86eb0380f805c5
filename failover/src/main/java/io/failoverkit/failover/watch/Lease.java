package io.failoverkit.failover.watch;

import io.failoverkit.failover.cluster.Timings;
import io.failoverkit.failover.discovery.Discovery;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The cluster's lock held through a discovery session: who may act. {@link #valid} is true only until
 * {@code validity} after the start of the last successful renewal (see {@link Timings} for why that is safe);
 * {@link #renewedDuring} keeps renewing while a long action runs, so a drain or a hook never outlives it.
 */
final class Lease implements AutoCloseable, io.failoverkit.failover.act.LockHold {
    private static final Logger LOG = LoggerFactory.getLogger(Lease.class);

    private final Discovery discovery;
    private final String lockKey;
    private final String sessionName;
    private final String holder;
    private final Timings timings;
    private String session;
    /** How many times this lease took the lock: a new term each time (another holder may have led in between). */
    private long acquisitions;
    private volatile long validUntilNanos;

    Lease(Discovery discovery, String lockKey, String sessionName, String holder, Timings timings) {
        this.discovery = discovery;
        this.lockKey = lockKey;
        this.sessionName = sessionName;
        this.holder = holder;
        this.timings = timings;
    }

    @Override
    public boolean valid() {
        return validUntilNanos != 0 && System.nanoTime() - validUntilNanos < 0;
    }

    @Override
    public synchronized String session() { return session; }

    /** How many times {@link #hold} took the lock (rather than kept it). */
    synchronized long acquisitions() { return acquisitions; }

    /**
     * Renews the session (creating one first if needed) and keeps or takes the lock with it. Returns true when this
     * lease holds the lock; an unreachable discovery node leaves the validity as it was (it runs out by itself).
     */
    synchronized boolean hold() throws IOException {
        if (session == null) {
            session = discovery.createSession(sessionName, timings.sessionTtl(), timings.lockDelay());
            validUntilNanos = 0;
        }
        long start = System.nanoTime();
        if (!discovery.renewSession(session)) {
            LOG.warn("{}: session lost: stopping acting", sessionName);
            session = null;
            validUntilNanos = 0;
            return false;
        }
        Optional<Discovery.KvEntry> lock = discovery.get(lockKey);
        boolean mine = lock.isPresent() && session.equals(lock.get().session());
        if (!mine && (lock.isEmpty() || lock.get().session() == null || lock.get().session().isEmpty())) {
            mine = discovery.acquire(lockKey, session, holder);
            if (mine) acquisitions++;
        }
        validUntilNanos = mine ? validFrom(start) : 0;
        return mine;
    }

    private long validFrom(long renewalStart) {
        long v = renewalStart + timings.validity().toNanos();
        return v == 0 ? 1 : v;
    }

    /** One renewal of the session alone (the lock goes with it), for the renewer. */
    private synchronized void renewOnce() {
        if (session == null) return;
        long start = System.nanoTime();
        try {
            if (discovery.renewSession(session)) {
                if (validUntilNanos != 0) validUntilNanos = validFrom(start);
            } else {
                LOG.warn("{}: session lost during an action: stopping acting", sessionName);
                session = null;
                validUntilNanos = 0;
            }
        } catch (IOException | RuntimeException e) {
            if (e.getMessage() != null && e.getMessage().contains("HTTP 403")) {
                LOG.warn("{}: renewal refused (permission denied: the manager's token lacks session write): {}", sessionName, e.getMessage());
            } else {
                LOG.debug("{}: renewal failed: {}", sessionName, e.getMessage());
            }
        }
    }

    /** Runs {@code work} while a renewer renews the session every {@code renewEvery}. */
    <T> T renewedDuring(Supplier<T> work) {
        Thread renewer = Thread.ofVirtual().name("lease-renewer").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(timings.renewEvery());
                } catch (InterruptedException e) {
                    return;
                }
                renewOnce();
            }
        });
        try {
            return work.get();
        } finally {
            renewer.interrupt();
            try {
                renewer.join(timings.stepLimit().toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Stops acting, releases the lock and destroys the session. */
    @Override
    public synchronized void close() {
        validUntilNanos = 0;
        if (session == null) return;
        try {
            discovery.release(lockKey, session);
            discovery.destroySession(session);
        } catch (IOException | RuntimeException e) {
            LOG.debug("resign: {}", e.getMessage());
        }
        session = null;
    }
}

package io.failoverkit.failover.watch;

import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.decide.Action;
import io.failoverkit.failover.decide.Decide;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Topology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The HA loop of `failover watch`: holds the cluster's lock through a discovery session, and while it holds it,
 * observes → decides → acts, once per detection interval. A manager that cannot renew its session stops acting
 * before the session's TTL can lapse; only the lock holder ever changes a server.
 */
public final class Manager {
    private static final Logger LOG = LoggerFactory.getLogger(Manager.class);
    static final Duration SESSION_TTL = Duration.ofSeconds(10);
    /** How long a replica may take to apply what it already received before the candidates are compared. */
    static final Duration DRAIN_MAX = Duration.ofSeconds(10);

    private final ClusterDefinition cluster;
    private final DiscoveryClient discovery;
    private final Servers servers;
    private final Catalog catalog;
    private final EpochStore epochs;
    private final String identity;
    private final Consumer<FailoverRun.Outcome> onFailover;
    private final HistoryKeeper history; // issue 9, hole 4
    private String session;
    private long validUntilNanos;
    private int masterFailures;
    private String lastLogged;

    public Manager(ClusterDefinition cluster, DiscoveryClient discovery, Servers servers, String identity, Consumer<FailoverRun.Outcome> onFailover) {
        this.cluster = cluster;
        this.discovery = discovery;
        this.servers = servers;
        this.catalog = new Catalog(discovery, cluster.service());
        this.epochs = new EpochStore(discovery, cluster.name());
        this.identity = identity;
        this.onFailover = onFailover;
        this.history = new HistoryKeeper(new io.failoverkit.failover.act.HistoryStore(discovery, cluster.name()), cluster.name());
    }

    /** True while this manager holds the lock and its session is certainly still valid (renewed within the TTL, with margin). */
    public boolean isLeader() {
        return session != null && System.nanoTime() < validUntilNanos;
    }

    /** Runs cycles until {@code deadline} (System.nanoTime) or interruption. */
    public void run(long deadlineNanos) throws InterruptedException {
        try {
            while (System.nanoTime() < deadlineNanos && !Thread.currentThread().isInterrupted()) {
                long start = System.nanoTime();
                cycle();
                long sleep = cluster.detection().intervalMs() - (System.nanoTime() - start) / 1_000_000;
                if (sleep > 0) servers.awaitNextCycle(Duration.ofMillis(sleep)); // issue 9, hole 4: early when the master restarted
            }
        } finally {
            resign();
        }
    }

    /** One cycle: keep or take the lock; if held, observe, decide and act. */
    public void cycle() {
        if (!holdLock()) return;
        Topology topology = servers.observeAll(cluster.members());
        try {
            if (Promote.serveRequest(cluster, discovery, servers, topology, this::isLeader)) {
                masterFailures = 0;
                return;
            }
        } catch (IOException e) {
            log("cannot serve a promote request: " + e.getMessage());
        }
        EpochStore.Read stored;
        try {
            stored = epochs.read();
        } catch (IOException e) {
            log("cannot read the epoch, not acting: " + e.getMessage());
            return;
        }
        String master = stored.state().master() != null ? stored.state().master()
                : topology.masters().size() == 1 ? topology.masters().get(0).address() : null;
        Optional<InstanceState> m = master == null ? Optional.empty() : topology.get(master);
        masterFailures = m.isPresent() && !m.get().reachable() ? masterFailures + 1 : 0;
        Action action = Decide.decide(cluster, topology, stored.state(), masterFailures, System.currentTimeMillis(), history.recorded());
        switch (action) {
            case Action.Healthy h -> {
                if (stored.state().epoch() == 0) recordFirstEpoch(stored, h.master());
                ensureCatalog(h.master(), topology);
                history.healthy(topology.get(h.master()).orElseThrow()); // issue 9, hole 4
                String guarded = servers.guard(topology, h.master());
                if (guarded != null) LOG.info("[{}] write fencing: {}", cluster.name(), guarded);
            }
            case Action.Wait w -> log(w.reason());
            case Action.Refuse r -> log("NOT failing over: " + r.reason());
            case Action.Demote d -> demote(d);
            // Issue 9, hole 4: a master that came back with a regressed history is fenced at once, then failed over.
            case Action.FenceRegressed r -> {
                if (!isLeader()) return;
                FailoverRun.Outcome outcome = RegressionResponse.fenceThenFailOver(r, cluster, servers, catalog, epochs, this::isLeader,
                        () -> Decide.decide(cluster, servers.observeAll(cluster.members()), stored.state(), 0, System.currentTimeMillis(), history.recorded()));
                masterFailures = 0;
                onFailover.accept(outcome);
            }
            case Action.DataLost l -> history.dataLost(l.reason());
            case Action.Failover first -> {
                // Compare the candidates on what they will hold: a MySQL replica first applies its relay log.
                Action again = Decide.decide(cluster, servers.drainAll(topology, DRAIN_MAX), stored.state(), masterFailures, System.currentTimeMillis());
                if (!(again instanceof Action.Failover f)) {
                    log("NOT failing over once the replicas applied what they received: " + again.reason());
                    return;
                }
                Timeline t = new Timeline(cluster.name());
                t.add("detected", "master " + f.oldMaster() + " unreachable " + masterFailures + " times in a row, confirmed by the replicas");
                FailoverRun.Outcome outcome = new FailoverRun(cluster, servers, catalog, epochs, this::isLeader).run(f, t, false);
                masterFailures = 0;
                onFailover.accept(outcome);
            }
        }
    }

    private void demote(Action.Demote d) {
        if (!isLeader()) return;
        LOG.warn("[{}] {}: demoting {} to a replica of {}", cluster.name(), d.reason(), d.instance(), d.master());
        try {
            servers.fence(d.instance(), d.master());
        } catch (RuntimeException e) {
            LOG.error("[{}] could not demote {}: {}", cluster.name(), d.instance(), e.getMessage());
        }
    }

    /** The first time a manager sees the cluster healthy, epoch 1 names its master: later failovers need to know whose death they confirm. */
    private void recordFirstEpoch(EpochStore.Read stored, String master) {
        try {
            if (epochs.bump(stored, new io.failoverkit.failover.decide.StoredState(1, master, 0, true), List.of(), "first observation of a healthy master")) {
                LOG.info("[{}] epoch 1 names {} master", cluster.name(), master);
            }
        } catch (IOException e) {
            log("cannot record the first epoch: " + e.getMessage());
        }
    }

    /** A healthy master: the catalog names it master (after a manager restart, or on first start). */
    private void ensureCatalog(String master, Topology topology) {
        try {
            List<String> listed = catalog.masters();
            if (listed.size() == 1 && listed.get(0).equals(master)) return;
            List<String> replicas = cluster.members().stream().filter(a -> !a.equals(master)).toList();
            catalog.register(master, replicas);
            LOG.info("[{}] catalog now names {} master (was {})", cluster.name(), master, listed);
        } catch (IOException e) {
            log("cannot update the catalog: " + e.getMessage());
        }
    }

    private boolean holdLock() {
        try {
            if (session == null) {
                // Lock delay = the validity this manager gives itself after a renewal (TTL/2): if the session is
                // invalidated behind its back, nobody else takes the lock before it has certainly stopped acting.
                session = discovery.createSession("failover-manager " + cluster.name() + " " + identity, SESSION_TTL, SESSION_TTL.dividedBy(2));
                validUntilNanos = 0;
            }
            long renewedAt = System.nanoTime();
            if (!discovery.renewSession(session)) {
                LOG.warn("[{}] session lost: stopping acting", cluster.name());
                session = null;
                validUntilNanos = 0;
                return false;
            }
            Optional<DiscoveryClient.KvEntry> lock = discovery.get(epochs.lockKey());
            boolean mine = lock.isPresent() && session.equals(lock.get().session());
            if (!mine && (lock.isEmpty() || lock.get().session() == null)) mine = discovery.acquire(epochs.lockKey(), session, identity);
            if (!mine) {
                validUntilNanos = 0;
                return false;
            }
            // Act only within TTL/2 of the last successful renewal: the server cannot have invalidated it before TTL.
            validUntilNanos = renewedAt + SESSION_TTL.toNanos() / 2;
            return true;
        } catch (IOException e) {
            log("discovery unreachable, not acting: " + e.getMessage());
            return isLeader();
        }
    }

    private void resign() {
        if (session == null) return;
        try {
            discovery.release(epochs.lockKey(), session);
            discovery.destroySession(session);
        } catch (IOException e) {
            LOG.debug("resign: {}", e.getMessage());
        }
        session = null;
    }

    private void log(String message) {
        if (!message.equals(lastLogged)) LOG.info("[{}] {}", cluster.name(), message);
        lastLogged = message;
    }
}

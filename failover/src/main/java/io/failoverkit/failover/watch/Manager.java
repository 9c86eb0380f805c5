package io.failoverkit.failover.watch;

import io.failoverkit.failover.act.Attempts;
import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.cluster.Timings;
import io.failoverkit.failover.decide.Action;
import io.failoverkit.failover.decide.Decide;
import io.failoverkit.failover.decide.StoredState;
import io.failoverkit.failover.decide.Trigger;
import io.failoverkit.failover.discovery.Discovery;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.SemiSync;
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
 * before the session's TTL can lapse; only the lock holder ever changes a server. {@link #cycle} returns the sentence
 * it logs (as Patroni's HA cycle does), so each branch is specified by a test; neither a cycle nor the loop ends on an
 * exception.
 */
public final class Manager {
    private static final Logger LOG = LoggerFactory.getLogger(Manager.class);

    private final ClusterDefinition cluster;
    private final Discovery discovery;
    private final Servers servers;
    private final Catalog catalog;
    private final EpochStore epochs;
    private final Attempts attempts;
    private final Timings timings;
    private final Lease lease;
    /** The lease's acquisitions when this manager last acted: taking the lock again reloads the recorded history. */
    private long termSeen;
    private final Consumer<FailoverRun.Outcome> onFailover;
    private final HistoryKeeper history; // issue 9, hole 4
    private final StatusPublisher status; // issue 15: what this cycle observed, for the web UI and `failover status --json`
    private Topology observed;
    /** This cycle's observation was cut short by an interrupt: what it holds is not evidence, so it is not published. */
    private boolean observationInterrupted;
    private StoredState epochSeen;
    private boolean acted;
    /** This cycle's decision was a failover (which may not have started: see {@link #publishStatus}). */
    private boolean failoverDecided;
    private int masterFailures;
    private String lastLogged;
    private volatile boolean stopping;

    public Manager(ClusterDefinition cluster, Discovery discovery, Servers servers, String identity, Consumer<FailoverRun.Outcome> onFailover) {
        this(cluster, discovery, servers, identity, onFailover, Timings.of(cluster));
    }

    public Manager(ClusterDefinition cluster, Discovery discovery, Servers servers, String identity, Consumer<FailoverRun.Outcome> onFailover,
                   Timings timings) {
        this.cluster = cluster;
        this.discovery = discovery;
        this.servers = servers;
        this.catalog = new Catalog(discovery, cluster.service());
        this.epochs = new EpochStore(discovery, cluster.name());
        this.attempts = new Attempts(discovery, cluster.name());
        this.timings = timings;
        this.lease = new Lease(discovery, epochs.lockKey(), "failover-manager " + cluster.name() + " " + identity, identity, timings);
        this.onFailover = onFailover;
        this.history = new HistoryKeeper(new io.failoverkit.failover.act.HistoryStore(discovery, cluster.name()), cluster.name());
        this.status = new StatusPublisher(discovery, cluster, identity, epochs.lockKey(), System::currentTimeMillis);
    }

    /** True while this manager holds the lock and its session is certainly still valid (see {@link Timings}). */
    public boolean isLeader() {
        return lease.valid();
    }

    /**
     * Asks {@link #run} to return after the cycle it is in (and its sleep), releasing the lock: the orderly way to end a
     * manager whose servers are closed afterwards. Interrupting the thread also ends it, but an interrupt can land in a
     * call that swallows it, and it makes the lock's release fail (the session then lingers until its TTL).
     */
    public void stop() {
        stopping = true;
    }

    /** Runs cycles until {@code deadline} (System.nanoTime), {@link #stop} or interruption; a cycle that fails is logged and the loop goes on. */
    public void run(long deadlineNanos) throws InterruptedException {
        try {
            while (!stopping && System.nanoTime() < deadlineNanos && !Thread.currentThread().isInterrupted()) {
                long start = System.nanoTime();
                try {
                    cycle();
                } catch (RuntimeException | Error e) {
                    if (e instanceof VirtualMachineError) throw e;
                    LOG.error("[{}] cycle failed, going on: {}", cluster.name(), e.toString(), e);
                }
                long sleep = cluster.detection().intervalMs() - (System.nanoTime() - start) / 1_000_000;
                if (sleep > 0 && !stopping) servers.awaitNextCycle(Duration.ofMillis(sleep)); // issue 9, hole 4: early when the master restarted
            }
        } finally {
            lease.close();
        }
    }

    /** One cycle: keep or take the lock; if held, observe, decide and act. Returns what it did, as logged; never throws. */
    public String cycle() {
        observed = null;
        observationInterrupted = false;
        epochSeen = null;
        acted = false;
        failoverDecided = false;
        String message;
        try {
            message = cycleOnce();
        } catch (RuntimeException e) {
            LOG.error("[{}] cycle failed, going on: {}", cluster.name(), e.toString(), e);
            message = log("cycle failed, going on: " + e);
        }
        publishStatus(message);
        return message;
    }

    /**
     * Issue 15: the lock holder publishes what it observed (see {@link StatusPublisher}); after an action it observes
     * again, so the published topology is the one the action left, not the one it started from.
     */
    private void publishStatus(String message) {
        if (!isLeader() || observationInterrupted) return;
        try {
            Topology t = observed;
            StoredState e = epochSeen;
            if (acted) {
                e = epochs.read().state();
                // A failover decision that wrote no epoch (backoff, no candidate left) changed no server: the cycle's
                // observation stands (a frozen member would otherwise cost a second observation every such cycle).
                boolean unchanged = failoverDecided && epochSeen != null && epochSeen.equals(e);
                if (!unchanged) t = servers.observeAll(cluster.members());
            }
            status.publish(t, e, lease.session(), message);
        } catch (IOException | RuntimeException e) {
            LOG.warn("[{}] cannot publish the manager's status: {}", cluster.name(), e.toString());
        }
    }

    /** The publisher of this manager's status document (for tests). */
    StatusPublisher statusPublisher() {
        return status;
    }

    private String cycleOnce() {
        try {
            if (!lease.hold()) {
                return log("not the lock holder: " + epochs.lockKey() + " is held by another session; not acting");
            }
        } catch (IOException e) {
            // A 403 is not an outage: the manager's token lacks a permission (see `failover acl-policy`). Said as such,
            // every cycle, while the lease that is still valid lets it go on; the lock lapses if it persists.
            boolean refused = e.getMessage() != null && e.getMessage().contains("HTTP 403");
            if (refused) LOG.warn("{}: the discovery node refused the lock (permission denied: check the manager's token and its policy, `failover acl-policy --cluster {}`): {}",
                    cluster.name(), cluster.name(), e.getMessage());
            if (!isLeader()) return log((refused ? "permission denied by the discovery node, not acting: " : "discovery unreachable, not acting: ") + e.getMessage());
        }
        if (lease.acquisitions() != termSeen) {
            // Taking the lock (again): another manager may have led meanwhile and recorded the master's history; judge by
            // the KV's record, not by what this one remembered from its last term (review 5, finding 1).
            if (termSeen != 0) history.reload();
            termSeen = lease.acquisitions();
        }
        Topology topology = servers.observeAll(cluster.members());
        observed = topology;
        if (Thread.currentThread().isInterrupted()) {
            // Members not observed before the interrupt read as unreachable: no evidence to act on (review 5, finding 6),
            // and nothing to publish either (they are not known to be down): the last complete cycle's status stays.
            observed = null;
            observationInterrupted = true;
            return log("interrupted while observing, not acting");
        }
        Optional<Promote.Result> served;
        try {
            served = Promote.serveRequest(cluster, discovery, servers, topology, lease, timings);
        } catch (RuntimeException e) {
            served = Optional.empty();
            log("cannot serve a promote request: " + e);
        }
        if (served.isPresent()) {
            acted = true;
            masterFailures = 0;
            return log("promote request served: " + (served.get().success() ? "" : "FAILED: ") + served.get().message());
        }
        EpochStore.Read stored;
        try {
            stored = epochs.read();
        } catch (IOException e) {
            return log("cannot read the epoch, not acting: " + e.getMessage());
        }
        epochSeen = stored.state();
        String master = stored.state().master() != null ? stored.state().master()
                : topology.masters().size() == 1 ? topology.masters().get(0).address() : null;
        Optional<InstanceState> m = master == null ? Optional.empty() : topology.get(master);
        // A death and "no writable master" (a read-only or fenced master, nobody else writable) are confirmed alike.
        boolean noWritableMaster = master != null && !(m.isPresent() && m.get().servesWrites())
                && topology.masters().stream().allMatch(x -> x.address().equals(master));
        masterFailures = noWritableMaster ? masterFailures + 1 : 0;
        Action action = Decide.decide(cluster, topology, stored.state(), new Trigger.Detected(masterFailures), System.currentTimeMillis(),
                history.recorded());
        // Acted: the servers may have changed, so the status is published from a fresh observation. A failover that
        // did not start (backoff, no candidate) is told apart after the fact by the epoch (publishStatus); DataLost
        // only records.
        acted = !(action instanceof Action.Healthy || action instanceof Action.Wait || action instanceof Action.Refuse
                || action instanceof Action.DataLost);
        failoverDecided = action instanceof Action.Failover;
        return switch (action) {
            case Action.Healthy h -> healthy(h, stored, topology);
            case Action.Wait w -> log(w.reason());
            case Action.Refuse r -> log("NOT failing over: " + r.reason());
            case Action.Demote d -> demote(d);
            case Action.Reopen r -> reopen(r, stored);
            case Action.Failover first -> failover(first, stored, topology);
            case Action.FenceRegressed r -> fenceRegressed(r, stored); // issue 9, hole 4
            case Action.DataLost l -> {
                history.dataLost(l.reason());
                yield l.reason();
            }
        };
    }

    private String healthy(Action.Healthy h, EpochStore.Read stored, Topology topology) {
        if (stored.state().epoch() == 0) recordFirstEpoch(stored, h.master());
        try {
            List<String> changes = catalog.sync(h.master(), topology);
            if (!changes.isEmpty()) LOG.info("[{}] catalog: {}", cluster.name(), String.join("; ", changes));
        } catch (IOException e) {
            return log("master " + h.master() + " is up, but the catalog cannot be updated: " + e.getMessage());
        }
        SemiSyncRecorder.record(discovery, cluster, servers, topology, h.master());
        history.healthy(topology.get(h.master()).orElseThrow()); // issue 9, hole 4
        String guarded = servers.guard(topology, h.master());
        if (guarded != null) LOG.info("[{}] write fencing: {}", cluster.name(), guarded);
        lastLogged = null;
        return h.reason();
    }

    private String failover(Action.Failover first, EpochStore.Read stored, Topology topology) {
        try {
            Optional<Attempts.Attempt> last = attempts.last();
            // An operator's failed switchover does not hold back the failover of a master that dies afterwards.
            if (last.isPresent() && last.get().automatic() && last.get().unsuccessful()) {
                Attempts.Attempt a = last.get();
                Duration backoff = timings.backoffAfter(a.failuresSoFar());
                long ageMillis = Math.max(0, System.currentTimeMillis() - a.endedAtMillis());
                if (ageMillis < backoff.toMillis()) {
                    return log("NOT failing over yet: attempt " + a.id() + " (" + a.oldMaster() + " -> " + a.candidate() + ") "
                            + (Attempts.Attempt.RUNNING.equals(a.state()) ? "never finished (its manager stopped)" : "failed: " + a.message())
                            + "; " + a.failuresSoFar() + " failed attempt(s) in a row, next one in " + (backoff.toMillis() - ageMillis + 999) / 1000
                            + " s (hooks are not re-run before then; `failover promote` tries at once)");
                }
            }
        } catch (IOException e) {
            return log("cannot read the last failover attempt, not acting: " + e.getMessage());
        }
        SemiSync semiSync;
        try {
            semiSync = SemiSyncRecorder.read(discovery, cluster.name()).orElse(null);
        } catch (IOException | RuntimeException e) {
            // Fail closed: without the record, an acknowledger that cannot be reached would not be required.
            return log("NOT failing over: cannot read the semi-sync record (" + e.getMessage() + "); who may hold acknowledged"
                    + " commits is unknown, trying again next cycle");
        }
        FailoverRun.Outcome outcome = lease.renewedDuring(() -> {
            // Compare the candidates on what they will hold: a MySQL replica first applies its relay log.
            Action again = Decide.decide(cluster, servers.drainAll(topology, timings.drainLimit()), stored.state(),
                    semiSync, new Trigger.Detected(masterFailures), System.currentTimeMillis(), history.recorded());
            if (!(again instanceof Action.Failover f)) return null;
            Timeline t = new Timeline(cluster.name());
            t.add("detected", first.reason());
            return new FailoverRun(cluster, servers, catalog, epochs, attempts, timings, lease).run(f, t, false);
        });
        masterFailures = 0;
        if (outcome == null) return log("NOT failing over once the replicas applied what they received: no candidate left");
        onFailover.accept(outcome);
        return log((outcome.success() ? "" : "FAILED: ") + outcome.message());
    }

    /** Issue 9, hole 4: the regressed master is fenced at once, then the holder is failed over to through the usual run. */
    private String fenceRegressed(Action.FenceRegressed r, EpochStore.Read stored) {
        if (!isLeader()) return log("lost the lock before fencing " + r.instance());
        FailoverRun.Outcome outcome = lease.renewedDuring(() -> RegressionResponse.fenceThenFailOver(r, cluster, servers, this::isLeader,
                () -> Decide.decide(cluster, servers.observeAll(cluster.members()), stored.state(), new Trigger.Detected(0),
                        System.currentTimeMillis(), history.recorded()),
                (f, t) -> new FailoverRun(cluster, servers, catalog, epochs, attempts, timings, lease).run(f, t, false)));
        masterFailures = 0;
        onFailover.accept(outcome);
        return log((outcome.success() ? "" : "FAILED: ") + outcome.message());
    }

    private String demote(Action.Demote d) {
        if (!isLeader()) return log("lost the lock before demoting " + d.instance());
        LOG.warn("[{}] {}: demoting {} to a replica of {}", cluster.name(), d.reason(), d.instance(), d.master());
        try {
            servers.fence(d.instance());
            if (!isLeader()) return log("fenced " + d.instance() + " but lost the lock before demoting it; the next holder demotes it");
            servers.demote(d.instance(), d.master(), false);
        } catch (RuntimeException e) {
            return log("could not demote " + d.instance() + ": " + e.getMessage());
        }
        return log(d.reason() + ": fenced and demoted " + d.instance());
    }

    /** No writable master, but the epoch's master holds every write: it takes writes again, on the timeline and in the audit. */
    private String reopen(Action.Reopen r, EpochStore.Read stored) {
        Timeline t = new Timeline(cluster.name());
        t.add("decided", r.reason());
        long epoch = stored.state().epoch() + 1;
        FailoverRun.Outcome outcome;
        java.util.concurrent.atomic.AtomicBoolean epochWritten = new java.util.concurrent.atomic.AtomicBoolean();
        if (!isLeader()) {
            outcome = new FailoverRun.Outcome(false, "lost the lock before re-opening " + r.master(), t, epoch);
        } else {
            outcome = lease.renewedDuring(() -> {
                try {
                    StoredState s = stored.state();
                    StoredState next = new StoredState(epoch, r.master(), s.lastFailoverMillis(), s.acknowledged());
                    EpochStore.Bump bump = epochs.bump(stored, next, t.asRecords(), r.reason(), lease.session());
                    if (!bump.written()) return fail(t, bump.why() + "; not re-opening", epoch);
                    epochWritten.set(true);
                    t.add("epoch", "epoch " + epoch + " names " + r.master() + " again");
                    if (!isLeader()) return fail(t, "lost the lock before re-opening " + r.master(), epoch);
                    servers.resumeWrites(r.master());
                    t.add("writes resumed", r.master() + " takes writes again");
                    catalog.registerMaster(r.master());
                    t.add("dns moved", "master." + cluster.service() + " answers " + r.master());
                    return new FailoverRun.Outcome(true, "re-opened " + r.master() + " (epoch " + epoch + ")", t, epoch);
                } catch (IOException | RuntimeException e) {
                    return fail(t, "re-opening " + r.master() + " failed: " + e.getMessage(), epoch);
                }
            });
        }
        masterFailures = 0;
        if (epochWritten.get()) {
            try {
                epochs.completeAudit(epoch, outcome.timeline().asRecords(), outcome.success(), outcome.message());
            } catch (IOException | RuntimeException e) {
                LOG.warn("[{}] could not complete the audit record of epoch {}: {}", cluster.name(), epoch, e.getMessage());
            }
        }
        onFailover.accept(outcome);
        return log((outcome.success() ? "" : "FAILED: ") + outcome.message());
    }

    private static FailoverRun.Outcome fail(Timeline t, String message, long epoch) {
        t.add("FAILED", message);
        return new FailoverRun.Outcome(false, message, t, epoch);
    }

    /** The first time a manager sees the cluster healthy, epoch 1 names its master: later failovers need to know whose death they confirm. */
    private void recordFirstEpoch(EpochStore.Read stored, String master) {
        try {
            StoredState first = new StoredState(1, master, 0, true);
            if (epochs.bump(stored, first, List.of(), "first observation of a healthy master", lease.session()).written()) {
                LOG.info("[{}] epoch 1 names {} master", cluster.name(), master);
                epochSeen = first;
            }
        } catch (IOException e) {
            log("cannot record the first epoch: " + e.getMessage());
        }
    }

    /** Logs a message unless it repeats the last one; returns it. */
    private String log(String message) {
        if (!message.equals(lastLogged)) LOG.info("[{}] {}", cluster.name(), message);
        lastLogged = message;
        return message;
    }
}

package io.failoverkit.failover.act;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.cluster.Timings;
import io.failoverkit.failover.decide.Action;
import io.failoverkit.failover.decide.StoredState;
import io.failoverkit.failover.decide.Trigger;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Position;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one path every promotion takes: an automatic failover, an operator's switchover of a live master, and a forced
 * promotion. Steps, each on the timeline with its time:
 * <ol>
 * <li>the attempt is registered (so a failed one blocks automatic retries, see {@link Attempts});</li>
 * <li>before hook: the catalog stops naming a master, then the user scripts;</li>
 * <li>switchover only: the master stops writes and the candidate catches up with it (else everything is undone);</li>
 * <li>a reachable old master is fenced (takes no more writes; keeps replicating to the candidate);</li>
 * <li>the candidate applies what it received; the epoch names it; it is promoted;</li>
 * <li>the fenced old master is demoted (after the promotion: no replication loop at any moment); the others follow;</li>
 * <li>after hook: the catalog names the new master and follows the replicas; then the user scripts.</li>
 * </ol>
 * Before every step that changes a server or the epoch the lock is checked. A failed step before the epoch moved rolls
 * back what the run did (writes resume on a master it stopped, the catalog names the old master again; the epoch is
 * unchanged); a failed promotion after it writes a new epoch naming the old master again. Whatever happens, the
 * outcome is returned and the attempt recorded; nothing here throws.
 */
public final class FailoverRun {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FailoverRun.class);
    public record Outcome(boolean success, String message, Timeline timeline, long epoch) {}

    private final ClusterDefinition cluster;
    private final Servers servers;
    private final Catalog catalog;
    private final EpochStore epochs;
    private final Attempts attempts;
    private final Timings timings;
    private final LockHold lock;

    public FailoverRun(ClusterDefinition cluster, Servers servers, Catalog catalog, EpochStore epochs, Attempts attempts, Timings timings,
                       LockHold lock) {
        this.cluster = cluster;
        this.servers = servers;
        this.catalog = catalog;
        this.epochs = epochs;
        this.attempts = attempts;
        this.timings = timings;
        this.lock = lock;
    }

    /** A failover (the master dead, read-only, or an operator forcing one). {@code force}: go on past a failing before hook. */
    public Outcome run(Action.Failover f, Timeline timeline, boolean force) {
        return execute(new Steps(f.oldMaster(), f.candidate(), f.others(), f.reason(), f.trigger(), null, force), timeline);
    }

    /** A switchover of a live master: the failover's steps plus stop writes and catch up. */
    public Outcome switchover(Switchover.Plan p, Timeline timeline, Trigger trigger) {
        return execute(new Steps(p.master(), p.candidate(), p.others(), p.describe(), trigger, p, false), timeline);
    }

    private record Steps(String oldMaster, String candidate, List<String> others, String reason, Trigger trigger, Switchover.Plan switchover,
                         boolean force) {
        String kind() { return switchover != null ? "switchover" : "failover"; }

        /** The reason with who asked, said once (Decide's reasons already name the trigger). */
        String why() { return reason.contains(trigger.describe()) ? reason : trigger.describe() + ": " + reason; }
    }

    /** What the run changed so far, for the rollback. */
    private static final class Progress {
        EpochStore.Read before;
        boolean catalogChanged;
        boolean writesStopped;
        boolean fenced;
        boolean epochMoved;
    }

    private Outcome execute(Steps s, Timeline timeline) {
        Progress p = new Progress();
        Attempts.Attempt attempt = null;
        Outcome outcome;
        try {
            timeline.add("decided", s.kind() + ", " + s.why());
            try {
                p.before = epochs.read();
            } catch (IOException e) {
                return fail(timeline, "could not read the epoch: " + e.getMessage() + "; nothing changed", 0);
            }
            long epoch = p.before.state().epoch() + 1;
            if (!lock.valid()) return fail(timeline, "lost the manager lock before acting; nothing changed", epoch);
            try {
                attempt = attempts.begin(p.before.state().epoch(), s.oldMaster(), s.candidate(), s.trigger().describe(),
                        s.trigger() instanceof Trigger.Detected);
            } catch (IOException e) {
                return fail(timeline, "could not register the attempt: " + e.getMessage() + "; nothing changed", epoch);
            }
            timeline.add("attempt", "attempt " + attempt.id() + " on epoch " + p.before.state().epoch()
                    + (attempt.failures() > 0 ? " (" + attempt.failures() + " earlier attempts on it failed)" : ""));
            outcome = steps(s, timeline, p, epoch, env(s, epoch));
        } catch (RuntimeException e) {
            // A step threw where it should have returned a failure: undo what can be undone, never end the caller.
            outcome = rollback(s, timeline, p, "unexpected error: " + e);
        }
        if (attempt != null) {
            try {
                attempts.finish(attempt, outcome.success(), outcome.message(), timeline.asRecords());
            } catch (IOException | RuntimeException e) {
                timeline.add("attempt not recorded", "could not record how attempt " + attempt.id() + " ended: " + e.getMessage());
            }
        }
        if (p.epochMoved) completeAudit(p.before.state().epoch() + 1, outcome);
        return outcome;
    }

    /**
     * The audit records of the epochs this run wrote (its own, and the one a rollback wrote) were written mid-run, at
     * the epoch step: they get the whole timeline and the outcome, so the KV says how every failover ended.
     */
    private void completeAudit(long firstEpoch, Outcome outcome) {
        for (long e = firstEpoch; e <= Math.max(firstEpoch, outcome.epoch()); e++) {
            try {
                epochs.completeAudit(e, outcome.timeline().asRecords(), outcome.success(), outcome.message());
            } catch (IOException | RuntimeException ex) {
                LOG.warn("[{}] could not complete the audit record of epoch {}: {}", cluster.name(), e, ex.getMessage());
            }
        }
    }

    private Map<String, String> env(Steps s, long epoch) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("FAILOVER_CLUSTER", cluster.name());
        env.put("FAILOVER_KIND", s.kind());
        env.put("FAILOVER_TRIGGER", s.trigger() instanceof Trigger.Requested ? "operator" : "automatic");
        env.put("FAILOVER_OLD_MASTER", s.oldMaster());
        env.put("FAILOVER_NEW_MASTER", s.candidate());
        env.put("FAILOVER_EPOCH", Long.toString(epoch));
        env.put("FAILOVER_REASON", s.why());
        return env;
    }

    private Outcome steps(Steps s, Timeline timeline, Progress p, long epoch, Map<String, String> env) {
        String beforeError;
        try {
            p.catalogChanged = true;
            catalog.deregisterMaster();
            beforeError = Hooks.run(cluster.hooks().before(), env, timings.hookTimeout().toMillis());
        } catch (IOException e) {
            beforeError = "deregistering the master from the catalog failed: " + e.getMessage();
        }
        if (beforeError != null) {
            if (!s.force()) return rollback(s, timeline, p, "before hook failed, " + s.kind() + " aborted: " + beforeError);
            timeline.add("before hook failed (forced on)", beforeError);
        } else {
            timeline.add("master deregistered", "before hook done: master." + cluster.service() + " no longer answers " + s.oldMaster());
        }

        if (s.switchover() != null) {
            Outcome stopped = stopWritesAndCatchUp(s, timeline, p);
            if (stopped != null) return stopped;
        }

        InstanceState old = servers.observe(s.oldMaster());
        if (old.reachable()) {
            if (!lock.valid()) return rollback(s, timeline, p, "lost the manager lock before fencing");
            try {
                servers.fence(s.oldMaster());
                p.fenced = true;
            } catch (RuntimeException e) {
                return rollback(s, timeline, p, "could not fence reachable old master " + s.oldMaster() + ": " + e.getMessage()
                        + "; not promoting (two masters would take writes)");
            }
            timeline.add("fenced", s.oldMaster() + " takes no writes, its clients disconnected; it stays as it is until "
                    + s.candidate() + " is promoted");
        } else {
            timeline.add("fence deferred", s.oldMaster() + " unreachable (" + old.error() + "); it is fenced when it returns (epoch "
                    + epoch + " names the new master)");
        }

        if (s.switchover() == null) {
            // Whatever the candidate received from the old master is applied before it takes writes (a MySQL relay log).
            InstanceState drained = servers.drain(s.candidate(), timings.drainLimit());
            if (!drained.reachable()) {
                return rollback(s, timeline, p, "candidate " + s.candidate() + " became unreachable: " + drained.error() + "; not promoting");
            }
            if (drained.position().blocker() != null) {
                // The servers found, while draining, why this data set must not be promoted (e.g. it could not apply
                // what it received in time): refuse rather than promote a candidate that lacks acknowledged writes.
                if (!s.force()) {
                    return rollback(s, timeline, p, "candidate " + s.candidate() + " must not be promoted: " + drained.position().blocker()
                            + "; not promoting (failover promote --force to override)");
                }
                timeline.add("NOT caught up (forced on)", s.candidate() + ": " + drained.position().blocker());
            } else {
                timeline.add("caught up", s.candidate() + " applied what it received: " + drained.position().text());
            }
        }

        if (!lock.valid()) return rollback(s, timeline, p, "lost the manager lock before writing the epoch");
        boolean automatic = s.trigger() instanceof Trigger.Detected;
        boolean blocks = s.switchover() == null && automatic;
        StoredState next = new StoredState(epoch, s.candidate(), s.switchover() == null ? System.currentTimeMillis() : 0, !blocks);
        try {
            EpochStore.Bump bump = epochs.bump(p.before, next, timeline.asRecords(), s.why(), lock.session());
            if (!bump.written()) return rollback(s, timeline, p, bump.why() + "; not promoting");
        } catch (IOException e) {
            return rollback(s, timeline, p, "could not write epoch " + epoch + ": " + e.getMessage() + "; not promoting");
        }
        p.epochMoved = true;
        timeline.add("epoch", "epoch " + epoch + " names " + s.candidate());

        if (!lock.valid()) return rollback(s, timeline, p, "lost the manager lock before promoting " + s.candidate());
        try {
            servers.promote(s.candidate(), s.force()); // forced, the kind's own refusal (unapplied relay log) is overridden too
        } catch (RuntimeException e) {
            // The call may have failed after it took effect (the reply lost, a timeout after REPLICAOF NO ONE or
            // read_only=0): rolling back then would make the old master writable beside a promoted candidate.
            InstanceState c = servers.observe(s.candidate());
            if (!c.reachable()) {
                return fail(timeline, "promoting " + s.candidate() + " failed (" + e.getMessage() + ") and it cannot be observed ("
                        + c.error() + "): whether it took writes is unknown, so nothing is rolled back; the epoch names it, "
                        + s.oldMaster() + " stays fenced and the next cycle repairs from what it sees", epoch);
            }
            if (c.role() != InstanceState.Role.MASTER) return rollback(s, timeline, p, "promoting " + s.candidate() + " failed: " + e.getMessage());
            timeline.add("promote call failed, but it took effect", s.candidate() + " is a master (" + e.getMessage() + "); going on");
        }
        timeline.add("promoted", s.candidate() + " is master");

        List<String> problems = new ArrayList<>();
        if (p.fenced) {
            boolean covered = s.switchover() != null;
            try {
                servers.demote(s.oldMaster(), s.candidate(), covered);
                timeline.add("demoted", s.oldMaster() + (covered || "redis".equals(cluster.kind()) ? " replicates from " + s.candidate()
                        : " stays fenced (read-only) for failover rejoin: it may hold transactions " + s.candidate() + " lacks"));
            } catch (RuntimeException e) {
                problems.add("old master " + s.oldMaster() + " stays fenced, not demoted: " + e.getMessage());
            }
        }
        List<String> failedRepoints = repointAll(servers, s.others(), s.candidate());
        timeline.add("replicas re-pointed", s.others() + (failedRepoints.isEmpty() ? "" : ", failed: " + failedRepoints));
        if (!failedRepoints.isEmpty()) problems.add("some replicas could not be re-pointed: " + failedRepoints);

        String afterError;
        try {
            catalog.registerMaster(s.candidate());
            List<String> changes = catalog.sync(s.candidate(), servers.observeAll(cluster.members()));
            if (!changes.isEmpty()) timeline.add("catalog", String.join("; ", changes));
            afterError = Hooks.run(cluster.hooks().after(), env, timings.hookTimeout().toMillis());
        } catch (IOException e) {
            afterError = "registering the new master in the catalog failed: " + e.getMessage();
        }
        if (afterError != null) return fail(timeline, "after hook failed: the new master runs but clients may not find it: " + afterError, epoch);
        timeline.add("dns moved", "master." + cluster.service() + " answers " + s.candidate());
        if (!problems.isEmpty()) return fail(timeline, s.kind() + " to " + s.candidate() + " done, but " + String.join("; ", problems), epoch);
        return new Outcome(true, s.kind() + " to " + s.candidate() + " done (epoch " + epoch + ")", timeline, epoch);
    }

    /** Switchover: stop writes on the live master and wait until the candidate holds all of them; null when it does. */
    private Outcome stopWritesAndCatchUp(Steps s, Timeline timeline, Progress p) {
        if (!lock.valid()) return rollback(s, timeline, p, "lost the manager lock before stopping writes");
        try {
            servers.stopWrites(s.oldMaster(), timings.switchoverPause());
            p.writesStopped = true;
        } catch (RuntimeException e) {
            p.writesStopped = true; // it may have taken effect before the error: resume to be sure
            return rollback(s, timeline, p, "could not stop writes on " + s.oldMaster() + ": " + e.getMessage());
        }
        timeline.add("writes stopped", s.oldMaster() + " acknowledges no write for at most " + timings.switchoverPause().toMillis() + " ms");
        InstanceState master = servers.observe(s.oldMaster());
        if (!master.reachable()) return rollback(s, timeline, p, s.oldMaster() + " became unreachable after writes stopped: " + master.error());
        Position target = master.position();
        long deadline = System.nanoTime() + timings.catchUpWait().toNanos();
        Position caughtUp = null;
        while (caughtUp == null && System.nanoTime() < deadline) {
            InstanceState c = servers.drain(s.candidate(), java.time.Duration.ofMillis(200));
            if (c.reachable() && c.position().blocker() == null && c.position().covers(target)) { // a blocker: received, not applied
                caughtUp = c.position();
            } else {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        if (caughtUp == null) {
            return rollback(s, timeline, p, s.candidate() + " did not reach " + target.text() + " within " + timings.catchUpWait().toMillis() + " ms");
        }
        timeline.add("caught up", s.candidate() + " at " + caughtUp.text() + ", covering the master's " + target.text());
        return null;
    }

    /**
     * Undoes what the run did, as far as it can, and ends it as failed. Before the epoch moved: writes resume on a
     * master whose writes it stopped (a switchover; a failover's old master was dead or already read-only and stays
     * fenced: the next cycle re-opens it if it holds every write), and the catalog names the old master again. After
     * the epoch moved (the promotion failed): a new epoch names the old master again.
     */
    private Outcome rollback(Steps s, Timeline timeline, Progress p, String why) {
        long epoch = p.before == null ? 0 : p.before.state().epoch() + 1;
        List<String> undone = new ArrayList<>();
        List<String> notUndone = new ArrayList<>();
        if (p.epochMoved) {
            try {
                EpochStore.Read now = epochs.read();
                StoredState back = new StoredState(now.state().epoch() + 1, p.before.state().master(), p.before.state().lastFailoverMillis(),
                        p.before.state().acknowledged());
                if (lock.valid() && p.before.state().master() != null
                        && epochs.bump(now, back, timeline.asRecords(), "rolled back: " + why, lock.session()).written()) {
                    undone.add("epoch " + back.epoch() + " names " + back.master() + " again");
                    epoch = back.epoch();
                } else {
                    notUndone.add("the epoch still names " + s.candidate() + " (could not write it back)");
                }
            } catch (IOException | RuntimeException e) {
                notUndone.add("the epoch still names " + s.candidate() + ": " + e.getMessage());
            }
        }
        boolean epochBack = !p.epochMoved || !undone.isEmpty();
        if (p.writesStopped && epochBack) {
            try {
                servers.resumeWrites(s.oldMaster());
                undone.add("writes resumed on " + s.oldMaster());
            } catch (RuntimeException e) {
                notUndone.add("writes still stopped on " + s.oldMaster() + " (" + e.getMessage() + "): the next cycle re-opens it");
            }
        }
        if (p.catalogChanged && epochBack) {
            try {
                catalog.registerMaster(s.oldMaster());
                undone.add("the catalog names " + s.oldMaster() + " again");
            } catch (IOException | RuntimeException e) {
                notUndone.add("the catalog names no master (" + e.getMessage() + ")");
            }
        }
        String message = why + (undone.isEmpty() ? "" : "; rolled back: " + String.join(", ", undone))
                + (notUndone.isEmpty() ? "" : "; NOT rolled back: " + String.join(", ", notUndone));
        if (!p.epochMoved && !p.fenced && !p.writesStopped) message += "; nothing changed on the servers";
        return fail(timeline, message, epoch);
    }

    /** Re-points each of {@code others} to {@code master}; returns the ones that failed, with why (one failure does not stop the rest). */
    static List<String> repointAll(Servers servers, List<String> others, String master) {
        List<String> failed = new ArrayList<>();
        for (String other : others) {
            try {
                servers.repoint(other, master);
            } catch (RuntimeException e) {
                failed.add(other + " (" + e.getMessage() + ")");
            }
        }
        return failed;
    }

    /** Ends a run as failed: the message goes on the timeline as its last step. */
    static Outcome fail(Timeline timeline, String message, long epoch) {
        timeline.add("FAILED", message);
        return new Outcome(false, message, timeline, epoch);
    }
}

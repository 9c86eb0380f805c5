package io.failoverkit.failover.watch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.act.Attempts;
import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.LockHold;
import io.failoverkit.failover.act.Switchover;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.cluster.Timings;
import io.failoverkit.failover.decide.Action;
import io.failoverkit.failover.decide.Decide;
import io.failoverkit.failover.decide.Trigger;
import io.failoverkit.failover.discovery.Discovery;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Topology;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * `failover promote`: a switchover when the master is alive, a failover when it is dead. Only the holder of the
 * cluster's lock acts: when no manager holds it, this command takes it for the duration; when a `failover watch`
 * manager holds it, the command files a request in the KV ({@code failover/<cluster>/promote-request}) and the
 * manager carries it out in its next cycle, with the same rules, and writes the result back. So an operator never
 * has to stop the manager, and two actors never change the servers at once.
 */
public final class Promote {
    public record Result(boolean success, String message, Timeline timeline) {}

    private static final ObjectMapper JSON = new ObjectMapper();
    static final Duration REQUEST_WAIT = Duration.ofSeconds(60);

    private Promote() {}

    public static String requestKey(String cluster) { return ClusterDefinition.kvPrefix(cluster) + "promote-request"; }

    static String resultKey(String cluster, String id) { return ClusterDefinition.kvPrefix(cluster) + "promote-result/" + id; }

    public static Result run(ClusterDefinition cluster, Discovery discovery, Servers servers, String to, boolean dryRun, boolean force) throws IOException {
        EpochStore epochs = new EpochStore(discovery, cluster.name());
        Timeline timeline = new Timeline(cluster.name());
        if (dryRun) {
            Topology t = servers.observeAll(cluster.members());
            return plan(cluster, discovery, servers, t, epochs, to, force, timeline, Timings.of(cluster))
                    .map(p -> new Result(true, "dry run, nothing changed. Plan: " + p.describe(), timeline))
                    .orElseGet(() -> new Result(false, timeline.steps().isEmpty() ? "no plan" : timeline.steps().getLast().detail(), timeline));
        }
        Optional<Discovery.KvEntry> lock = discovery.get(epochs.lockKey());
        if (lock.isPresent() && lock.get().session() != null && !lock.get().session().isEmpty()) {
            return viaManager(cluster, discovery, to, force, lock.get().text(), timeline);
        }
        Timings timings = Timings.of(cluster);
        try (Lease lease = new Lease(discovery, epochs.lockKey(), "failover promote " + cluster.name(), "failover promote", timings)) {
            if (!lease.hold()) {
                return new Result(false, "could not take " + epochs.lockKey() + " (a manager took it meanwhile); run the command again", timeline);
            }
            Topology t = servers.observeAll(cluster.members());
            return lease.renewedDuring(() -> {
                try {
                    return execute(cluster, discovery, servers, t, to, force, timeline, lease, timings);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** A plan for the current topology: a switchover if the master is alive, else a failover; empty (reason on the timeline) if none. */
    private static Optional<Plan> plan(ClusterDefinition cluster, Discovery discovery, Servers servers, Topology t, EpochStore epochs, String to, boolean force, Timeline timeline,
                                       Timings timings) throws IOException {
        if (to != null && !cluster.members().contains(to)) {
            timeline.add("refused", to + " is not a member of " + cluster.name() + " " + cluster.members());
            return Optional.empty();
        }
        if (t.masters().size() == 1) {
            try {
                return Optional.of(new Plan(Switchover.plan(cluster, t, to), null));
            } catch (IllegalStateException e) {
                timeline.add("refused", "no switchover possible: " + e.getMessage());
                return Optional.empty();
            }
        }
        // The master is dead: each replica applies what it received before they are compared (MySQL relay logs).
        t = servers.drainAll(t, timings.drainLimit());
        Action a = Decide.decide(cluster, t, epochs.read().state(), SemiSyncRecorder.read(discovery, cluster.name()).orElse(null),
                new Trigger.Requested("failover promote"), System.currentTimeMillis());
        if (a instanceof Action.Failover f) {
            if (to != null && !to.equals(f.candidate()) && !force) {
                timeline.add("refused", "the most advanced replica is " + f.candidate() + ", not " + to + "; use --force to promote " + to + " anyway");
                return Optional.empty();
            }
            return Optional.of(new Plan(null, to == null ? f : new Action.Failover(f.oldMaster(), to,
                    othersThan(t, to), f.reason() + "; operator chose " + to, f.trigger())));
        }
        // Decide refuses (e.g. the best replica is never-promote, or the block period): an operator may override with --force --to.
        if (force && to != null && a instanceof Action.Refuse r) {
            Optional<InstanceState> target = t.get(to);
            String master = epochs.read().state().master();
            if (target.isPresent() && target.get().isReplica() && master != null && !t.get(master).map(InstanceState::reachable).orElse(false)) {
                return Optional.of(new Plan(null, new Action.Failover(master, to, othersThan(t, to), "forced by an operator over: " + r.reason(),
                        new Trigger.Requested("failover promote --force"))));
            }
        }
        timeline.add("refused", "no failover: " + a.reason());
        return Optional.empty();
    }

    private static List<String> othersThan(Topology t, String candidate) {
        return t.instances().stream().filter(InstanceState::isReplica).map(InstanceState::address).filter(a -> !a.equals(candidate)).toList();
    }

    private record Plan(Switchover.Plan switchover, Action.Failover failover) {
        String describe() { return switchover != null ? switchover.describe() : "failover: " + failover.reason(); }
    }

    /** Plans and carries out a promotion; the caller holds the lock ({@code lock} says for how long) and keeps it renewed. */
    static Result execute(ClusterDefinition cluster, Discovery discovery, Servers servers, Topology t, String to, boolean force,
                          Timeline timeline, LockHold lock, Timings timings) throws IOException {
        EpochStore epochs = new EpochStore(discovery, cluster.name());
        Catalog catalog = new Catalog(discovery, cluster.service());
        Optional<Plan> plan = plan(cluster, discovery, servers, t, epochs, to, force, timeline, timings);
        if (plan.isEmpty()) return new Result(false, timeline.steps().getLast().detail(), timeline);
        FailoverRun run = new FailoverRun(cluster, servers, catalog, epochs, new Attempts(discovery, cluster.name()), timings, lock);
        FailoverRun.Outcome o = plan.get().switchover() != null
                ? run.switchover(plan.get().switchover(), timeline, new Trigger.Requested("failover promote"))
                : run.run(plan.get().failover(), timeline, force);
        return new Result(o.success(), o.message(), timeline);
    }

    /** Files the request for the lock-holding manager and waits for its result. */
    private static Result viaManager(ClusterDefinition cluster, Discovery discovery, String to, boolean force, String holder, Timeline timeline) throws IOException {
        String id = UUID.randomUUID().toString();
        Map<String, Object> request = new LinkedHashMap<>();
        request.put("id", id);
        request.put("to", to);
        request.put("force", force);
        request.put("requestedAtMillis", System.currentTimeMillis());
        if (!discovery.cas(requestKey(cluster.name()), JSON.writeValueAsString(request), 0)) {
            return new Result(false, "another promote request is pending (" + requestKey(cluster.name()) + "); wait for it or delete the key", timeline);
        }
        timeline.add("requested", "manager " + holder + " holds the lock: promote request " + id + " filed for it");
        long deadline = System.nanoTime() + REQUEST_WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<Discovery.KvEntry> result = discovery.get(resultKey(cluster.name(), id));
            if (result.isPresent()) {
                JsonNode r = JSON.readTree(result.get().value());
                for (JsonNode step : r.path("timeline")) timeline.add(step.path("step").asText(), step.path("detail").asText());
                return new Result(r.path("success").asBoolean(), "done by manager " + holder + ": " + r.path("message").asText(), timeline);
            }
            try { Thread.sleep(100); } catch (InterruptedException e) { Thread.currentThread().interrupt(); break; }
        }
        // Withdraw it if the manager has not picked it up, so it does not run later by surprise.
        Optional<Discovery.KvEntry> pending = discovery.get(requestKey(cluster.name()));
        if (pending.isPresent() && pending.get().text().contains(id) && discovery.cas(requestKey(cluster.name()), "", pending.get().modifyIndex())) {
            discovery.delete(requestKey(cluster.name()));
            return new Result(false, "manager " + holder + " did not pick the request up within " + REQUEST_WAIT.toSeconds() + " s; request withdrawn, nothing changed", timeline);
        }
        return new Result(false, "manager " + holder + " took the request but wrote no result within " + REQUEST_WAIT.toSeconds()
                + " s; see `failover status` and the manager's log", timeline);
    }

    /**
     * Called by the lock-holding manager each cycle: carries out a pending operator request, writes its result (always,
     * a failure included), and removes the request. Returns the result when it handled one (the cycle ends there).
     */
    static Optional<Result> serveRequest(ClusterDefinition cluster, Discovery discovery, Servers servers, Topology t, Lease lease, Timings timings) {
        Optional<Discovery.KvEntry> pending;
        JsonNode req;
        try {
            pending = discovery.get(requestKey(cluster.name()));
            if (pending.isEmpty() || pending.get().text().isBlank()) return Optional.empty();
            try {
                req = JSON.readTree(pending.get().value());
            } catch (IOException e) {
                discovery.delete(requestKey(cluster.name()));
                return Optional.empty();
            }
            // Take it first (CAS), so a request withdrawn by a timed-out operator is never carried out.
            if (!discovery.cas(requestKey(cluster.name()), "", pending.get().modifyIndex())) return Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
        String id = req.path("id").asText();
        Timeline timeline = new Timeline(cluster.name());
        Result r;
        String to = req.hasNonNull("to") ? req.get("to").asText() : null;
        boolean force = req.path("force").asBoolean();
        try {
            r = lease.renewedDuring(() -> {
                try {
                    return execute(cluster, discovery, servers, t, to, force, timeline, lease, timings);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (RuntimeException e) {
            timeline.add("FAILED", "the manager could not carry the request out: " + e);
            r = new Result(false, "the manager could not carry the request out: " + e, timeline);
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("success", r.success());
        doc.put("message", r.message());
        doc.put("timeline", timeline.asRecords());
        for (int attempt = 0; attempt < 3; attempt++) {
            try {
                discovery.put(resultKey(cluster.name(), id), JSON.writeValueAsString(doc));
                discovery.delete(requestKey(cluster.name()));
                break;
            } catch (IOException | RuntimeException e) {
                timeline.add("result not written", "could not write the result of request " + id + ": " + e.getMessage());
            }
        }
        return Optional.of(r);
    }
}

package io.failoverkit.failover.watch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.Switchover;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.decide.Action;
import io.failoverkit.failover.decide.Decide;
import io.failoverkit.failover.discovery.DiscoveryClient;
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
import java.util.function.BooleanSupplier;

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

    public static String requestKey(String cluster) { return "failover/" + cluster + "/promote-request"; }

    static String resultKey(String cluster, String id) { return "failover/" + cluster + "/promote-result/" + id; }

    public static Result run(ClusterDefinition cluster, DiscoveryClient discovery, Servers servers, String to, boolean dryRun, boolean force) throws IOException {
        EpochStore epochs = new EpochStore(discovery, cluster.name());
        Timeline timeline = new Timeline(cluster.name());
        if (dryRun) {
            Topology t = servers.observeAll(cluster.members());
            return plan(cluster, discovery, servers, t, epochs, to, force, timeline)
                    .map(p -> new Result(true, "dry run, nothing changed. Plan: " + p.describe(), timeline))
                    .orElseGet(() -> new Result(false, timeline.steps().isEmpty() ? "no plan" : timeline.steps().getLast().detail(), timeline));
        }
        Optional<DiscoveryClient.KvEntry> lock = discovery.get(epochs.lockKey());
        if (lock.isPresent() && lock.get().session() != null && !lock.get().session().isEmpty()) {
            return viaManager(cluster, discovery, to, force, lock.get().text(), timeline);
        }
        String session = discovery.createSession("failover promote " + cluster.name(), Duration.ofSeconds(30), Duration.ofSeconds(15));
        try {
            if (!discovery.acquire(epochs.lockKey(), session, "failover promote")) {
                return new Result(false, "could not take " + epochs.lockKey() + " (a manager took it meanwhile); run the command again", timeline);
            }
            long validUntil = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            Topology t = servers.observeAll(cluster.members());
            return execute(cluster, discovery, servers, t, to, force, timeline, () -> System.nanoTime() < validUntil);
        } finally {
            try { discovery.release(epochs.lockKey(), session); } finally { discovery.destroySession(session); }
        }
    }

    /** A plan for the current topology: a switchover if the master is alive, else a failover; empty (reason on the timeline) if none. */
    private static Optional<Plan> plan(ClusterDefinition cluster, DiscoveryClient discovery, Servers servers, Topology t, EpochStore epochs, String to, boolean force, Timeline timeline) throws IOException {
        if (to != null && !cluster.members().contains(to)) {
            timeline.add("refused", to + " is not a member of " + cluster.name() + " " + cluster.members());
            return Optional.empty();
        }
        if (t.masters().size() == 1) {
            try {
                return Optional.of(new Plan(new Switchover(cluster, servers, null, null).plan(t, to), null));
            } catch (IllegalStateException e) {
                timeline.add("refused", "no switchover possible: " + e.getMessage());
                return Optional.empty();
            }
        }
        // The master is dead: each replica applies what it received before they are compared (MySQL relay logs).
        t = servers.drainAll(t, Duration.ofSeconds(10));
        Action a = Decide.decide(cluster, t, epochs.read().state(), SemiSyncRecorder.readOrNull(discovery, cluster.name()) /* issue 9 hole 2 */, Integer.MAX_VALUE, 0);
        if (a instanceof Action.Failover f) {
            if (to != null && !to.equals(f.candidate()) && !force) {
                timeline.add("refused", "the most advanced replica is " + f.candidate() + ", not " + to + "; use --force to promote " + to + " anyway");
                return Optional.empty();
            }
            return Optional.of(new Plan(null, to == null ? f : new Action.Failover(f.oldMaster(), to,
                    othersThan(t, to), f.reason() + "; operator chose " + to)));
        }
        // Decide refuses (e.g. the best replica is never-promote, or the block period): an operator may override with --force --to.
        if (force && to != null && a instanceof Action.Refuse r) {
            Optional<InstanceState> target = t.get(to);
            String master = epochs.read().state().master();
            if (target.isPresent() && target.get().isReplica() && master != null && !t.get(master).map(InstanceState::reachable).orElse(false)) {
                return Optional.of(new Plan(null, new Action.Failover(master, to, othersThan(t, to), "forced by an operator over: " + r.reason())));
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

    /** Plans and carries out a promotion; the caller holds the lock ({@code stillLeader} says for how long). */
    static Result execute(ClusterDefinition cluster, DiscoveryClient discovery, Servers servers, Topology t, String to, boolean force,
                          Timeline timeline, BooleanSupplier stillLeader) throws IOException {
        EpochStore epochs = new EpochStore(discovery, cluster.name());
        Catalog catalog = new Catalog(discovery, cluster.service());
        Optional<Plan> plan = plan(cluster, discovery, servers, t, epochs, to, force, timeline);
        if (plan.isEmpty()) return new Result(false, timeline.steps().getLast().detail(), timeline);
        FailoverRun.Outcome o = plan.get().switchover() != null
                ? new Switchover(cluster, servers, catalog, epochs).run(plan.get().switchover(), timeline)
                : new FailoverRun(cluster, servers, catalog, epochs, stillLeader).run(plan.get().failover(), timeline, force);
        return new Result(o.success(), o.message(), timeline);
    }

    /** Files the request for the lock-holding manager and waits for its result. */
    private static Result viaManager(ClusterDefinition cluster, DiscoveryClient discovery, String to, boolean force, String holder, Timeline timeline) throws IOException {
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
            Optional<DiscoveryClient.KvEntry> result = discovery.get(resultKey(cluster.name(), id));
            if (result.isPresent()) {
                JsonNode r = JSON.readTree(result.get().value());
                for (JsonNode step : r.path("timeline")) timeline.add(step.path("step").asText(), step.path("detail").asText());
                return new Result(r.path("success").asBoolean(), "done by manager " + holder + ": " + r.path("message").asText(), timeline);
            }
            try { Thread.sleep(100); } catch (InterruptedException e) { Thread.currentThread().interrupt(); break; }
        }
        // Withdraw it if the manager has not picked it up, so it does not run later by surprise.
        Optional<DiscoveryClient.KvEntry> pending = discovery.get(requestKey(cluster.name()));
        if (pending.isPresent() && pending.get().text().contains(id) && discovery.cas(requestKey(cluster.name()), "", pending.get().modifyIndex())) {
            discovery.delete(requestKey(cluster.name()));
            return new Result(false, "manager " + holder + " did not pick the request up within " + REQUEST_WAIT.toSeconds() + " s; request withdrawn, nothing changed", timeline);
        }
        return new Result(false, "manager " + holder + " took the request but wrote no result within " + REQUEST_WAIT.toSeconds()
                + " s; see `failover status` and the manager's log", timeline);
    }

    /**
     * Called by the lock-holding manager each cycle: carries out a pending operator request, writes its result, and
     * removes the request. Returns true when it handled one (the cycle ends there).
     */
    static boolean serveRequest(ClusterDefinition cluster, DiscoveryClient discovery, Servers servers, Topology t, BooleanSupplier stillLeader) throws IOException {
        Optional<DiscoveryClient.KvEntry> pending = discovery.get(requestKey(cluster.name()));
        if (pending.isEmpty() || pending.get().text().isBlank()) return false;
        JsonNode req;
        try {
            req = JSON.readTree(pending.get().value());
        } catch (IOException e) {
            discovery.delete(requestKey(cluster.name()));
            return false;
        }
        String id = req.path("id").asText();
        // Take it first (CAS), so a request withdrawn by a timed-out operator is never carried out.
        if (!discovery.cas(requestKey(cluster.name()), "", pending.get().modifyIndex())) return false;
        Timeline timeline = new Timeline(cluster.name());
        Result r = execute(cluster, discovery, servers, t, req.hasNonNull("to") ? req.get("to").asText() : null, req.path("force").asBoolean(), timeline, stillLeader);
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("success", r.success());
        doc.put("message", r.message());
        doc.put("timeline", timeline.asRecords());
        discovery.put(resultKey(cluster.name(), id), JSON.writeValueAsString(doc));
        discovery.delete(requestKey(cluster.name()));
        return true;
    }
}

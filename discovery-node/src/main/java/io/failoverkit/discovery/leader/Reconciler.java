package io.failoverkit.discovery.leader;

import io.failoverkit.discovery.cluster.Member;
import io.failoverkit.discovery.cluster.Membership;
import io.failoverkit.discovery.raft.RaftNode;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;

/**
 * The leader's copy of membership into the catalog, as Consul's leader does: each alive member is a catalog node
 * with a passing {@code serfHealth} check, a failed one keeps its node with {@code serfHealth} critical (which
 * invalidates its sessions and hides its services from DNS), a member that left is deregistered, and so is a node
 * whose member was reaped (a catalog node with a serfHealth check that the pool no longer knows). Like Consul it
 * handles only agents of its own datacenter (role "consul" or "node"): a stock serf agent in the pool is no
 * catalog node. A leaving member is left alone until it has left.
 */
public final class Reconciler {
    private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);

    private final StateStore store;
    private final RaftNode raft;
    private final Membership membership;
    private final String datacenter;
    private final java.util.Set<String> seen = new java.util.HashSet<>();

    private long term;

    public Reconciler(StateStore store, RaftNode raft, Membership membership, String datacenter) {
        this.store = store;
        this.raft = raft;
        this.membership = membership;
        this.datacenter = datacenter;
    }

    /**
     * How long a leader must have led, in a pool, before a catalog node the pool does not know is marked critical:
     * two of the agent's push-pull intervals (30 s), by which a new leader has had the whole member list twice.
     */
    static final long UNKNOWN_GRACE_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(
            Long.getLong("failoverkit.reconcile.unknown-grace-ms", 60_000));
    private long leaderSince = Long.MIN_VALUE;

    public synchronized void tick() {
        if (!raft.isLeader()) {
            leaderSince = Long.MIN_VALUE;
            return;
        }
        if (leaderSince == Long.MIN_VALUE) leaderSince = System.nanoTime();
        // Read after isLeader: if leadership moved in between, the term is the new one and our writes are refused.
        term = raft.currentTerm();
        java.util.Set<String> known = new java.util.HashSet<>();
        for (Member m : membership.members()) {
            known.add(m.name());
            if (!m.isAgent() || !m.datacenter().equals(datacenter)) continue;
            Model.Node node = store.node(m.name()).value();
            if (m.status() == Member.Status.LEFT) {
                if (node != null) propose(new Command.Deregister(m.name(), null, null, System.currentTimeMillis()), m.name(), "left");
                continue;
            }
            if (m.status() != Member.Status.ALIVE && m.status() != Member.Status.FAILED) continue;
            String want = m.status() == Member.Status.ALIVE ? Model.PASSING : Model.CRITICAL;
            // One node's checks, not a walk of the catalog's: this runs for every member every second.
            List<Model.Check> serf = store.nodeChecks(m.name()).value().stream().filter(k -> k.checkId().equals(Model.SERF_HEALTH)).toList();
            boolean nodeOk = node != null && m.addr().equals(node.address());
            boolean checkOk = !serf.isEmpty() && serf.get(0).status().equals(want);
            Model.Service consul = m.isServer() && m.status() == Member.Status.ALIVE ? consulService(m) : null;
            boolean serviceOk = consul == null || consulServiceRegistered(m.name(), consul);
            if (nodeOk && checkOk && serviceOk) continue;
            Model.Node n = new Model.Node(m.tags().getOrDefault("id", ""), m.name(), m.addr(), datacenter,
                    Map.of("lan", m.addr()), node == null ? Map.of() : node.meta(), 0, 0);
            Model.Check check = new Model.Check(m.name(), Model.SERF_HEALTH, "Serf Health Status", want, "",
                    want.equals(Model.PASSING) ? "Agent alive and reachable" : "Agent not live or unreachable", "", "", List.of(), "", 0, 0);
            propose(new Command.Register(n, serviceOk ? null : consul, List.of(check), nodeOk, System.currentTimeMillis()), m.name(),
                    want + (serviceOk ? "" : " (with its consul service)"));
        }
        // Reaped: the pool forgot a member this server saw, so its node goes (Consul's reconcileReaped). Only a member
        // seen here and since forgotten: a node merely not learned yet (a new leader still joining) keeps its sessions.
        seen.addAll(known);
        // Unknown: a node with a passing serfHealth that this leader never saw in the pool (it died while no server
        // ran, or before this leader started: with no gossip snapshot nobody remembers it). Once this leader has led
        // a pool for the grace, such a node is marked critical (not deregistered: it may come back), so a dead
        // holder's sessions, a failover lock among them, do not live on.
        boolean inAPool = membership.members().stream().anyMatch(m -> m.isAgent() && m.status() == Member.Status.ALIVE && !m.name().equals(membership.self().name()));
        boolean graceOver = System.nanoTime() - leaderSince >= UNKNOWN_GRACE_NANOS;
        for (Model.Check c : store.checks(k -> k.checkId().equals(Model.SERF_HEALTH)).value()) {
            if (known.contains(c.node())) continue;
            if (seen.contains(c.node())) {
                propose(new Command.Deregister(c.node(), null, null, System.currentTimeMillis()), c.node(), "reaped");
            } else if (inAPool && graceOver && c.status().equals(Model.PASSING)) {
                Model.Node node = store.node(c.node()).value();
                if (node == null) continue;
                Model.Check critical = new Model.Check(c.node(), Model.SERF_HEALTH, "Serf Health Status", Model.CRITICAL, "",
                        "Agent not in the gossip pool", "", "", List.of(), "", 0, 0);
                propose(new Command.Register(node, null, List.of(critical), true, System.currentTimeMillis()), c.node(), "critical (not in the pool)");
            }
        }
    }

    /**
     * The "consul" service Consul's leader registers for each alive server: ID and name "consul", the server RPC port,
     * weights 1/1. A failed server keeps it with its serfHealth critical (so DNS and ?passing drop it); a server that
     * left or was reaped loses it with its node.
     */
    static Model.Service consulService(Member m) {
        Map<String, String> meta = new java.util.TreeMap<>();
        meta.put("raft_version", "3");
        meta.put("serf_protocol_current", "2");
        meta.put("version", m.tags().getOrDefault("build", ""));
        return new Model.Service("consul", "consul", List.of(), "", meta, m.serverPort(), Model.Weights.DEFAULT, false, 0, 0);
    }

    private boolean consulServiceRegistered(String node, Model.Service want) {
        StateStore.NodeServices ns = store.nodeServices(node).value();
        Model.Service have = ns == null ? null : ns.services().get("consul");
        return have != null && have.port() == want.port() && have.service().equals("consul") && have.meta().equals(want.meta());
    }

    /**
     * Each write holds only in the term this leader read its gossip view in ({@link Command.InTerm}): a write that a
     * retry or redirect commits under a later leader is refused, so a deposed leader's stale "failed" never marks a
     * live node critical.
     */
    private void propose(Command c, String member, String what) {
        try {
            io.failoverkit.discovery.state.ApplyResult r = raft.propose(new Command.InTerm(term, c)).get();
            if (r.error() != null) {
                LOG.info("catalog: member {} not marked {}: {}", member, what, r.error());
                return;
            }
            LOG.info("catalog: member {} is {}", member, what);
        } catch (Exception e) {
            LOG.debug("catalog update for {} failed, will retry: {}", member, e.getMessage());
        }
    }
}

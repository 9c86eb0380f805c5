package io.failoverkit.discovery.leader;

import io.failoverkit.discovery.cluster.Member;
import io.failoverkit.discovery.cluster.Membership;
import io.failoverkit.discovery.raft.RaftNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The leader's upkeep of the Raft configuration from the gossip pool, as Consul's leader and its autopilot do:
 * <ul>
 * <li>a server of this datacenter that is alive in the pool and not in the configuration is added as a voter
 * (Consul's joinConsulServer), once it has been alive for {@link #ADD_AFTER_NANOS};</li>
 * <li>dead-server cleanup (Consul's CleanupDeadServers): a server that left the pool gracefully, or has been failed
 * or gone from the pool for longer than {@link #DEAD_AFTER_NANOS}, is removed, but only while the removal keeps a
 * quorum of healthy voters and touches at most (voters - 1) / 2 servers, as Consul's autopilot; otherwise it is left
 * in place and the leader says why.</li>
 * </ul>
 * One change per pass, each a compare-and-set on the configuration read in that pass, on a thread of its own (a
 * change waits for Raft). Every change and every refusal is logged with its reason.
 */
public final class Autopilot implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Autopilot.class);

    /** A failed (or reaped) server is dead after this long. Consul prunes failed servers; a bound spares a reboot. */
    static final long DEAD_AFTER_NANOS = TimeUnit.MILLISECONDS.toNanos(Long.getLong("failoverkit.autopilot.dead-server-after-ms", 300_000));
    static final boolean CLEANUP = Boolean.parseBoolean(System.getProperty("failoverkit.autopilot.cleanup-dead-servers", "true"));
    /** A new server is added once it has been alive this long: its Raft server is up by then. */
    static final long ADD_AFTER_NANOS = TimeUnit.MILLISECONDS.toNanos(Long.getLong("failoverkit.autopilot.add-after-ms", 3_000));

    private final RaftNode raft;
    private final Membership membership;
    private final String datacenter;
    private final String self;
    private final ScheduledExecutorService thread;
    private final Map<String, Long> notHealthySince = new HashMap<>();
    private final Map<String, Long> aliveSince = new HashMap<>();
    private final Map<String, String> lastRefusal = new HashMap<>();
    /** When an add last failed, per server: the next try waits {@link #RETRY_ADD_NANOS}. */
    private final Map<String, Long> addFailedAt = new HashMap<>();
    static final long RETRY_ADD_NANOS = TimeUnit.SECONDS.toNanos(15);

    Autopilot(RaftNode raft, Membership membership, String datacenter, String self) {
        this.raft = raft;
        this.membership = membership;
        this.datacenter = datacenter;
        this.self = self;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("autopilot").unstarted(r));
    }

    public static Autopilot start(RaftNode raft, Membership membership, String datacenter, String self) {
        Autopilot a = new Autopilot(raft, membership, datacenter, self);
        a.thread.scheduleWithFixedDelay(a::safeTick, 1000, 1000, TimeUnit.MILLISECONDS);
        return a;
    }

    private void safeTick() {
        try {
            tick(System.nanoTime());
        } catch (RuntimeException e) {
            LOG.warn("autopilot pass failed: {}", e.toString());
        }
    }

    /** The decision of one pass: what to change and why, or nothing. Pure, so that it can be tested without a cluster. */
    record Decision(String server, String address, boolean add, String reason) {}

    void tick(long now) {
        if (!raft.isLeader()) {
            notHealthySince.clear();
            aliveSince.clear();
            return;
        }
        RaftNode.Configuration conf = raft.configuration();
        Map<String, Member> servers = new HashMap<>();
        for (Member m : membership.members()) if (m.isServer() && m.datacenter().equals(datacenter)) servers.put(m.name(), m);
        Decision d = decide(conf, servers, now);
        if (d == null) return;
        try {
            if (d.add()) {
                LOG.info("autopilot: adding server {} ({}) to the Raft configuration: {}", d.server(), d.address(), d.reason());
                try {
                    raft.addVoter(conf, new RaftNode.Peer(d.server(), d.address()));
                } catch (Exception e) {
                    addFailedAt.put(d.server(), System.nanoTime());
                    throw e;
                }
                addFailedAt.remove(d.server());
                LOG.info("autopilot: server {} is a voter", d.server());
            } else {
                LOG.warn("autopilot: removing server {} ({}) from the Raft configuration: {}", d.server(), d.address(), d.reason());
                raft.removeVoter(conf, d.server());
                LOG.warn("autopilot: server {} removed from the Raft configuration", d.server());
                notHealthySince.remove(d.server());
            }
        } catch (Exception e) {
            LOG.info("autopilot: {} of {} did not go through, will retry: {}", d.add() ? "adding" : "removal", d.server(), e.getMessage());
        }
    }

    Decision decide(RaftNode.Configuration conf, Map<String, Member> servers, long now) {
        // Who is alive now, and since when; who is not healthy, and since when.
        for (Member m : servers.values()) {
            if (m.status() == Member.Status.ALIVE) aliveSince.putIfAbsent(m.name(), now);
            else aliveSince.remove(m.name());
        }
        aliveSince.keySet().retainAll(servers.keySet());
        for (RaftNode.ServerInfo s : conf.servers()) {
            Member m = servers.get(s.name());
            boolean healthy = s.name().equals(self) || (m != null && m.status() == Member.Status.ALIVE);
            if (healthy) notHealthySince.remove(s.name());
            else notHealthySince.putIfAbsent(s.name(), now);
        }
        notHealthySince.keySet().removeIf(n -> conf.byName(n).isEmpty());

        for (Member m : servers.values().stream().sorted(java.util.Comparator.comparing(Member::name)).toList()) {
            if (m.status() != Member.Status.ALIVE || conf.byName(m.name()).isPresent()) continue;
            String address = m.addr() + ":" + m.serverPort();
            if (conf.byAddress(address).isPresent()) continue; // a server of another name at that address: its removal comes first
            Long since = aliveSince.get(m.name());
            if (since == null || now - since < ADD_AFTER_NANOS) continue;
            Long failed = addFailedAt.get(m.name());
            if (failed != null && System.nanoTime() - failed < RETRY_ADD_NANOS) continue;
            return new Decision(m.name(), address, true, "alive in the pool and not in the Raft configuration");
        }
        if (!CLEANUP) return null;

        List<RaftNode.ServerInfo> voters = conf.servers().stream().filter(RaftNode.ServerInfo::voter).toList();
        long healthy = voters.stream().filter(v -> !notHealthySince.containsKey(v.name())).count();
        List<RaftNode.ServerInfo> dead = new java.util.ArrayList<>();
        Map<String, String> reasons = new HashMap<>();
        for (RaftNode.ServerInfo v : voters) {
            if (v.name().equals(self)) continue;
            Member m = servers.get(v.name());
            String reason = deadReason(m, notHealthySince.get(v.name()), now);
            if (reason != null) {
                dead.add(v);
                reasons.put(v.name(), reason);
            }
        }
        if (dead.isEmpty()) return null;
        int n = voters.size();
        RaftNode.ServerInfo victim = dead.get(0);
        String reason = reasons.get(victim.name());
        // The change commits only with a majority of the old configuration and of the new one (Raft's joint consensus).
        long quorumAfter = Math.max(n / 2 + 1, (n - 1) / 2 + 1);
        String refusal = null;
        if (dead.size() > (n - 1) / 2) {
            refusal = dead.size() + " of " + n + " voters are dead; removing more than (voters - 1) / 2 = " + (n - 1) / 2 + " is not done automatically";
        } else if (healthy < quorumAfter) {
            refusal = "only " + healthy + " of " + n + " voters are healthy, under the " + quorumAfter + " the change needs: it would lose the quorum";
        }
        if (refusal != null) {
            if (!refusal.equals(lastRefusal.put(victim.name(), refusal))) {
                LOG.warn("autopilot: not removing server {} ({}): {}", victim.name(), reason, refusal);
            }
            return null;
        }
        lastRefusal.remove(victim.name());
        return new Decision(victim.name(), victim.address(), false, reason + " (voters " + n + " -> " + (n - 1) + ", healthy " + healthy + ")");
    }

    private static String deadReason(Member m, Long notHealthySince, long now) {
        if (m != null && m.status() == Member.Status.LEFT) return "it left the pool";
        if (notHealthySince == null) return null;
        if (m != null && m.status() != Member.Status.FAILED) return null; // alive or leaving: not dead
        long after = now - notHealthySince;
        if (after < DEAD_AFTER_NANOS) return null;
        return (m == null ? "gone from the pool" : "failed") + " for " + TimeUnit.NANOSECONDS.toSeconds(after) + " s (bound "
                + TimeUnit.NANOSECONDS.toSeconds(DEAD_AFTER_NANOS) + " s)";
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}

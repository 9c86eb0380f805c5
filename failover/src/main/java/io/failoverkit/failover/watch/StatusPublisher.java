package io.failoverkit.failover.watch;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.decide.StoredState;
import io.failoverkit.failover.discovery.Discovery;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Topology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * What the lock-holding manager observed in its last cycle, published as one KV document per cluster
 * ({@code failover/<cluster>/status}): each instance's role, reachability, position and lag, read-only and the
 * kind-specific detail (MySQL's semi-sync state), the epoch it acted on, its own identity, lock and last cycle's
 * sentence, and a heartbeat. The web UI and {@code failover status --json} read it (with the epoch and audit keys
 * beside it), so both show the manager's view, wherever the manager runs.
 *
 * <p>Bounded: one key per cluster; it is written when a fact other than positions changed (a role, reachability,
 * the master, the epoch, the cycle's sentence), otherwise at most once per {@link #HEARTBEAT_MILLIS} so readers can
 * tell a live manager from a silent one; so at most one write per cycle, and one per 5 s on a steady cluster.
 * Never throws: a failed write is logged and retried next cycle. Written in one transaction with a check that this
 * manager's session still holds the lock, so only the holder's view is ever published.
 */
public final class StatusPublisher {
    private static final Logger LOG = LoggerFactory.getLogger(StatusPublisher.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A steady cluster's status is rewritten (its heartbeat) this often; readers call a manager silent after 3 of these. */
    public static final long HEARTBEAT_MILLIS = 5_000;

    private final Discovery discovery;
    private final ClusterDefinition cluster;
    private final String identity;
    private final String lockKey;
    private final LongSupplier clock;
    private Map<String, Object> lastFacts;
    private long lastWriteMillis;
    private int writes;

    public StatusPublisher(Discovery discovery, ClusterDefinition cluster, String identity, String lockKey, LongSupplier clock) {
        this.discovery = discovery;
        this.cluster = cluster;
        this.identity = identity;
        this.lockKey = lockKey;
        this.clock = clock;
    }

    public static String key(String cluster) { return "failover/" + cluster + "/status"; }

    /** How many times this publisher wrote the key (for tests of its rate). */
    public synchronized int writes() { return writes; }

    /**
     * Publishes one cycle's view: {@code topology} as observed (null when the cycle observed nothing), {@code epoch}
     * as read (null when unread), {@code message} the sentence the cycle logged. Returns whether it wrote.
     */
    public synchronized boolean publish(Topology topology, StoredState epoch, String session, String message) {
        Map<String, Object> facts = facts(topology, epoch, session, message, false);
        long now = clock.getAsLong();
        boolean changed = !facts.equals(lastFacts);
        if (!changed && now - lastWriteMillis < HEARTBEAT_MILLIS) return false;
        Map<String, Object> doc = facts(topology, epoch, session, message, true);
        doc.put("heartbeatMillis", now);
        doc.put("heartbeatEveryMillis", HEARTBEAT_MILLIS);
        if (session == null) return false; // not the lock holder: the holder's document stands
        try {
            // Only while this session holds the lock (as the epoch's write): a manager that stalled after its check and
            // lost the lock meanwhile must not overwrite the new holder's document with its old view.
            Discovery.TxnResult r = discovery.txn(java.util.List.of(
                    Discovery.TxnOp.checkSession(lockKey, session),
                    Discovery.TxnOp.set(key(cluster.name()), JSON.writeValueAsBytes(doc))));
            if (!r.applied()) {
                LOG.debug("[{}] status not published: session {} no longer holds {}", cluster.name(), session, lockKey);
                return false;
            }
        } catch (Exception e) {
            LOG.warn("[{}] cannot publish the manager's status: {}", cluster.name(), e.getMessage());
            return false;
        }
        lastFacts = facts;
        lastWriteMillis = now;
        writes++;
        return true;
    }

    /** The document; without positions (offsets, lag, GTID detail) when {@code positions} is false: what "changed" compares. */
    private Map<String, Object> facts(Topology topology, StoredState epoch, String session, String message, boolean positions) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("cluster", cluster.name());
        doc.put("kind", cluster.kind());
        doc.put("service", cluster.service());
        Map<String, Object> manager = new LinkedHashMap<>();
        manager.put("identity", identity);
        manager.put("lockKey", lockKey);
        manager.put("session", session);
        manager.put("holdsLock", session != null);
        manager.put("intervalMillis", cluster.detection().intervalMs());
        manager.put("lastCycle", message);
        doc.put("manager", manager);
        if (epoch != null) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("epoch", epoch.epoch());
            e.put("master", epoch.master());
            e.put("lastFailoverMillis", epoch.lastFailoverMillis());
            e.put("acknowledged", epoch.acknowledged());
            doc.put("epoch", e);
        }
        if (topology != null) {
            List<String> writable = topology.masters().stream().map(InstanceState::address).toList();
            doc.put("writableMasters", writable);
            doc.put("splitBrain", writable.size() > 1);
            long masterOffset = topology.masters().stream().mapToLong(InstanceState::offset).max().orElse(-1);
            List<Map<String, Object>> instances = new ArrayList<>();
            for (InstanceState i : topology.instances()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("address", i.address());
                m.put("reachable", i.reachable());
                if (!i.reachable()) {
                    m.put("error", i.error());
                    instances.add(m);
                    continue;
                }
                m.put("role", i.role().name().toLowerCase());
                m.put("writable", i.writable());
                m.put("readOnly", !i.writable());
                m.put("writableByAdmins", i.writableByAdmins());
                if (i.isReplica()) {
                    m.put("masterAddress", i.masterAddress());
                    m.put("masterLinkUp", i.masterLinkUp());
                    m.put("synced", i.synced());
                }
                m.put("connectedReplicas", i.connectedReplicas());
                if (positions) {
                    m.put("position", i.position().text());
                    m.put("offset", i.offset());
                    if (i.isReplica() && masterOffset >= 0 && i.offset() >= 0) m.put("lag", Math.max(0, masterOffset - i.offset()));
                    m.put("detail", i.detail());
                }
                instances.add(m);
            }
            doc.put("instances", instances);
        }
        return doc;
    }
}

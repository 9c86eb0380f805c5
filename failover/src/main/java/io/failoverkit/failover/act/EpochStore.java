package io.failoverkit.failover.act;

import io.failoverkit.failover.cluster.ClusterDefinition;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.decide.StoredState;
import io.failoverkit.failover.discovery.Discovery;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The cluster's epoch in the discovery KV ({@code failover/<cluster>/epoch}), written with CAS so two writers can never
 * both bump it, and one audit record per epoch ({@code failover/<cluster>/audit/<epoch>}).
 */
public final class EpochStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Discovery discovery;
    private final String cluster;

    public EpochStore(Discovery discovery, String cluster) {
        this.discovery = discovery;
        this.cluster = cluster;
    }

    public String epochKey() { return ClusterDefinition.kvPrefix(cluster) + "epoch"; }
    public String lockKey() { return ClusterDefinition.kvPrefix(cluster) + "leader"; }

    public record Read(StoredState state, long modifyIndex) {}

    public Read read() throws IOException {
        Optional<Discovery.KvEntry> e = discovery.get(epochKey());
        if (e.isEmpty()) return new Read(StoredState.NONE, 0);
        JsonNode n = JSON.readTree(e.get().value());
        return new Read(new StoredState(n.path("epoch").asLong(), n.path("master").asText(null), n.path("lastFailoverMillis").asLong(),
                n.path("acknowledged").asBoolean(true)), e.get().modifyIndex());
    }

    /**
     * An operator acknowledges the last automatic failover: the anti-flapping block is lifted, so the next confirmed
     * master death fails over again at once. The epoch document keeps its timeline; the audit gets a record.
     * Returns false when there is nothing to acknowledge.
     */
    public boolean acknowledge(String by) throws IOException {
        for (int attempt = 0; attempt < 5; attempt++) {
            Optional<Discovery.KvEntry> e = discovery.get(epochKey());
            if (e.isEmpty()) return false;
            com.fasterxml.jackson.databind.node.ObjectNode doc = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(e.get().value());
            if (doc.path("acknowledged").asBoolean(true)) return false;
            doc.put("acknowledged", true);
            doc.put("acknowledgedBy", by);
            doc.put("acknowledgedAtMillis", System.currentTimeMillis());
            if (discovery.cas(epochKey(), JSON.writeValueAsString(doc), e.get().modifyIndex())) {
                discovery.put(ClusterDefinition.kvPrefix(cluster) + "audit/" + doc.path("epoch").asLong() + "-ack", JSON.writeValueAsString(Map.of(
                        "epoch", doc.path("epoch").asLong(), "acknowledgedBy", by, "atMillis", doc.path("acknowledgedAtMillis").asLong())));
                return true;
            }
        }
        throw new IOException("the epoch kept changing while acknowledging; try again");
    }

    /** Writes the next epoch if nobody else did since {@code previous} was read; false when someone did. */
    public boolean bump(Read previous, StoredState next, Object timeline, String reason) throws IOException {
        Map<String, Object> doc = document(next, timeline, reason);
        boolean ok = discovery.cas(epochKey(), JSON.writeValueAsString(doc), previous.modifyIndex());
        if (ok) discovery.put(ClusterDefinition.kvPrefix(cluster) + "audit/" + next.epoch(), JSON.writeValueAsString(doc));
        return ok;
    }

    /** Whether {@link #bump(Read, StoredState, Object, String, String)} wrote the epoch, and if not, why. */
    public record Bump(boolean written, String why) {}

    /**
     * Writes the next epoch only while this manager holds the lock: one transaction checks that {@code session} still
     * holds {@code failover/<cluster>/leader}, sets the epoch if its modify index is still the one {@code previous}
     * was read at, and writes the audit record, all or nothing. A manager whose session was invalidated (its lock
     * released, maybe taken by another) cannot write an epoch, however fresh its read.
     */
    public Bump bump(Read previous, StoredState next, Object timeline, String reason, String session) throws IOException {
        byte[] doc = JSON.writeValueAsBytes(document(next, timeline, reason));
        Discovery.TxnResult r = discovery.txn(List.of(
                Discovery.TxnOp.checkSession(lockKey(), session),
                Discovery.TxnOp.cas(epochKey(), doc, previous.modifyIndex()),
                Discovery.TxnOp.set(ClusterDefinition.kvPrefix(cluster) + "audit/" + next.epoch(), doc)));
        if (r.applied()) return new Bump(true, "epoch " + next.epoch() + " written");
        List<String> why = new java.util.ArrayList<>();
        for (Discovery.TxnError e : r.errors()) {
            why.add(switch (e.opIndex()) {
                case 0 -> "this manager's session " + session + " no longer holds " + lockKey() + " (" + e.what() + ")";
                case 1 -> "the epoch changed since it was read at index " + previous.modifyIndex() + " (" + e.what() + ")";
                default -> "the audit record failed (" + e.what() + ")";
            });
        }
        return new Bump(false, "epoch " + next.epoch() + " not written: " + String.join("; ", why));
    }

    /**
     * Rewrites the audit record of {@code epoch} (written at the epoch step, mid-run) with the run's whole timeline and
     * how it ended. No-op when the record does not exist.
     */
    public void completeAudit(long epoch, Object timeline, boolean success, String message) throws IOException {
        String key = ClusterDefinition.kvPrefix(cluster) + "audit/" + epoch;
        Optional<Discovery.KvEntry> e = discovery.get(key);
        if (e.isEmpty()) return;
        com.fasterxml.jackson.databind.node.ObjectNode doc = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(e.get().value());
        doc.set("timeline", JSON.valueToTree(timeline));
        doc.put("success", success);
        doc.put("outcome", message);
        discovery.put(key, JSON.writeValueAsString(doc));
    }

    private static Map<String, Object> document(StoredState next, Object timeline, String reason) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("epoch", next.epoch());
        doc.put("master", next.master());
        doc.put("lastFailoverMillis", next.lastFailoverMillis());
        doc.put("acknowledged", next.acknowledged());
        doc.put("reason", reason);
        doc.put("timeline", timeline);
        return doc;
    }
}

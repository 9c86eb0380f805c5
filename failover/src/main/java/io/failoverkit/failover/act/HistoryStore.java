package io.failoverkit.failover.act;

import io.failoverkit.failover.cluster.ClusterDefinition;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.decide.MasterHistory;
import io.failoverkit.failover.discovery.Discovery;
import io.failoverkit.failover.discovery.DiscoveryClient;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Issue 9, hole 4: the master's last healthy replication history in the discovery KV
 * ({@code failover/<cluster>/history}), so that a manager that restarts still knows what the master held, and a
 * data-set loss the manager found ({@code dataLost}, the reason) stays visible to `failover status` until an operator
 * clears it with `failover ack`. Written by the lock-holding manager only.
 */
public final class HistoryStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Discovery discovery;
    private final String cluster;

    public HistoryStore(Discovery discovery, String cluster) {
        this.discovery = discovery;
        this.cluster = cluster;
    }

    public String key() { return ClusterDefinition.kvPrefix(cluster) + "history"; }

    /** What is stored: the history (null if none) and the data-loss reason (null unless a loss was found). */
    public record Stored(MasterHistory history, String dataLost, long atMillis) {
        public static final Stored NONE = new Stored(null, null, 0);
    }

    public Stored read() throws IOException {
        Optional<DiscoveryClient.KvEntry> e = discovery.get(key());
        if (e.isEmpty() || e.get().text().isBlank()) return Stored.NONE;
        JsonNode n = JSON.readTree(e.get().value());
        MasterHistory h = n.hasNonNull("master") ? new MasterHistory(n.path("master").asText(), n.path("runId").asText(null),
                n.path("replid").asText(null), n.path("offset").asLong()) : null;
        return new Stored(h, n.path("dataLost").asText(null), n.path("atMillis").asLong());
    }

    public void write(MasterHistory history, String dataLost) throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("master", history == null ? null : history.address());
        doc.put("runId", history == null ? null : history.runId());
        doc.put("replid", history == null ? null : history.replid());
        doc.put("offset", history == null ? 0 : history.offset());
        doc.put("atMillis", System.currentTimeMillis());
        if (dataLost != null) doc.put("dataLost", dataLost);
        discovery.put(key(), JSON.writeValueAsString(doc));
    }

    /**
     * An operator accepts a data-set loss (restored from backup, or the empty data set is what it is): the record is
     * dropped, so the manager follows the master as it now is. Returns the loss it cleared, or null when there was none
     * (then nothing changes).
     */
    public String clearDataLost(String by) throws IOException {
        Stored s = read();
        if (s.dataLost() == null) return null;
        discovery.delete(key());
        discovery.put(ClusterDefinition.kvPrefix(cluster) + "audit/data-lost-" + System.currentTimeMillis(), JSON.writeValueAsString(Map.of(
                "dataLost", s.dataLost(), "acknowledgedBy", by, "atMillis", System.currentTimeMillis())));
        return s.dataLost();
    }
}

package io.failoverkit.failover.watch;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.Discovery;
import io.failoverkit.failover.inst.AcknowledgingReplicas;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.SemiSync;
import io.failoverkit.failover.topology.Topology;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Keeps {@code failover/<cluster>/semisync} (who can acknowledge the master's commits, see {@link SemiSync}) up to
 * date from the manager's healthy cycles, and reads it back at failover, when the dead master cannot be asked. The
 * key is rewritten only when the facts change. Never throws: a failure is logged and the next cycle tries again.
 */
public final class SemiSyncRecorder {
    private static final Logger LOG = LoggerFactory.getLogger(SemiSyncRecorder.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private SemiSyncRecorder() {}

    public static String key(String cluster) { return ClusterDefinition.kvPrefix(cluster) + "semisync"; }

    /** Called on a healthy cycle: records who can acknowledge {@code master}'s commits when that changed. */
    public static void record(Discovery discovery, ClusterDefinition cluster, Servers servers, Topology topology, String master) {
        if (!(servers instanceof AcknowledgingReplicas acks)) return;
        try {
            Optional<SemiSync> now = acks.semiSync(topology, master, System.currentTimeMillis());
            if (now.isEmpty()) return;
            Optional<SemiSync> stored = read(discovery, cluster.name());
            if (stored.isPresent() && stored.get().sameFacts(now.get())) return;
            discovery.put(key(cluster.name()), toJson(now.get()));
            LOG.info("[{}] semi-sync record: {}", cluster.name(), toJson(now.get()));
        } catch (IOException | RuntimeException e) {
            LOG.warn("[{}] cannot record the semi-sync set: {}", cluster.name(), e.getMessage());
        }
    }

    /** The stored record, or empty when none was ever written (or it cannot be parsed). */
    public static Optional<SemiSync> read(Discovery discovery, String cluster) throws IOException {
        Optional<Discovery.KvEntry> e = discovery.get(key(cluster));
        if (e.isEmpty() || e.get().text().isBlank()) return Optional.empty();
        return Optional.of(fromJson(e.get().text()));
    }

    static String toJson(SemiSync s) throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("master", s.master());
        doc.put("masterSemiSyncEnabled", s.enabled());
        doc.put("masterSemiSyncOn", s.active());
        doc.put("ackers", s.ackers());
        doc.put("updatedAtMillis", s.updatedAtMillis());
        return JSON.writeValueAsString(doc);
    }

    static SemiSync fromJson(String text) throws IOException {
        JsonNode n = JSON.readTree(text);
        List<String> ackers = new ArrayList<>();
        n.path("ackers").forEach(a -> ackers.add(a.asText()));
        return new SemiSync(n.path("master").asText(), n.path("masterSemiSyncEnabled").asBoolean(), n.path("masterSemiSyncOn").asBoolean(),
                ackers, n.path("updatedAtMillis").asLong());
    }
}

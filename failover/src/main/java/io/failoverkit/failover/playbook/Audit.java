package io.failoverkit.failover.playbook;

import io.failoverkit.failover.cluster.ClusterDefinition;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.discovery.Discovery;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where a playbook run writes what it did: one KV entry per step under the cluster's audit area
 * ({@code failover/<cluster>/audit/playbook-<startMillis>-<page>-<nn>-<step>}, beside the epochs' records that
 * {@code EpochStore} and {@code HistoryStore} write), or {@code failoverkit/playbooks/audit/...} for a page run
 * without a cluster (the discovery cluster's own pages). An entry the KV does not take (the discovery cluster lost its
 * quorum, which is what some pages repair) is kept and retried with every later one and at the end of the run. At the
 * end, entries of the run that the KV no longer holds (a step restored a snapshot, which replaces the whole KV, the
 * audit of the steps before it included) are written again.
 */
public interface Audit {
    void record(String key, Map<String, Object> entry);

    /** Entries still not written, as key and JSON; called once at the end of the run. */
    List<String> flush();

    static String prefix(String cluster) {
        return cluster == null ? "failoverkit/playbooks/audit/" : ClusterDefinition.kvPrefix(cluster) + "audit/";
    }

    /** The discovery KV. */
    final class Kv implements Audit {
        private static final ObjectMapper JSON = new ObjectMapper();
        private final Discovery discovery;
        private final List<Map.Entry<String, String>> pending = new ArrayList<>();
        private final List<Map.Entry<String, String>> written = new ArrayList<>();
        private int rewritten;
        private String lastError;

        public Kv(Discovery discovery) { this.discovery = discovery; }

        @Override
        public void record(String key, Map<String, Object> entry) {
            try {
                pending.add(Map.entry(key, JSON.writeValueAsString(entry)));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            // After a failure (no quorum: each write can take the client's whole timeout) retry at most every 15 s.
            if (failedAtNanos == 0 || System.nanoTime() - failedAtNanos > 15_000_000_000L) tryWrite();
        }

        private long failedAtNanos;

        private void tryWrite() {
            while (!pending.isEmpty()) {
                Map.Entry<String, String> e = pending.get(0);
                try {
                    discovery.put(e.getKey(), e.getValue());
                    written.add(pending.remove(0));
                    failedAtNanos = 0;
                } catch (IOException ex) {
                    lastError = ex.getMessage();
                    failedAtNanos = System.nanoTime();
                    return;
                }
            }
        }

        public String lastError() { return lastError; }

        /** How many entries the end of the run wrote again because the KV had lost them (a snapshot restore). */
        public int rewritten() { return rewritten; }

        @Override
        public List<String> flush() {
            tryWrite();
            if (pending.isEmpty()) {
                for (Map.Entry<String, String> e : written) {
                    try {
                        var now = discovery.get(e.getKey());
                        if (now.isPresent() && now.get().text().equals(e.getValue())) continue;
                        discovery.put(e.getKey(), e.getValue());
                        rewritten++;
                    } catch (IOException ex) {
                        // They were written once; the KV does not answer now: nothing more to check against.
                        lastError = ex.getMessage();
                        break;
                    }
                }
                written.clear();
            }
            return pending.stream().map(e -> e.getKey() + " " + e.getValue()).toList();
        }
    }

    /** In memory, for tests. */
    final class Memory implements Audit {
        public final Map<String, Map<String, Object>> entries = new LinkedHashMap<>();

        @Override
        public void record(String key, Map<String, Object> entry) { entries.put(key, new LinkedHashMap<>(entry)); }

        @Override
        public List<String> flush() { return List.of(); }
    }
}

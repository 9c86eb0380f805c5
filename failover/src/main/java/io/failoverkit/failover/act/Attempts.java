package io.failoverkit.failover.act;

import io.failoverkit.failover.cluster.ClusterDefinition;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.discovery.Discovery;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Failover attempts, registered in the KV before anything is changed (as orchestrator registers a recovery before it
 * acts): {@code failover/<cluster>/attempt} is the last one, {@code failover/<cluster>/attempts/<id>} each one's record
 * with its outcome and timeline. A failed automatic attempt, or one whose manager died before it finished ("running"
 * for ever), blocks the next automatic attempt for a backoff that doubles per failure, so its hooks are not re-run a
 * second later; a new manager sees the same record.
 */
public final class Attempts {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One attempt: {@code epoch} is the epoch it set out to replace; {@code failures} how many attempts in a row failed
     * (this one included once it failed; a rolled-back attempt moves the epoch, so the count does not restart with it).
     */
    public record Attempt(String id, long epoch, String oldMaster, String candidate, String trigger, boolean automatic, long startedAtMillis,
                          String state, int failures, long finishedAtMillis, String message) {
        public static final String RUNNING = "running";
        public static final String FAILED = "failed";
        public static final String SUCCEEDED = "succeeded";

        /** Failed, or never finished (its manager died or lost the lock mid-way). */
        public boolean unsuccessful() { return !SUCCEEDED.equals(state); }

        /** Failed attempts on its epoch, counting one that never finished. */
        public int failuresSoFar() { return RUNNING.equals(state) ? failures + 1 : failures; }

        public long endedAtMillis() { return finishedAtMillis > 0 ? finishedAtMillis : startedAtMillis; }
    }

    private final Discovery discovery;
    private final String cluster;

    public Attempts(Discovery discovery, String cluster) {
        this.discovery = discovery;
        this.cluster = cluster;
    }

    public String lastKey() { return ClusterDefinition.kvPrefix(cluster) + "attempt"; }

    String recordKey(String id) { return ClusterDefinition.kvPrefix(cluster) + "attempts/" + id; }

    public Optional<Attempt> last() throws IOException {
        Optional<Discovery.KvEntry> e = discovery.get(lastKey());
        if (e.isEmpty() || e.get().text().isBlank()) return Optional.empty();
        JsonNode n = JSON.readTree(e.get().value());
        return Optional.of(new Attempt(n.path("id").asText(), n.path("epoch").asLong(), n.path("oldMaster").asText(null),
                n.path("candidate").asText(null), n.path("trigger").asText(""), n.path("automatic").asBoolean(true), n.path("startedAtMillis").asLong(),
                n.path("state").asText(Attempt.RUNNING), n.path("failures").asInt(), n.path("finishedAtMillis").asLong(), n.path("message").asText("")));
    }

    /** Registers a new attempt as running, before its first change. */
    public Attempt begin(long epoch, String oldMaster, String candidate, String trigger, boolean automatic) throws IOException {
        int failures = last().filter(Attempt::unsuccessful).map(Attempt::failuresSoFar).orElse(0);
        Attempt a = new Attempt(UUID.randomUUID().toString(), epoch, oldMaster, candidate, trigger, automatic, System.currentTimeMillis(),
                Attempt.RUNNING, failures, 0, "");
        write(a, null);
        return a;
    }

    /** Records how the attempt ended, with its timeline. */
    public Attempt finish(Attempt a, boolean success, String message, Object timeline) throws IOException {
        Attempt done = new Attempt(a.id(), a.epoch(), a.oldMaster(), a.candidate(), a.trigger(), a.automatic(), a.startedAtMillis(),
                success ? Attempt.SUCCEEDED : Attempt.FAILED, success ? a.failures() : a.failures() + 1, System.currentTimeMillis(), message);
        write(done, timeline);
        return done;
    }

    private void write(Attempt a, Object timeline) throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("id", a.id());
        doc.put("epoch", a.epoch());
        doc.put("oldMaster", a.oldMaster());
        doc.put("candidate", a.candidate());
        doc.put("trigger", a.trigger());
        doc.put("automatic", a.automatic());
        doc.put("startedAtMillis", a.startedAtMillis());
        doc.put("state", a.state());
        doc.put("failures", a.failures());
        doc.put("finishedAtMillis", a.finishedAtMillis());
        doc.put("message", a.message());
        String text = JSON.writeValueAsString(doc);
        discovery.put(lastKey(), text);
        if (timeline != null) doc.put("timeline", timeline);
        discovery.put(recordKey(a.id()), JSON.writeValueAsString(doc));
    }
}

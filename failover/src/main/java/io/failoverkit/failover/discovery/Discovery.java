package io.failoverkit.failover.discovery;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * What the failover core needs from the discovery cluster (Consul's HTTP API): KV with CAS, sessions and locks, and
 * the catalog. {@link DiscoveryClient} is the HTTP implementation; tests use an in-memory one. Every call throws
 * {@link IOException} with what failed.
 */
public interface Discovery {
    /** A KV entry as read: its value and the indexes a CAS or lock needs. */
    record KvEntry(String key, byte[] value, long modifyIndex, String session) {
        public String text() { return value == null ? "" : new String(value, java.nio.charset.StandardCharsets.UTF_8); }
    }

    /** A service instance as the catalog has it. */
    record Instance(String node, String address, String serviceId, String service, List<String> tags, int port) {}

    /** A catalog check on one service instance, as the manager writes it: passing or critical, with why. */
    record Check(String checkId, String status, String output) {
        public static final String PASSING = "passing";
        public static final String CRITICAL = "critical";
    }

    /** An instance with the worst status of its checks ("passing" when it has none). */
    record Health(Instance instance, String status) {}

    Optional<KvEntry> get(String key) throws IOException;

    void put(String key, String value) throws IOException;

    /** Check-and-set: true when the key still had {@code modifyIndex} (0: did not exist) and now holds the value. */
    boolean cas(String key, String value, long modifyIndex) throws IOException;

    void delete(String key) throws IOException;

    boolean acquire(String key, String session, String value) throws IOException;

    boolean release(String key, String session) throws IOException;

    /**
     * A session whose locks are released when it ends; after it is invalidated nobody may acquire its locks for
     * {@code lockDelay} (see {@code cluster.Timings} for how that relates to the holder's validity).
     */
    String createSession(String name, Duration ttl, Duration lockDelay) throws IOException;

    /** Renews a session; false when it no longer exists (the lock it held is gone). */
    boolean renewSession(String id) throws IOException;

    void destroySession(String id) throws IOException;

    /** Registers a service instance on its own catalog node; {@code check} (may be null) is a catalog check on it. */
    void register(String node, String address, String serviceId, String service, List<String> tags, int port, Check check) throws IOException;

    default void register(String node, String address, String serviceId, String service, List<String> tags, int port) throws IOException {
        register(node, address, serviceId, service, tags, port, null);
    }

    void deregisterService(String node, String serviceId) throws IOException;

    /** The catalog's instances of a service, optionally with a tag (health is not filtered). */
    List<Instance> instances(String service, String tag) throws IOException;

    /** Every instance of a service with its check status (unfiltered: critical ones too). */
    List<Health> health(String service) throws IOException;

    /** One KV operation of a Consul transaction (/v1/txn): a verb, its key, and what the verb needs. */
    public record TxnOp(String verb, String key, byte[] value, long index, String session) {
        public static TxnOp set(String key, byte[] value) { return new TxnOp("set", key, value, 0, null); }
        /** Sets the key only if its modify index is still {@code index} (0: only if it does not exist). */
        public static TxnOp cas(String key, byte[] value, long index) { return new TxnOp("cas", key, value, index, null); }
        public static TxnOp get(String key) { return new TxnOp("get", key, null, 0, null); }
        /** Fails the transaction unless {@code session} holds the lock on {@code key}. */
        public static TxnOp checkSession(String key, String session) { return new TxnOp("check-session", key, null, 0, session); }
        public static TxnOp checkIndex(String key, long index) { return new TxnOp("check-index", key, null, index, null); }
    }

    /** Why one operation made a transaction roll back. */
    public record TxnError(int opIndex, String what) {}

    /** A transaction's outcome: applied (with the entries its operations returned) or rolled back (with why). */
    public record TxnResult(boolean applied, List<KvEntry> results, List<TxnError> errors) {}

    /**
     * Runs operations as one transaction (Consul's /v1/txn): all applied, or none, with one error per failing operation
     * returned, not thrown. Bad input or an unreachable node throws.
     */
    TxnResult txn(List<TxnOp> ops) throws IOException;
}

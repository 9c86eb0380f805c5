package io.failoverkit.failover.fake;

import io.failoverkit.failover.discovery.Discovery;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * An in-memory discovery cluster for unit tests: KV with modify indexes and CAS, sessions with lock-delay (enforced
 * with the test's clock, nanoTime), and a catalog with one check per instance. {@link #down} makes every call fail.
 */
public final class FakeDiscovery implements Discovery {
    private record Kv(byte[] value, long modifyIndex, String session) {}

    private record Registration(Instance instance, Check check) {}

    private final Map<String, Kv> kv = new LinkedHashMap<>();
    private final Map<String, Long> sessions = new LinkedHashMap<>(); // id -> lock delay nanos
    private final Map<String, Long> lockedUntil = new LinkedHashMap<>();
    private final Map<String, Registration> catalog = new LinkedHashMap<>();
    private long index;
    public volatile boolean down;
    /** Every call answers as a discovery node with ACLs does to a token that lacks the permission (HTTP 403). */
    public volatile boolean refusing;

    private void check() throws IOException {
        if (down) throw new IOException("discovery node unreachable (fake)");
        if (refusing) throw new IOException("PUT /v1/session/create: HTTP 403 Permission denied: token with AccessorID 'fake' lacks permission 'session:write' on \"n1\"");
    }

    @Override
    public synchronized Optional<KvEntry> get(String key) throws IOException {
        check();
        Kv e = kv.get(key);
        return e == null ? Optional.empty() : Optional.of(new KvEntry(key, e.value(), e.modifyIndex(), e.session()));
    }

    public synchronized String text(String key) {
        Kv e = kv.get(key);
        return e == null ? null : new String(e.value(), StandardCharsets.UTF_8);
    }

    @Override
    public synchronized void put(String key, String value) throws IOException {
        check();
        Kv old = kv.get(key);
        kv.put(key, new Kv(value.getBytes(StandardCharsets.UTF_8), ++index, old == null ? null : old.session()));
    }

    @Override
    public synchronized boolean cas(String key, String value, long modifyIndex) throws IOException {
        check();
        Kv old = kv.get(key);
        long current = old == null ? 0 : old.modifyIndex();
        if (current != modifyIndex) return false;
        kv.put(key, new Kv(value.getBytes(StandardCharsets.UTF_8), ++index, old == null ? null : old.session()));
        return true;
    }

    @Override
    public synchronized void delete(String key) throws IOException {
        check();
        kv.remove(key);
    }

    @Override
    public synchronized boolean acquire(String key, String session, String value) throws IOException {
        check();
        if (!sessions.containsKey(session)) throw new IOException("invalid session " + session);
        Kv old = kv.get(key);
        if (old != null && old.session() != null && !old.session().equals(session)) return false;
        Long until = lockedUntil.get(key);
        if (until != null && System.nanoTime() - until < 0) return false;
        kv.put(key, new Kv(value.getBytes(StandardCharsets.UTF_8), ++index, session));
        return true;
    }

    @Override
    public synchronized boolean release(String key, String session) throws IOException {
        check();
        Kv old = kv.get(key);
        if (old == null || !session.equals(old.session())) return false;
        kv.put(key, new Kv(old.value(), ++index, null));
        return true;
    }

    @Override
    public synchronized String createSession(String name, Duration ttl, Duration lockDelay) throws IOException {
        check();
        String id = UUID.randomUUID().toString();
        sessions.put(id, lockDelay.toNanos());
        return id;
    }

    @Override
    public synchronized boolean renewSession(String id) throws IOException {
        check();
        return sessions.containsKey(id);
    }

    /** Invalidates a session as its TTL or an operator would: its locks are released and held back for its lock-delay. */
    @Override
    public synchronized void destroySession(String id) throws IOException {
        check();
        Long delay = sessions.remove(id);
        if (delay == null) return;
        for (Map.Entry<String, Kv> e : kv.entrySet()) {
            if (id.equals(e.getValue().session())) {
                e.setValue(new Kv(e.getValue().value(), ++index, null));
                lockedUntil.put(e.getKey(), System.nanoTime() + delay);
            }
        }
    }

    public synchronized List<String> sessions() { return List.copyOf(sessions.keySet()); }

    /** The KV verbs the failover core uses, checked first and then applied all or nothing, as /v1/txn does. */
    @Override
    public synchronized TxnResult txn(List<TxnOp> ops) throws IOException {
        check();
        List<TxnError> errors = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            TxnOp op = ops.get(i);
            Kv e = kv.get(op.key());
            long current = e == null ? 0 : e.modifyIndex();
            String error = switch (op.verb()) {
                case "check-session" -> e != null && op.session().equals(e.session()) ? null : "lock not held by " + op.session();
                case "check-index", "cas" -> current == op.index() ? null : "index is " + current + ", not " + op.index();
                case "set", "get" -> null;
                default -> throw new IOException("verb " + op.verb() + " is not in the fake");
            };
            if (error != null) errors.add(new TxnError(i, error));
        }
        if (!errors.isEmpty()) return new TxnResult(false, List.of(), errors);
        List<KvEntry> results = new ArrayList<>();
        for (TxnOp op : ops) {
            Kv e = kv.get(op.key());
            if (op.verb().equals("set") || op.verb().equals("cas")) {
                kv.put(op.key(), new Kv(op.value(), ++index, e == null ? null : e.session()));
            } else if (op.verb().equals("get") && e != null) {
                results.add(new KvEntry(op.key(), e.value(), e.modifyIndex(), e.session()));
            }
        }
        return new TxnResult(true, results, List.of());
    }

    @Override
    public synchronized void register(String node, String address, String serviceId, String service, List<String> tags, int port, Check check)
            throws IOException {
        check();
        Registration old = catalog.get(serviceId);
        Check keep = check != null ? check : old == null ? null : old.check();
        catalog.put(serviceId, new Registration(new Instance(node, address, serviceId, service, List.copyOf(tags), port), keep));
    }

    @Override
    public synchronized void deregisterService(String node, String serviceId) throws IOException {
        check();
        catalog.remove(serviceId);
    }

    @Override
    public synchronized List<Instance> instances(String service, String tag) throws IOException {
        check();
        List<Instance> out = new ArrayList<>();
        for (Registration r : catalog.values()) {
            if (r.instance().service().equals(service) && (tag == null || r.instance().tags().contains(tag))) out.add(r.instance());
        }
        return out;
    }

    @Override
    public synchronized List<Health> health(String service) throws IOException {
        check();
        List<Health> out = new ArrayList<>();
        for (Registration r : catalog.values()) {
            if (r.instance().service().equals(service)) out.add(new Health(r.instance(), r.check() == null ? Check.PASSING : r.check().status()));
        }
        return out;
    }

    /** What DNS would answer for {@code tag.service}: host:port of the instances with that tag and no critical check. */
    public synchronized List<String> dns(String service, String tag) {
        List<String> out = new ArrayList<>();
        for (Registration r : catalog.values()) {
            boolean critical = r.check() != null && Check.CRITICAL.equals(r.check().status());
            if (r.instance().service().equals(service) && r.instance().tags().contains(tag) && !critical) {
                out.add(r.instance().address() + ":" + r.instance().port());
            }
        }
        return out;
    }
}

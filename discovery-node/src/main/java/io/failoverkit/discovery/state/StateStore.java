package io.failoverkit.discovery.state;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.failoverkit.discovery.state.Model.Check;
import io.failoverkit.discovery.state.Model.KvEntry;
import io.failoverkit.discovery.state.Model.Node;
import io.failoverkit.discovery.state.Model.Service;
import io.failoverkit.discovery.state.Model.Session;
import io.failoverkit.discovery.state.Model.AclPolicy;
import io.failoverkit.discovery.state.Model.AclToken;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Executor;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import org.pcollections.TreePMap;

/**
 * The replicated state: catalog (nodes, services, checks), KV and sessions, as indexed tables.
 * Changed only by {@link #apply} (one Raft entry at a time, in log order); read concurrently by HTTP and DNS.
 * Every change records the Raft index of the entry that made it, in the record and in its table's index.
 */
public final class StateStore {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(StateStore.class);
    /** A read result, with the Consul index to report and the table index it was read at (for parking). */
    public record Read<T>(T value, long index, long observedTableIndex) {}

    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final Watches watches;

    private final TreeMap<String, Node> nodes = new TreeMap<>();
    private final TreeMap<String, TreeMap<String, Service>> services = new TreeMap<>();
    /** Index: service name to the nodes that run an instance of it (DNS and health look services up by name). */
    private final HashMap<String, TreeSet<String>> nodesByServiceName = new HashMap<>();
    private final TreeMap<String, TreeMap<String, Check>> checks = new TreeMap<>();
    /**
     * The KV table, persistent (an update makes a new map sharing all but the changed path with the old one, which
     * stays as it was): a snapshot's {@link #view()} takes this reference instead of copying every record under the
     * read lock, which stopped the apply thread for 90-190 ms at 400-580k keys. Replaced only by {@link #putKv},
     * {@link #removeKv} and {@link #install}, under the write lock.
     */
    private TreePMap<String, KvEntry> kvs = TreePMap.empty();
    /**
     * Index: session id to the keys it holds, kept with {@code kvs} (every change of a KV record goes through
     * {@link #putKv} and {@link #removeKv}; {@link #install} rebuilds it with the table). A session's invalidation (destroy, expiry, its node's failure) looks its
     * keys up here instead of walking the whole KV table on the apply thread (22-32 ms at 500,000 keys in an idle JVM).
     */
    private final HashMap<String, TreeSet<String>> keysBySession = new HashMap<>();
    private final TreeMap<String, Long> tombstones = new TreeMap<>();
    /**
     * The highest index among the tombstones the GC has reaped ({@link Command.TombstoneReap}): a prefix read never
     * reports less, so its X-Consul-Index does not go backwards when the tombstone that set it is reaped.
     */
    private long kvReapedIndex;
    /**
     * Per service name, the index of the last change to anything its catalog and health reads return (its instances,
     * their nodes, their checks), as Consul's "service.&lt;name&gt;" index: a watcher on one service is not answered
     * for another's change. A name not in here reports the catalog tables' index (never less than its own was).
     */
    private final HashMap<String, Long> serviceIndexes = new HashMap<>();
    private final TreeMap<String, Session> sessions = new TreeMap<>();
    private final TreeMap<String, AclPolicy> aclPolicies = new TreeMap<>();
    /** ACL tokens by AccessorID; {@link #tokensByHash} finds them by their secret's hash. */
    private final TreeMap<String, AclToken> aclTokens = new TreeMap<>();
    private final HashMap<String, String> tokensByHash = new HashMap<>();
    /** The Raft index at which ACLs were bootstrapped (by /v1/acl/bootstrap or initial_management); 0: not yet. */
    private long aclBootstrapIndex;
    /**
     * Keys released by a session invalidation with a lock-delay, and the entry that released them: replicated (no
     * clock in it), so apply can refuse an acquire that was checked against {@link #lockDelays} before the release.
     * Cleared by the next acquire of the key.
     */
    private final HashMap<String, LockRelease> lockReleases = new HashMap<>();
    /** This server's own lock-delay clock (not replicated): stamped when a release is applied or loaded. */
    private final LockDelays lockDelays;
    private final EnumMap<Table, Long> tableIndex = new EnumMap<>(Table.class);
    private long lastIndex;
    /**
     * Counts the changes of the state: every apply and every snapshot load, under the write lock (unlike
     * {@link #lastIndex}, which an older entry or a snapshot does not move up). A read that found the same count
     * before and after it saw exactly that state.
     */
    private volatile long version;
    /** The Raft term of the entry at {@link #lastIndex} (0 when not known). */
    private long lastTerm;
    /**
     * The Raft index of the last snapshot restore (0: none): every read reports at least this index, so a client's
     * X-Consul-Index never goes backwards across a restore that brought back records with older indexes.
     */
    private long restoreIndex;
    /** Bumped by every change to nodes, services or checks: lets readers (DNS) keep derived views until it moves. */
    private volatile long catalogGeneration;

    /** A key released by a session invalidation at Raft index {@code index}, with the session's lock-delay. */
    record LockRelease(@JsonProperty("index") long index, @JsonProperty("delayNanos") long delayNanos) {}

    public StateStore(Executor watchExecutor) {
        this(watchExecutor, System::nanoTime);
    }

    /** With the monotonic clock lock-delay is measured on (tests pass their own). */
    public StateStore(Executor watchExecutor, java.util.function.LongSupplier nanoClock) {
        this.watches = new Watches(watchExecutor);
        this.lockDelays = new LockDelays(nanoClock);
        for (Table t : Table.values()) tableIndex.put(t, 0L);
    }

    // ---------------------------------------------------------------- apply

    /** Per-apply bookkeeping: which tables and KV keys changed, to bump their indexes and wake their watchers. */
    private static final class Changes {
        final Set<Table> tables = EnumSet.noneOf(Table.class);
        final Set<String> keys = new HashSet<>();
        /** The service names whose catalog and health reads changed (see {@link #serviceIndexes}). */
        final Set<String> services = new HashSet<>();
        /** Every KV key may have changed (a restore). */
        boolean allKeys;
    }

    /** Applies one Raft entry: a single command, or a batch of them (one result each, in order). */
    public List<ApplyResult> apply(long index, Command command) {
        return apply(index, -1, command);
    }

    /**
     * The same, for an entry of Raft term {@code term} (-1: not known, {@link Command.InTerm} is not checked): an
     * {@code InTerm} of another term is refused (409) and changes nothing.
     */
    public List<ApplyResult> apply(long index, long term, Command command) {
        Changes changes = new Changes();
        List<ApplyResult> results = new ArrayList<>();
        // A restore's state is decoded before the write lock is taken: reads go on meanwhile.
        Image decoded = null;
        if (command instanceof Command.Restore r) {
            try { decoded = decodeCompressed(r.state()); } catch (SnapshotArchive.InvalidSnapshotException e) { decoded = null; }
        }
        lock.writeLock().lock();
        try {
            if (command instanceof Command.Batch b) {
                for (Command c : b.commands()) results.add(applyOne(index, term, c, changes));
            } else if (command instanceof Command.Restore r) {
                results.add(restore(index, r, decoded, changes));
            } else {
                results.add(applyOne(index, term, command, changes));
            }
            for (Table t : changes.tables) tableIndex.put(t, index);
            if (index >= lastIndex && term >= 0) lastTerm = term;
            lastIndex = Math.max(lastIndex, index);
            if (changes.tables.contains(Table.NODES) || changes.tables.contains(Table.SERVICES) || changes.tables.contains(Table.CHECKS)) {
                catalogGeneration++;
            }
        } finally {
            version++;
            lock.writeLock().unlock();
        }
        watches.fire(changes.tables, changes.allKeys ? null : changes.keys, changes.allKeys ? null : changes.services);
        return results;
    }

    private ApplyResult applyOne(long index, long term, Command command, Changes changes) {
        return switch (command) {
            case Command.InTerm t when term >= 0 && t.term() != term -> ApplyResult.refused(409, "proposed by the leader of term "
                    + t.term() + " but committed in term " + term + ": that leader's view is stale, not applied", index);
            case Command.InTerm t when t.command() instanceof Command.Batch || t.command() instanceof Command.InTerm ->
                    ApplyResult.refused(400, "nested batch", index);
            case Command.InTerm t -> applyOne(index, term, t.command(), changes);
            case Command.KvPut c -> kvPut(index, c, changes);
            case Command.KvDelete c -> kvDelete(index, c, changes);
            case Command.Register c -> register(index, c, changes);
            case Command.Deregister c -> deregister(index, c, changes);
            case Command.SessionCreate c -> sessionCreate(index, c, changes);
            case Command.SessionDestroy c -> sessionDestroy(index, c, changes);
            case Command.Txn c -> ApplyResult.ok(txn(index, c.ops(), c.lockCheckedIndex(), changes), index);
            case Command.Batch b -> ApplyResult.refused(400, "nested batch", index);
            case Command.Restore r -> restore(index, r, null, changes);
            case Command.AclBootstrap c -> aclBootstrap(index, c, changes);
            case Command.AclInit c -> aclInit(index, c, changes);
            case Command.AclPolicySet c -> aclPolicySet(index, c, changes);
            case Command.AclPolicyDelete c -> aclPolicyDelete(index, c, changes);
            case Command.AclTokenSet c -> aclTokenSet(index, c, changes);
            case Command.AclTokenDelete c -> aclTokenDelete(index, c, changes);
            case Command.TombstoneReap t -> reap(index, t);
        };
    }

    /**
     * True when an invalidation released {@code key} after the proposer checked lock-delay (at {@code checkedIndex}):
     * the proposer could not have seen that release, so the acquire must not go through.
     */
    private boolean releasedAfter(String key, Long checkedIndex) {
        LockRelease r = lockReleases.get(key);
        return r != null && (checkedIndex == null || r.index() > checkedIndex);
    }

    /** This server's lock-delay clock, for the server that proposes an acquire. */
    public LockDelays lockDelays() {
        return lockDelays;
    }

    public long catalogGeneration() {
        return catalogGeneration;
    }

    /** The count of changes so far (see {@link #version}); read without the lock. */
    public long version() {
        return version;
    }

    public long lastIndex() {
        lock.readLock().lock();
        try { return lastIndex; } finally { lock.readLock().unlock(); }
    }

    private ApplyResult kvPut(long index, Command.KvPut c, Changes ch) {
        KvEntry existing = kvs.get(c.key());
        if (c.cas() != null) {
            long cas = c.cas();
            if (cas == 0 && existing != null) return ApplyResult.ok(false, index);
            if (cas != 0 && (existing == null || existing.modifyIndex() != cas)) return ApplyResult.ok(false, index);
        }
        String session = existing == null ? null : existing.session();
        long lockIndex = existing == null ? 0 : existing.lockIndex();
        if (c.acquire() != null) {
            if (!sessions.containsKey(c.acquire())) {
                return ApplyResult.refused(400, "invalid session \"" + c.acquire() + "\": it does not exist or was invalidated", index);
            }
            if (session != null && !session.equals(c.acquire())) return ApplyResult.ok(false, index);
            if (session == null && releasedAfter(c.key(), c.lockCheckedIndex())) return ApplyResult.ok(false, index);
            if (session == null) {
                lockIndex++;
                session = c.acquire();
                lockReleases.remove(c.key());
            }
        } else if (c.release() != null) {
            if (!c.release().equals(session)) return ApplyResult.ok(false, index);
            session = null;
        }
        long create = existing == null ? index : existing.createIndex();
        putKv(c.key(), new KvEntry(lockIndex, c.key(), c.flags(), c.value(), session, create, index));
        tombstones.remove(c.key());
        ch.tables.add(Table.KVS);
        ch.keys.add(c.key());
        return ApplyResult.ok(true, index);
    }

    /** A transaction with writes: applied whole when no operation failed, else nothing changes. */
    private TxnOutcome txn(long index, List<TxnOp> ops, Long lockCheckedIndex, Changes ch) {
        TxnRun run = new TxnRun(kvs, sessions::containsKey, this::releasedAfter, index);
        TxnOutcome outcome = run.run(ops, lockCheckedIndex);
        if (!outcome.applied()) return outcome;
        run.writes.forEach((key, entry) -> {
            if (entry.isPresent()) {
                putKv(key, entry.get());
                tombstones.remove(key);
            } else if (removeKv(key) != null) {
                tombstones.put(key, index);
            }
            ch.tables.add(Table.KVS);
            ch.keys.add(key);
        });
        run.acquired.forEach(lockReleases::remove);
        return outcome;
    }

    /**
     * A transaction of reads and checks only, against the local state (the caller chose the consistency), with the
     * KV table's index to report.
     */
    public Read<TxnOutcome> txnRead(List<TxnOp> ops) {
        lock.readLock().lock();
        try {
            if (ops.stream().anyMatch(op -> op.verb().writes())) throw new IllegalArgumentException("a read-only transaction cannot write");
            long observed = tableIndex.get(Table.KVS);
            TxnOutcome outcome = new TxnRun(kvs, sessions::containsKey, this::releasedAfter, 0).run(ops, null);
            return new Read<>(outcome, reported(observed), observed);
        } finally {
            lock.readLock().unlock();
        }
    }

    private ApplyResult kvDelete(long index, Command.KvDelete c, Changes ch) {
        if (c.recurse()) {
            List<String> doomed = new ArrayList<>(withPrefix(kvs, c.key()).keySet());
            for (String k : doomed) deleteKey(index, k, ch);
            if (doomed.isEmpty()) { ch.tables.add(Table.KVS); ch.keys.add(c.key()); }
            return ApplyResult.ok(true, index);
        }
        KvEntry existing = kvs.get(c.key());
        if (c.cas() != null) {
            long cas = c.cas();
            // As Consul's kvsDeleteCASTxn: a key that is already gone has nothing to delete, so that succeeds.
            if (existing != null && existing.modifyIndex() != cas) return ApplyResult.ok(false, index);
        }
        if (existing != null) deleteKey(index, c.key(), ch);
        else { ch.tables.add(Table.KVS); ch.keys.add(c.key()); }
        return ApplyResult.ok(true, index);
    }

    /** Sets a KV record, keeping {@link #keysBySession} in step. Holds the write lock. */
    private void putKv(String key, KvEntry e) {
        KvEntry old = kvs.get(key);
        kvs = kvs.plus(key, e);
        reindexHolder(key, old == null ? null : old.session(), e.session());
    }

    /** Removes a KV record, keeping {@link #keysBySession} in step; returns the record removed, or null. */
    private KvEntry removeKv(String key) {
        KvEntry old = kvs.get(key);
        if (old == null) return null;
        kvs = kvs.minus(key);
        reindexHolder(key, old.session(), null);
        return old;
    }

    private void reindexHolder(String key, String before, String after) {
        if (java.util.Objects.equals(before, after)) return;
        if (before != null) {
            TreeSet<String> keys = keysBySession.get(before);
            if (keys != null && keys.remove(key) && keys.isEmpty()) keysBySession.remove(before);
        }
        if (after != null) keysBySession.computeIfAbsent(after, x -> new TreeSet<>()).add(key);
    }

    /** Tests: the session index agrees with a walk of the KV table. */
    boolean sessionIndexConsistent() {
        lock.readLock().lock();
        try {
            HashMap<String, TreeSet<String>> walked = new HashMap<>();
            for (KvEntry e : kvs.values()) if (e.session() != null) walked.computeIfAbsent(e.session(), x -> new TreeSet<>()).add(e.key());
            return walked.equals(keysBySession);
        } finally {
            lock.readLock().unlock();
        }
    }

    private void deleteKey(long index, String key, Changes ch) {
        if (removeKv(key) != null) tombstones.put(key, index);
        ch.tables.add(Table.KVS);
        ch.keys.add(key);
    }

    private ApplyResult register(long index, Command.Register c, Changes ch) {
        Node incoming = c.node();
        // Refuse before changing anything: a check may only name a service the node has or is registering now.
        for (Check k : c.checks() == null ? List.<Check>of() : c.checks()) {
            if (k.serviceId().isEmpty() || (c.service() != null && c.service().id().equals(k.serviceId()))) continue;
            if (!services.getOrDefault(incoming.node(), new TreeMap<>()).containsKey(k.serviceId())) {
                return ApplyResult.refused(400, "check " + k.checkId() + " names service " + k.serviceId() + ", which node " + incoming.node() + " does not have", index);
            }
        }
        Node existing = nodes.get(incoming.node());
        if (existing == null || (!c.skipNodeUpdate() && !existing.sameContent(incoming))) {
            long create = existing == null ? index : existing.createIndex();
            nodes.put(incoming.node(), incoming.withIndexes(create, index));
            ch.tables.add(Table.NODES);
            touchNode(incoming.node(), index, ch);
        }
        Service svc = c.service();
        if (svc != null) {
            TreeMap<String, Service> nodeServices = services.computeIfAbsent(incoming.node(), n -> new TreeMap<>());
            Service old = nodeServices.get(svc.id());
            if (!svc.sameContent(old)) {
                nodeServices.put(svc.id(), svc.withIndexes(old == null ? index : old.createIndex(), index));
                ch.tables.add(Table.SERVICES);
                touchService(svc.service(), index, ch);
                if (old != null) touchService(old.service(), index, ch);
                if (old == null) nodesByServiceName.computeIfAbsent(svc.service(), n -> new TreeSet<>()).add(incoming.node());
                else if (!old.service().equals(svc.service())) reindex(incoming.node());
                // A service's checks carry its name and tags: keep them in step.
                TreeMap<String, Check> nodeChecks = checks.get(incoming.node());
                if (nodeChecks != null) {
                    for (Check k : List.copyOf(nodeChecks.values())) {
                        if (k.serviceId().equals(svc.id()) && (!k.serviceName().equals(svc.service()) || !k.serviceTags().equals(svc.tags()))) {
                            nodeChecks.put(k.checkId(), new Check(k.node(), k.checkId(), k.name(), k.status(), k.notes(), k.output(),
                                    svc.id(), svc.service(), svc.tags(), k.type(), k.createIndex(), index));
                            ch.tables.add(Table.CHECKS);
                        }
                    }
                }
            }
        }
        for (Check k : c.checks() == null ? List.<Check>of() : c.checks()) {
            Check filled = k;
            if (!k.serviceId().isEmpty()) {
                Service owner = services.getOrDefault(incoming.node(), new TreeMap<>()).get(k.serviceId());
                if (owner == null) {
                    return ApplyResult.refused(400, "check " + k.checkId() + " names service " + k.serviceId() + ", which node " + incoming.node() + " does not have", index);
                }
                filled = new Check(k.node(), k.checkId(), k.name(), k.status(), k.notes(), k.output(), owner.id(), owner.service(), owner.tags(), k.type(), 0, 0);
            }
            TreeMap<String, Check> nodeChecks = checks.computeIfAbsent(incoming.node(), n -> new TreeMap<>());
            Check old = nodeChecks.get(k.checkId());
            if (!filled.sameContent(old)) {
                nodeChecks.put(k.checkId(), filled.withIndexes(old == null ? index : old.createIndex(), index));
                ch.tables.add(Table.CHECKS);
                touchCheck(filled, index, ch);
                if (old != null && !old.serviceName().equals(filled.serviceName())) touchCheck(old, index, ch);
                if (Model.CRITICAL.equals(filled.status())) invalidateSessionsOfCheck(index, incoming.node(), k.checkId(), ch);
            }
        }
        return ApplyResult.ok(true, index);
    }

    private ApplyResult deregister(long index, Command.Deregister c, Changes ch) {
        if (!nodes.containsKey(c.node())) return ApplyResult.ok(true, index);
        if (c.serviceId() == null && c.checkId() == null) {
            touchNode(c.node(), index, ch);
            nodes.remove(c.node());
            ch.tables.add(Table.NODES);
            if (services.remove(c.node()) != null) {
                ch.tables.add(Table.SERVICES);
                reindex(c.node());
            }
            if (checks.remove(c.node()) != null) ch.tables.add(Table.CHECKS);
            for (Session s : List.copyOf(sessions.values())) {
                if (s.node().equals(c.node())) invalidateSession(index, s.id(), ch);
            }
            return ApplyResult.ok(true, index);
        }
        if (c.serviceId() != null) {
            TreeMap<String, Service> nodeServices = services.get(c.node());
            Service gone = nodeServices == null ? null : nodeServices.remove(c.serviceId());
            if (gone != null) {
                touchService(gone.service(), index, ch);
                ch.tables.add(Table.SERVICES);
                reindex(c.node());
            }
            TreeMap<String, Check> nodeChecks = checks.get(c.node());
            if (nodeChecks != null) {
                for (Check k : List.copyOf(nodeChecks.values())) {
                    if (k.serviceId().equals(c.serviceId())) removeCheck(index, c.node(), k.checkId(), ch);
                }
            }
        }
        if (c.checkId() != null) removeCheck(index, c.node(), c.checkId(), ch);
        return ApplyResult.ok(true, index);
    }

    private void removeCheck(long index, String node, String checkId, Changes ch) {
        TreeMap<String, Check> nodeChecks = checks.get(node);
        Check gone = nodeChecks == null ? null : nodeChecks.remove(checkId);
        if (gone != null) {
            touchCheck(gone, index, ch);
            ch.tables.add(Table.CHECKS);
            invalidateSessionsOfCheck(index, node, checkId, ch);
        }
    }

    /** A change to a node (or a node check) is a change to every service on it. */
    private void touchNode(String node, long index, Changes ch) {
        for (Service s : services.getOrDefault(node, NO_SERVICES).values()) touchService(s.service(), index, ch);
    }

    private void touchCheck(Check k, long index, Changes ch) {
        if (k.serviceId().isEmpty()) touchNode(k.node(), index, ch);
        else if (!k.serviceName().isEmpty()) touchService(k.serviceName(), index, ch);
    }

    private void touchService(String name, long index, Changes ch) {
        serviceIndexes.put(name, index);
        ch.services.add(name);
    }

    /**
     * Reaps the KV tombstones at or below {@code upTo} (the leader's tombstone GC proposes it once they have been
     * kept long enough). No watcher fires and no table index moves: no read's content changes, and a prefix read keeps
     * reporting at least the reaped index ({@link #kvReapedIndex}).
     */
    private ApplyResult reap(long index, Command.TombstoneReap t) {
        int before = tombstones.size();
        var it = tombstones.entrySet().iterator();
        while (it.hasNext()) {
            long at = it.next().getValue();
            if (at <= t.upToIndex()) {
                kvReapedIndex = Math.max(kvReapedIndex, at);
                it.remove();
            }
        }
        return ApplyResult.ok(before - tombstones.size(), index);
    }

    /** The highest index among the KV tombstones kept (0: none), for the tombstone GC. */
    public long maxTombstoneIndex() {
        lock.readLock().lock();
        try { return tombstones.values().stream().mapToLong(Long::longValue).max().orElse(0); } finally { lock.readLock().unlock(); }
    }

    public int tombstoneCount() {
        lock.readLock().lock();
        try { return tombstones.size(); } finally { lock.readLock().unlock(); }
    }

    /** Brings the by-name index in line with one node's services. */
    private void reindex(String node) {
        nodesByServiceName.values().forEach(set -> set.remove(node));
        nodesByServiceName.values().removeIf(TreeSet::isEmpty);
        for (Service s : services.getOrDefault(node, new TreeMap<>()).values()) {
            nodesByServiceName.computeIfAbsent(s.service(), n -> new TreeSet<>()).add(node);
        }
    }

    private ApplyResult sessionCreate(long index, Command.SessionCreate c, Changes ch) {
        Session s = c.session();
        if (!nodes.containsKey(s.node())) {
            return ApplyResult.refused(400, "failed to create session: node \"" + s.node() + "\" is not registered in the catalog", index);
        }
        for (String checkId : s.allChecks()) {
            Check k = checks.getOrDefault(s.node(), new TreeMap<>()).get(checkId);
            if (k == null) return ApplyResult.refused(400, "failed to create session: check \"" + checkId + "\" does not exist on node " + s.node(), index);
            if (Model.CRITICAL.equals(k.status())) return ApplyResult.refused(400, "failed to create session: check \"" + checkId + "\" is in critical state", index);
        }
        if (sessions.containsKey(s.id())) return ApplyResult.refused(400, "session id " + s.id() + " already exists", index);
        sessions.put(s.id(), s.withIndexes(index, index));
        ch.tables.add(Table.SESSIONS);
        return ApplyResult.ok(s.id(), index);
    }

    private ApplyResult sessionDestroy(long index, Command.SessionDestroy c, Changes ch) {
        invalidateSession(index, c.id(), ch);
        return ApplyResult.ok(true, index);
    }

    private void invalidateSessionsOfCheck(long index, String node, String checkId, Changes ch) {
        for (Session s : List.copyOf(sessions.values())) {
            if (s.node().equals(node) && s.allChecks().contains(checkId)) invalidateSession(index, s.id(), ch);
        }
    }

    /** Releases (or deletes, per Behavior) every key the session holds, with the session's lock-delay. */
    private void invalidateSession(long index, String id, Changes ch) {
        Session s = sessions.remove(id);
        if (s == null) return;
        ch.tables.add(Table.SESSIONS);
        TreeSet<String> keys = keysBySession.get(id);
        // A copy, in key order (as the walk of the table gave them): the loop below changes the index.
        List<KvEntry> held = keys == null ? List.of() : keys.stream().map(kvs::get).filter(e -> e != null && id.equals(e.session())).toList();
        for (KvEntry e : held) {
            if ("delete".equals(s.behavior())) {
                deleteKey(index, e.key(), ch);
            } else {
                putKv(e.key(), new KvEntry(e.lockIndex(), e.key(), e.flags(), e.value(), null, e.createIndex(), index));
                ch.tables.add(Table.KVS);
                ch.keys.add(e.key());
            }
            if (s.lockDelayNanos() > 0) {
                lockReleases.put(e.key(), new LockRelease(index, s.lockDelayNanos()));
                lockDelays.released(e.key(), s.lockDelayNanos());
            }
        }
    }

    // ---------------------------------------------------------------- ACL tables

    /** The builtin policy every cluster has (as Consul's): linked to a token, it allows everything. */
    static AclPolicy globalManagementPolicy() {
        return new AclPolicy(io.failoverkit.discovery.acl.PolicyAuthorizer.GLOBAL_MANAGEMENT_ID, io.failoverkit.discovery.acl.PolicyAuthorizer.GLOBAL_MANAGEMENT_NAME,
                "Builtin Policy that grants unlimited access", "", List.of(), 0, 0);
    }

    private void ensureGlobalManagement(long index, Changes ch) {
        if (aclPolicies.containsKey(io.failoverkit.discovery.acl.PolicyAuthorizer.GLOBAL_MANAGEMENT_ID)) return;
        aclPolicies.put(io.failoverkit.discovery.acl.PolicyAuthorizer.GLOBAL_MANAGEMENT_ID, globalManagementPolicy().withIndexes(index, index));
        ch.tables.add(Table.ACL_POLICIES);
    }

    private void putToken(long index, AclToken t, Changes ch) {
        AclToken old = aclTokens.get(t.accessorId());
        if (old != null) tokensByHash.remove(old.secretHash());
        aclTokens.put(t.accessorId(), t.withIndexes(old == null ? index : old.createIndex(), index));
        tokensByHash.put(t.secretHash(), t.accessorId());
        ch.tables.add(Table.ACL_TOKENS);
    }

    private ApplyResult aclBootstrap(long index, Command.AclBootstrap c, Changes ch) {
        if (aclBootstrapIndex > 0) return ApplyResult.refused(403, "ACL bootstrap no longer allowed (reset index: " + aclBootstrapIndex + ")", index);
        if (tokensByHash.containsKey(c.token().secretHash()) || aclTokens.containsKey(c.token().accessorId())) {
            return ApplyResult.refused(400, "Invalid Token: the bootstrap token's AccessorID or SecretID is already in use", index);
        }
        ensureGlobalManagement(index, ch);
        putToken(index, c.token(), ch);
        aclBootstrapIndex = index;
        return ApplyResult.ok(c.token().accessorId(), index);
    }

    private ApplyResult aclInit(long index, Command.AclInit c, Changes ch) {
        ensureGlobalManagement(index, ch);
        if (c.anonymous() != null && !aclTokens.containsKey(c.anonymous().accessorId()) && !tokensByHash.containsKey(c.anonymous().secretHash())) {
            putToken(index, c.anonymous(), ch);
        }
        AclToken im = c.initialManagement();
        if (im != null && !tokensByHash.containsKey(im.secretHash()) && !aclTokens.containsKey(im.accessorId())) {
            putToken(index, im, ch);
            if (aclBootstrapIndex == 0) aclBootstrapIndex = index;
        }
        return ApplyResult.ok(true, index);
    }

    private ApplyResult aclPolicySet(long index, Command.AclPolicySet c, Changes ch) {
        AclPolicy p = c.policy();
        AclPolicy old = aclPolicies.get(p.id());
        if (c.create() && old != null) return ApplyResult.refused(400, "Invalid Policy: a policy with ID \"" + p.id() + "\" already exists", index);
        if (!c.create() && old == null) return ApplyResult.refused(404, "Cannot find policy " + p.id(), index);
        for (AclPolicy other : aclPolicies.values()) {
            if (!other.id().equals(p.id()) && other.name().equals(p.name())) {
                return ApplyResult.refused(400, "Invalid Policy: A Policy with Name \"" + p.name() + "\" already exists", index);
            }
        }
        if (old != null && old.id().equals(io.failoverkit.discovery.acl.PolicyAuthorizer.GLOBAL_MANAGEMENT_ID) && !old.rules().equals(p.rules())) {
            return ApplyResult.refused(400, "Changing the Rules for the builtin global-management policy is not permitted", index);
        }
        aclPolicies.put(p.id(), p.withIndexes(old == null ? index : old.createIndex(), index));
        ch.tables.add(Table.ACL_POLICIES);
        return ApplyResult.ok(p.id(), index);
    }

    private ApplyResult aclPolicyDelete(long index, Command.AclPolicyDelete c, Changes ch) {
        if (io.failoverkit.discovery.acl.PolicyAuthorizer.GLOBAL_MANAGEMENT_ID.equals(c.id())) {
            return ApplyResult.refused(400, "Deletion of the builtin global-management policy is not permitted", index);
        }
        if (aclPolicies.remove(c.id()) != null) ch.tables.add(Table.ACL_POLICIES);
        return ApplyResult.ok(true, index);
    }

    private ApplyResult aclTokenSet(long index, Command.AclTokenSet c, Changes ch) {
        AclToken t = c.token();
        AclToken old = aclTokens.get(t.accessorId());
        if (c.create()) {
            if (old != null) return ApplyResult.refused(400, "Invalid Token: AccessorID is already in use", index);
            if (t.secretHash() == null || tokensByHash.containsKey(t.secretHash())) return ApplyResult.refused(400, "Invalid Token: SecretID is already in use", index);
        } else {
            if (old == null) return ApplyResult.refused(404, "Cannot find token " + t.accessorId(), index);
            // The secret, its creation and its expiration are fixed at creation (as Consul's token update).
            t = new AclToken(old.accessorId(), old.secretHash(), t.description(), t.policyIds(), old.local(), old.expirationTime(), old.createTime(), 0, 0);
        }
        for (String id : t.policyIds()) {
            if (!aclPolicies.containsKey(id)) return ApplyResult.refused(400, "No such ACL policy with ID \"" + id + "\"", index);
        }
        putToken(index, t, ch);
        return ApplyResult.ok(t.accessorId(), index);
    }

    private ApplyResult aclTokenDelete(long index, Command.AclTokenDelete c, Changes ch) {
        if (io.failoverkit.discovery.acl.Identity.ANONYMOUS_ACCESSOR.equals(c.accessorId())) {
            return ApplyResult.refused(400, "Deletion of the builtin anonymous token is not permitted", index);
        }
        AclToken old = aclTokens.remove(c.accessorId());
        if (old != null) {
            tokensByHash.remove(old.secretHash());
            ch.tables.add(Table.ACL_TOKENS);
        }
        return ApplyResult.ok(true, index);
    }

    public Read<List<AclPolicy>> aclPolicies() {
        return read(EnumSet.of(Table.ACL_POLICIES), o -> List.copyOf(aclPolicies.values()), null);
    }

    public Read<AclPolicy> aclPolicy(String id) {
        return read(EnumSet.of(Table.ACL_POLICIES), o -> aclPolicies.get(id), null);
    }

    public Read<AclPolicy> aclPolicyByName(String name) {
        return read(EnumSet.of(Table.ACL_POLICIES), o -> aclPolicies.values().stream().filter(p -> p.name().equals(name)).findFirst().orElse(null), null);
    }

    public Read<List<AclToken>> aclTokens() {
        return read(EnumSet.of(Table.ACL_TOKENS), o -> List.copyOf(aclTokens.values()), null);
    }

    public Read<AclToken> aclToken(String accessorId) {
        return read(EnumSet.of(Table.ACL_TOKENS), o -> aclTokens.get(accessorId), null);
    }

    /**
     * The token whose secret hashes to {@code secretHash}, or null. The map lookup keys on a hash the caller cannot
     * choose freely; the stored hash is then compared in constant time before it is trusted.
     */
    public AclToken aclTokenBySecretHash(String secretHash) {
        lock.readLock().lock();
        try {
            String accessor = tokensByHash.get(secretHash);
            AclToken t = accessor == null ? null : aclTokens.get(accessor);
            return t != null && io.failoverkit.discovery.acl.Secrets.sameHash(t.secretHash(), secretHash) ? t : null;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The Raft index ACLs were bootstrapped at, 0 when they were not. */
    public long aclBootstrapIndex() {
        lock.readLock().lock();
        try { return aclBootstrapIndex; } finally { lock.readLock().unlock(); }
    }

    /** True when the ACL tables lack something a leader creates ({@link Command.AclInit}). */
    public boolean aclNeedsInit(String anonymousAccessor, String initialManagementHash) {
        lock.readLock().lock();
        try {
            return !aclPolicies.containsKey(io.failoverkit.discovery.acl.PolicyAuthorizer.GLOBAL_MANAGEMENT_ID) || !aclTokens.containsKey(anonymousAccessor)
                    || (initialManagementHash != null && !tokensByHash.containsKey(initialManagementHash));
        } finally {
            lock.readLock().unlock();
        }
    }

    // ---------------------------------------------------------------- reads

    /** The index a read reports: never 0, and never below the last restore's (see {@link #restoreIndex}). Holds the lock. */
    private long reported(long idx) {
        return Math.max(1, Math.max(idx, restoreIndex));
    }

    private <T> Read<T> read(Set<Table> tables, Function<Long, T> body, Function<T, Long> indexOf) {
        lock.readLock().lock();
        try {
            long observed = 0;
            for (Table t : tables) observed = Math.max(observed, tableIndex.get(t));
            T value = body.apply(observed);
            long idx = indexOf == null ? observed : indexOf.apply(value);
            return new Read<>(value, reported(idx), observed);
        } finally {
            lock.readLock().unlock();
        }
    }

    public Read<KvEntry> kvGet(String key) {
        lock.readLock().lock();
        try {
            long observed = tableIndex.get(Table.KVS);
            KvEntry e = kvs.get(key);
            long idx = e != null ? e.modifyIndex() : tombstones.getOrDefault(key, observed);
            return new Read<>(e, reported(idx), observed);
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * The entries whose key starts with {@code prefix}, every one of them: bounded by the first string after all such
     * keys (the prefix with its last character below U+FFFF raised by one, U+FFFF characters after it dropped), not by
     * {@code prefix + U+FFFF}, which left out keys such as {@code prefix + "\uFFFFx"}.
     */
    static <V> java.util.SortedMap<String, V> withPrefix(java.util.NavigableMap<String, V> map, String prefix) {
        int end = prefix.length();
        while (end > 0 && prefix.charAt(end - 1) == Character.MAX_VALUE) end--;
        if (end == 0) return map.tailMap(prefix, true);
        String after = prefix.substring(0, end - 1) + (char) (prefix.charAt(end - 1) + 1);
        return map.subMap(prefix, true, after, false);
    }

    public Read<List<KvEntry>> kvList(String prefix) {
        lock.readLock().lock();
        try {
            long observed = tableIndex.get(Table.KVS);
            List<KvEntry> list = List.copyOf(withPrefix(kvs, prefix).values());
            long idx = prefixIndex(prefix, list, observed);
            return new Read<>(list, reported(idx), observed);
        } finally {
            lock.readLock().unlock();
        }
    }

    private long prefixIndex(String prefix, List<KvEntry> list, long observed) {
        long idx = 0;
        for (KvEntry e : list) idx = Math.max(idx, e.modifyIndex());
        for (long t : withPrefix(tombstones, prefix).values()) idx = Math.max(idx, t);
        return idx == 0 ? observed : Math.max(idx, Math.min(kvReapedIndex, observed));
    }

    public Read<List<String>> kvKeys(String prefix, String separator) {
        lock.readLock().lock();
        try {
            long observed = tableIndex.get(Table.KVS);
            List<KvEntry> list = List.copyOf(withPrefix(kvs, prefix).values());
            TreeSet<String> keys = new TreeSet<>();
            for (KvEntry e : list) {
                String k = e.key();
                if (separator != null && !separator.isEmpty()) {
                    int at = k.indexOf(separator, prefix.length());
                    if (at >= 0) k = k.substring(0, at + separator.length());
                }
                keys.add(k);
            }
            return new Read<>(List.copyOf(keys), reported(prefixIndex(prefix, list, observed)), observed);
        } finally {
            lock.readLock().unlock();
        }
    }

    public Read<List<Node>> nodes() {
        return read(EnumSet.of(Table.NODES), o -> List.copyOf(nodes.values()), null);
    }

    public Read<Node> node(String name) {
        return read(EnumSet.of(Table.NODES), o -> nodes.get(name), null);
    }

    /** The last /v1/catalog/services answer and the SERVICES table index it was built at. */
    private record ServiceNames(long servicesIndex, Map<String, List<String>> names) {}

    private volatile ServiceNames serviceNamesCache;

    /**
     * /v1/catalog/services: service name to the union of its tags (unmodifiable). Built by a walk of every instance,
     * so it is built once per SERVICES table index and shared: the watchers of this list all wake on the same commit,
     * and with a 50,000-instance catalog each of them walking it again was the first thing to give (bench/scale.sh).
     * The same SERVICES index means the same services (both follow from the Raft log up to that index).
     */
    public Read<Map<String, List<String>>> serviceNames() {
        return read(EnumSet.of(Table.SERVICES), o -> {
            ServiceNames cached = serviceNamesCache;
            if (cached != null && cached.servicesIndex() == o) return cached.names();
            TreeMap<String, TreeSet<String>> out = new TreeMap<>();
            for (TreeMap<String, Service> m : services.values()) {
                for (Service s : m.values()) out.computeIfAbsent(s.service(), n -> new TreeSet<>()).addAll(s.tags());
            }
            Map<String, List<String>> result = new LinkedHashMap<>();
            out.forEach((k, v) -> result.put(k, List.copyOf(v)));
            Map<String, List<String>> names = java.util.Collections.unmodifiableMap(result);
            serviceNamesCache = new ServiceNames(o, names);
            return names;
        }, null);
    }

    /** A service instance with its node and the checks that concern it (node checks and its own). */
    public record Instance(Node node, Service service, List<Check> checks) {}

    private static final Set<Table> INSTANCE_TABLES = java.util.Collections.unmodifiableSet(EnumSet.of(Table.NODES, Table.SERVICES, Table.CHECKS));
    private static final TreeMap<String, Service> NO_SERVICES = new TreeMap<>();
    private static final TreeMap<String, Check> NO_CHECKS = new TreeMap<>();

    /** Instances of a service (optionally with a tag, case-insensitive), with their checks. The hot read of DNS. */
    public Read<List<Instance>> serviceInstances(String name, String tag) {
        return serviceInstancesTagged(name, tag == null ? List.of() : List.of(tag));
    }

    /**
     * Instances of a service that carry every one of {@code tags} (case-insensitive), with their checks; the index is
     * the service's own ({@link #serviceIndexes}).
     */
    public Read<List<Instance>> serviceInstancesTagged(String name, List<String> tags) {
        Read<List<Instance>> r = read(INSTANCE_TABLES, o -> {
            TreeSet<String> nodeNames = nodesByServiceName.get(name);
            if (nodeNames == null) return List.of();
            List<Instance> out = new ArrayList<>(nodeNames.size());
            for (String nodeName : nodeNames) {
                Node node = nodes.get(nodeName);
                if (node == null) continue;
                for (Service s : services.getOrDefault(nodeName, NO_SERVICES).values()) {
                    if (!s.service().equals(name) || !hasTags(s, tags)) continue;
                    List<Check> cs = new ArrayList<>(2);
                    for (Check k : checks.getOrDefault(nodeName, NO_CHECKS).values()) {
                        if (k.serviceId().isEmpty() || k.serviceId().equals(s.id())) cs.add(k);
                    }
                    out.add(new Instance(node, s, cs));
                }
            }
            return out;
        }, v -> serviceIndexLocked(name));
        return r;
    }

    /** The index of one service's catalog and health reads: its own when known, else the catalog tables'. */
    public long serviceIndex(String name) {
        lock.readLock().lock();
        try {
            return reported(serviceIndexLocked(name));
        } finally {
            lock.readLock().unlock();
        }
    }

    private long serviceIndexLocked(String name) {
        Long own = serviceIndexes.get(name);
        if (own != null) return own;
        long idx = 0;
        for (Table t : INSTANCE_TABLES) idx = Math.max(idx, tableIndex.get(t));
        return idx;
    }

    private static boolean hasTags(Service s, List<String> tags) {
        for (String want : tags) {
            boolean found = false;
            for (String t : s.tags()) if (t.equalsIgnoreCase(want)) { found = true; break; }
            if (!found) return false;
        }
        return true;
    }

    /** Every service instance with its node (no checks): /v1/catalog/services narrowed by ?node-meta or ?filter. */
    public Read<List<Instance>> allServiceInstances() {
        return read(EnumSet.of(Table.NODES, Table.SERVICES), o -> {
            List<Instance> out = new ArrayList<>();
            services.forEach((nodeName, m) -> {
                Node node = nodes.get(nodeName);
                if (node != null) for (Service s : m.values()) out.add(new Instance(node, s, List.of()));
            });
            return out;
        }, null);
    }

    public record NodeServices(Node node, Map<String, Service> services) {}

    public Read<NodeServices> nodeServices(String name) {
        return read(EnumSet.of(Table.NODES, Table.SERVICES), o -> {
            Node n = nodes.get(name);
            if (n == null) return null;
            return new NodeServices(n, new LinkedHashMap<>(services.getOrDefault(name, new TreeMap<>())));
        }, null);
    }

    public Read<List<Check>> checks(java.util.function.Predicate<Check> filter) {
        return read(EnumSet.of(Table.CHECKS), o -> {
            List<Check> out = new ArrayList<>();
            for (TreeMap<String, Check> m : checks.values()) for (Check k : m.values()) if (filter.test(k)) out.add(k);
            return List.copyOf(out);
        }, null);
    }

    /**
     * The checks of one node (its node checks and its services'), by the node's own map: /v1/health/node/X and the
     * leader's reconciler ask this for each node or member, which must not cost a walk of every check in the catalog.
     */
    public Read<List<Check>> nodeChecks(String node) {
        return read(EnumSet.of(Table.CHECKS), o -> List.copyOf(checks.getOrDefault(node, NO_CHECKS).values()), null);
    }

    public Read<List<Session>> sessions(java.util.function.Predicate<Session> filter) {
        return read(EnumSet.of(Table.SESSIONS), o -> sessions.values().stream().filter(filter).toList(), null);
    }

    public Session session(String id) {
        lock.readLock().lock();
        try { return sessions.get(id); } finally { lock.readLock().unlock(); }
    }

    // ---------------------------------------------------------------- blocking queries

    /** A parked query, to cancel when its wait time ends. */
    public interface Parked { void cancel(); }

    /**
     * Parks {@code onChange} until one of {@code tables} changes past {@code observedTableIndex}
     * (for KVS, under {@code kvPrefix}). Fires at once if that already happened, so no wake-up is lost.
     */
    public Parked watch(Set<Table> tables, String kvPrefix, long observedTableIndex, Runnable onChange) {
        return watch(tables, kvPrefix, null, observedTableIndex, onChange);
    }

    /**
     * As {@link #watch(Set, String, long, Runnable)}; a non-null {@code service} wakes the watcher only for commits that
     * change that service's reads (its instances, their nodes and checks), not for another service's.
     */
    public Parked watch(Set<Table> tables, String kvPrefix, String service, long observedTableIndex, Runnable onChange) {
        Watches.Watcher w = new Watches.Watcher(tables, kvPrefix, service, onChange);
        watches.add(w);
        long now;
        lock.readLock().lock();
        try { now = tables.stream().mapToLong(tableIndex::get).max().orElse(0); } finally { lock.readLock().unlock(); }
        if (now > observedTableIndex) watches.fire(w);
        return () -> { if (w.claim()) watches.remove(w); };
    }

    public int parkedCount() { return watches.size(); }

    // ---------------------------------------------------------------- snapshots

    /** The format marker of state.bin and of Raft snapshots (older Raft snapshots have none). */
    public static final String STATE_FORMAT = "failoverkit-discovery-state/1";

    /**
     * The whole state, as written to a Raft snapshot and to a snapshot archive's state.bin (JSON). Its {@code kvs} may
     * be the values of a persistent KV table (not a List): compare images by their encoding, not with equals.
     */
    record Image(
            @JsonProperty("format") String format,
            @JsonProperty("nodes") List<Node> nodes,
            @JsonProperty("services") Map<String, List<Service>> services,
            @JsonProperty("checks") List<Check> checks,
            @JsonProperty("kvs") Collection<KvEntry> kvs,
            @JsonProperty("tombstones") Map<String, Long> tombstones,
            @JsonProperty("sessions") List<Session> sessions,
            @JsonProperty("lockReleases") Map<String, LockRelease> lockReleases,
            @JsonProperty("aclPolicies") List<AclPolicy> aclPolicies,
            @JsonProperty("aclTokens") List<AclToken> aclTokens,
            @JsonProperty("aclBootstrapIndex") Long aclBootstrapIndex,
            @JsonProperty("tableIndex") Map<Table, Long> tableIndex,
            @JsonProperty("lastIndex") long lastIndex,
            @JsonProperty("lastTerm") Long lastTerm,
            @JsonProperty("restoreIndex") Long restoreIndex,
            @JsonProperty("serviceIndexes") Map<String, Long> serviceIndexes,
            @JsonProperty("kvReapedIndex") Long kvReapedIndex) {}

    /** Must hold the lock (read or write). */
    private Image image() {
        Map<String, List<Service>> svc = new TreeMap<>();
        services.forEach((n, m) -> svc.put(n, List.copyOf(m.values())));
        List<Check> allChecks = new ArrayList<>();
        checks.values().forEach(m -> allChecks.addAll(m.values()));
        return new Image(STATE_FORMAT, List.copyOf(nodes.values()), svc, allChecks, kvs.values(),
                new TreeMap<>(tombstones), List.copyOf(sessions.values()), new TreeMap<>(lockReleases),
                List.copyOf(aclPolicies.values()), List.copyOf(aclTokens.values()), aclBootstrapIndex, new EnumMap<>(tableIndex),
                lastIndex, lastTerm, restoreIndex, new TreeMap<>(serviceIndexes), kvReapedIndex);
    }

    /**
     * The state as the older Raft snapshots held it (one JSON document, encoded under the read lock, so applies wait
     * for it). Kept to compare against (bench/snapshot.sh) and for tests; Raft snapshots are written from a
     * {@link #view()} with {@link #writeBinarySnapshot}.
     */
    public void writeSnapshot(OutputStream out) throws IOException {
        lock.readLock().lock();
        try {
            Json.MAPPER.writeValue(out, image());
        } finally {
            lock.readLock().unlock();
        }
    }

    /**
     * A consistent view of the whole state at {@link View#index()}: taken under the read lock (so no apply is half in
     * it) by copying references only (the records are immutable, and the KV table, the one that grows large, is
     * persistent: taken whole as one reference), then written by another thread while applies go on.
     */
    public static final class View {
        final Image image;

        View(Image image) { this.image = image; }

        /** The Raft index of the last entry in this view. */
        public long index() { return image.lastIndex(); }

        public long term() { return image.lastTerm() == null ? 0 : image.lastTerm(); }

        /** The records per table. */
        public Map<String, Long> counts() { return StateStore.counts(image); }
    }

    public View view() {
        lock.readLock().lock();
        try {
            return new View(image());
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Writes a view in the binary Raft snapshot format ({@link BinarySnapshot}), streamed to {@code out}; returns its bytes. */
    public static long writeBinarySnapshot(View view, OutputStream out) throws IOException {
        return BinarySnapshot.write(view.image, out);
    }

    /** As {@link #writeBinarySnapshot(View, OutputStream)} with {@code smile}'s generator settings (tests). */
    static long writeBinarySnapshot(View view, OutputStream out, com.fasterxml.jackson.databind.ObjectMapper smile) throws IOException {
        return BinarySnapshot.write(view.image, out, smile);
    }

    /**
     * Loads a Raft snapshot file: the binary format (verified whole before anything is decoded; a damaged file is
     * refused with {@link BinarySnapshot.CorruptSnapshotException}, and the state is left as it was), or the JSON of
     * the releases before it.
     */
    public void loadSnapshot(java.nio.file.Path file) throws IOException {
        Image img;
        if (BinarySnapshot.isBinary(file)) {
            img = BinarySnapshot.read(file);
        } else {
            try (InputStream in = new java.io.BufferedInputStream(java.nio.file.Files.newInputStream(file), 64 * 1024)) {
                img = Json.MAPPER.readValue(in, Image.class);
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw new BinarySnapshot.CorruptSnapshotException("Raft snapshot " + file.getFileName()
                        + " is neither a binary snapshot nor a readable JSON snapshot of an older release: " + e.getOriginalMessage(), e);
            }
        }
        if (img == null || img.nodes() == null || img.kvs() == null || img.tableIndex() == null) {
            throw new BinarySnapshot.CorruptSnapshotException("Raft snapshot " + file.getFileName() + " lacks the state's tables");
        }
        loadImage(img);
    }

    /** Loads the JSON of the releases before the binary format. */
    public void loadSnapshot(InputStream in) throws IOException {
        loadImage(Json.MAPPER.readValue(in, Image.class));
    }

    private void loadImage(Image img) {
        lock.writeLock().lock();
        try {
            install(img);
            tableIndex.putAll(img.tableIndex());
            lastIndex = img.lastIndex();
            lastTerm = img.lastTerm() == null ? 0 : img.lastTerm();
            restoreIndex = img.restoreIndex() == null ? 0 : img.restoreIndex();
            // Older images have neither: a service then reports the catalog tables' index until it next changes.
            if (img.serviceIndexes() != null) serviceIndexes.putAll(img.serviceIndexes());
            kvReapedIndex = img.kvReapedIndex() == null ? 0 : img.kvReapedIndex();
        } finally {
            version++;
            lock.writeLock().unlock();
        }
        watches.fire(EnumSet.allOf(Table.class), null);
    }

    /** Replaces every table's content with the image's (the caller sets the indexes). Holds the write lock. */
    private void install(Image img) {
        // What can fail is done before anything is cleared: a malformed image leaves the state as it was.
        if (img.nodes() == null || img.services() == null || img.checks() == null || img.kvs() == null || img.sessions() == null) {
            throw new IllegalArgumentException("the state image lacks a table (nodes, services, checks, kvs or sessions)");
        }
        TreeMap<String, KvEntry> loaded = new TreeMap<>();
        img.kvs().forEach(e -> loaded.put(e.key(), e));
        TreePMap<String, KvEntry> table = TreePMap.fromSortedMap(loaded);
        nodes.clear(); services.clear(); checks.clear(); keysBySession.clear(); tombstones.clear(); sessions.clear(); lockReleases.clear();
        aclPolicies.clear(); aclTokens.clear(); tokensByHash.clear();
        // A state from before ACLs existed has no ACL tables: none, and not bootstrapped.
        if (img.aclPolicies() != null) img.aclPolicies().forEach(p -> aclPolicies.put(p.id(), p));
        if (img.aclTokens() != null) img.aclTokens().forEach(t -> { aclTokens.put(t.accessorId(), t); tokensByHash.put(t.secretHash(), t.accessorId()); });
        aclBootstrapIndex = img.aclBootstrapIndex() == null ? 0 : img.aclBootstrapIndex();
        // A restore's services report the restore entry's index (the tables' index after it) until they next change.
        serviceIndexes.clear();
        kvReapedIndex = 0;
        img.nodes().forEach(n -> nodes.put(n.node(), n));
        nodesByServiceName.clear();
        img.services().forEach((n, list) -> list.forEach(s -> {
            services.computeIfAbsent(n, x -> new TreeMap<>()).put(s.id(), s);
            nodesByServiceName.computeIfAbsent(s.service(), x -> new TreeSet<>()).add(n);
        }));
        img.checks().forEach(k -> checks.computeIfAbsent(k.node(), x -> new TreeMap<>()).put(k.checkId(), k));
        kvs = table;
        kvs.values().forEach(e -> reindexHolder(e.key(), null, e.session()));
        if (img.tombstones() != null) tombstones.putAll(img.tombstones());
        img.sessions().forEach(s -> sessions.put(s.id(), s));
        if (img.lockReleases() != null) {
            lockReleases.putAll(img.lockReleases());
            // The releases' own moments are not known here: hold each key a full delay from now (only longer).
            lockReleases.forEach((k, r) -> lockDelays.released(k, r.delayNanos()));
        }
        catalogGeneration++;
    }

    // ---------------------------------------------------------------- snapshot archives (save and restore)

    /** The state at one Raft index, encoded as state.bin, with that index, its term and the count of each table. */
    public record Capture(byte[] state, long index, long term, Map<String, Long> counts) {}

    /**
     * The whole state at one moment (taken under the read lock, so no apply is half in it), as state.bin bytes.
     */
    public Capture capture() {
        Image img;
        lock.readLock().lock();
        try {
            img = image();
        } finally {
            lock.readLock().unlock();
        }
        try {
            return new Capture(Json.MAPPER.writeValueAsBytes(img), img.lastIndex(), img.lastTerm() == null ? 0 : img.lastTerm(), counts(img));
        } catch (IOException e) {
            throw new IllegalStateException("could not encode the state", e);
        }
    }

    /** The records per table in a state.bin (for `snapshot inspect`), after decoding it as a restore would. */
    public static Map<String, Long> counts(byte[] state) throws SnapshotArchive.InvalidSnapshotException {
        return counts(decodeState(state));
    }

    private static Map<String, Long> counts(Image img) {
        Map<String, Long> c = new LinkedHashMap<>();
        c.put("Nodes", (long) img.nodes().size());
        c.put("Services", img.services().values().stream().mapToLong(List::size).sum());
        c.put("Checks", (long) img.checks().size());
        c.put("KVs", (long) img.kvs().size());
        c.put("Tombstones", (long) img.tombstones().size());
        c.put("Sessions", (long) img.sessions().size());
        c.put("LockDelays", (long) img.lockReleases().size());
        c.put("ACLPolicies", img.aclPolicies() == null ? 0L : img.aclPolicies().size());
        c.put("ACLTokens", img.aclTokens() == null ? 0L : img.aclTokens().size());
        return c;
    }

    /**
     * Decodes and checks a state.bin: the format marker, every table present, and references that apply relies on
     * (services, checks and sessions name registered nodes; a check's service exists; a held key's session exists), and
     * sessions keep the rules of session create ({@link SessionRules}: the TTL timers could not handle one that does not).
     */
    static Image decodeState(byte[] state) throws SnapshotArchive.InvalidSnapshotException {
        Image img;
        try {
            com.fasterxml.jackson.databind.JsonNode tree = Json.MAPPER.readTree(state);
            if (tree == null || !tree.isObject() || !STATE_FORMAT.equals(tree.path("format").asText(null))) {
                throw new SnapshotArchive.InvalidSnapshotException("state.bin is not in the format " + STATE_FORMAT + " (found "
                        + (tree == null || !tree.isObject() ? "no JSON object" : tree.path("format").isMissingNode() ? "no format" : tree.path("format").toString()) + ")");
            }
            img = Json.MAPPER.treeToValue(tree, Image.class);
        } catch (IOException e) {
            throw new SnapshotArchive.InvalidSnapshotException("state.bin is not a failoverkit discovery state (a Consul snapshot cannot be restored here): "
                    + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
        }
        if (img == null || !STATE_FORMAT.equals(img.format())) {
            throw new SnapshotArchive.InvalidSnapshotException("state.bin is not in the format " + STATE_FORMAT + " (found " + (img == null ? "nothing" : img.format()) + ")");
        }
        if (img.nodes() == null || img.services() == null || img.checks() == null || img.kvs() == null || img.tombstones() == null
                || img.sessions() == null || img.lockReleases() == null) {
            throw new SnapshotArchive.InvalidSnapshotException("state.bin lacks a table (nodes, services, checks, kvs, tombstones, sessions, lockReleases)");
        }
        Set<String> nodeNames = new HashSet<>();
        for (Node n : img.nodes()) {
            if (n == null || n.node() == null || !nodeNames.add(n.node())) throw new SnapshotArchive.InvalidSnapshotException("state.bin: a node without a name, or twice: " + n);
        }
        Map<String, Set<String>> serviceIds = new HashMap<>();
        for (var e : img.services().entrySet()) {
            if (!nodeNames.contains(e.getKey())) throw new SnapshotArchive.InvalidSnapshotException("state.bin: services of node " + e.getKey() + ", which is not registered");
            for (Service s : e.getValue()) {
                if (s == null || s.id() == null || s.service() == null || s.tags() == null || s.meta() == null || s.address() == null) {
                    throw new SnapshotArchive.InvalidSnapshotException("state.bin: an incomplete service on node " + e.getKey());
                }
                serviceIds.computeIfAbsent(e.getKey(), x -> new HashSet<>()).add(s.id());
            }
        }
        for (Check k : img.checks()) {
            if (k == null || k.node() == null || k.checkId() == null || k.serviceId() == null || k.status() == null) throw new SnapshotArchive.InvalidSnapshotException("state.bin: an incomplete check");
            if (!nodeNames.contains(k.node())) throw new SnapshotArchive.InvalidSnapshotException("state.bin: check " + k.checkId() + " of node " + k.node() + ", which is not registered");
            if (!k.serviceId().isEmpty() && !serviceIds.getOrDefault(k.node(), Set.of()).contains(k.serviceId())) {
                throw new SnapshotArchive.InvalidSnapshotException("state.bin: check " + k.checkId() + " names service " + k.serviceId() + ", which node " + k.node() + " does not have");
            }
        }
        Set<String> sessionIds = new HashSet<>();
        for (Session s : img.sessions()) {
            if (s == null || s.id() == null || s.node() == null || s.checks() == null) throw new SnapshotArchive.InvalidSnapshotException("state.bin: an incomplete session");
            if (!nodeNames.contains(s.node())) throw new SnapshotArchive.InvalidSnapshotException("state.bin: session " + s.id() + " of node " + s.node() + ", which is not registered");
            String problem = SessionRules.problem(s);
            if (problem != null) throw new SnapshotArchive.InvalidSnapshotException("state.bin: session " + s.id() + " breaks the rules of session create: " + problem);
            sessionIds.add(s.id());
        }
        Set<String> policyIds = new HashSet<>();
        if (img.aclPolicies() != null) {
            for (AclPolicy p : img.aclPolicies()) {
                if (p == null || p.id() == null || p.name() == null || p.rules() == null || !policyIds.add(p.id())) {
                    throw new SnapshotArchive.InvalidSnapshotException("state.bin: an incomplete or repeated ACL policy");
                }
            }
        }
        if (img.aclTokens() != null) {
            Set<String> hashes = new HashSet<>();
            Set<String> accessors = new HashSet<>();
            for (AclToken t : img.aclTokens()) {
                if (t == null || t.accessorId() == null || t.secretHash() == null || t.policyIds() == null) throw new SnapshotArchive.InvalidSnapshotException("state.bin: an incomplete ACL token");
                if (!accessors.add(t.accessorId()) || !hashes.add(t.secretHash())) throw new SnapshotArchive.InvalidSnapshotException("state.bin: ACL token " + t.accessorId() + " twice, or its secret shared");
            }
        }
        for (KvEntry e : img.kvs()) {
            if (e == null || e.key() == null) throw new SnapshotArchive.InvalidSnapshotException("state.bin: a KV entry without a key");
            if (e.session() != null && !sessionIds.contains(e.session())) throw new SnapshotArchive.InvalidSnapshotException("state.bin: key " + e.key() + " is held by session " + e.session() + ", which does not exist");
        }
        return img;
    }

    /** state.bin compressed for its Raft entry ({@link Command.Restore}). */
    public static byte[] compress(byte[] state) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(state.length / 4 + 64);
        try (var gz = new java.util.zip.GZIPOutputStream(out)) {
            gz.write(state);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return out.toByteArray();
    }

    private static Image decodeCompressed(byte[] compressed) throws SnapshotArchive.InvalidSnapshotException {
        byte[] state;
        try (var in = new java.util.zip.GZIPInputStream(new java.io.ByteArrayInputStream(compressed))) {
            state = in.readAllBytes();
        } catch (IOException e) {
            throw new SnapshotArchive.InvalidSnapshotException("the restore entry's state is not valid gzip: " + e.getMessage());
        }
        return decodeState(state);
    }

    /**
     * Applies a restore (under the write lock): the archive's state replaces every table. The tables' indexes become
     * the restore entry's index, so every read after it reports at least that index ({@link #restoreIndex} floors the
     * per-record indexes that single-key and prefix reads report): X-Consul-Index never goes backwards, and a blocking
     * query parked at any earlier index wakes. Records keep the indexes the archive gives them when they are all below
     * this entry (a backup of this cluster); an archive from a longer history (index at or past this entry, e.g. a
     * cluster rebuilt from nothing) has its record indexes restamped to this entry's, since Raft indexes here cannot
     * jump forward as Consul's do and a later write must get a larger ModifyIndex than every restored record.
     */
    private ApplyResult restore(long index, Command.Restore c, Image decoded, Changes ch) {
        Image img = decoded;
        if (img == null) {
            try {
                img = decodeCompressed(c.state());
            } catch (SnapshotArchive.InvalidSnapshotException e) {
                return ApplyResult.refused(400, "snapshot not restored: " + e.getMessage(), index);
            }
        }
        boolean restamp = img.lastIndex() >= index;
        if (restamp) img = restamped(img, index);
        // An archive with no ACL token (taken before ACLs were bootstrapped, or by a release without them) restored
        // into a cluster that has tokens keeps the cluster's ACL tables: replacing them with none would reopen
        // `acl bootstrap` to whoever asks first, a restore of data turned into a loss of access control.
        boolean keptAcls = (img.aclTokens() == null || img.aclTokens().isEmpty()) && !aclTokens.isEmpty();
        if (keptAcls) img = withCurrentAcls(img);
        Map<String, Long> released = releasedByRestore(img);
        install(img);
        // As an invalidation would: the old holder acts until its next renewal fails, so nobody takes the key before
        // its lock-delay has passed. Replicated (this entry's index), so every server refuses the same acquires.
        released.forEach((key, delay) -> {
            LockRelease had = lockReleases.get(key);
            lockReleases.put(key, new LockRelease(index, had == null ? delay : Math.max(delay, had.delayNanos())));
            lockDelays.released(key, delay);
        });
        for (Table t : Table.values()) ch.tables.add(t);
        ch.allKeys = true;
        restoreIndex = index;
        LOG.warn("restored snapshot {} (index {}, term {}) at Raft index {}: the whole state was replaced ({}){}", c.id(), c.snapshotIndex(), c.snapshotTerm(),
                index, counts(img), restamp ? "; record indexes restamped to " + index + " (the snapshot is from a longer history)" : "");
        if (keptAcls) {
            LOG.warn("restore at Raft index {}: the snapshot has no ACL tokens; this cluster's ACL policies, tokens and bootstrap mark were kept"
                    + " (to start ACLs afresh, delete the tokens and policies through the ACL API)", index);
        }
        if (!released.isEmpty()) {
            LOG.warn("restore at Raft index {}: {} held key(s) changed holder and are held back for the old holder's lock-delay: {}", index, released.size(), released.keySet());
        }
        return ApplyResult.ok(true, index);
    }

    /** {@code img} with this store's ACL tables and bootstrap mark in place of its own. Holds the write lock. */
    private Image withCurrentAcls(Image img) {
        return new Image(img.format(), img.nodes(), img.services(), img.checks(), img.kvs(), img.tombstones(), img.sessions(), img.lockReleases(),
                List.copyOf(aclPolicies.values()), List.copyOf(aclTokens.values()), aclBootstrapIndex, img.tableIndex(), img.lastIndex(),
                img.lastTerm(), img.restoreIndex(), img.serviceIndexes(), img.kvReapedIndex());
    }

    /**
     * The keys held now whose holder differs in {@code img} (the key gone, free, or held by another session), with the
     * lock-delay of the session holding each now (only those with a delay). Holds the write lock.
     */
    private Map<String, Long> releasedByRestore(Image img) {
        Map<String, String> holderAfter = new HashMap<>();
        for (KvEntry e : img.kvs()) if (e.session() != null) holderAfter.put(e.key(), e.session());
        Map<String, Long> released = new TreeMap<>();
        for (KvEntry e : kvs.values()) {
            if (e.session() == null || e.session().equals(holderAfter.get(e.key()))) continue;
            Session s = sessions.get(e.session());
            if (s != null && s.lockDelayNanos() > 0) released.put(e.key(), s.lockDelayNanos());
        }
        return released;
    }

    private static Image restamped(Image img, long index) {
        Map<String, List<Service>> svc = new TreeMap<>();
        img.services().forEach((n, l) -> svc.put(n, l.stream().map(s -> s.withIndexes(index, index)).toList()));
        Map<String, Long> tombs = new TreeMap<>();
        img.tombstones().keySet().forEach(k -> tombs.put(k, index));
        Map<String, LockRelease> rel = new TreeMap<>();
        img.lockReleases().forEach((k, r) -> rel.put(k, new LockRelease(index, r.delayNanos())));
        return new Image(img.format(), img.nodes().stream().map(n -> n.withIndexes(index, index)).toList(), svc,
                img.checks().stream().map(k -> k.withIndexes(index, index)).toList(),
                img.kvs().stream().map(e -> new KvEntry(e.lockIndex(), e.key(), e.flags(), e.value(), e.session(), index, index)).toList(),
                tombs, img.sessions().stream().map(s -> s.withIndexes(index, index)).toList(), rel,
                img.aclPolicies() == null ? null : img.aclPolicies().stream().map(p -> p.withIndexes(index, index)).toList(),
                img.aclTokens() == null ? null : img.aclTokens().stream().map(t -> t.withIndexes(index, index)).toList(),
                img.aclBootstrapIndex() == null || img.aclBootstrapIndex() == 0 ? img.aclBootstrapIndex() : Long.valueOf(index),
                img.tableIndex(), index, img.lastTerm(), img.restoreIndex(), null, null);
    }

    /** Sessions with a TTL, for the leader's timers. */
    public List<Session> sessionsWithTtl() {
        lock.readLock().lock();
        try { return sessions.values().stream().filter(s -> s.ttl() != null && !s.ttl().isEmpty()).toList(); } finally { lock.readLock().unlock(); }
    }
}

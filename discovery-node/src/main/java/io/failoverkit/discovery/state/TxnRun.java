package io.failoverkit.discovery.state;

import io.failoverkit.discovery.state.Model.KvEntry;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiPredicate;
import java.util.function.Predicate;

/**
 * One transaction's operations run in order against the KV as it stands plus the transaction's own earlier writes,
 * which are only collected here: the state store applies them when no operation failed, so a transaction is all or
 * nothing. Reads the store's tables under its lock; changes nothing itself.
 */
final class TxnRun {
    private final NavigableMap<String, KvEntry> kvs;
    private final Predicate<String> sessionExists;
    private final BiPredicate<String, Long> releasedAfter;
    private final long index;
    /** Key to its new entry, or empty when the transaction deletes it. */
    final TreeMap<String, Optional<KvEntry>> writes = new TreeMap<>();
    /** Keys this transaction locks while free: their lock-delay records end with it. */
    final Set<String> acquired = new HashSet<>();

    TxnRun(NavigableMap<String, KvEntry> kvs, Predicate<String> sessionExists, BiPredicate<String, Long> releasedAfter, long index) {
        this.kvs = kvs;
        this.sessionExists = sessionExists;
        this.releasedAfter = releasedAfter;
        this.index = index;
    }

    TxnOutcome run(List<TxnOp> ops, Long lockCheckedIndex) {
        List<TxnOutcome.Result> results = new ArrayList<>();
        List<TxnOutcome.Error> errors = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            TxnOp op = ops.get(i);
            String error = step(op, lockCheckedIndex, results);
            if (error != null) errors.add(new TxnOutcome.Error(i, error));
        }
        return errors.isEmpty() ? new TxnOutcome(results, null) : new TxnOutcome(null, errors);
    }

    private KvEntry get(String key) {
        Optional<KvEntry> w = writes.get(key);
        return w != null ? w.orElse(null) : kvs.get(key);
    }

    private NavigableMap<String, KvEntry> tree(String prefix) {
        TreeMap<String, KvEntry> view = new TreeMap<>(StateStore.withPrefix(kvs, prefix));
        for (Map.Entry<String, Optional<KvEntry>> w : StateStore.withPrefix(writes, prefix).entrySet()) {
            if (w.getValue().isPresent()) view.put(w.getKey(), w.getValue().get());
            else view.remove(w.getKey());
        }
        return view;
    }

    /** Runs one operation; returns why it failed, or null (its result, if any, added to {@code results}). */
    private String step(TxnOp op, Long lockCheckedIndex, List<TxnOutcome.Result> results) {
        String key = op.key();
        KvEntry e = get(key);
        switch (op.verb()) {
            case SET -> write(op, e, e == null ? 0 : e.lockIndex(), e == null ? null : e.session(), results);
            case CAS -> {
                if (op.index() == 0 && e != null) return "failed to set key \"" + key + "\": it exists (cas index 0 only creates)";
                if (op.index() != 0 && e == null) return "failed to set key \"" + key + "\": it does not exist (cas index " + op.index() + ")";
                if (op.index() != 0 && e.modifyIndex() != op.index()) {
                    return "failed to set key \"" + key + "\": index is stale (modify index " + e.modifyIndex() + ", not " + op.index() + ")";
                }
                write(op, e, e == null ? 0 : e.lockIndex(), e == null ? null : e.session(), results);
            }
            case LOCK -> {
                if (!sessionExists.test(op.session())) {
                    return "failed to lock key \"" + key + "\": session \"" + op.session() + "\" does not exist or was invalidated";
                }
                String holder = e == null ? null : e.session();
                if (holder != null && !holder.equals(op.session())) {
                    return "failed to lock key \"" + key + "\": it is held by session \"" + holder + "\"";
                }
                long lockIndex = e == null ? 0 : e.lockIndex();
                if (holder == null) {
                    if (releasedAfter.test(key, lockCheckedIndex)) {
                        return "failed to lock key \"" + key + "\": lock-delay in effect (an invalidated session released it)";
                    }
                    lockIndex++;
                    acquired.add(key);
                }
                write(op, e, lockIndex, op.session(), results);
            }
            case UNLOCK -> {
                if (e == null || !op.session().equals(e.session())) {
                    return "failed to unlock key \"" + key + "\": it is not held by session \"" + op.session() + "\"";
                }
                write(op, e, e.lockIndex(), null, results);
            }
            case GET -> {
                if (e == null) return "key \"" + key + "\" does not exist";
                results.add(new TxnOutcome.Result(TxnOutcome.Kv.of(e, true)));
            }
            case GET_OR_EMPTY -> results.add(new TxnOutcome.Result(e == null
                    ? new TxnOutcome.Kv(0, key, 0, null, null, 0, 0) : TxnOutcome.Kv.of(e, true)));
            case GET_TREE -> tree(key).values().forEach(x -> results.add(new TxnOutcome.Result(TxnOutcome.Kv.of(x, true))));
            case CHECK_INDEX -> {
                if (e == null) return "key \"" + key + "\" does not exist";
                if (e.modifyIndex() != op.index()) return "key \"" + key + "\" has modify index " + e.modifyIndex() + ", not " + op.index();
                results.add(new TxnOutcome.Result(TxnOutcome.Kv.of(e, false)));
            }
            case CHECK_SESSION -> {
                if (e == null) return "key \"" + key + "\" does not exist";
                if (!op.session().equals(e.session())) {
                    return "key \"" + key + "\" is not held by session \"" + op.session() + "\" ("
                            + (e.session() == null ? "no session holds it" : "session \"" + e.session() + "\" does") + ")";
                }
                results.add(new TxnOutcome.Result(TxnOutcome.Kv.of(e, false)));
            }
            case CHECK_NOT_EXISTS -> {
                if (e != null) return "key \"" + key + "\" exists";
            }
            case DELETE -> writes.put(key, Optional.empty());
            case DELETE_TREE -> tree(key).keySet().forEach(k -> writes.put(k, Optional.empty()));
            case DELETE_CAS -> {
                // As a DELETE ?cas on /v1/kv: a key that is already gone has nothing to delete, so that succeeds.
                if (e != null && e.modifyIndex() != op.index()) {
                    return "failed to delete key \"" + key + "\": index is stale (modify index " + e.modifyIndex() + ", not " + op.index() + ")";
                }
                writes.put(key, Optional.empty());
            }
        }
        return null;
    }

    private void write(TxnOp op, KvEntry existing, long lockIndex, String session, List<TxnOutcome.Result> results) {
        long create = existing == null ? index : existing.createIndex();
        KvEntry next = new KvEntry(lockIndex, op.key(), op.flags(), op.value(), session, create, index);
        writes.put(op.key(), Optional.of(next));
        results.add(new TxnOutcome.Result(TxnOutcome.Kv.of(next, false)));
    }
}

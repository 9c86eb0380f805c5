package io.failoverkit.discovery.state;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The state machine's rules, applied directly, index by index, as Raft would apply them. */
class StateStoreTest {
    /** The store's monotonic clock for lock-delay, in nanoseconds, moved by the tests. */
    private final long[] clock = {1_000_000_000L};
    private final StateStore store = new StateStore(Runnable::run, () -> clock[0]);
    private long index;

    private ApplyResult apply(Command c) {
        log.add(c);
        return store.apply(++index, c).get(0);
    }

    private void registerNode(String node, String serfStatus) {
        registerNode(node, serfStatus, 0);
    }

    private void registerNode(String node, String serfStatus, long now) {
        apply(new Command.Register(new Model.Node("", node, "127.0.0.1", "dc1", Map.of(), Map.of(), 0, 0), null,
                List.of(new Model.Check(node, Model.SERF_HEALTH, "Serf Health Status", serfStatus, "", "", "", "", List.of(), "", 0, 0)), false, now));
    }

    private String session(String node, String behavior, long lockDelayMillis) {
        String id = "s-" + (index + 1);
        apply(new Command.SessionCreate(new Model.Session(id, "", node, List.of(Model.SERF_HEALTH), lockDelayMillis * 1_000_000, behavior, "", 0, 0)));
        return id;
    }

    /** An acquire as a server proposes it after checking lock-delay with its state applied up to {@code checkedIndex}. */
    private ApplyResult acquire(String key, String session, long checkedIndex) {
        return apply(new Command.KvPut(key, "v".getBytes(), 0, null, session, null, checkedIndex));
    }

    @Test
    void casZeroCreatesOnlyAndCasIndexMustMatch() {
        assertThat(apply(new Command.KvPut("k", "a".getBytes(), 0, 0L, null, null, null)).value()).isEqualTo(true);
        assertThat(apply(new Command.KvPut("k", "b".getBytes(), 0, 0L, null, null, null)).value()).isEqualTo(false);
        long modify = store.kvGet("k").value().modifyIndex();
        assertThat(apply(new Command.KvPut("k", "c".getBytes(), 0, modify + 5, null, null, null)).value()).isEqualTo(false);
        assertThat(apply(new Command.KvPut("k", "c".getBytes(), 0, modify, null, null, null)).value()).isEqualTo(true);
        assertThat(new String(store.kvGet("k").value().value())).isEqualTo("c");
        assertThat(apply(new Command.KvPut("missing", "x".getBytes(), 0, 3L, null, null, null)).value()).as("cas on a missing key").isEqualTo(false);
        assertThat(store.kvGet("missing").value()).isNull();
    }

    @Test
    void aFailedNodeCheckInvalidatesItsSessionsAndTheLockDelayHoldsTheKey() {
        registerNode("n1", Model.PASSING);
        registerNode("n2", Model.PASSING);
        String s1 = session("n1", "release", 15_000);
        String s2 = session("n2", "release", 0);
        assertThat(acquire("lock", s1, index).value()).isEqualTo(true);
        assertThat(acquire("lock", s2, index).value()).as("held by another session").isEqualTo(false);
        assertThat(store.kvGet("lock").value().lockIndex()).isEqualTo(1);

        long beforeRelease = index;
        registerNode("n1", Model.CRITICAL, 1_000);
        long released = index;
        assertThat(store.session(s1)).isNull();
        assertThat(store.kvGet("lock").value().session()).isNull();
        // This server's own clock holds the key for the full delay from the moment it applied the release.
        assertThat(store.lockDelays().remaining("lock")).isEqualTo(java.time.Duration.ofSeconds(15));
        clock[0] += 14_999_000_000L;
        assertThat(store.lockDelays().remaining("lock")).as("within the 15 s lock-delay").isPositive();
        // An acquire checked before the release was applied cannot have seen its delay: apply refuses it.
        assertThat(acquire("lock", s2, beforeRelease).value()).as("checked before the release").isEqualTo(false);
        clock[0] += 2_000_000L;
        assertThat(store.lockDelays().remaining("lock")).as("after the lock-delay").isZero();
        assertThat(acquire("lock", s2, released).value()).as("checked after the release, once the delay ended").isEqualTo(true);
        assertThat(store.kvGet("lock").value().lockIndex()).isEqualTo(2);
    }

    @Test
    void applyReadsNoClockSoServersWithDifferentClocksAgree() {
        // Two servers apply the same log; their clocks are an hour apart and move differently while they do.
        long[] otherClock = {clock[0] + 3_600_000_000_000L};
        StateStore other = new StateStore(Runnable::run, () -> otherClock[0]);
        registerNode("n1", Model.PASSING);
        registerNode("n2", Model.PASSING);
        String s1 = session("n1", "release", 10_000);
        String s2 = session("n2", "release", 0);
        acquire("lock", s1, index);
        long beforeRelease = index;
        apply(new Command.SessionDestroy(s1, "destroyed", 0));
        List<Command> tail = List.of(
                new Command.KvPut("lock", "v".getBytes(), 0, null, s2, null, beforeRelease),
                new Command.KvPut("lock", "v".getBytes(), 0, null, s2, null, index));
        // The other server replays the log an hour later by its clock, then both apply the tail.
        replayInto(other);
        assertThat(other.lockDelays().remaining("lock")).as("each server measures the delay on its own clock").isPositive();
        List<List<ApplyResult>> outcomes = new java.util.ArrayList<>();
        for (StateStore st : List.of(store, other)) {
            long i = index;
            List<ApplyResult> rs = new java.util.ArrayList<>();
            for (Command c : tail) rs.add(st.apply(++i, c).get(0));
            outcomes.add(rs);
        }
        assertThat(outcomes.get(0)).extracting(ApplyResult::value).containsExactly(false, true);
        assertThat(outcomes.get(1)).as("the same outcome on the other server").isEqualTo(outcomes.get(0));
        assertThat(other.kvGet("lock").value()).isEqualTo(store.kvGet("lock").value());
    }

    @Test
    void aSnapshotKeepsTheReleasesAndTheLoadingServerHoldsThemAFullDelay() throws Exception {
        registerNode("n1", Model.PASSING);
        registerNode("n2", Model.PASSING);
        String s1 = session("n1", "release", 5_000);
        String s2 = session("n2", "release", 0);
        acquire("lock", s1, index);
        long beforeRelease = index;
        apply(new Command.SessionDestroy(s1, "destroyed", 0));
        java.io.ByteArrayOutputStream image = new java.io.ByteArrayOutputStream();
        store.writeSnapshot(image);

        long[] laterClock = {42};
        StateStore loaded = new StateStore(Runnable::run, () -> laterClock[0]);
        loaded.loadSnapshot(new java.io.ByteArrayInputStream(image.toByteArray()));
        assertThat(loaded.lockDelays().remaining("lock")).as("the release's moment is unknown: a full delay from the load")
                .isEqualTo(java.time.Duration.ofSeconds(5));
        assertThat(loaded.apply(index + 1, new Command.KvPut("lock", "v".getBytes(), 0, null, s2, null, beforeRelease)).get(0).value())
                .as("an acquire checked before the release, applied after a snapshot load").isEqualTo(false);
    }

    @Test
    void aTransactionIsOneEntryAppliedWholeOrNotAtAll() {
        registerNode("n1", Model.PASSING);
        String s1 = session("n1", "release", 0);
        apply(new Command.KvPut("epoch", "1".getBytes(), 0, null, null, null, null));
        long epochIndex = index;
        acquire("leader", s1, index);
        List<TxnOp> bump = List.of(
                new TxnOp(TxnOp.Verb.CHECK_SESSION, "leader", null, 0, 0, s1),
                new TxnOp(TxnOp.Verb.CAS, "epoch", "2".getBytes(), 0, epochIndex, null),
                new TxnOp(TxnOp.Verb.SET, "audit/2", "a".getBytes(), 7, 0, null));
        TxnOutcome ok = (TxnOutcome) apply(new Command.Txn(bump, index)).value();
        assertThat(ok.errors()).isNull();
        assertThat(ok.results()).hasSize(3);
        assertThat(store.kvGet("epoch").value().modifyIndex()).as("every key written has the entry's index").isEqualTo(index);
        assertThat(store.kvGet("audit/2").value().modifyIndex()).isEqualTo(index);
        assertThat(store.kvGet("audit/2").value().flags()).isEqualTo(7);

        // The same again: the CAS index is stale now, and the session check fails once the session is gone.
        apply(new Command.SessionDestroy(s1, "destroyed", 0));
        long kvIndex = store.kvList("").index();
        TxnOutcome refused = (TxnOutcome) apply(new Command.Txn(List.of(
                new TxnOp(TxnOp.Verb.SET, "audit/3", "a".getBytes(), 0, 0, null),
                bump.get(0), bump.get(1)), index)).value();
        assertThat(refused.results()).isNull();
        assertThat(refused.errors()).extracting(TxnOutcome.Error::opIndex).containsExactly(1, 2);
        assertThat(store.kvGet("audit/3").value()).as("the set before the failing check is rolled back").isNull();
        assertThat(store.kvList("").index()).as("nothing changed").isEqualTo(kvIndex);
    }

    private final List<Command> log = new java.util.ArrayList<>();

    private void replayInto(StateStore other) {
        long i = 0;
        for (Command c : log) other.apply(++i, c);
    }

    @Test
    void behaviorDeleteRemovesHeldKeysAndAnInvalidSessionIsRefused() {
        registerNode("n1", Model.PASSING);
        String s = session("n1", "delete", 0);
        assertThat(acquire("ephemeral", s, index).value()).isEqualTo(true);
        apply(new Command.SessionDestroy(s, "destroyed", 0));
        assertThat(store.kvGet("ephemeral").value()).isNull();
        ApplyResult r = acquire("ephemeral", s, index);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.error()).contains(s);
        assertThat(store.kvGet("ephemeral").value()).as("a refused acquire changes nothing").isNull();
    }

    @Test
    void aSessionNeedsARegisteredNodeAndHealthyChecks() {
        ApplyResult r = apply(new Command.SessionCreate(new Model.Session("x", "", "ghost", List.of(Model.SERF_HEALTH), 0, "release", "", 0, 0)));
        assertThat(r.status()).isEqualTo(400);
        registerNode("sick", Model.CRITICAL);
        r = apply(new Command.SessionCreate(new Model.Session("y", "", "sick", List.of(Model.SERF_HEALTH), 0, "release", "", 0, 0)));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.error()).contains("critical");
        assertThat(store.sessions(s -> true).value()).isEmpty();
    }

    @Test
    void indexesComeFromTheLogAndUnchangedRegistrationsDoNotBumpThem() {
        registerNode("n1", Model.PASSING);
        long nodesIndex = store.nodes().index();
        registerNode("n1", Model.PASSING);
        assertThat(store.nodes().index()).as("same content, same index").isEqualTo(nodesIndex);
        apply(new Command.KvPut("a", "1".getBytes(), 0, null, null, null, null));
        assertThat(store.kvGet("a").index()).isEqualTo(index);
        apply(new Command.KvDelete("a", false, null));
        assertThat(store.kvGet("a").index()).as("a deleted key reports its delete index").isEqualTo(index);
        assertThat(store.kvList("a").index()).isEqualTo(index);
    }

    @Test
    void snapshotRoundTripKeepsEverything() throws Exception {
        registerNode("n1", Model.PASSING);
        String s = session("n1", "release", 1000);
        acquire("held", s, 0);
        apply(new Command.KvPut("plain", new byte[]{0, 1, 2}, 42, null, null, null, null));
        var out = new java.io.ByteArrayOutputStream();
        store.writeSnapshot(out);
        StateStore copy = new StateStore(Runnable::run);
        copy.loadSnapshot(new java.io.ByteArrayInputStream(out.toByteArray()));
        assertThat(copy.kvList("").value()).usingRecursiveFieldByFieldElementComparator().isEqualTo(store.kvList("").value());
        assertThat(copy.sessions(x -> true).value()).isEqualTo(store.sessions(x -> true).value());
        assertThat(copy.nodes().value()).isEqualTo(store.nodes().value());
        assertThat(copy.lastIndex()).isEqualTo(store.lastIndex());
    }

    @Test
    void instancesByNameFollowRenamesAndDeregistrations() {
        Model.Node n = new Model.Node("", "n1", "127.0.0.1", "dc1", Map.of(), Map.of(), 0, 0);
        Model.Service redis = new Model.Service("cache-1", "redis", List.of("master"), "", Map.of(), 6379, Model.Weights.DEFAULT, false, 0, 0);
        apply(new Command.Register(n, redis, List.of(), false, 0));
        assertThat(store.serviceInstances("redis", null).value()).hasSize(1);
        assertThat(store.serviceInstances("redis", "MASTER").value()).as("tags match case-insensitively, as DNS names do").hasSize(1);
        Model.Service renamed = new Model.Service("cache-1", "valkey", List.of("master"), "", Map.of(), 6379, Model.Weights.DEFAULT, false, 0, 0);
        apply(new Command.Register(n, renamed, List.of(), false, 0));
        assertThat(store.serviceInstances("redis", null).value()).isEmpty();
        assertThat(store.serviceInstances("valkey", null).value()).hasSize(1);
        apply(new Command.Deregister("n1", "cache-1", null, 0));
        assertThat(store.serviceInstances("valkey", null).value()).isEmpty();
        apply(new Command.Register(n, redis, List.of(), false, 0));
        apply(new Command.Deregister("n1", null, null, 0));
        assertThat(store.serviceInstances("redis", null).value()).isEmpty();
    }

    @Test
    void aBatchAppliesInOrderWithOneIndexAndOneResultEach() {
        long at = ++index;
        List<ApplyResult> results = store.apply(at, new Command.Batch(List.of(
                new Command.KvPut("b", "1".getBytes(), 0, 0L, null, null, null),
                new Command.KvPut("b", "2".getBytes(), 0, 0L, null, null, null),
                new Command.KvPut("c", "3".getBytes(), 0, null, null, null, null))));
        assertThat(results).extracting(ApplyResult::value).containsExactly(true, false, true);
        assertThat(store.kvGet("b").value().modifyIndex()).isEqualTo(at);
        assertThat(store.kvGet("c").value().modifyIndex()).isEqualTo(at);
        assertThat(new String(store.kvGet("b").value().value())).isEqualTo("1");
    }

    /**
     * The reconciler's scenario: a deposed leader's "n1 is critical", proposed in term 4, committed in term 5 (a client
     * retry redirected to the new leader) must not apply: n1's session survives. The same write committed in its own
     * term applies.
     */
    @Test
    void aWriteCommittedInALaterTermThanItWasProposedInIsRefusedAndChangesNothing() {
        registerNode("n1", Model.PASSING);
        String s = session("n1", "release", 0);
        Command critical = new Command.Register(new Model.Node("", "n1", "127.0.0.1", "dc1", Map.of(), Map.of(), 0, 0), null,
                List.of(new Model.Check("n1", Model.SERF_HEALTH, "Serf Health Status", Model.CRITICAL, "", "", "", "", List.of(), "", 0, 0)), false, 0);
        ApplyResult stale = store.apply(++index, 5, new Command.InTerm(4, critical)).get(0);
        assertThat(stale.status()).isEqualTo(409);
        assertThat(stale.error()).contains("term 4").contains("term 5");
        assertThat(store.checks(k -> k.node().equals("n1")).value()).extracting(Model.Check::status).containsExactly(Model.PASSING);
        assertThat(store.session(s)).as("the session of a live node").isNotNull();

        ApplyResult current = store.apply(++index, 5, new Command.InTerm(5, critical)).get(0);
        assertThat(current.isOk()).isTrue();
        assertThat(store.checks(k -> k.node().equals("n1")).value()).extracting(Model.Check::status).containsExactly(Model.CRITICAL);
        assertThat(store.session(s)).as("invalidated by the critical serfHealth").isNull();
    }

    /**
     * The session -> held keys index (what an invalidation releases) agrees with a walk of the KV table after every
     * kind of KV change: acquire, release, plain writes, deletes (one key and a tree), transactions, session destroys
     * with both behaviours and lock-delays, sessions invalidated by their node's failed check, a snapshot load and a
     * restore; and a server that loaded the snapshot invalidates exactly as the one that applied the log. Seeded.
     */
    @Test
    void theSessionIndexFollowsEveryKvChange() throws Exception {
        registerNode("n1", Model.PASSING);
        registerNode("n2", Model.PASSING);
        java.util.Random rnd = new java.util.Random(14);
        List<String> live = new java.util.ArrayList<>();
        for (int i = 0; i < 4; i++) live.add(session(i < 2 ? "n1" : "n2", i % 2 == 0 ? "release" : "delete", i == 0 ? 5 : 0));
        int destroyed = 0, txnsApplied = 0, nodeFailures = 0;
        for (int step = 0; step < 2_000; step++) {
            String key = "app/" + rnd.nextInt(4) + "/" + rnd.nextInt(8);
            String s = live.get(rnd.nextInt(live.size()));
            // lock-delays end (the clock moves a second a step): later acquires are not all refused
            clock[0] += 1_000_000_000L;
            switch (rnd.nextInt(11)) {
                case 0, 1 -> apply(new Command.KvPut(key, "v".getBytes(), 0, null, s, null, index));
                case 2 -> apply(new Command.KvPut(key, "v".getBytes(), 0, null, null, s, null));
                case 3 -> apply(new Command.KvPut(key, "w".getBytes(), 0, null, null, null, null));
                case 4 -> apply(new Command.KvDelete(key, false, null));
                case 5 -> apply(new Command.KvDelete(key.substring(0, 5), true, null));
                case 6, 7 -> {
                    List<TxnOp> ops = rnd.nextBoolean()
                            ? List.of(new TxnOp(TxnOp.Verb.LOCK, key, "t".getBytes(), 0, 0, s),
                                      new TxnOp(TxnOp.Verb.SET, "app/3/" + rnd.nextInt(8), "s".getBytes(), 0, 0, null))
                            : List.of(new TxnOp(TxnOp.Verb.UNLOCK, key, "u".getBytes(), 0, 0, s),
                                      new TxnOp(TxnOp.Verb.DELETE_TREE, "app/1/", null, 0, 0, null));
                    Object v = apply(new Command.Txn(ops, index)).value();
                    if (v instanceof TxnOutcome o && o.applied()) txnsApplied++;
                }
                case 8 -> {
                    apply(new Command.SessionDestroy(s, "destroyed", 0));
                    assertThat(store.kvList("app/").value()).as("no key held by destroyed session %s", s).noneMatch(e -> s.equals(e.session()));
                    live.remove(s);
                    live.add(session(rnd.nextBoolean() ? "n1" : "n2", rnd.nextBoolean() ? "release" : "delete", rnd.nextInt(3)));
                    destroyed++;
                }
                case 9 -> {
                    if (rnd.nextInt(4) == 0) {
                        // n2's serfHealth fails: its sessions are invalidated (and their keys released or deleted)
                        registerNode("n2", Model.CRITICAL);
                        java.util.Set<String> alive = store.sessions(x -> true).value().stream().map(Model.Session::id).collect(java.util.stream.Collectors.toSet());
                        List<String> gone = live.stream().filter(x -> !alive.contains(x)).toList();
                        live.removeAll(gone);
                        registerNode("n2", Model.PASSING);
                        for (String g : gone) {
                            assertThat(store.kvList("app/").value()).noneMatch(e -> g.equals(e.session()));
                            live.add(session("n2", rnd.nextBoolean() ? "release" : "delete", 0));
                        }
                        if (!gone.isEmpty()) nodeFailures++;
                    }
                }
                default -> apply(new Command.KvPut(key, "x".getBytes(), 0, null, s, null, index));
            }
            assertThat(store.sessionIndexConsistent()).as("after step %d", step).isTrue();
        }
        assertThat(destroyed).isGreaterThan(50);
        assertThat(txnsApplied).isGreaterThan(50);
        assertThat(nodeFailures).isGreaterThan(5);
        assertThat(store.kvList("app/").value()).as("some keys held at the end").anyMatch(e -> e.session() != null);

        // A server that loaded the snapshot, and one that restored it, invalidate as the one that applied the log.
        java.io.ByteArrayOutputStream snap = new java.io.ByteArrayOutputStream();
        store.writeSnapshot(snap);
        StateStore loaded = new StateStore(Runnable::run, () -> clock[0]);
        loaded.loadSnapshot(new java.io.ByteArrayInputStream(snap.toByteArray()));
        StateStore restored = new StateStore(Runnable::run, () -> clock[0]);
        StateStore.Capture c = store.capture();
        assertThat(restored.apply(1, new Command.Restore("r", c.index(), c.term(), StateStore.compress(c.state()))).get(0).isOk()).isTrue();
        for (StateStore other : List.of(loaded, restored)) assertThat(other.sessionIndexConsistent()).isTrue();
        String holder = store.kvList("app/").value().stream().filter(e -> e.session() != null).findFirst().orElseThrow().session();
        long at = Math.max(index, restored.lastIndex()) + 1;
        for (StateStore st : List.of(store, loaded, restored)) {
            assertThat(st.apply(at, new Command.SessionDestroy(holder, "destroyed", 0)).get(0).isOk()).isTrue();
            assertThat(st.sessionIndexConsistent()).isTrue();
        }
        java.util.function.Function<StateStore, List<String>> kv = st -> st.kvList("").value().stream()
                .map(e -> e.key() + " " + e.session() + " " + e.modifyIndex() + " " + e.lockIndex()).toList();
        assertThat(kv.apply(loaded)).isEqualTo(kv.apply(store));
        assertThat(kv.apply(restored).stream().map(x -> x.split(" ")[0] + " " + x.split(" ")[1]).toList())
                .isEqualTo(kv.apply(store).stream().map(x -> x.split(" ")[0] + " " + x.split(" ")[1]).toList());
        assertThat(kv.apply(store)).noneMatch(x -> x.contains(" " + holder + " "));
    }
}

package io.failoverkit.discovery.state;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The state machine's rules, applied directly, index by index, as Raft would apply them. */
class StateStoreTest {
    private final StateStore store = new StateStore(Runnable::run);
    private long index;

    private ApplyResult apply(Command c) { return store.apply(++index, c).get(0); }

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

    private ApplyResult acquire(String key, String session, long now) {
        return apply(new Command.KvPut(key, "v".getBytes(), 0, null, session, null, now));
    }

    @Test
    void casZeroCreatesOnlyAndCasIndexMustMatch() {
        assertThat(apply(new Command.KvPut("k", "a".getBytes(), 0, 0L, null, null, 0)).value()).isEqualTo(true);
        assertThat(apply(new Command.KvPut("k", "b".getBytes(), 0, 0L, null, null, 0)).value()).isEqualTo(false);
        long modify = store.kvGet("k").value().modifyIndex();
        assertThat(apply(new Command.KvPut("k", "c".getBytes(), 0, modify + 5, null, null, 0)).value()).isEqualTo(false);
        assertThat(apply(new Command.KvPut("k", "c".getBytes(), 0, modify, null, null, 0)).value()).isEqualTo(true);
        assertThat(new String(store.kvGet("k").value().value())).isEqualTo("c");
        assertThat(apply(new Command.KvPut("missing", "x".getBytes(), 0, 3L, null, null, 0)).value()).as("cas on a missing key").isEqualTo(false);
        assertThat(store.kvGet("missing").value()).isNull();
    }

    @Test
    void aFailedNodeCheckInvalidatesItsSessionsAndTheLockDelayHoldsTheKey() {
        registerNode("n1", Model.PASSING);
        registerNode("n2", Model.PASSING);
        String s1 = session("n1", "release", 15_000);
        String s2 = session("n2", "release", 0);
        assertThat(acquire("lock", s1, 1_000).value()).isEqualTo(true);
        assertThat(acquire("lock", s2, 1_000).value()).as("held by another session").isEqualTo(false);
        assertThat(store.kvGet("lock").value().lockIndex()).isEqualTo(1);

        registerNode("n1", Model.CRITICAL, 1_000);
        assertThat(store.session(s1)).isNull();
        assertThat(store.kvGet("lock").value().session()).isNull();
        assertThat(acquire("lock", s2, 1_000 + 14_999).value()).as("within the 15 s lock-delay").isEqualTo(false);
        assertThat(acquire("lock", s2, 1_000 + 15_001).value()).as("after the lock-delay").isEqualTo(true);
        assertThat(store.kvGet("lock").value().lockIndex()).isEqualTo(2);
    }

    @Test
    void behaviorDeleteRemovesHeldKeysAndAnInvalidSessionIsRefused() {
        registerNode("n1", Model.PASSING);
        String s = session("n1", "delete", 0);
        assertThat(acquire("ephemeral", s, 0).value()).isEqualTo(true);
        apply(new Command.SessionDestroy(s, "destroyed", 0));
        assertThat(store.kvGet("ephemeral").value()).isNull();
        ApplyResult r = acquire("ephemeral", s, 0);
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
        apply(new Command.KvPut("a", "1".getBytes(), 0, null, null, null, 0));
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
        apply(new Command.KvPut("plain", new byte[]{0, 1, 2}, 42, null, null, null, 0));
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
                new Command.KvPut("b", "1".getBytes(), 0, 0L, null, null, 0),
                new Command.KvPut("b", "2".getBytes(), 0, 0L, null, null, 0),
                new Command.KvPut("c", "3".getBytes(), 0, null, null, null, 0))));
        assertThat(results).extracting(ApplyResult::value).containsExactly(true, false, true);
        assertThat(store.kvGet("b").value().modifyIndex()).isEqualTo(at);
        assertThat(store.kvGet("c").value().modifyIndex()).isEqualTo(at);
        assertThat(new String(store.kvGet("b").value().value())).isEqualTo("1");
    }
}

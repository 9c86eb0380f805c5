package io.failoverkit.discovery.state;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** Restore as the state machine applies it: the whole state replaced at one index, reported indexes never going back. */
class SnapshotRestoreStateTest {
    private final StateStore store = new StateStore(Runnable::run);
    private long index;

    private ApplyResult apply(Command c) {
        return store.apply(++index, 2, c).get(0);
    }

    private void put(String key, String value) {
        assertThat(apply(new Command.KvPut(key, value.getBytes(), 0, null, null, null, null)).isOk()).isTrue();
    }

    private void registerNode(String node) {
        apply(new Command.Register(new Model.Node("", node, "127.0.0.1", "dc1", Map.of(), Map.of(), 0, 0), null,
                List.of(new Model.Check(node, Model.SERF_HEALTH, "Serf Health Status", Model.PASSING, "", "", "", "", List.of(), "", 0, 0)), false, 0));
    }

    private static Command.Restore restoreOf(StateStore.Capture c) {
        return new Command.Restore("2-" + c.index() + "-0", c.index(), c.term(), StateStore.compress(c.state()));
    }

    private String value(String key) {
        Model.KvEntry e = store.kvGet(key).value();
        return e == null ? null : new String(e.value());
    }

    @Test
    void aRestoreReplacesEveryTableAndNoReadReportsAnOlderIndexThanItsEntry() {
        registerNode("n1");
        put("app/a", "1");
        put("app/b", "1");
        String session = (String) apply(new Command.SessionCreate(new Model.Session("s1", "", "n1", List.of(Model.SERF_HEALTH), 0, "release", "", 0, 0))).value();
        assertThat(apply(new Command.KvPut("app/lock", "me".getBytes(), 0, null, session, null, index)).value()).isEqualTo(true);
        StateStore.Capture saved = store.capture();
        assertThat(saved.index()).isEqualTo(index);
        assertThat(saved.term()).isEqualTo(2);
        long savedA = store.kvGet("app/a").value().modifyIndex();

        put("app/a", "2");
        apply(new Command.KvDelete("app/b", false, null));
        put("app/c", "new");
        apply(new Command.SessionDestroy(session, "test", 0));
        registerNode("n2");
        long before = store.kvGet("app/a").index();

        AtomicInteger woken = new AtomicInteger();
        store.watch(EnumSet.of(Table.KVS), "app/a", store.kvGet("app/a").observedTableIndex(), woken::incrementAndGet);
        store.watch(EnumSet.of(Table.NODES), null, store.nodes().observedTableIndex(), woken::incrementAndGet);
        store.watch(EnumSet.of(Table.SESSIONS), null, store.sessions(s -> true).observedTableIndex(), woken::incrementAndGet);

        ApplyResult r = apply(restoreOf(saved));
        long restoredAt = index;
        assertThat(r.isOk()).as(r.error()).isTrue();
        assertThat(woken).as("parked queries on KV, nodes and sessions woken").hasValue(3);
        assertThat(value("app/a")).isEqualTo("1");
        assertThat(value("app/b")).isEqualTo("1");
        assertThat(value("app/c")).isNull();
        assertThat(store.kvGet("app/lock").value().session()).isEqualTo(session);
        assertThat(store.session(session)).isNotNull();
        assertThat(store.nodes().value()).extracting(Model.Node::node).containsExactly("n1");
        // Records keep the archive's indexes (a backup of this cluster); reads report at least the restore's index.
        assertThat(store.kvGet("app/a").value().modifyIndex()).isEqualTo(savedA);
        assertThat(store.kvGet("app/a").index()).isEqualTo(restoredAt).isGreaterThan(before);
        assertThat(store.kvGet("app/c").index()).isEqualTo(restoredAt);
        assertThat(store.kvList("app/").index()).isEqualTo(restoredAt);
        assertThat(store.kvKeys("app/", null).index()).isEqualTo(restoredAt);
        assertThat(store.nodes().index()).isEqualTo(restoredAt);
        assertThat(store.sessions(s -> true).index()).isEqualTo(restoredAt);
        // A later write moves the index on, and CAS with the restored record's index works.
        assertThat(apply(new Command.KvPut("app/a", "3".getBytes(), 0, savedA, null, null, null)).value()).isEqualTo(true);
        assertThat(store.kvGet("app/a").index()).isEqualTo(index).isGreaterThan(restoredAt);
        // And the same state re-captured has the same tables as the archive.
        assertThat(store.capture().counts()).isEqualTo(saved.counts());
    }

    @Test
    void aSnapshotFromALongerHistoryIsRestampedSoLaterWritesStillMoveIndexesForward() {
        StateStore old = new StateStore(Runnable::run);
        old.apply(1000, new Command.Register(new Model.Node("", "n1", "127.0.0.1", "dc1", Map.of(), Map.of(), 0, 0), null, List.of(), false, 0));
        old.apply(5000, new Command.KvPut("k", "v".getBytes(), 0, null, null, null, null));
        StateStore.Capture saved = old.capture();
        assertThat(saved.index()).isEqualTo(5000);

        put("x", "1");
        assertThat(apply(restoreOf(saved)).isOk()).isTrue();
        long restoredAt = index;
        assertThat(store.kvGet("k").value().modifyIndex()).isEqualTo(restoredAt);
        assertThat(store.nodes().value().get(0).modifyIndex()).isEqualTo(restoredAt);
        put("k", "v2");
        assertThat(store.kvGet("k").value().modifyIndex()).isGreaterThan(restoredAt);
        assertThat(store.kvList("").index()).isEqualTo(index);
    }

    @Test
    void aRestoreEntryThatDoesNotDecodeChangesNothingOnAnyServer() {
        put("k", "v");
        StateStore.Capture before = store.capture();
        ApplyResult r = apply(new Command.Restore("bad", 1, 1, "not gzip".getBytes()));
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.error()).contains("snapshot not restored");
        assertThat(value("k")).isEqualTo("v");
        assertThat(store.capture().counts()).isEqualTo(before.counts());
    }

    @Test
    void theRestoreFloorSurvivesARaftSnapshotAndReload() throws Exception {
        put("k", "v");
        StateStore.Capture saved = store.capture();
        put("k", "w");
        apply(restoreOf(saved));
        long restoredAt = index;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        store.writeSnapshot(out);
        StateStore follower = new StateStore(Runnable::run);
        follower.loadSnapshot(new ByteArrayInputStream(out.toByteArray()));
        assertThat(follower.kvGet("k").index()).isEqualTo(restoredAt);
        assertThat(new String(follower.kvGet("k").value().value())).isEqualTo("v");
        assertThat(follower.capture().term()).isEqualTo(2);
    }
}

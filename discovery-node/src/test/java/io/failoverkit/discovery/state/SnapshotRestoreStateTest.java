package io.failoverkit.discovery.state;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Restore as the state machine applies it: the whole state replaced at one index, reported indexes never going back. */
class SnapshotRestoreStateTest {
    private final long[] clock = {1_000_000_000_000L};
    private final StateStore store = new StateStore(Runnable::run, () -> clock[0]);
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
    private static final long DELAY = 15_000_000_000L;

    private String session(String name, long lockDelayNanos) {
        ApplyResult r = apply(new Command.SessionCreate(new Model.Session(name, "", "n1", List.of(Model.SERF_HEALTH), lockDelayNanos, "release", "", 0, 0)));
        assertThat(r.isOk()).as(r.error()).isTrue();
        return (String) r.value();
    }

    private Object acquire(String key, String session, long checkedIndex) {
        return apply(new Command.KvPut(key, session.getBytes(), 0, null, session, null, checkedIndex)).value();
    }

    /** Review 6: a restore that frees a held key must hold it back for the old holder's lock-delay, as an invalidation does. */
    @Test
    void aRestoreThatFreesAHeldKeyHoldsItForTheOldHoldersLockDelay() {
        registerNode("n1");
        put("failover/c/leader", "");
        StateStore.Capture backup = store.capture(); // nobody holds the lock
        String a = session("sa", DELAY);
        assertThat(acquire("failover/c/leader", a, index)).isEqualTo(true);
        long beforeRestore = index;

        ApplyResult r = apply(restoreOf(backup));
        long restoredAt = index;
        assertThat(r.isOk()).as(r.error()).isTrue();
        assertThat(store.session(a)).isNull();
        assertThat(store.kvGet("failover/c/leader").value().session()).isNull();
        // The old holder (a failover manager) acts until its next renewal fails: nobody else may take the key meanwhile.
        assertThat(store.lockDelays().remaining("failover/c/leader")).isEqualTo(java.time.Duration.ofNanos(DELAY));
        String b = session("sb", DELAY);
        assertThat(acquire("failover/c/leader", b, beforeRestore)).as("acquire checked before the restore").isEqualTo(false);
        clock[0] += DELAY - 1_000_000L;
        assertThat(store.lockDelays().remaining("failover/c/leader")).as("within the lock-delay").isPositive();
        clock[0] += 2_000_000L;
        assertThat(store.lockDelays().remaining("failover/c/leader")).as("after the lock-delay").isZero();
        assertThat(acquire("failover/c/leader", b, restoredAt)).as("checked after the restore, once the delay ended").isEqualTo(true);
    }

    @Test
    void aRestoreThatHandsAHeldKeyToAnotherHolderAlsoRecordsTheRelease() {
        registerNode("n1");
        String c = session("sc", 0);
        assertThat(acquire("k", c, index)).isEqualTo(true);
        StateStore.Capture backup = store.capture(); // held by C
        apply(new Command.KvPut("k", new byte[0], 0, null, null, c, null));
        String a = session("sa", DELAY);
        assertThat(acquire("k", a, index)).isEqualTo(true);
        String kept = session("skeep", DELAY);
        assertThat(acquire("kept", kept, index)).isEqualTo(true);
        StateStore.Capture backup2 = store.capture();
        // Restoring a state where "kept" is held by the same session changes nothing for it.
        assertThat(apply(restoreOf(backup2)).isOk()).isTrue();
        assertThat(store.lockDelays().remaining("kept")).as("same holder before and after").isZero();
        assertThat(store.lockDelays().remaining("k")).as("same holder before and after").isZero();

        assertThat(apply(restoreOf(backup)).isOk()).isTrue();
        assertThat(store.kvGet("k").value().session()).isEqualTo(c);
        assertThat(store.lockDelays().remaining("k")).as("the holder changed from A to C").isEqualTo(java.time.Duration.ofNanos(DELAY));
        assertThat(store.kvGet("kept").value()).isNull();
        assertThat(store.lockDelays().remaining("kept")).as("key gone with the restore: its holder differs too").isEqualTo(java.time.Duration.ofNanos(DELAY));
    }

    @Test
    void everyServerRecordsTheSameReleasesForARestore() throws Exception {
        registerNode("n1");
        put("lock", "");
        StateStore.Capture backup = store.capture();
        String a = session("sa", DELAY);
        assertThat(acquire("lock", a, index)).isEqualTo(true);
        apply(restoreOf(backup));
        // The releases are replicated state (in a Raft snapshot), not only this server's clock.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        store.writeSnapshot(out);
        StateStore follower = new StateStore(Runnable::run);
        follower.loadSnapshot(new ByteArrayInputStream(out.toByteArray()));
        assertThat(follower.lockDelays().remaining("lock")).isPositive();
        assertThat(new String(out.toByteArray())).contains("\"lockReleases\":{\"lock\":{\"index\":" + index);
    }
    /** state.bin with one extra session, written as JSON (what a hand-edited or foreign archive could hold). */
    private byte[] withSession(StateStore.Capture c, String ttl, String behavior, String lockDelay) {
        String json = new String(c.state(), java.nio.charset.StandardCharsets.UTF_8);
        String sess = "{\"ID\":\"s-bad\",\"Name\":\"\",\"Node\":\"n1\",\"Checks\":[],\"LockDelay\":" + lockDelay
                + ",\"Behavior\":\"" + behavior + "\",\"TTL\":\"" + ttl + "\",\"CreateIndex\":1,\"ModifyIndex\":1}";
        assertThat(json).contains("\"sessions\":[]");
        return json.replace("\"sessions\":[]", "\"sessions\":[" + sess + "]").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Review 6: a session the TTL timers cannot handle must not get in through a restore. */
    @Test
    void aRestoreWithASessionThatSessionCreateWouldRefuseIsRefusedAndChangesNothing() throws Exception {
        registerNode("n1");
        put("k", "v");
        StateStore.Capture c = store.capture();
        put("k", "w");
        String[][] bad = {
                {"10x", "release", "0", "TTL"},
                {"99999999999999999999999s", "release", "0", "TTL"},
                {"99999999999999999999", "release", "0", "TTL"},
                {"5s", "release", "0", "TTL"},
                {"86401s", "release", "0", "TTL"},
                {"", "keep", "0", "Behavior"},
                {"", "release", "-1", "LockDelay"},
                {"", "release", "60000000001", "LockDelay"},
        };
        for (String[] b : bad) {
            byte[] state = withSession(c, b[0], b[1], b[2]);
            assertThatThrownBy(() -> StateStore.counts(state)).as("inspect of %s", List.of(b)).isInstanceOf(SnapshotArchive.InvalidSnapshotException.class);
            ApplyResult r = apply(new Command.Restore("x", c.index(), c.term(), StateStore.compress(state)));
            assertThat(r.status()).as("restore of %s", List.of(b)).isEqualTo(400);
            assertThat(r.error()).contains("snapshot not restored").contains("s-bad").contains(b[3]);
            assertThat(value("k")).isEqualTo("w");
            assertThat(store.session("s-bad")).isNull();
            assertThat(store.sessionsWithTtl()).isEmpty();
        }
        // What session create accepts restores.
        for (String[] ok : new String[][] {{"10s", "delete", "0"}, {"24h0m0s", "release", "60000000000"}, {"", "release", "15000000000"}, {"1m0s", "release", "0"}}) {
            assertThat(StateStore.counts(withSession(c, ok[0], ok[1], ok[2])).get("Sessions")).as("%s", List.of(ok)).isEqualTo(1L);
        }
        assertThat(apply(new Command.Restore("x", c.index(), c.term(), StateStore.compress(withSession(c, "10s", "release", "0")))).isOk()).isTrue();
        assertThat(store.session("s-bad")).isNotNull();
    }
}

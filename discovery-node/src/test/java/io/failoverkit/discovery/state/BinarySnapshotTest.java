package io.failoverkit.discovery.state;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The binary Raft snapshot: what a view holds, how it is written and read back, and how a damaged file is refused. */
class BinarySnapshotTest {
    @TempDir Path dir;

    private long index;

    private void apply(StateStore store, Command c) {
        ApplyResult r = store.apply(++index, 3, c).get(0);
        assertThat(r.status()).as(String.valueOf(r.error())).isEqualTo(200);
    }

    /** Every table filled: catalog, KV (binary, empty and absent values, unsigned flags), tombstones, sessions, lock releases, ACLs. */
    private StateStore populated() {
        StateStore store = new StateStore(Runnable::run);
        for (int n = 0; n < 20; n++) {
            String node = "node-" + n;
            apply(store, new Command.Register(new Model.Node("id-" + n, node, "10.0.0." + n, "dc1", Map.of("lan", "10.0.0." + n), Map.of("rack", "r" + (n % 3)), 0, 0),
                    new Model.Service("db-" + n, "db", List.of("primary", "v" + n), "", Map.of("version", "10.11"), 3306, new Model.Weights(2, 1), false, 0, 0),
                    List.of(new Model.Check(node, Model.SERF_HEALTH, "Serf Health Status", Model.PASSING, "", "", "", "", List.of(), "", 0, 0),
                            new Model.Check(node, "db-check-" + n, "db alive", n % 4 == 0 ? "critical" : Model.PASSING, "", "out " + n, "db-" + n, "db", List.of("primary"), "ttl", 0, 0)),
                    false, 1000));
        }
        apply(store, new Command.SessionCreate(new Model.Session("s-1", "lock", "node-1", List.of(Model.SERF_HEALTH), 15_000_000_000L, "release", "", 0, 0)));
        for (int k = 0; k < 500; k++) {
            byte[] value = k % 7 == 0 ? new byte[0] : ("v" + k).getBytes(StandardCharsets.UTF_8);
            if (k % 11 == 0) value = new byte[]{(byte) 0xff, 0, (byte) 0xfe, (byte) k};
            apply(store, new Command.KvPut("app/k" + k, k % 13 == 0 ? null : value, k % 5 == 0 ? -1L : k, null, null, null, null));
        }
        apply(store, new Command.KvPut("app/lock", "me".getBytes(), 0, null, "s-1", null, index));
        for (int k = 0; k < 500; k += 10) apply(store, new Command.KvDelete("app/k" + k, false, null));
        apply(store, new Command.KvPut("released", "x".getBytes(), 0, null, "s-1", null, index));
        apply(store, new Command.SessionDestroy("s-1", "destroyed", 2000));
        apply(store, new Command.SessionCreate(new Model.Session("s-2", "", "node-2", List.of(Model.SERF_HEALTH), 0, "delete", "30s", 0, 0)));
        apply(store, new Command.KvPut("app/held", "h".getBytes(), 0, null, "s-2", null, index));
        return store;
    }

    private static byte[] json(StateStore store) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        store.writeSnapshot(out);
        return out.toByteArray();
    }

    private static Path writeBinary(StateStore.View view, Path file) throws Exception {
        try (OutputStream out = Files.newOutputStream(file)) {
            StateStore.writeBinarySnapshot(view, out);
        }
        return file;
    }

    @Test
    void aBinarySnapshotLoadsBackToTheSameStateAndIsSmallerThanTheJson() throws Exception {
        StateStore store = populated();
        Path file = writeBinary(store.view(), dir.resolve("snap"));
        assertThat(BinarySnapshot.isBinary(file)).isTrue();

        StateStore loaded = new StateStore(Runnable::run);
        loaded.loadSnapshot(file);
        assertThat(new String(json(loaded), StandardCharsets.UTF_8)).as("every table, index and record alike")
                .isEqualTo(new String(json(store), StandardCharsets.UTF_8));
        assertThat(loaded.lastIndex()).isEqualTo(index);
        assertThat(loaded.kvGet("app/k11").value().value()).containsExactly((byte) 0xff, 0, (byte) 0xfe, 11);
        assertThat(loaded.kvGet("app/k5").value().flags()).as("unsigned flags").isEqualTo(-1L);
        assertThat(Files.size(file)).isLessThan(json(store).length);
    }

    @Test
    void aBinarySnapshotWrittenWithSharedStringValuesStillLoads() throws Exception {
        // Snapshots before session 17 shared repeated string values (a back reference for a string seen before).
        StateStore store = populated();
        var shared = BinarySnapshot.SMILE.copy();
        ((com.fasterxml.jackson.dataformat.smile.SmileFactory) shared.getFactory())
                .configure(com.fasterxml.jackson.dataformat.smile.SmileGenerator.Feature.CHECK_SHARED_STRING_VALUES, true);
        Path before = dir.resolve("shared");
        try (OutputStream out = Files.newOutputStream(before)) {
            StateStore.writeBinarySnapshot(store.view(), out, shared);
        }
        Path now = writeBinary(store.view(), dir.resolve("now"));
        assertThat(Files.size(before)).as("the earlier file did share values (node names, check names repeat)").isLessThan(Files.size(now));

        StateStore loaded = new StateStore(Runnable::run);
        loaded.loadSnapshot(before);
        assertThat(new String(json(loaded), StandardCharsets.UTF_8)).isEqualTo(new String(json(store), StandardCharsets.UTF_8));
    }

    @Test
    void theHandWrittenKvRecordWriterWritesTheBytesJacksonsRecordSerializerWrites() throws Exception {
        // Unsigned, zero and ordinary flags; binary, empty and absent values; records with and without a session
        // (app/held; app/lock's was released when s-1 was destroyed).
        StateStore store = populated();
        ByteArrayOutputStream reflective = new ByteArrayOutputStream();
        StateStore.writeBinarySnapshot(store.view(), reflective, BinarySnapshot.settings().build());
        ByteArrayOutputStream handWritten = new ByteArrayOutputStream();
        StateStore.writeBinarySnapshot(store.view(), handWritten);
        assertThat(store.view().counts().get("KVs")).as("KV records in the state").isGreaterThan(400L);
        assertThat(store.kvGet("app/held").value().session()).as("a held key is among them").isEqualTo("s-2");
        assertThat(handWritten.toByteArray()).as("the same file, byte for byte").isEqualTo(reflective.toByteArray());
        assertThat(BinarySnapshot.SMILE.getSerializerProviderInstance().findValueSerializer(Model.KvEntry.class))
                .as("the snapshot mapper writes KV records with the hand-written writer").isInstanceOf(BinarySnapshot.KvEntryWriter.class);
    }

    @Test
    void theHandWrittenKvRecordWriterWritesEveryComponentOfTheRecordAsJacksonDoes() throws Exception {
        // Every component set (no null the record's NON_NULL rule would hide): a component added to KvEntry and not
        // to the writer fails here, whatever its type.
        var components = Model.KvEntry.class.getRecordComponents();
        Object[] args = new Object[components.length];
        Class<?>[] types = new Class<?>[components.length];
        for (int i = 0; i < components.length; i++) {
            Class<?> t = components[i].getType();
            types[i] = t;
            if (t == long.class) args[i] = 5_000_000_000L + i;
            else if (t == String.class) args[i] = "c" + i;
            else if (t == byte[].class) args[i] = new byte[]{1, (byte) i, (byte) 0xff};
            else throw new AssertionError("give this test a value of " + t + " for KvEntry." + components[i].getName());
        }
        Model.KvEntry full = Model.KvEntry.class.getDeclaredConstructor(types).newInstance(args);
        List<Model.KvEntry> entries = List.of(full,
                new Model.KvEntry(0, "k", -1L, null, "", 1, 2),
                new Model.KvEntry(Long.MAX_VALUE, "k", Long.MIN_VALUE, new byte[0], null, Long.MAX_VALUE, Integer.MAX_VALUE + 1L),
                new Model.KvEntry(1, "", 0, "v".getBytes(StandardCharsets.UTF_8), "s", 0, 0));
        var reflective = BinarySnapshot.settings().build();
        for (Model.KvEntry e : entries) {
            assertThat(BinarySnapshot.SMILE.writeValueAsBytes(e)).as("%s", e).isEqualTo(reflective.writeValueAsBytes(e));
        }
    }

    @Test
    void aJsonSnapshotOfTheReleaseBeforeStillLoads() throws Exception {
        StateStore store = populated();
        Path file = dir.resolve("old");
        Files.write(file, json(store));
        assertThat(BinarySnapshot.isBinary(file)).isFalse();
        StateStore loaded = new StateStore(Runnable::run);
        loaded.loadSnapshot(file);
        assertThat(json(loaded)).isEqualTo(json(store));
    }

    /**
     * Step {@code i} of a write load that adds keys and also overwrites and deletes keys written earlier, so a view
     * shares records with the live table that change after it is taken.
     */
    private static Command step(long i) {
        return switch ((int) (i % 4)) {
            case 1 -> new Command.KvPut("k/" + (i / 2), ("over " + i).getBytes(StandardCharsets.UTF_8), 0, null, null, null, null);
            case 2 -> new Command.KvDelete("k/" + (i / 3), false, null);
            default -> new Command.KvPut("k/" + i, Long.toString(i).getBytes(StandardCharsets.UTF_8), 0, null, null, null, null);
        };
    }

    /**
     * Writes go on from another thread (adding keys, overwriting and deleting earlier ones) while a view is taken and
     * written: the file loads to exactly the state of a store that applied the same entries up to the view's index,
     * though the store moved on (and changed records the view holds) while it was written.
     */
    @Test
    void aSnapshotTakenWhileWritesContinueHoldsExactlyTheEntriesUpToItsIndex() throws Exception {
        StateStore store = new StateStore(Runnable::run);
        AtomicBoolean stop = new AtomicBoolean();
        CountDownLatch warm = new CountDownLatch(1);
        CompletableFuture<Void> writes = CompletableFuture.runAsync(() -> {
            for (long i = 1; !stop.get() && i < 5_000_000; i++) {
                store.apply(i, 1, step(i));
                if (i == 20_000) warm.countDown();
            }
        }, runnable -> Thread.ofPlatform().name("applier").start(runnable));
        assertThat(warm.await(60, TimeUnit.SECONDS)).isTrue();
        StateStore.View view = store.view();
        long at = view.index();
        Path file = dir.resolve("live");
        try {
            // The writer starts once the store has moved well past the view (a loaded box may hold the applier back).
            org.awaitility.Awaitility.await().atMost(60, TimeUnit.SECONDS).until(() -> store.lastIndex() >= at + 2_000);
            CompletableFuture<Void> written = CompletableFuture.runAsync(() -> {
                try { writeBinary(view, file); } catch (Exception e) { throw new RuntimeException(e); }
            }, runnable -> Thread.ofPlatform().name("snapshot-writer").start(runnable));
            written.get(60, TimeUnit.SECONDS);
        } finally {
            stop.set(true);
        }
        writes.get(60, TimeUnit.SECONDS);
        assertThat(at).isGreaterThanOrEqualTo(20_000);

        StateStore reference = new StateStore(Runnable::run);
        for (long i = 1; i <= at; i++) reference.apply(i, 1, step(i));
        StateStore loaded = new StateStore(Runnable::run);
        loaded.loadSnapshot(file);
        assertThat(loaded.lastIndex()).isEqualTo(at);
        assertThat(new String(json(loaded), StandardCharsets.UTF_8)).as("the state at index %d, nothing before it missing, nothing after it in", at)
                .isEqualTo(new String(json(reference), StandardCharsets.UTF_8));
    }

    /**
     * The same without threads: a view is taken, then every kind of KV change is applied (overwrite, delete, recursive
     * delete, a transaction, a session destroy releasing held keys, a restore replacing the whole table), and only
     * then is the view written: it holds the state at its index, untouched by any of them.
     */
    @Test
    void aViewIsUntouchedByEveryKindOfChangeAppliedAfterIt() throws Exception {
        StateStore store = populated();
        apply(store, new Command.SessionCreate(new Model.Session("s-3", "holder", "node-3", List.of(Model.SERF_HEALTH), 0, "release", "", 0, 0)));
        apply(store, new Command.KvPut("held/a", "a".getBytes(StandardCharsets.UTF_8), 0, null, "s-3", null, index));
        apply(store, new Command.KvPut("held/b", "b".getBytes(StandardCharsets.UTF_8), 0, null, "s-3", null, index));
        StateStore.View view = store.view();
        long at = view.index();
        String expected = new String(json(store), StandardCharsets.UTF_8);

        apply(store, new Command.KvPut("app/k1", "overwritten".getBytes(StandardCharsets.UTF_8), 0, null, null, null, null));
        apply(store, new Command.KvDelete("app/k2", false, null));
        apply(store, new Command.KvDelete("app/k3", true, null));
        apply(store, new Command.Txn(List.of(new TxnOp(TxnOp.Verb.SET, "app/k4", "txn".getBytes(StandardCharsets.UTF_8), 0, 0, null),
                new TxnOp(TxnOp.Verb.DELETE, "app/k6", null, 0, 0, null)), index));
        apply(store, new Command.SessionDestroy("s-3", "destroyed", 3000));
        assertThat(store.kvGet("held/a").value().session()).as("the destroy released the key").isNull();
        StateStore other = new StateStore(Runnable::run);
        other.apply(1, 1, new Command.KvPut("elsewhere", "x".getBytes(StandardCharsets.UTF_8), 0, null, null, null, null));
        StateStore.Capture c = other.capture();
        SnapshotArchive.Archive archive = SnapshotArchive.read(SnapshotArchive.write(SnapshotArchive.meta(c.index(), c.term(), c.state().length, 1_700_000_000_000L), c.state()), 1 << 20);
        apply(store, new Command.Restore(archive.meta().id(), archive.meta().index(), 1, StateStore.compress(archive.state())));
        assertThat(store.kvGet("app/k5").value()).as("the restore replaced the KV table").isNull();

        StateStore loaded = new StateStore(Runnable::run);
        loaded.loadSnapshot(writeBinary(view, dir.resolve("after")));
        assertThat(loaded.lastIndex()).isEqualTo(at);
        assertThat(new String(json(loaded), StandardCharsets.UTF_8)).as("the state at the view's index %d", at).isEqualTo(expected);
        assertThat(loaded.kvGet("held/a").value().session()).isEqualTo("s-3");
        assertThat(loaded.sessionIndexConsistent()).isTrue();
    }

    @Test
    void aDamagedOrCutSnapshotIsRefusedAndTheStateIsLeftAsItWas() throws Exception {
        StateStore store = populated();
        Path good = writeBinary(store.view(), dir.resolve("good"));
        byte[] bytes = Files.readAllBytes(good);
        StateStore target = new StateStore(Runnable::run);
        target.apply(1, 1, new Command.KvPut("mine", "keep".getBytes(), 0, null, null, null, null));

        byte[] flipped = bytes.clone();
        flipped[bytes.length / 2] ^= 0x10;
        Path damaged = Files.write(dir.resolve("damaged"), flipped);
        assertThatThrownBy(() -> target.loadSnapshot(damaged)).isInstanceOf(BinarySnapshot.CorruptSnapshotException.class)
                .hasMessageContaining("Raft snapshot damaged").hasMessageContaining("checksum mismatch");

        Path cut = Files.write(dir.resolve("cut"), java.util.Arrays.copyOf(bytes, bytes.length - 100));
        assertThatThrownBy(() -> target.loadSnapshot(cut)).isInstanceOf(BinarySnapshot.CorruptSnapshotException.class)
                .hasMessageContaining("truncated");

        byte[] newer = bytes.clone();
        newer[BinarySnapshot.MAGIC.length + 3] = 9;
        Path future = Files.write(dir.resolve("future"), newer);
        assertThatThrownBy(() -> target.loadSnapshot(future)).isInstanceOf(BinarySnapshot.CorruptSnapshotException.class)
                .hasMessageContaining("format version 9");

        Path garbage = Files.write(dir.resolve("garbage"), "{\"nodes\": [".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> target.loadSnapshot(garbage)).isInstanceOf(BinarySnapshot.CorruptSnapshotException.class)
                .hasMessageContaining("neither a binary snapshot nor a readable JSON snapshot");

        assertThat(new String(target.kvGet("mine").value().value())).as("nothing was installed").isEqualTo("keep");
        assertThat(target.lastIndex()).isEqualTo(1);
    }
}

package io.failoverkit.discovery.raft;

import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.state.StateStore;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.util.LifeCycle;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.apache.ratis.io.MD5Hash;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;

import java.io.BufferedOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Ratis state machine over the {@link StateStore}: applies committed commands in log order, with the entry's Raft
 * index as Consul's ModifyIndex, and writes/loads whole-state snapshots so the log can be compacted. Snapshots are
 * written off the apply thread from a {@link StateStore.View}, in the binary format of {@link
 * io.failoverkit.discovery.state.BinarySnapshot}, at this server's turn ({@link SnapshotSchedule}).
 */
final class CatalogStateMachine extends BaseStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogStateMachine.class);

    private final StateStore store;
    /** Set when a snapshot was recorded since the last clean-up: Ratis asks for one after every check, most find nothing new. */
    private final AtomicBoolean newSnapshot = new AtomicBoolean();
    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage() {
        @Override
        public void cleanupOldSnapshots(SnapshotRetentionPolicy policy) throws IOException {
            if (newSnapshot.getAndSet(false)) super.cleanupOldSnapshots(policy);
        }
    };
    private final Consumer<RaftPeerId> onLeaderChange;
    /** Non-null for a group formed by quorum-loss recovery: the store already holds the recovered state at this term and index. */
    private final RaftNode.Seed seed;
    private final SnapshotSchedule schedule;
    /**
     * Writes snapshots off the apply thread, one at a time, at the lowest CPU priority ({@link BackgroundPriority}): it
     * takes the cores the write path leaves idle, not the write path's.
     */
    private final ExecutorService writer = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(() -> {
            try {
                BackgroundPriority.lowerCurrentThread();
            } catch (Throwable e) {
                // Even an Error here must not keep the pool's worker from running (the pool would count a worker
                // that runs nothing, and no snapshot would ever be written again): it runs at normal priority.
                try {
                    LOG.warn("the snapshot writer keeps its priority: {}", e.toString());
                } catch (Throwable ignored) {
                    // logging failed too (out of memory): the worker must still run
                }
            } finally {
                r.run();
            }
        }, "raft-snapshot-writer");
        t.setDaemon(true);
        return t;
    });
    /** The snapshot being written (null: none); set by Ratis' apply thread, awaited by pause/reinitialize too. */
    private volatile Future<?> inFlight;
    /** The index of the last snapshot written, not yet reported to Ratis (-1: none); set by the writer. */
    private final AtomicLong written = new AtomicLong(-1);
    /**
     * The highest snapshot index Ratis knows (reported by takeSnapshot, or loaded/installed): Ratis refuses an index
     * below it (its snapshot index only increases), so a snapshot finished after a newer one was installed is not reported.
     */
    private final AtomicLong reported = new AtomicLong(-1);

    CatalogStateMachine(StateStore store, Consumer<RaftPeerId> onLeaderChange, RaftNode.Seed seed, SnapshotSchedule schedule) {
        this.store = store;
        this.onLeaderChange = onLeaderChange;
        this.seed = seed;
        this.schedule = schedule;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        getLifeCycle().startAndTransition(() -> {
            super.initialize(server, groupId, raftStorage);
            storage.init(raftStorage);
            removeUnfinishedWrites();
            if (seed != null && storage.getLatestSnapshot() == null) seedFrom(raftStorage);
            load(storage.getLatestSnapshot());
        });
    }

    /**
     * Deletes what a crash left of a snapshot write (the writer's temporary {@code snapshot.TERM_INDEX.tmp}, never
     * renamed into place, so never a snapshot Ratis knows): run before anything is loaded and before the writer can
     * start, so no write in progress is touched. Each deletion is logged.
     */
    private void removeUnfinishedWrites() throws IOException {
        java.nio.file.Path smDir = storage.getSnapshotFile(0, 0).toPath().getParent();
        if (smDir == null || !Files.isDirectory(smDir)) return;
        try (java.util.stream.Stream<java.nio.file.Path> files = Files.list(smDir)) {
            for (java.nio.file.Path p : files.toList()) {
                String name = p.getFileName().toString();
                if (name.startsWith("snapshot.") && name.endsWith(".tmp") && Files.isRegularFile(p)) {
                    long size = Files.size(p);
                    Files.delete(p);
                    LOG.info("removed {} ({} bytes): a snapshot write that never finished (the agent stopped during it)", p, size);
                }
            }
        }
    }

    /** Bumped when Ratis pauses this state machine for a snapshot install: a write begun before discards itself. */
    private final java.util.concurrent.atomic.AtomicLong generation = new java.util.concurrent.atomic.AtomicLong();

    @Override
    public void reinitialize() throws IOException {
        // After a snapshot was installed from the leader: reload it, then run again (Ratis leaves the lifecycle to us).
        awaitWriter();
        written.set(-1);
        // Read the directory again: Ratis swapped it for the leader's snapshot, and its cached "latest" is this server's
        // own older one, gone with the swap (loading that silently left the store behind and the log gap unfillable).
        load(storage.loadLatestSnapshot(), true);
        getLifeCycle().transition(LifeCycle.State.STARTING);
        getLifeCycle().transition(LifeCycle.State.RUNNING);
    }

    @Override
    public void pause() {
        // A snapshot install follows. Ratis calls this under its server lock (heartbeats and votes wait): never wait
        // here for a snapshot being written; the new generation makes that write discard itself instead of landing in
        // the directory Ratis is swapping.
        generation.incrementAndGet();
        getLifeCycle().transition(LifeCycle.State.PAUSING);
        getLifeCycle().transition(LifeCycle.State.PAUSED);
    }

    @Override
    public SimpleStateMachineStorage getStateMachineStorage() {
        return storage;
    }

    private void load(SingleFileSnapshotInfo snapshot) throws IOException {
        load(snapshot, false);
    }

    private void load(SingleFileSnapshotInfo snapshot, boolean installed) throws IOException {
        if (snapshot == null) {
            if (installed) throw new IOException("no snapshot found after the leader's snapshot was installed");
            return;
        }
        File file = snapshot.getFile().getPath().toFile();
        if (!file.exists()) {
            if (installed) throw new IOException("the installed snapshot " + file + " is missing");
            return;
        }
        long started = System.nanoTime();
        // A damaged file is refused here (the server does not start, or the install fails) with the check that failed.
        try {
            store.loadSnapshot(file.toPath());
        } catch (IOException | RuntimeException e) {
            // The log was purged up to this snapshot: an older snapshot would leave a gap no entry can fill.
            throw new IOException("Raft snapshot " + file + " cannot be loaded (" + e.getMessage() + "). The log before it is purged,"
                    + " so do not delete it to fall back on an older one: stop this server, move its Raft data directory aside, and"
                    + " start it again empty so that the leader installs a fresh snapshot (see the README, Backups and quorum loss)", e);
        }
        updateLastAppliedTermIndex(snapshot.getTermIndex());
        schedule.taken(snapshot.getIndex());
        reported.accumulateAndGet(snapshot.getIndex(), Math::max);
        LOG.info("loaded snapshot {} (last applied {}, {} bytes, {} ms)", file.getName(), snapshot.getTermIndex(), file.length(),
                (System.nanoTime() - started) / 1_000_000);
    }

    /**
     * Called by Ratis' apply thread after applying entries, once {@code raft.server.snapshot.auto.trigger.threshold}
     * entries passed since the last snapshot it was told of. Never writes here (except at shutdown and for the seed):
     * when this server's turn has come ({@link SnapshotSchedule}) it takes a {@link StateStore.View} (references only,
     * under the store's read lock) and hands it to the writer thread; a later call reports the written snapshot's
     * index, and Ratis then purges the log up to it. Until then it answers -1 (no snapshot taken), as Ratis allows.
     */
    @Override
    public long takeSnapshot() throws IOException {
        TermIndex last = getLastAppliedTermIndex();
        if (stopping()) {
            // Ratis takes a last snapshot at shutdown (a faster restart): the one being written is finished first, then
            // the state is written now if it is newer (the apply thread has nothing more to apply).
            awaitWriter();
            inFlight = null;
            written.set(-1);
            if (last == null || last.getIndex() < 0) return RaftLog_INVALID;
            SnapshotInfo latest = storage.getLatestSnapshot();
            if (latest != null && latest.getIndex() >= last.getIndex()) return report(last.getIndex());
            return report(writeNow(store.view(), last));
        }
        long done = written.getAndSet(-1);
        if (getLifeCycle().getCurrentState() != LifeCycle.State.RUNNING) return RaftLog_INVALID; // paused for an install
        if (done >= 0) return report(done);
        if (inFlight != null && !inFlight.isDone()) return RaftLog_INVALID;
        inFlight = null;
        if (last == null || last.getIndex() < 0) return RaftLog_INVALID;
        if (!schedule.due(last.getIndex())) return RaftLog_INVALID;
        long started = System.nanoTime();
        // On the apply thread, between entries: the view holds exactly the entries up to the last applied one.
        StateStore.View view = store.view();
        long viewMicros = (System.nanoTime() - started) / 1000;
        schedule.begin(last.getIndex());
        TermIndex snapshotAt = last;
        long gen = generation.get();
        inFlight = writer.submit(() -> {
            try {
                long index = writeNow(view, snapshotAt, gen);
                if (index < 0) {
                    LOG.info("snapshot at index {} discarded: a snapshot install from the leader began meanwhile", snapshotAt.getIndex());
                    return;
                }
                written.accumulateAndGet(index, Math::max);
                LOG.info("snapshot at index {} written off the apply thread (view taken in {} us)", index, viewMicros);
            } catch (IOException | RuntimeException e) {
                LOG.error("snapshot at index {} could not be written; the next turn tries again", snapshotAt.getIndex(), e);
            }
        });
        return RaftLog_INVALID;
    }

    /** The index to give Ratis for a written snapshot: -1 when Ratis knows a newer one already. */
    private long report(long index) {
        if (index < reported.get()) return RaftLog_INVALID;
        reported.accumulateAndGet(index, Math::max);
        return index;
    }

    /** True while this server shuts down (Ratis then asks for a last snapshot). */
    private boolean stopping() {
        try {
            CompletableFuture<RaftServer> server = getServer();
            if (server == null || !server.isDone()) return false;
            return server.join().getDivision(getGroupId()).getInfo().getLifeCycleState().isClosingOrClosed();
        } catch (IOException | RuntimeException e) {
            return true;
        }
    }

    /** Waits for a snapshot being written (bounded: a stuck disk should not hold the server forever). */
    private void awaitWriter() {
        Future<?> f = inFlight;
        if (f == null) return;
        try {
            f.get(5, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("the snapshot being written did not finish: {}", e.toString());
        }
    }

    /**
     * Writes {@code view} as the snapshot at {@code at}: streamed to a temporary file (with its MD5, which Ratis sends
     * with it to a follower, computed on the way) and fsync'd a chunk at a time (so the log's fsyncs never wait behind
     * all of it), then renamed into place and recorded as the latest.
     */
    private long writeNow(StateStore.View view, TermIndex at) throws IOException {
        return writeNow(view, at, generation.get());
    }

    /**
     * A snapshot is made durable this many bytes at a time while it is written ({@link ChunkSyncedOutputStream}): about
     * 5 ms of the bench box's disk, the longest a Raft log fsync then waits behind it.
     */
    static final long SNAPSHOT_SYNC_CHUNK_BYTES = 1L << 20;

    /** As {@link #writeNow(StateStore.View, TermIndex)}, but -1 with nothing recorded if an install began since {@code gen}. */
    private long writeNow(StateStore.View view, TermIndex at, long gen) throws IOException {
        long started = System.nanoTime();
        File file = storage.getSnapshotFile(at.getTerm(), at.getIndex());
        File tmp = new File(file.getParentFile(), file.getName() + ".tmp");
        MessageDigest md5;
        try {
            md5 = MessageDigest.getInstance("MD5");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        long bytes;
        try (FileChannel ch = FileChannel.open(tmp.toPath(), StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
             OutputStream out = new BufferedOutputStream(new DigestOutputStream(new ChunkSyncedOutputStream(ch, SNAPSHOT_SYNC_CHUNK_BYTES), md5), 256 * 1024)) {
            bytes = StateStore.writeBinarySnapshot(view, out);
            out.flush();
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            try {
                Files.deleteIfExists(tmp.toPath());
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        if (generation.get() != gen) {
            Files.deleteIfExists(tmp.toPath());
            return -1;
        }
        Files.move(tmp.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE);
        MD5Hash digest = new MD5Hash(md5.digest());
        MD5FileUtil.saveMD5File(file, digest);
        // The rename and the MD5 file durable before Ratis is told (it then purges the log up to this index).
        try (FileChannel d = FileChannel.open(file.getParentFile().toPath(), StandardOpenOption.READ)) {
            d.force(true);
        }
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(new org.apache.ratis.server.storage.FileInfo(file.toPath(), digest), at));
        newSnapshot.set(true);
        LOG.info("snapshot {} written: {} bytes in {} ms", file.getName(), bytes, (System.nanoTime() - started) / 1_000_000);
        return at.getIndex();
    }

    @Override
    public void close() throws IOException {
        super.close();
        writer.shutdown();
        try {
            if (!writer.awaitTermination(2, TimeUnit.MINUTES)) LOG.warn("the snapshot writer did not finish in 2 minutes");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final long RaftLog_INVALID = -1;

    /**
     * Quorum-loss recovery: Ratis has just formatted this group's fresh storage (its log is opened after this
     * returns). The recovered state becomes this group's first snapshot, at the old log's last term and index, so the
     * new log continues the old numbering (Consul's ModifyIndex and blocking-query indexes never go back), and the
     * stored term is the old one, so the first election's term is above every term in that state.
     */
    private void seedFrom(RaftStorage raftStorage) throws IOException {
        TermIndex at = TermIndex.valueOf(seed.term(), seed.index());
        updateLastAppliedTermIndex(at);
        writeNow(store.view(), at);
        raftStorage.getMetadataFile().persist(org.apache.ratis.server.storage.RaftStorageMetadata.valueOf(seed.term(), null));
        LOG.info("recovered state stored as the first snapshot of the new group (term {}, index {})", seed.term(), seed.index());
    }

    @Override
    public SnapshotInfo getLatestSnapshot() {
        return storage.getLatestSnapshot();
    }

    @Override
    public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
        LogEntryProto entry = trx.getLogEntry();
        TermIndex termIndex = TermIndex.valueOf(entry);
        java.util.List<ApplyResult> result;
        try {
            Command command = Json.MAPPER.readValue(entry.getStateMachineLogEntry().getLogData().toByteArray(), Command.class);
            result = store.apply(termIndex.getIndex(), termIndex.getTerm(), command);
        } catch (IOException e) {
            // A command that cannot be read changes nothing, on every server alike.
            result = java.util.List.of(ApplyResult.refused(400, "unreadable command: " + e.getMessage(), termIndex.getIndex()));
        }
        updateLastAppliedTermIndex(termIndex);
        try {
            return CompletableFuture.completedFuture(Message.valueOf(
                    org.apache.ratis.thirdparty.com.google.protobuf.ByteString.copyFrom(Json.MAPPER.writeValueAsBytes(result))));
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** The read barrier: answered after the read index is applied here; returns this server's applied index. */
    @Override
    public CompletableFuture<Message> query(Message request) {
        return CompletableFuture.completedFuture(Message.valueOf(Long.toString(getLastAppliedTermIndex().getIndex())));
    }

    @Override
    public void notifyLeaderChanged(RaftGroupMemberId groupMemberId, RaftPeerId newLeaderId) {
        onLeaderChange.accept(newLeaderId);
    }
}

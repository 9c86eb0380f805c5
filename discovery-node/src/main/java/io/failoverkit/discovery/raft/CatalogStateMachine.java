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

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Ratis state machine over the {@link StateStore}: applies committed commands in log order, with the entry's Raft
 * index as Consul's ModifyIndex, and writes/loads whole-state snapshots so the log can be compacted.
 */
final class CatalogStateMachine extends BaseStateMachine {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogStateMachine.class);

    private final StateStore store;
    private final SimpleStateMachineStorage storage = new SimpleStateMachineStorage();
    private final Consumer<RaftPeerId> onLeaderChange;
    /** Non-null for a group formed by quorum-loss recovery: the store already holds the recovered state at this term and index. */
    private final RaftNode.Seed seed;

    CatalogStateMachine(StateStore store, Consumer<RaftPeerId> onLeaderChange, RaftNode.Seed seed) {
        this.store = store;
        this.onLeaderChange = onLeaderChange;
        this.seed = seed;
    }

    @Override
    public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
        getLifeCycle().startAndTransition(() -> {
            super.initialize(server, groupId, raftStorage);
            storage.init(raftStorage);
            if (seed != null && storage.getLatestSnapshot() == null) seedFrom(raftStorage);
            load(storage.getLatestSnapshot());
        });
    }

    @Override
    public void reinitialize() throws IOException {
        // After a snapshot was installed from the leader: reload it, then run again (Ratis leaves the lifecycle to us).
        load(storage.getLatestSnapshot());
        getLifeCycle().transition(LifeCycle.State.STARTING);
        getLifeCycle().transition(LifeCycle.State.RUNNING);
    }

    @Override
    public void pause() {
        getLifeCycle().transition(LifeCycle.State.PAUSING);
        getLifeCycle().transition(LifeCycle.State.PAUSED);
    }

    @Override
    public SimpleStateMachineStorage getStateMachineStorage() {
        return storage;
    }

    private void load(SingleFileSnapshotInfo snapshot) throws IOException {
        if (snapshot == null) return;
        File file = snapshot.getFile().getPath().toFile();
        if (!file.exists()) return;
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file.toPath()))) {
            store.loadSnapshot(in);
        }
        updateLastAppliedTermIndex(snapshot.getTermIndex());
        LOG.info("loaded snapshot {} (last applied {})", file.getName(), snapshot.getTermIndex());
    }

    @Override
    public long takeSnapshot() throws IOException {
        TermIndex last = getLastAppliedTermIndex();
        if (last == null || last.getIndex() < 0) return RaftLog_INVALID;
        File file = storage.getSnapshotFile(last.getTerm(), last.getIndex());
        File tmp = new File(file.getParentFile(), file.getName() + ".tmp");
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp.toPath()))) {
            store.writeSnapshot(out);
        }
        try (var ch = java.nio.channels.FileChannel.open(tmp.toPath(), java.nio.file.StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE);
        MD5FileUtil.computeAndSaveMd5ForFile(file);
        storage.updateLatestSnapshot(new SingleFileSnapshotInfo(
                new org.apache.ratis.server.storage.FileInfo(file.toPath(), MD5FileUtil.readStoredMd5ForFile(file)), last));
        return last.getIndex();
    }

    private static final long RaftLog_INVALID = -1;

    /**
     * Quorum-loss recovery: Ratis has just formatted this group's fresh storage (its log is opened after this
     * returns). The recovered state becomes this group's first snapshot, at the old log's last term and index, so the
     * new log continues the old numbering (Consul's ModifyIndex and blocking-query indexes never go back), and the
     * stored term is the old one, so the first election's term is above every term in that state.
     */
    private void seedFrom(RaftStorage raftStorage) throws IOException {
        updateLastAppliedTermIndex(TermIndex.valueOf(seed.term(), seed.index()));
        takeSnapshot();
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

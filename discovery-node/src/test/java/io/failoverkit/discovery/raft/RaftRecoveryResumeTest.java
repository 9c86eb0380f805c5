package io.failoverkit.discovery.raft;

import io.failoverkit.discovery.state.StateStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A crash in the middle of a peers.json recovery (old storage already set aside, the new group dir half formatted)
 * must not make the next start recover an empty state: recoverState refuses an empty storage, and the recovery
 * resumes from the storage it had set aside (named by a marker written before the move).
 */
class RaftRecoveryResumeTest {
    @TempDir Path tmp;

    private static Path halfFormatted(Path group) throws IOException {
        Files.createDirectories(group.resolve("current"));
        Files.writeString(group.resolve("current").resolve("raft-meta.conf"), "#\nterm=0\nvotedFor=\n");
        Files.createDirectories(group.resolve("sm"));
        return group;
    }

    @Test
    void aStorageWithNoSnapshotAndNoStateEntriesIsRefusedNotRecoveredEmpty() throws Exception {
        Path group = halfFormatted(tmp.resolve("raft").resolve("some-group-uuid"));
        StateStore s = new StateStore(Runnable::run);
        assertThatThrownBy(() -> RaftRecovery.recoverState(group, s))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("no snapshot and no state entries")
                .hasMessageContaining(group.toString());
    }

    @Test
    void anInterruptedRecoveryResumesFromTheStorageItSetAside() throws Exception {
        Path raft = Files.createDirectories(tmp.resolve("raft"));
        Path group = raft.resolve("some-group-uuid");
        Files.createDirectories(group.resolve("current"));
        Files.writeString(group.resolve("current").resolve("log_1-2"), "old log");
        assertThat(RaftRecovery.interrupted(group)).isEmpty();

        Path aside = RaftRecovery.setAsideForRecovery(group);
        assertThat(aside.getFileName().toString()).startsWith("some-group-uuid.before-recovery-");
        assertThat(aside.resolve("current").resolve("log_1-2")).hasContent("old log");
        assertThat(group).doesNotExist();
        // The crash: Ratis had formatted the new group dir, nothing more.
        halfFormatted(group);
        assertThat(RaftRecovery.interrupted(group)).contains(aside);

        // An older aside dir (a recovery that finished long ago) is never picked without the marker.
        RaftRecovery.recoveryDone(group);
        assertThat(RaftRecovery.interrupted(group)).isEmpty();
        assertThat(aside).exists();
    }

    @Test
    void theMarkerIsWrittenBeforeTheMoveAndAMissingAsideDirIsNotResumed() throws Exception {
        Path raft = Files.createDirectories(tmp.resolve("raft"));
        Path group = Files.createDirectories(raft.resolve("g").resolve("current")).getParent();
        Path aside = RaftRecovery.setAsideForRecovery(group);
        Path marker = RaftRecovery.markerFile(group);
        assertThat(marker).exists();
        assertThat(Files.readString(marker).strip()).isEqualTo(aside.getFileName().toString());
        // If the marker names a dir that is not there (the move never happened), there is nothing to resume.
        Files.move(aside, group);
        assertThat(RaftRecovery.interrupted(group)).isEmpty();
    }
}

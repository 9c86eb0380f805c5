package io.failoverkit.discovery.raft;

import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Group commit never builds an entry Ratis refuses: many concurrent writes of the largest KV value (512 KiB, base64
 * in the entry's JSON) all commit, and the server keeps writing afterwards.
 */
class GroupCommitEntrySizeTest {
    @TempDir Path dir;

    @Test
    void concurrentLargestValuesAllCommit() throws Exception {
        int port = FreePorts.next();
        StateStore store = new StateStore(Executors.newVirtualThreadPerTaskExecutor());
        try (RaftNode node = RaftNode.start("g1", "127.0.0.1", port, dir.toFile(), List.of(new RaftNode.Peer("g1", "127.0.0.1:" + port)),
                "dc1", 100_000, store, x -> { })) {
            await().atMost(Duration.ofSeconds(60)).until(node::isLeader);
            byte[] value = new byte[512 * 1024];
            new java.util.Random(5).nextBytes(value);
            List<CompletableFuture<ApplyResult>> writes = new ArrayList<>();
            for (int i = 0; i < 40; i++) writes.add(node.propose(new Command.KvPut("big/" + i, value, 0, null, null, null, null)));
            List<String> failed = new ArrayList<>();
            for (CompletableFuture<ApplyResult> w : writes) {
                try {
                    assertThat(w.get(60, TimeUnit.SECONDS).isOk()).isTrue();
                } catch (java.util.concurrent.ExecutionException e) {
                    failed.add(e.getCause().toString());
                }
            }
            assertThat(failed).as("writes that failed").isEmpty();
            assertThat(node.propose(new Command.KvPut("after", "ok".getBytes(), 0, null, null, null, null)).get(30, TimeUnit.SECONDS).isOk()).isTrue();
        }
    }
}

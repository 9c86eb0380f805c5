package io.failoverkit.discovery.raft;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The snapshot writer's priority: lowered for the calling thread alone, read back from the kernel (/proc). */
class BackgroundPriorityTest {

    /** The nice values of this process's threads whose kernel name (15 characters at most) starts with {@code prefix}. */
    static List<Integer> niceOfThreadsNamed(String prefix) throws IOException {
        List<Integer> out = new ArrayList<>();
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                String comm;
                try {
                    comm = Files.readString(t.resolve("comm")).trim();
                } catch (IOException gone) {
                    continue; // the thread ended meanwhile
                }
                if (!comm.startsWith(prefix)) continue;
                Integer nice = BackgroundPriority.niceOf(t.getFileName().toString());
                if (nice != null) out.add(nice);
            }
        }
        return out;
    }

    @Test
    void aThreadLowersItsOwnPriorityAndNoOtherThreads() throws Exception {
        String mine = BackgroundPriority.currentThreadId();
        assertThat(mine).as("this thread's Linux id").isNotNull().matches("\\d+");
        Integer mineBefore = BackgroundPriority.niceOf(mine);
        assertThat(mineBefore).isNotNull().isLessThan(BackgroundPriority.NICE);

        CompletableFuture<String> lowered = new CompletableFuture<>();
        CompletableFuture<Void> release = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                if (!BackgroundPriority.lowerCurrentThread()) throw new AssertionError("renice failed");
                lowered.complete(BackgroundPriority.currentThreadId());
                release.get(60, TimeUnit.SECONDS);
            } catch (Throwable e) {
                lowered.completeExceptionally(e);
            }
        }, "prio-probe");
        t.start();
        try {
            String tid = lowered.get(60, TimeUnit.SECONDS);
            assertThat(tid).isNotEqualTo(mine);
            assertThat(BackgroundPriority.niceOf(tid)).as("the thread that asked").isEqualTo(BackgroundPriority.NICE);
            assertThat(niceOfThreadsNamed("prio-probe")).containsExactly(BackgroundPriority.NICE);
            assertThat(BackgroundPriority.niceOf(mine)).as("the test's own thread keeps its priority").isEqualTo(mineBefore);
        } finally {
            release.complete(null);
            t.join(60_000);
        }
    }

    @Test
    void anUnknownThreadHasNoNiceValue() {
        assertThat(BackgroundPriority.niceOf("0")).isNull();
        assertThat(BackgroundPriority.niceOf("../../1")).isNull();
    }
}

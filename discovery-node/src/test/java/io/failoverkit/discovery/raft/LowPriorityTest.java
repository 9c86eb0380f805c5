package io.failoverkit.discovery.raft;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The snapshot writer's lower CPU priority: one thread's nice value changes, the others' do not. */
class LowPriorityTest {

    @Test
    void aThreadLowersItsOwnPriorityAndNoOtherThreads() throws Exception {
        // Thread ids and per-thread nice values are Linux's; elsewhere the writer keeps its priority (and says so).
        assumeTrue(Files.isSymbolicLink(Path.of("/proc/thread-self")), "Linux /proc");
        int before = LowPriority.currentNice();
        assertThat(before).isBetween(-20, LowPriority.NICE - 1);
        AtomicBoolean lowered = new AtomicBoolean();
        AtomicInteger niceInside = new AtomicInteger(Integer.MIN_VALUE);
        Thread t = new Thread(() -> {
            lowered.set(LowPriority.lowerCurrentThread());
            niceInside.set(LowPriority.currentNice());
        }, "low-priority-test");
        t.start();
        t.join(30_000);
        assertThat(t.isAlive()).isFalse();
        assertThat(lowered).as("renice of the thread's own id succeeded").isTrue();
        assertThat(niceInside.get()).isEqualTo(LowPriority.NICE);
        assertThat(LowPriority.currentNice()).as("the caller's thread is untouched").isEqualTo(before);
    }

    @Test
    void anUnknownThreadIdReadsAsUnreadable() {
        assertThat(LowPriority.niceOf("999999999")).isEqualTo(Integer.MIN_VALUE);
    }
}

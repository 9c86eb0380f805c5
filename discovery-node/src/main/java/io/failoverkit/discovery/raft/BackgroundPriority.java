package io.failoverkit.discovery.raft;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lowers the calling thread's CPU priority to the lowest (Linux nice 19), for work that may run as slowly as the
 * machine needs and must not take a core from the write path: the snapshot writer.
 *
 * <p>Why: a snapshot serialises the whole state (80 MB after 900k keys: 0.5-0.9 s of one core). On the bench box's two
 * cores, single-connection PUTs traced one by one (each request's wall-clock start against each server's snapshot
 * log lines) were slow in the second a snapshot was written anywhere in the group: 250 of the 488 writes above the
 * 99th percentile, one in ten inside a GC pause. At nice 19 the writer still had the core the write path leaves idle
 * (the snapshot took as long as before) and the trace's p99 went from 3.1 to 2.7 ms. Spreading the write over time at
 * normal priority instead made it worse (3.5 ms: more writes each delayed a little).
 *
 * <p>The price, and why it is paid: a thread must run to reach a safepoint, so while the writer is busy and starved,
 * a GC pause of its own JVM can wait for it. Seen only where the cores are taken by other processes (the bench's three
 * servers and its client on two cores): one server's safepoint took 29 ms to reach while its own starved snapshot ran
 * (2 s instead of 0.6); reaching one otherwise took under 16 ms there, 0.02-0.03 ms at the median either way. On a
 * machine of its own a server's stopped threads free the cores for the writer at once. Session 13 tried this and took
 * it back for that reason with no p99 gain measured under G1 on kv.sh; this time the trace above shows where the
 * single-connection tail comes from, and kv.sh's leader p99 at 1 connection was 4.5-4.9 ms in three runs against
 * 5.3-6.9 ms in the three before them (etcd 2.6-4.0 ms in those runs; still better than ours).
 *
 * <p>What else follows the thread's nice value: a thread it starts inherits it (the writer starts none: no pool,
 * virtual thread or async task may be started from it), and under the BFQ disk scheduler so does its I/O priority
 * (the snapshot's fsyncs then yield to the log's: wanted). A lock it holds while starved makes its waiters wait: the
 * writer takes none on the write path, only the logger's, for two lines per snapshot.
 *
 * <p>How: Linux keeps a nice value per thread, and {@code renice -p} with a thread id sets that thread's alone (a
 * process may lower its own threads' priority without privilege). Java has no call for it: the thread id comes from
 * {@code /proc/thread-self}, and {@code renice} (util-linux, on every Linux) is run with it as an argument list, no
 * shell. Anywhere that fails (not Linux, no renice), the thread keeps its priority: slower tails, nothing else.
 * A process run for this can also fail to start when the machine is out of processes; the writer goes on then.
 */
final class BackgroundPriority {
    private static final Logger LOG = LoggerFactory.getLogger(BackgroundPriority.class);
    /** The lowest priority Linux gives a thread. */
    static final int NICE = 19;

    private BackgroundPriority() {
    }

    /** Lowers the calling thread's priority; true if it was lowered. Never throws. */
    static boolean lowerCurrentThread() {
        Process p = null;
        try {
            String tid = currentThreadId();
            if (tid == null) return false;
            p = new ProcessBuilder(List.of("renice", "-n", Integer.toString(NICE), "-p", tid))
                    .redirectErrorStream(true).start();
            p.getOutputStream().close();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                LOG.info("{}: renice did not finish in 10 s; it keeps its priority", Thread.currentThread().getName());
                return false;
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (p.exitValue() != 0) {
                LOG.info("{} keeps its priority: renice exited {}: {}", Thread.currentThread().getName(), p.exitValue(), out);
                return false;
            }
            LOG.debug("{} (thread {}) runs at nice {}", Thread.currentThread().getName(), tid, NICE);
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.info("{} keeps its priority: {}", Thread.currentThread().getName(), e.toString());
            return false;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The calling thread's Linux thread id, or null where there is none to read. */
    static String currentThreadId() {
        try {
            Path self = Files.readSymbolicLink(Path.of("/proc/thread-self"));
            String tid = self.getFileName().toString();
            return isThreadId(tid) ? tid : null;
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    /** Digits only: a thread id, never a path (a /proc lookup by it stays inside this process's tasks). */
    private static boolean isThreadId(String tid) {
        return tid != null && !tid.isEmpty() && tid.chars().allMatch(c -> c >= '0' && c <= '9');
    }

    /** The nice value of the thread {@code tid} of this process, from /proc (field 19 of its stat), or null. */
    static Integer niceOf(String tid) {
        if (!isThreadId(tid)) return null;
        try {
            String stat = Files.readString(Path.of("/proc/self/task/" + tid + "/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Integer.parseInt(f[16]);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }
}

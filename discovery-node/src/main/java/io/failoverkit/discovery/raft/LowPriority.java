package io.failoverkit.discovery.raft;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Lowers the CPU priority of the calling thread (Linux nice 19) for background work that may take whatever CPU the
 * requests leave: the snapshot writer. On a busy server a snapshot then takes longer and the writes around it do not
 * wait behind it; on an idle one it runs as fast as before.
 * <p>
 * Why: bench/kv.sh's measured windows in which a server wrote a snapshot (~0.3-1.1 s of a core for 50-60 MB) had a
 * single-connection PUT p99 of 30-47 ms, those without one 15-30 ms (sessions 12-13, seven runs on a 2-core box).
 * <p>
 * Java has no call for a thread's nice value (Thread.setPriority is ignored on Linux), and the kernel's setpriority
 * applies to one thread when given its id, which {@code renice(1)} passes on: this runs it once per thread, on the
 * thread id read from {@code /proc/thread-self}. Where that fails (not Linux, no renice, a sandbox refusing it) the
 * thread keeps its priority and this says so once in the log.
 */
final class LowPriority {
    private static final Logger LOG = LoggerFactory.getLogger(LowPriority.class);
    static final int NICE = 19;

    private LowPriority() {}

    /** Lowers the calling thread's priority; true when it now runs at nice {@link #NICE}. Never throws. */
    static boolean lowerCurrentThread() {
        String tid;
        try {
            // "<pid>/task/<tid>"
            Path self = Files.readSymbolicLink(Path.of("/proc/thread-self"));
            tid = self.getFileName().toString();
            if (!tid.chars().allMatch(Character::isDigit)) throw new IOException("unexpected /proc/thread-self: " + self);
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            LOG.info("{} keeps its CPU priority (no Linux thread id: {})", Thread.currentThread().getName(), e.toString());
            return false;
        }
        try {
            Process p = new ProcessBuilder("renice", "-n", Integer.toString(NICE), "-p", tid)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                LOG.info("{} keeps its CPU priority (renice did not finish in 5 s)", Thread.currentThread().getName());
                return false;
            }
            if (p.exitValue() != 0) {
                LOG.info("{} keeps its CPU priority (renice exited {})", Thread.currentThread().getName(), p.exitValue());
                return false;
            }
        } catch (IOException | SecurityException e) {
            LOG.info("{} keeps its CPU priority (renice: {})", Thread.currentThread().getName(), e.toString());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
        return niceOf(tid) == NICE;
    }

    /** The nice value of thread {@code tid} of this process (field 19 of its stat), or Integer.MIN_VALUE if unreadable. */
    static int niceOf(String tid) {
        try {
            String stat = Files.readString(Path.of("/proc/self/task", tid, "stat"));
            // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
            String[] rest = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
            return Integer.parseInt(rest[16]);
        } catch (IOException | RuntimeException e) {
            return Integer.MIN_VALUE;
        }
    }

    /** The calling thread's nice value, or Integer.MIN_VALUE where it cannot be read. */
    static int currentNice() {
        try {
            return niceOf(Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString());
        } catch (IOException | RuntimeException e) {
            return Integer.MIN_VALUE;
        }
    }
}

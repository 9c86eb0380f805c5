package io.failoverkit.failover.act;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the operator's hook scripts. Data reaches them only through FAILOVER_* environment variables, never through a
 * shell command line built from strings; a hook that fails or outlives its timeout is a failed hook. Its output is
 * read while it runs (a hook that fills the pipe would otherwise block and be taken for a hung one), keeping only its
 * first and last {@link #KEEP} bytes for the message.
 */
public final class Hooks {
    static final int KEEP = 4096;

    private Hooks() {}

    /** Runs each script in order; the first failure is returned as its message, or null when all succeeded. */
    public static String run(List<String> scripts, Map<String, String> env, long timeoutMillis) {
        for (String script : scripts) {
            try {
                ProcessBuilder pb = new ProcessBuilder(script).redirectErrorStream(true);
                pb.environment().putAll(env);
                Process p = pb.start();
                p.getOutputStream().close();
                BoundedOutput out = new BoundedOutput();
                Thread reader = Thread.ofVirtual().name("hook-output").start(() -> out.drain(p.getInputStream()));
                if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    reader.join(1000);
                    String seen = out.text();
                    return script + " timed out after " + timeoutMillis + " ms (killed)" + (seen.isEmpty() ? "" : ": " + seen);
                }
                // The hook exited; its output ends when every process holding the pipe did (a background child may
                // keep it open: wait a little, not for ever).
                reader.join(1000);
                String text = out.text();
                if (p.exitValue() != 0) return script + " exited " + p.exitValue() + (text.isEmpty() ? "" : ": " + text);
            } catch (IOException e) {
                return script + " could not run: " + e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return script + " interrupted";
            }
        }
        return null;
    }

    /** The first and last {@link #KEEP} bytes of a stream read to its end; what lies between is counted and dropped. */
    static final class BoundedOutput {
        private final ByteArrayOutputStream head = new ByteArrayOutputStream();
        private final byte[] tail = new byte[KEEP];
        private int tailLength;
        private int tailStart;
        private long dropped;

        void drain(InputStream in) {
            byte[] buf = new byte[8192];
            try (in) {
                for (int n; (n = in.read(buf)) >= 0; ) add(buf, n);
            } catch (IOException e) {
                // the process was killed: what was read is kept
            }
        }

        private synchronized void add(byte[] buf, int n) {
            int i = 0;
            while (i < n && head.size() < KEEP) head.write(buf[i++]);
            for (; i < n; i++) {
                if (tailLength == KEEP) {
                    tailStart = (tailStart + 1) % KEEP;
                    tailLength--;
                    dropped++;
                }
                tail[(tailStart + tailLength) % KEEP] = buf[i];
                tailLength++;
            }
        }

        synchronized String text() {
            StringBuilder b = new StringBuilder(head.toString(StandardCharsets.UTF_8));
            if (dropped > 0) b.append(" [... ").append(dropped).append(" bytes left out ...] ");
            byte[] t = new byte[tailLength];
            for (int i = 0; i < tailLength; i++) t[i] = tail[(tailStart + i) % KEEP];
            b.append(new String(t, StandardCharsets.UTF_8));
            return b.toString().strip();
        }
    }
}

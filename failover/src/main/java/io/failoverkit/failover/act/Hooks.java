package io.failoverkit.failover.act;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the operator's hook scripts. Data reaches them only through FAILOVER_* environment variables, never through a
 * shell command line built from strings; a hook that fails or outlives its timeout is a failed hook.
 */
public final class Hooks {
    private Hooks() {}

    /** Runs each script in order; the first failure is returned as its message, or null when all succeeded. */
    public static String run(List<String> scripts, Map<String, String> env, long timeoutMillis) {
        for (String script : scripts) {
            try {
                ProcessBuilder pb = new ProcessBuilder(script).redirectErrorStream(true);
                pb.environment().putAll(env);
                Process p = pb.start();
                p.getOutputStream().close();
                if (!p.waitFor(timeoutMillis, TimeUnit.MILLISECONDS)) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    return script + " timed out after " + timeoutMillis + " ms (killed)";
                }
                String out = new String(p.getInputStream().readNBytes(4096), StandardCharsets.UTF_8).strip();
                if (p.exitValue() != 0) return script + " exited " + p.exitValue() + (out.isEmpty() ? "" : ": " + out);
            } catch (IOException e) {
                return script + " could not run: " + e.getMessage();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return script + " interrupted";
            }
        }
        return null;
    }
}

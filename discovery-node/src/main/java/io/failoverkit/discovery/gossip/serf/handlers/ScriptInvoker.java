package io.failoverkit.discovery.gossip.serf.handlers;

import io.failoverkit.discovery.gossip.serf.SerfEvent;
import io.failoverkit.discovery.gossip.serf.SerfMember;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Runs one handler script for one event as Serf's agent does (invoke.go): {@code /bin/sh -c SCRIPT}, the script
 * string untouched, except that a script which is only the path of an executable file (no arguments, nothing the
 * shell would expand: {@link #directPath}) is executed directly, as {@code sh -c} would run it, without the shell
 * in between (dash forks once more for it: one exec and one fork fewer per event, the most of a handler's cost when
 * a whole pool runs it at once; a file with no #! line is run by /bin/sh as execvp does, and one that cannot be
 * started at all, as a missing interpreter, goes to {@code sh -c}, which reports it as before); the event only on
 * stdin and in the environment:
 * <ul>
 *   <li>{@code SERF_EVENT} (member-join, ..., user), {@code SERF_SELF_NAME}, {@code SERF_SELF_ROLE},
 *       {@code SERF_TAG_<NAME>} for each of this node's tags (name upper-cased, anything but A-Z, 0-9 and _ as _),
 *       and for user events {@code SERF_USER_EVENT} and {@code SERF_USER_LTIME};</li>
 *   <li>stdin: member events one line per member, {@code name TAB ip TAB role TAB k=v,k2=v2} (tabs and newlines in
 *       name, role and tags written as \t and \n); user events the payload, with a newline added when it lacks
 *       one.</li>
 * </ul>
 * stdout and stderr are merged and the last {@link #MAX_OUTPUT} bytes kept. A script still running at the timeout
 * is killed with everything it started.
 */
public final class ScriptInvoker {
    /** Output kept per run (Serf keeps the last 8 KB). */
    public static final int MAX_OUTPUT = 8 * 1024;

    /** What a run came to. {@code exitCode} is -1 when it timed out or did not start. */
    public record Result(int exitCode, boolean timedOut, String output, long outputBytes, Duration took, String error) {
        public boolean ok() { return exitCode == 0 && !timedOut && error == null; }
    }

    private ScriptInvoker() {}

    public static Result run(String script, SerfMember self, SerfEvent event, Duration timeout) {
        long start = System.nanoTime();
        Map<String, String> env = environment(self, event);
        Process p = null;
        if (directPath(script)) {
            try {
                p = start(List.of(script), env);
            } catch (IOException | RuntimeException e) {
                // could not be started (a missing interpreter, gone meanwhile): sh -c reports it, as before
            }
        }
        if (p == null) {
            try {
                p = start(List.of("/bin/sh", "-c", script), env);
            } catch (IOException | RuntimeException e) {
                return new Result(-1, false, "", 0, Duration.ofNanos(System.nanoTime() - start), "could not start: " + e.getMessage());
            }
        }
        Process proc = p;
        Tail tail = new Tail(MAX_OUTPUT);
        Thread reader = Thread.ofVirtual().name("handler-output").start(() -> tail.drain(proc.getInputStream()));
        byte[] input = stdin(event);
        Thread writer = Thread.ofVirtual().name("handler-stdin").start(() -> {
            try (OutputStream in = proc.getOutputStream()) {
                in.write(input);
            } catch (IOException ignored) {
                // the script did not read its stdin: that is its business
            }
        });
        boolean finished;
        try {
            finished = proc.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            finished = false;
        }
        if (!finished) killTree(proc);
        try {
            reader.join(Duration.ofSeconds(2)); // output of an escaped grandchild is not waited for
            writer.join(Duration.ofSeconds(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        if (!finished) return new Result(-1, true, tail.text(), tail.total(), took, null);
        return new Result(proc.exitValue(), false, tail.text(), tail.total(), took, null);
    }

    private static Process start(List<String> command, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().putAll(env);
        return pb.start();
    }

    /**
     * Whether {@code sh -c script} would only execute the file {@code script} names: an absolute or relative path
     * (it has a slash, so no PATH search) of characters no shell treats specially (no blank, quote, $, `, glob,
     * redirection, separator, ~ or #), naming an executable regular file.
     */
    static boolean directPath(String script) {
        if (script.isEmpty() || script.indexOf('/') < 0) return false;
        for (int i = 0; i < script.length(); i++) {
            char c = script.charAt(i);
            boolean plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '/' || c == '.' || c == '_' || c == '-' || c == '+' || c == ',' || c == '@' || c == '%';
            if (!plain) return false;
        }
        Path f = Path.of(script);
        return Files.isRegularFile(f) && Files.isExecutable(f);
    }

    /** Kills the process and its descendants (children first, so that none is re-parented and missed). */
    static void killTree(Process p) {
        List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
        p.toHandle().destroyForcibly();
        for (ProcessHandle h : tree) h.destroyForcibly();
        // a child started between the snapshot and the kill of its parent
        for (ProcessHandle h : p.descendants().toList()) h.destroyForcibly();
        try {
            p.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The variables Serf sets (on top of this process's environment). */
    public static Map<String, String> environment(SerfMember self, SerfEvent event) {
        Map<String, String> env = new TreeMap<>();
        env.put("SERF_EVENT", eventName(event));
        env.put("SERF_SELF_NAME", clean(self.name()));
        env.put("SERF_SELF_ROLE", clean(self.tags().getOrDefault("role", "")));
        for (var t : self.tags().entrySet()) {
            String n = t.getKey().toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9_]", "_");
            env.put("SERF_TAG_" + n, clean(t.getValue()));
        }
        if (event instanceof SerfEvent.User u) {
            env.put("SERF_USER_EVENT", clean(u.name()));
            env.put("SERF_USER_LTIME", Long.toUnsignedString(u.ltime()));
        }
        return env;
    }

    public static String eventName(SerfEvent e) {
        return switch (e) {
            case SerfEvent.Members m -> m.kind().serfName;
            case SerfEvent.User u -> "user";
        };
    }

    /** What the script reads on stdin. */
    public static byte[] stdin(SerfEvent event) {
        return switch (event) {
            case SerfEvent.User u -> {
                byte[] p = u.payload();
                if (p.length > 0 && p[p.length - 1] != '\n') {
                    byte[] q = new byte[p.length + 1];
                    System.arraycopy(p, 0, q, 0, p.length);
                    q[p.length] = '\n';
                    yield q;
                }
                yield p;
            }
            case SerfEvent.Members m -> {
                StringBuilder sb = new StringBuilder();
                for (SerfMember member : m.members()) {
                    List<String> pairs = new ArrayList<>();
                    for (var t : new TreeMap<>(member.tags()).entrySet()) pairs.add(t.getKey() + "=" + t.getValue());
                    sb.append(escape(member.name())).append('\t')
                            .append(ip(member.address())).append('\t')
                            .append(escape(member.tags().getOrDefault("role", ""))).append('\t')
                            .append(escape(String.join(",", pairs))).append('\n');
                }
                yield sb.toString().getBytes(StandardCharsets.UTF_8);
            }
        };
    }

    private static String ip(InetSocketAddress a) {
        if (a == null) return "";
        return a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
    }

    /** Serf's eventClean: a tab or newline would break the line format. */
    static String escape(String v) {
        return v.replace("\t", "\\t").replace("\n", "\\n");
    }

    /** An environment value cannot hold NUL; it is dropped. */
    private static String clean(String v) {
        return v.indexOf('\0') < 0 ? v : v.replace("\0", "");
    }

    /** The last {@code size} bytes written, and how many there were in all. */
    private static final class Tail {
        private final byte[] ring;
        private long total;

        Tail(int size) { ring = new byte[size]; }

        void drain(InputStream in) {
            byte[] buf = new byte[4096];
            try (in) {
                int n;
                while ((n = in.read(buf)) > 0) append(buf, n);
            } catch (IOException ignored) {
                // the process is gone
            }
        }

        private synchronized void append(byte[] b, int n) {
            for (int i = 0; i < n; i++) ring[(int) ((total + i) % ring.length)] = b[i];
            total += n;
        }

        synchronized long total() { return total; }

        synchronized String text() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (total <= ring.length) {
                out.write(ring, 0, (int) total);
            } else {
                int start = (int) (total % ring.length);
                out.write(ring, start, ring.length - start);
                out.write(ring, 0, start);
            }
            return out.toString(StandardCharsets.UTF_8);
        }
    }
}

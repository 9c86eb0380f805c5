package io.failoverkit.discovery.agent;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The log lines this process writes (slf4j-simple writes each whole line to System.err), handed to listeners as they
 * are written: what /v1/agent/monitor streams. Installed once, on the first listener; System.err keeps its output.
 */
public final class LogTap {
    /** Log levels, most verbose first; a listener asking for one gets it and everything above. */
    public enum Level { TRACE, DEBUG, INFO, WARN, ERROR }

    /** A log line with its level (INFO for a line whose level cannot be read, e.g. a stack trace's). */
    public record Line(Level level, String text) {}

    private static final Pattern LEVEL = Pattern.compile("(?:^|\\] )(TRACE|DEBUG|INFO|WARN|ERROR) ");
    private static final Set<Consumer<Line>> LISTENERS = ConcurrentHashMap.newKeySet();
    private static boolean installed;

    private LogTap() {}

    /** Starts handing lines to {@code listener}; the returned handle stops it. */
    public static Runnable listen(Consumer<Line> listener) {
        install();
        LISTENERS.add(listener);
        return () -> LISTENERS.remove(listener);
    }

    /** Parses a level as Consul's -log-level spells it (trace, debug, info, warn, err/error), any case. */
    public static Level parseLevel(String s) {
        return switch (s.toLowerCase(java.util.Locale.ROOT)) {
            case "trace" -> Level.TRACE;
            case "debug" -> Level.DEBUG;
            case "info" -> Level.INFO;
            case "warn", "warning" -> Level.WARN;
            case "err", "error" -> Level.ERROR;
            default -> throw new IllegalArgumentException("Unknown log level: " + s);
        };
    }

    private static synchronized void install() {
        if (installed) return;
        PrintStream original = System.err;
        System.setErr(new PrintStream(new Tee(original), true, StandardCharsets.UTF_8));
        installed = true;
    }

    private static final class Tee extends OutputStream {
        private final PrintStream out;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();
        private Level last = Level.INFO;

        Tee(PrintStream out) { this.out = out; }

        @Override
        public synchronized void write(int b) {
            out.write(b);
            if (b == '\n') emit();
            else if (line.size() < 64 * 1024) line.write(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) {
            out.write(b, off, len);
            for (int i = off; i < off + len; i++) {
                if (b[i] == '\n') emit();
                else if (line.size() < 64 * 1024) line.write(b[i]);
            }
        }

        @Override
        public void flush() { out.flush(); }

        private void emit() {
            String text = line.toString(StandardCharsets.UTF_8);
            line.reset();
            if (LISTENERS.isEmpty()) return;
            Matcher m = LEVEL.matcher(text);
            // A line without a level (a stack trace's) belongs to the line before it.
            Level level = m.find() ? Level.valueOf(m.group(1)) : last;
            last = level;
            Line l = new Line(level, text);
            for (Consumer<Line> c : LISTENERS) {
                try {
                    c.accept(l);
                } catch (RuntimeException ignored) { /* a listener's failure must not break logging */ }
            }
        }
    }
}

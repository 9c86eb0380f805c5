package io.failoverkit.failover.drill;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * `failover drill`'s log file. Everything the process writes to stderr while a drill runs (slf4j-simple's lines: the
 * manager's cycles, the timeline as it happens, HikariCP's "connection marked as broken" and the driver's stack traces
 * when a server is SIGKILLed on purpose) goes to the file, whose path the drill prints; the terminal keeps the drill's
 * report. A real error stays visible: each ERROR line is also written to the terminal's stderr as one line, its
 * reason and where the details are (its stack trace only in the file).
 */
public final class DrillLog implements AutoCloseable {
    // slf4j-simple with showDateTime: "<time> [<thread>] ERROR <logger> - <message>"
    private static final Pattern ERROR = Pattern.compile("^\\S+ \\[[^\\]]*\\] ERROR (\\S+) - (.*)$");

    private final Path file;
    private final PrintStream saved;
    private final OutputStream fileOut;

    private DrillLog(Path file, PrintStream saved, OutputStream fileOut) {
        this.file = file;
        this.saved = saved;
        this.fileOut = fileOut;
    }

    /** From now on stderr goes to {@code file} (appended), and ERROR lines also to the terminal's stderr, one line each. */
    public static DrillLog open(Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        OutputStream out = Files.newOutputStream(file, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        PrintStream terminal = System.err;
        DrillLog log = new DrillLog(file, terminal, out);
        System.setErr(new PrintStream(new Tee(out, terminal, file), true, StandardCharsets.UTF_8));
        return log;
    }

    public Path file() { return file; }

    /** Writes {@code t} (with its stack trace) to the log only. */
    public void record(String what, Throwable t) {
        PrintStream err = System.err;
        err.println(what);
        t.printStackTrace(err);
        err.flush();
    }

    /** Gives stderr back to the terminal and closes the file. */
    @Override
    public void close() throws IOException {
        System.err.flush();
        System.setErr(saved);
        fileOut.close();
    }

    /** The one terminal line for an slf4j-simple ERROR line, or null for any other line. */
    static String terminalLine(String logLine, Path file) {
        Matcher m = ERROR.matcher(logLine);
        if (!m.matches()) return null;
        String logger = m.group(1);
        return "failover drill: error in " + logger.substring(logger.lastIndexOf('.') + 1) + ": " + m.group(2) + " (details in " + file + ")";
    }

    /** Bytes to the file; complete lines looked at for ERROR. */
    private static final class Tee extends OutputStream {
        private final OutputStream file;
        private final PrintStream terminal;
        private final Path path;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        Tee(OutputStream file, PrintStream terminal, Path path) {
            this.file = file;
            this.terminal = terminal;
            this.path = path;
        }

        @Override
        public synchronized void write(int b) throws IOException {
            file.write(b);
            look(b);
        }

        @Override
        public synchronized void write(byte[] b, int off, int len) throws IOException {
            file.write(b, off, len);
            for (int i = off; i < off + len; i++) look(b[i]);
        }

        private void look(int b) {
            if (b == '\n') {
                String l = line.toString(StandardCharsets.UTF_8);
                line.reset();
                String t = terminalLine(l.endsWith("\r") ? l.substring(0, l.length() - 1) : l, path);
                if (t != null) terminal.println(t);
            } else if (line.size() < 8192) {
                line.write(b);
            }
        }

        @Override
        public synchronized void flush() throws IOException {
            file.flush();
        }
    }
}

package io.failoverkit.discovery.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A discovery-node agent in its own JVM, as an operator runs it, so a test can SIGKILL it and start it again on the
 * same data dir and ports. Only processes started here are ever signalled, by their PID.
 */
public final class AgentProcess implements AutoCloseable {
    public final String name;
    public final Path dataDir;
    public final int httpPort;
    public final int serverPort;
    public final int serfPort;
    public final int dnsPort;
    private final List<String> extraArgs;
    private final Path log;
    private Process process;

    public AgentProcess(String name, Path dataDir, List<String> extraArgs) {
        this.name = name;
        this.dataDir = dataDir;
        this.httpPort = FreePorts.next();
        this.serverPort = FreePorts.next();
        this.serfPort = FreePorts.next();
        this.dnsPort = FreePorts.next();
        this.extraArgs = List.copyOf(extraArgs);
        this.log = Path.of("target", "it-logs", name + "-" + System.currentTimeMillis() + ".log");
    }

    public String lanAddress() { return "127.0.0.1:" + serfPort; }

    public Http http() { return new Http(httpPort); }

    public synchronized void start(List<String> joinArgs) throws IOException {
        if (process != null && process.isAlive()) throw new IllegalStateException(name + " is already running");
        Files.createDirectories(log.getParent());
        List<String> cmd = new ArrayList<>();
        // As an operator's agent starts: SIGHUP not ignored, even when this test runs under nohup (the JVM inherits an
        // ignored SIGHUP and then never installs the agent's reload handler). env execs java, so the PID is the agent's.
        cmd.addAll(List.of("env", "--default-signal=HUP"));
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--sun-misc-unsafe-memory-access=allow");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-Xmx256m");
        for (String a : extraArgs) if (a.startsWith("-J")) cmd.add(a.substring(2)); // -J-Dx=y: a JVM option
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("io.failoverkit.discovery.Main");
        cmd.add("agent");
        cmd.add("-node=" + name);
        cmd.add("-data-dir=" + dataDir);
        cmd.add("-bind=127.0.0.1");
        // An -http-port in the extra arguments (-1: no HTTP, HTTPS only) replaces the one picked here.
        if (extraArgs.stream().noneMatch(a -> a.startsWith("-http-port="))) cmd.add("-http-port=" + httpPort);
        cmd.add("-server-port=" + serverPort);
        cmd.add("-serf-lan-port=" + serfPort);
        cmd.add("-dns-port=" + dnsPort);
        for (String a : extraArgs) if (!a.startsWith("-J")) cmd.add(a);
        cmd.addAll(joinArgs);
        process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    public synchronized boolean isRunning() { return process != null && process.isAlive(); }

    public synchronized long pid() { return process.pid(); }

    /** Waits for the process to exit by itself; true if it did within {@code d}. */
    public boolean waitFor(java.time.Duration d) throws InterruptedException {
        Process p;
        synchronized (this) { p = process; }
        return p != null && p.waitFor(d.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** SIGKILL: no shutdown hook, no flush; what Raft acknowledged must survive it. */
    public synchronized void kill() throws InterruptedException {
        if (process == null) return;
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** SIGTERM, then SIGKILL if it lingers. */
    public synchronized void stop() throws InterruptedException {
        if (process == null || !process.isAlive()) return;
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    /** The exit code of a process that has ended. */
    public synchronized int exitValue() { return process.exitValue(); }

    public File logFile() { return log.toFile(); }

    /**
     * The finished Raft snapshot files under this agent's data dir (not their .md5, not a .tmp being written), by name;
     * a listing that met a file Ratis' retention (or a rename) removed meanwhile is taken again.
     */
    public List<Path> raftSnapshots() throws IOException {
        for (int attempt = 1; ; attempt++) {
            try (java.util.stream.Stream<Path> files = Files.walk(dataDir.resolve("raft"))) {
                return files.filter(p -> p.getFileName().toString().matches("snapshot\\.\\d+_\\d+")).sorted().toList();
            } catch (java.io.UncheckedIOException e) {
                if (!(e.getCause() instanceof java.nio.file.NoSuchFileException) || attempt == 20) throw e;
            }
        }
    }

    /** The log index of a snapshot file named snapshot.TERM_INDEX. */
    public static long snapshotIndex(Path snapshot) {
        String name = snapshot.getFileName().toString();
        return Long.parseLong(name.substring(name.lastIndexOf('_') + 1));
    }

    /** Whether a Raft snapshot is being written (a snapshot.*.tmp) under this agent's data dir. */
    public boolean raftSnapshotBeingWritten() throws IOException {
        try (java.util.stream.Stream<Path> files = Files.walk(dataDir.resolve("raft"))) {
            return files.anyMatch(p -> p.getFileName().toString().matches("snapshot\\..*\\.tmp"));
        } catch (java.io.UncheckedIOException e) {
            return true; // a file went away while listed: a .tmp renamed into place, most likely; look again
        }
    }

    /** The last lines of this agent's log, for a failure message. */
    public String logTail(int lines) { return tail(log, lines); }

    static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file, java.nio.charset.StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | java.io.UncheckedIOException e) {
            return "(no log at " + file + ": " + e + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }
}

package io.failoverkit.discovery.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.state.Json;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A stock {@code serf} agent (Debian's package, /usr/bin/serf) as its own process on loopback, driven through the serf
 * CLI as an operator drives it ({@code serf members -format json}, {@code serf join}, {@code serf event}). Only the
 * process started here is ever signalled, by its PID.
 */
public final class SerfProcess implements AutoCloseable {
    public static final Path SERF = Path.of("/usr/bin/serf");

    public final String name;
    public final int bindPort;
    public final int rpcPort;
    private final List<String> extraArgs;
    private final Path log;
    private Process process;

    /** The result of one serf CLI command: its exit code and what it printed (stdout and stderr together). */
    public record Cli(int exit, String output) { }

    /** @param extraArgs more {@code serf agent} flags, e.g. {@code -encrypt=KEY}, {@code -event-handler=SCRIPT}, {@code -tag=k=v} */
    public SerfProcess(String name, List<String> extraArgs) {
        this.name = name;
        this.bindPort = FreePorts.next();
        this.rpcPort = FreePorts.next();
        this.extraArgs = List.copyOf(extraArgs);
        this.log = Path.of("target", "it-logs", name + "-serf-" + System.currentTimeMillis() + ".log");
    }

    public String lanAddress() { return "127.0.0.1:" + bindPort; }

    private String rpcAddr() { return "-rpc-addr=127.0.0.1:" + rpcPort; }

    public synchronized void start() throws IOException {
        if (process != null && process.isAlive()) throw new IllegalStateException(name + " is already running");
        Files.createDirectories(log.getParent());
        List<String> cmd = new ArrayList<>(List.of(SERF.toString(), "agent", "-node=" + name, "-bind=" + lanAddress(), rpcAddr(), "-log-level=debug"));
        cmd.addAll(extraArgs);
        process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    }

    public synchronized boolean isRunning() { return process != null && process.isAlive(); }

    public synchronized long pid() { return process.pid(); }

    /** Runs {@code serf COMMAND -rpc-addr=<this agent> ARGS...} and waits for it (30 s at most). */
    public Cli cli(String command, String... args) {
        List<String> cmd = new ArrayList<>(List.of(SERF.toString(), command, rpcAddr())); // flags before the arguments (Go's flag package)
        cmd.addAll(List.of(args));
        return run(cmd);
    }

    private static Cli run(List<String> cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", cmd) + " did not finish in 30 s");
            }
            return new Cli(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** {@code serf members -format json}: the members as this agent sees them. */
    public JsonNode members() {
        Cli r = cli("members", "-format=json");
        if (r.exit() != 0) throw new IllegalStateException("serf members failed (" + r.exit() + "): " + r.output());
        try {
            return Json.MAPPER.readTree(r.output()).path("members");
        } catch (IOException e) {
            throw new IllegalStateException("serf members printed no JSON: " + r.output(), e);
        }
    }

    /** Member name -> serf's status word (alive, leaving, left, failed). */
    public Map<String, String> memberStatus() {
        Map<String, String> out = new LinkedHashMap<>();
        for (JsonNode m : members()) out.put(m.path("name").asText(), m.path("status").asText());
        return out;
    }

    /** {@code serf join ADDR}: throws with serf's own message when it fails. */
    public void join(String addr) {
        Cli r = cli("join", addr);
        if (r.exit() != 0) throw new IllegalStateException("serf join " + addr + " failed (" + r.exit() + "): " + r.output().strip());
    }

    /** {@code serf event -coalesce=false NAME PAYLOAD}. */
    public void event(String eventName, String payload) {
        Cli r = cli("event", "-coalesce=false", eventName, payload);
        if (r.exit() != 0) throw new IllegalStateException("serf event failed (" + r.exit() + "): " + r.output().strip());
    }

    /** {@code serf keygen}: a fresh base64 key, as an operator makes one. */
    public static String keygen() {
        Cli r = run(List.of(SERF.toString(), "keygen"));
        if (r.exit() != 0) throw new IllegalStateException("serf keygen failed: " + r.output());
        return r.output().strip();
    }

    /** SIGKILL: no leave intent; the pool must detect the failure. */
    public synchronized void kill() throws InterruptedException {
        if (process == null) return;
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    public File logFile() { return log.toFile(); }

    /** The last lines of this agent's log, for a failure message. */
    public String logTail(int lines) { return AgentProcess.tail(log, lines); }

    @Override
    public void close() throws InterruptedException {
        kill();
    }

    /**
     * A handler script for serf's and our agents' {@code -event-handler}: each run appends one line to
     * EVENTS/SERF_SELF_NAME: {@code SERF_EVENT|SERF_USER_EVENT|SERF_SELF_NAME|stdin} (stdin's newlines as spaces).
     */
    public static Path recordingHandler(Path events) throws IOException {
        Files.createDirectories(events);
        Path script = events.getParent().resolve("handler.sh");
        Files.writeString(script, """
                #!/bin/sh
                payload=$(cat | tr '\\n' ' ' | sed 's/ *$//')
                printf '%s|%s|%s|%s\\n' "$SERF_EVENT" "$SERF_USER_EVENT" "$SERF_SELF_NAME" "$payload" >>"EVENTS/$SERF_SELF_NAME"
                """.replace("EVENTS", events.toString()));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    /** The user events that agent's {@link #recordingHandler} ran, as "NAME|PAYLOAD", one per run, in order. */
    public static List<String> userEventsRun(Path handler, String agent) throws IOException {
        Path f = handler.getParent().resolve("events").resolve(agent);
        if (!Files.exists(f)) return List.of();
        List<String> out = new ArrayList<>();
        // Decoded leniently (bytes that are not UTF-8 become U+FFFD): a binary payload must show, not throw.
        for (String line : new String(Files.readAllBytes(f), java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
            String[] p = line.split("\\|", -1);
            if (p.length == 4 && p[0].equals("user")) {
                if (!p[2].equals(agent)) throw new AssertionError("SERF_SELF_NAME in " + agent + "'s handler was \"" + p[2] + "\"");
                out.add(p[1] + "|" + p[3]);
            }
        }
        return out;
    }
}

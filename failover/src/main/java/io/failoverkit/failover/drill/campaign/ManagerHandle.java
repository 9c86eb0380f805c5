package io.failoverkit.failover.drill.campaign;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The campaign's side of a {@link ManagerProcess}: start one, SIGKILL it, read its heartbeat. Only its own child is ever killed. */
final class ManagerHandle implements AutoCloseable {
    private final List<String> args;
    private final Map<String, String> env;
    private final Path dir;
    private Process process;
    private int started;

    ManagerHandle(List<String> args, Map<String, String> env, Path dir) {
        this.args = args;
        this.env = env;
        this.dir = dir;
    }

    Path heartbeat() { return dir.resolve("manager.heartbeat"); }

    Path log() { return dir.resolve("manager.log"); }

    void start() throws IOException {
        if (alive()) return;
        List<String> a = new ArrayList<>(args);
        a.add(3, heartbeat().toString());
        Files.deleteIfExists(heartbeat());
        started++;
        Files.writeString(log(), "---- manager " + started + " started " + java.time.Instant.now() + "\n",
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        process = ChildJvm.start(ManagerProcess.class.getName(), a, env, log());
    }

    boolean alive() { return process != null && process.isAlive(); }

    /** SIGKILL: it stops mid-step, its session left to expire. */
    void kill() throws InterruptedException {
        if (process == null) return;
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** Cycles (with the lock) counted so far by the running manager, -1 when there is no heartbeat. */
    long cycles() {
        try {
            return Long.parseLong(Files.readString(heartbeat()).trim());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process == null || !process.isAlive()) return;
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
    }
}

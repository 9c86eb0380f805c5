package io.failoverkit.failover.drill;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.concurrent.TimeUnit;

/** What the local-process labs do to their own server processes: pick ports, SIGKILL, SIGSTOP/SIGCONT, by PID only. */
public final class LocalProcesses {
    private LocalProcesses() {}

    /** A port free on the loopback interface now. */
    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** SIGKILL, then wait (bounded) until it is gone. */
    static void kill(Process process) throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    /** kill(1) with {@code sig} (STOP, CONT) on this process's PID only. */
    static void signal(Process process, String sig) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + sig, Long.toString(process.pid())).inheritIO().start().waitFor(5, TimeUnit.SECONDS);
    }
}

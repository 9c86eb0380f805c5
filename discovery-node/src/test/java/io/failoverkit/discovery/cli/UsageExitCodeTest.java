package io.failoverkit.discovery.cli;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The program, as an operator runs it (its own JVM, System.exit): unknown subcommands and bad usage exit 64 with the usage. */
class UsageExitCodeTest {
    private record Exit(int code, String out, String err) {}

    private static Exit run(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), "io.failoverkit.discovery.Main"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        var out = p.getInputStream().readAllBytes();
        var err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Exit(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    @Test
    void unknownSubcommandsAndBadUsageExit64WithTheUsage() throws Exception {
        for (String[] args : new String[][]{{"no-such-command"}, {"snapshot", "save"}, {}, {"lock"}, {"lock", "jobs/x"},
                {"lock", "-n", "0", "jobs/x", "true"}, {"lock", "-timeout", "soon", "jobs/x", "true"}, {"maint", "-enable", "-disable"},
                {"maint", "-reason", "why"}, {"members", "extra-arg"}}) {
            Exit e = run(args);
            assertThat(e.code()).as("discovery-node %s", String.join(" ", args)).isEqualTo(64);
            assertThat(e.err()).as("discovery-node %s", String.join(" ", args)).contains("Usage: discovery-node");
        }
        Exit help = run("lock", "--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("-shell").contains("$SHELL -c");
    }

    @Test
    void theChildsDashesAreTheChildsNotOurs() throws Exception {
        // After PREFIX everything is the child's command line: "-n 0" there is not our -n (which would be a usage error).
        Exit e = run("lock", "-http-addr=127.0.0.1:1", "jobs/x", "echo", "-n", "0");
        assertThat(e.code()).isEqualTo(1);
        assertThat(e.err()).startsWith("Error querying Consul agent: GET http://127.0.0.1:1/v1/agent/self: connection refused");
    }
}

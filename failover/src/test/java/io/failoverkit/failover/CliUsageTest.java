package io.failoverkit.failover;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The `failover` program as an operator runs it (its own JVM, System.exit): unknown subcommands and bad usage exit 64 with the usage. */
class CliUsageTest {
    private record Exit(int code, String out, String err) {}

    private static Exit run(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), "io.failoverkit.failover.Main"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        var out = p.getInputStream().readAllBytes();
        var err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        return new Exit(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }

    @Test
    void unknownSubcommandsAndBadUsageExit64WithTheUsage() throws Exception {
        for (String[] args : new String[][]{{"no-such-command"}, {"snapshot", "save"}, {}, {"status", "--no-such-flag"},
                {"drill", "--kind", "oracle"}, {"drill", "--lab", "vm"}, {"drill", "--campaign", "--lab", "containers"}}) {
            Exit e = run(args);
            assertThat(e.code()).as("failover %s", String.join(" ", args)).isEqualTo(64);
            assertThat(e.err()).as("failover %s", String.join(" ", args)).contains("Usage: failover");
        }
        assertThat(run("--help").code()).isZero();
    }
}

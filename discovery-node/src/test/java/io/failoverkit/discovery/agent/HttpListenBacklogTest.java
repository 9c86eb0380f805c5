package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.testing.DevAgent;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HTTP listener takes as many pending connections as the kernel allows (net.core.somaxconn), not the JVM's 50:
 * 5,000 watchers connecting at once (bench/scale.sh) overflowed a backlog of 50 (the box's ListenOverflows counter
 * rose by tens of thousands) and their connection attempts waited out SYN retries or failed.
 */
class HttpListenBacklogTest {
    @Test
    void theHttpListenersBacklogIsTheKernelsLimit() throws Exception {
        Path somaxconn = Path.of("/proc/sys/net/core/somaxconn");
        Assumptions.assumeTrue(Files.isReadable(somaxconn), "Linux only (/proc/sys/net/core/somaxconn)");
        int kernelMax = Integer.parseInt(Files.readString(somaxconn).trim());
        try (DevAgent a = DevAgent.start("backlog")) {
            // ss reports a listening socket's backlog as its Send-Q (inet_diag); iproute2 is on every Debian box.
            Process ss = new ProcessBuilder("ss", "-Hltn", "sport = :" + a.httpPort).redirectErrorStream(true).start();
            String out = new String(ss.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            assertThat(ss.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(ss.exitValue()).as("ss: %s", out).isZero();
            String[] cols = out.split("\\s+");
            assertThat(cols).as("one listener on port %d: %s", a.httpPort, out).hasSizeGreaterThanOrEqualTo(4);
            int backlog = Integer.parseInt(cols[2]);
            assertThat(backlog).as("the HTTP listener's backlog (ss: %s)", out).isEqualTo(Math.max(128, kernelMax)).isGreaterThan(50);
        }
    }
}

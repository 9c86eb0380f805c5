package io.failoverkit.failover.drill;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The drill's log file takes stderr; only an ERROR line reaches the terminal, as one line naming the file. */
class DrillLogTest {
    @TempDir Path dir;

    @Test
    void stackTracesGoToTheFileAndAnErrorIsOneTerminalLine() throws Exception {
        PrintStream saved = System.err;
        ByteArrayOutputStream terminal = new ByteArrayOutputStream();
        System.setErr(new PrintStream(terminal, true, StandardCharsets.UTF_8));
        Path file = dir.resolve("drill.log");
        try (DrillLog log = DrillLog.open(file)) {
            System.err.println("2026-12-01T20:15:11.158Z [mysql-observe] WARN com.zaxxer.hikari.pool.ProxyConnection - Connection marked as broken");
            new java.sql.SQLException("Communications link failure").printStackTrace();
            System.err.println("2026-12-01T20:15:12.000Z [drill-manager] ERROR io.failoverkit.failover.watch.Manager - [drill-mysql] cycle failed, going on: java.lang.IllegalStateException: boom");
            System.err.println("\tat io.failoverkit.failover.watch.Manager.cycle(Manager.java:1)");
            log.record("drill mysql failed", new IllegalStateException("lab"));
        } finally {
            System.setErr(saved);
        }
        String shown = terminal.toString(StandardCharsets.UTF_8);
        assertThat(shown).isEqualTo("failover drill: error in Manager: [drill-mysql] cycle failed, going on: java.lang.IllegalStateException: boom (details in "
                + file + ")\n");
        String logged = Files.readString(file);
        assertThat(logged).contains("marked as broken").contains("java.sql.SQLException: Communications link failure")
                .contains("\tat io.failoverkit.failover.drill.DrillLogTest").contains("cycle failed").contains("drill mysql failed")
                .contains("java.lang.IllegalStateException: lab");
    }

    @Test
    void onlySlf4jErrorLinesAreShown() {
        Path f = Path.of("/tmp/d.log");
        assertThat(DrillLog.terminalLine("2026-12-01T20:15:05.434Z [drill-manager] WARN io.failoverkit.failover.act.Timeline - [x] detected: m", f)).isNull();
        assertThat(DrillLog.terminalLine("java.lang.IllegalStateException: ERROR x - y", f)).isNull();
        assertThat(DrillLog.terminalLine("2026-12-01T20:15:05.434Z [main] ERROR com.zaxxer.hikari.HikariDataSource - pool failed", f))
                .isEqualTo("failover drill: error in HikariDataSource: pool failed (details in /tmp/d.log)");
    }
}

package io.failoverkit.failover.act;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Hole 11: a hook's output is read while it runs, and kept bounded. */
class HooksTest {
    @TempDir Path dir;

    private Path script(String name, String body) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body);
        p.toFile().setExecutable(true);
        return p;
    }

    @Test
    void aHookPrintingMoreThanAMebibyteSucceedsInsteadOfTimingOut() throws Exception {
        Path chatty = script("chatty", "head -c 2000000 /dev/zero | tr '\\0' x\necho\nexit 0\n");
        assertThat(Hooks.run(List.of(chatty.toString()), Map.of(), 60_000)).isNull();
    }

    @Test
    void aChattyFailingHookIsReportedWithItsFirstAndLastBytesOnly() throws Exception {
        Path chatty = script("chatty-fails", "echo FIRST-LINE\nhead -c 1500000 /dev/zero | tr '\\0' y\necho\necho LAST-LINE\nexit 7\n");
        String message = Hooks.run(List.of(chatty.toString()), Map.of(), 60_000);
        assertThat(message).contains("exited 7").contains("FIRST-LINE").contains("LAST-LINE").contains("bytes left out");
        assertThat(message.length()).isLessThan(3 * Hooks.KEEP);
    }

    @Test
    void aHookThatHangsIsKilledAtItsTimeout() throws Exception {
        Path hangs = script("hangs", "echo started\nsleep 30\n");
        assertThat(Hooks.run(List.of(hangs.toString()), Map.of(), 500)).contains("timed out after 500 ms (killed)").contains("started");
    }

    @Test
    void hooksGetTheirDataFromTheEnvironment() throws Exception {
        Path env = script("env", "test \"$FAILOVER_REASON\" = 'requested by an operator' || { echo \"got $FAILOVER_REASON\"; exit 1; }\n");
        assertThat(Hooks.run(List.of(env.toString()), Map.of("FAILOVER_REASON", "requested by an operator"), 10_000)).isNull();
    }
}

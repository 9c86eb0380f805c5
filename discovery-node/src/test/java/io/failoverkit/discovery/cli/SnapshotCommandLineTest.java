package io.failoverkit.discovery.cli;

import io.failoverkit.discovery.testing.Cli.Run;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static io.failoverkit.discovery.testing.Cli.run;
import static org.assertj.core.api.Assertions.assertThat;

/** `discovery-node snapshot` command lines: usage errors exit 64; failures exit 1 with "Error ..." and leave no file. */
class SnapshotCommandLineTest {
    @TempDir Path dir;

    @Test
    void usageErrorsExit64WithTheUsage() {
        Run none = run("snapshot");
        assertThat(none.code()).isEqualTo(64);
        assertThat(none.err()).contains("save, restore or inspect").contains("Usage");
        assertThat(run("snapshot", "save").code()).isEqualTo(64);
        assertThat(run("snapshot", "restore").code()).isEqualTo(64);
        assertThat(run("snapshot", "inspect").code()).isEqualTo(64);
        assertThat(run("snapshot", "inspect", "a", "b").code()).isEqualTo(64);
        assertThat(run("snapshot", "bogus", "x").code()).isEqualTo(64);
        assertThat(run("snapshot", "save", "-nope", "x").code()).isEqualTo(64);
    }

    @Test
    void failuresExit1WithAReasonAndSaveLeavesNoFile() throws Exception {
        Run missing = run("snapshot", "inspect", dir.resolve("missing.snap").toString());
        assertThat(missing.code()).isEqualTo(1);
        assertThat(missing.err()).startsWith("Error opening snapshot file: ").contains("no such file");

        Path junk = dir.resolve("junk.snap");
        Files.writeString(junk, "not a snapshot");
        Run inspect = run("snapshot", "inspect", junk.toString());
        assertThat(inspect.code()).isEqualTo(1);
        assertThat(inspect.err()).startsWith("Error verifying snapshot: ").contains("gzip");

        // Nothing listens on this port: save fails and leaves neither the file nor a temporary one.
        Path out = dir.resolve("out.snap");
        Run save = run("snapshot", "save", "-http-addr=127.0.0.1:" + FreePorts.next(), out.toString());
        assertThat(save.code()).isEqualTo(1);
        assertThat(save.err()).startsWith("Error saving snapshot: ");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("junk.snap");
        }
    }
}

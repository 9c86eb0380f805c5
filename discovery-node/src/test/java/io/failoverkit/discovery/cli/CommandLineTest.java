package io.failoverkit.discovery.cli;

import io.failoverkit.discovery.Main;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/** Bad command lines exit 64 with a message and the usage, before anything starts. */
class CommandLineTest {
    private record Run(int code, String err) {}

    private static Run run(String... args) {
        var cl = Main.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        cl.setOut(new PrintWriter(new StringWriter()));
        return new Run(cl.execute(args), err.toString());
    }

    @Test
    void unknownFlagIsAUsageError() {
        Run r = run("agent", "-no-such-flag");
        assertThat(r.code()).isEqualTo(64);
        assertThat(r.err()).contains("-no-such-flag").contains("Usage");
    }

    @Test
    void portThatIsNotANumberIsAUsageError() {
        Run r = run("agent", "-dev", "-http-port=eighty");
        assertThat(r.code()).isEqualTo(64);
        assertThat(r.err()).contains("eighty");
    }

    @Test
    void serverWithoutDataDirIsAUsageErrorThatSaysWhatToAdd() {
        Run r = run("agent", "-server", "-bootstrap-expect=3", "-node=a");
        assertThat(r.code()).isEqualTo(64);
        assertThat(r.err()).contains("-data-dir");
    }

    @Test
    void missingSubcommandIsAUsageError() {
        assertThat(run().code()).isEqualTo(64);
    }

    @Test
    void helpExitsZero() {
        assertThat(run("agent", "--help").code()).isZero();
    }
}

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
    void aBadEncryptionKeyIsAUsageErrorBeforeAnythingStarts() {
        Run r = run("agent", "-dev", "-encrypt=c2hvcnQ=");
        assertThat(r.code()).isEqualTo(64);
        assertThat(r.err()).contains("-encrypt").contains("16, 24 or 32 bytes").contains("keygen");
        Run r2 = run("agent", "-dev", "-encrypt=%%%");
        assertThat(r2.code()).isEqualTo(64);
        assertThat(r2.err()).contains("base64");
    }

    @Test
    void badNodeMetaIsAUsageErrorThatSaysWhichPair() {
        Run r = run("agent", "-dev", "-node-meta=rack.id:r1");
        assertThat(r.code()).isEqualTo(64);
        assertThat(r.err()).contains("rack.id").contains("invalid characters");
        assertThat(run("agent", "-dev", "-node-meta=consul-x:1").err()).contains("reserved");
    }

    @Test
    void aBadEventHandlerFilterIsAUsageError() {
        Run r = run("agent", "-dev", "-event-handler=member-joined=./x.sh");
        assertThat(r.code()).isEqualTo(64);
        assertThat(r.err()).contains("member-joined");
    }

    @Test
    void keyringTakesExactlyOneOperationAndAValidKey() {
        assertThat(run("keyring").code()).isEqualTo(64);
        assertThat(run("keyring", "-list", "-remove", "AAAAAAAAAAAAAAAAAAAAAA==").code()).isEqualTo(64);
        Run bad = run("keyring", "-install", "c2hvcnQ=");
        assertThat(bad.code()).isEqualTo(64);
        assertThat(bad.err()).contains("16, 24 or 32");
    }

    @Test
    void eventNeedsANameAndTagNeedsAService() {
        assertThat(run("event", "payload").code()).isEqualTo(64);
        assertThat(run("event", "-name=deploy", "-tag=prod").code()).isEqualTo(64);
        assertThat(run("members", "-status=(").code()).isEqualTo(64);
        assertThat(run("tags").code()).isEqualTo(64);
        assertThat(run("join").code()).isEqualTo(64);
        assertThat(run("force-leave").code()).isEqualTo(64);
    }

    @Test
    void keygenPrintsA32ByteBase64Key() {
        var cl = Main.commandLine();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.out;
        System.setOut(new java.io.PrintStream(out, true));
        int code;
        try {
            code = cl.execute("keygen");
        } finally {
            System.setOut(old);
        }
        assertThat(code).isZero();
        assertThat(java.util.Base64.getDecoder().decode(out.toString().strip())).hasSize(32);
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

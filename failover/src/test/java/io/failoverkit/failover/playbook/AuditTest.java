package io.failoverkit.failover.playbook;

import io.failoverkit.failover.fake.FakeDiscovery;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The KV audit: entries the KV does not take (no quorum) are kept, in order, and written once it answers. */
class AuditTest {
    @Test
    void entriesKeptWhileTheKvIsDownAreWrittenWhenItAnswers() {
        FakeDiscovery d = new FakeDiscovery();
        Audit.Kv audit = new Audit.Kv(d);
        d.down = true;
        audit.record("failover/c/audit/playbook-1-p-01-a", Map.of("outcome", "ok"));
        audit.record("failover/c/audit/playbook-1-p-02-b", Map.of("outcome", "failed"));
        assertThat(d.text("failover/c/audit/playbook-1-p-01-a")).isNull();
        assertThat(audit.lastError()).contains("unreachable");
        assertThat(audit.flush()).hasSize(2).first().asString().startsWith("failover/c/audit/playbook-1-p-01-a {\"outcome\":\"ok\"}");
        d.down = false;
        assertThat(audit.flush()).isEmpty();
        assertThat(d.text("failover/c/audit/playbook-1-p-01-a")).isEqualTo("{\"outcome\":\"ok\"}");
        assertThat(d.text("failover/c/audit/playbook-1-p-02-b")).isEqualTo("{\"outcome\":\"failed\"}");
        assertThat(Audit.prefix(null)).isEqualTo("failoverkit/playbooks/audit/");
        assertThat(Audit.prefix("foo")).isEqualTo("failover/foo/audit/");
    }

    @Test
    void aRunPrintsTheEntriesItCouldNotWrite() throws Exception {
        FakeDiscovery d = new FakeDiscovery();
        d.down = true;
        Playbook p = Playbook.parse("p", "# T\n\n```sh step=a readonly\ntrue\n```\n> x\n");
        var bytes = new java.io.ByteArrayOutputStream();
        Runner r = new Runner(p, Map.of(), new Runner.Options(false, true, false, false), new java.io.BufferedReader(new java.io.StringReader("")),
                new java.io.PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8), new Audit.Kv(d), "failoverkit/playbooks/audit/", null, "me@h",
                java.nio.file.Path.of("."));
        assertThat(r.run().exitCode()).isZero();
        assertThat(bytes.toString(java.nio.charset.StandardCharsets.UTF_8)).contains("WARNING: 2 audit entries could not be written to the discovery KV (discovery node unreachable (fake))")
                .contains("failoverkit/playbooks/audit/playbook-").contains("\"outcome\":\"ok\"");
    }
}

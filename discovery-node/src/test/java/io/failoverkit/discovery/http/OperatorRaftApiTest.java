package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.testing.Cli.Run;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static io.failoverkit.discovery.testing.Cli.run;
import static org.assertj.core.api.Assertions.assertThat;

/** /v1/operator/raft and `operator raft` on one server: its fields, its refusals, and usage errors. */
class OperatorRaftApiTest {
    private static DevAgent dev;

    @BeforeAll
    static void start() throws Exception {
        dev = DevAgent.start("solo");
    }

    @AfterAll
    static void stop() {
        if (dev != null) dev.close();
    }

    @Test
    void theConfigurationHasConsulsFields() {
        JsonNode c = dev.http.get("/v1/operator/raft/configuration").json();
        assertThat(c.get("Index").asLong()).as("the bootstrap configuration is no log entry in Ratis: 0").isNotNegative();
        assertThat(c.get("Servers")).hasSize(1);
        JsonNode s = c.get("Servers").get(0);
        assertThat(s.get("Node").asText()).isEqualTo("solo");
        assertThat(s.get("ID").asText()).isEqualTo(dev.agent.nodeId());
        assertThat(s.get("Address").asText()).isEqualTo("127.0.0.1:" + dev.agent.config().serverPort);
        assertThat(s.get("Leader").asBoolean()).isTrue();
        assertThat(s.get("Voter").asBoolean()).isTrue();
        assertThat(s.get("ProtocolVersion").asText()).isEqualTo("3");
        assertThat(dev.http.get("/v1/operator/raft/configuration?stale").status()).isEqualTo(200);
        assertThat(dev.http.put("/v1/operator/raft/configuration", "").status()).isEqualTo(405);
    }

    @Test
    void removePeerRefusesWhatItCannotDo() {
        Http.Reply none = dev.http.delete("/v1/operator/raft/peer");
        assertThat(none.status()).isEqualTo(400);
        assertThat(none.body()).contains("Must specify either ?id");
        Http.Reply unknown = dev.http.delete("/v1/operator/raft/peer?id=nope");
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.body()).contains("id \"nope\" was not found in the Raft configuration");
        Http.Reply unknownAddress = dev.http.delete("/v1/operator/raft/peer?address=127.0.0.9:1");
        assertThat(unknownAddress.status()).isEqualTo(400);
        assertThat(unknownAddress.body()).contains("address \"127.0.0.9:1\" was not found in the Raft configuration");
        Http.Reply last = dev.http.delete("/v1/operator/raft/peer?id=" + dev.agent.nodeId());
        assertThat(last.status()).isEqualTo(400);
        assertThat(last.body()).contains("last voter");
        Http.Reply lastByAddress = dev.http.delete("/v1/operator/raft/peer?address=127.0.0.1:" + dev.agent.config().serverPort);
        assertThat(lastByAddress.status()).isEqualTo(400);
        assertThat(dev.http.get("/v1/operator/raft/configuration").json().get("Servers")).hasSize(1);
    }

    @Test
    void theCommandsPrintConsulsColumnsAndMessages() {
        Run list = run("operator", "raft", "list-peers", "-http-addr=" + dev.address());
        assertThat(list.code()).as(list.err()).isZero();
        String[] lines = list.out().strip().split("\n");
        assertThat(lines[0].split("\\s+")).containsExactly("Node", "ID", "Address", "State", "Voter", "RaftProtocol");
        assertThat(lines[1].split("\\s+")).containsExactly("solo", dev.agent.nodeId(), "127.0.0.1:" + dev.agent.config().serverPort, "leader", "true", "3");
        Run stale = run("operator", "raft", "list-peers", "-stale", "-http-addr=" + dev.address());
        assertThat(stale.code()).isZero();

        Run unknown = run("operator", "raft", "remove-peer", "-id=nope", "-http-addr=" + dev.address());
        assertThat(unknown.code()).isEqualTo(1);
        assertThat(unknown.err()).startsWith("Error removing peer:").contains("id \"nope\" was not found in the Raft configuration");
        Run last = run("operator", "raft", "remove-peer", "-address=127.0.0.1:" + dev.agent.config().serverPort, "-http-addr=" + dev.address());
        assertThat(last.code()).isEqualTo(1);
        assertThat(last.err()).contains("last voter");
    }

    @Test
    void usageErrorsExit64() {
        assertThat(run("operator").code()).isEqualTo(64);
        assertThat(run("operator", "raft").code()).isEqualTo(64);
        assertThat(run("operator", "raft", "nope").code()).isEqualTo(64);
        Run neither = run("operator", "raft", "remove-peer", "-http-addr=" + dev.address());
        assertThat(neither.code()).isEqualTo(64);
        assertThat(neither.err()).contains("Exactly one of -id or -address");
        assertThat(run("operator", "raft", "remove-peer", "-id=a", "-address=b:1", "-http-addr=" + dev.address()).code()).isEqualTo(64);
        assertThat(run("operator", "raft", "list-peers", "-bogus").code()).isEqualTo(64);
    }

    @Test
    void anUnreachableAgentIsAnErrorNotAUsageError() {
        Run r = run("operator", "raft", "list-peers", "-http-addr=127.0.0.1:1");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).startsWith("Error getting peers:");
    }
}

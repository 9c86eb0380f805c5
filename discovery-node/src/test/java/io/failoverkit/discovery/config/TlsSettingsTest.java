package io.failoverkit.discovery.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Consul's tls stanza and ports.https in a config file: what is read, and the combinations refused at start. */
class TlsSettingsTest {
    @TempDir Path dir;

    private AgentConfig read(String json) throws Exception {
        Path f = dir.resolve("c" + System.nanoTime() + ".json");
        Files.writeString(f, json);
        AgentConfig c = new AgentConfig();
        c.dev = true;
        c.configFiles.add(f);
        c.applyFiles(Set.of());
        return c;
    }

    @Test
    void theStanzaAndTheHttpsPortAreRead() throws Exception {
        AgentConfig c = read("""
                {"ports": {"https": 8501, "http": -1},
                 "tls": {"defaults": {"ca_file": "ca.pem", "cert_file": "a.pem", "key_file": "a-key.pem",
                                      "verify_incoming": true, "verify_outgoing": true},
                         "https": {"verify_incoming": false},
                         "internal_rpc": {"verify_server_hostname": true}}}
                """);
        c.validate();
        assertThat(c.httpsPort).isEqualTo(8501);
        assertThat(c.httpPort).isEqualTo(-1);
        assertThat(c.tls.caFile).isEqualTo("ca.pem");
        assertThat(c.tls.httpsVerifyIncoming()).isFalse();
        assertThat(c.tls.rpcVerifyIncoming()).isTrue();
        assertThat(c.tls.verifyServerHostname).isTrue();
        assertThat(c.tls.raftTls()).isTrue();
    }

    @Test
    void withoutVerifySettingsRaftStaysInTheClearAndHttpsIsOff() throws Exception {
        AgentConfig c = read("{\"tls\": {\"defaults\": {\"ca_file\": \"ca.pem\", \"cert_file\": \"a.pem\", \"key_file\": \"k.pem\"}}}");
        c.validate();
        assertThat(c.tls.raftTls()).isFalse();
        assertThat(c.httpsPort).isEqualTo(-1);
        assertThat(c.httpPort).isEqualTo(8500);
    }

    @Test
    void combinationsThatCannotWorkAreRefusedWithWhatToAdd() throws Exception {
        assertThatThrownBy(() -> read("{\"ports\": {\"https\": 8501}}").validate()).hasMessageContaining("cert_file and key_file");
        assertThatThrownBy(() -> read("{\"tls\": {\"defaults\": {\"cert_file\": \"a.pem\"}}}").validate()).hasMessageContaining("go together");
        assertThatThrownBy(() -> read("{\"tls\": {\"defaults\": {\"cert_file\": \"a.pem\", \"key_file\": \"k.pem\", \"verify_incoming\": true}}}").validate())
                .hasMessageContaining("ca_file");
        assertThatThrownBy(() -> read("{\"tls\": {\"defaults\": {\"ca_file\": \"ca.pem\", \"verify_outgoing\": true}}}").validate())
                .hasMessageContaining("cert_file");
        assertThatThrownBy(() -> read("{\"ports\": {\"http\": -1}}").validate()).hasMessageContaining("needs a port");
        assertThatThrownBy(() -> read("{\"ports\": {\"https\": -2}}").validate()).hasMessageContaining("out of range");
        assertThatThrownBy(() -> read("{\"tls\": [1]}")).hasMessageContaining("\"tls\" must be an object");
    }
}

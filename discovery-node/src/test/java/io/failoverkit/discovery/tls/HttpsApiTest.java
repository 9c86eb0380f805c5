package io.failoverkit.discovery.tls;

import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.FreePorts;
import io.failoverkit.discovery.testing.Https;
import io.failoverkit.discovery.testing.TestCertificates;
import io.failoverkit.tls.PemFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.math.BigInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The HTTPS API beside HTTP, as Consul's: with verify_incoming a client certificate signed by the CA is required;
 * certificates swapped on disk are served after a reload, and a swap that does not fit changes nothing.
 */
class HttpsApiTest {
    @TempDir Path dir;

    private static String tlsConfig(TestCertificates certs, TestCertificates.Pair server, boolean verifyIncoming) {
        return """
                {"tls": {"defaults": {"ca_file": "%s", "cert_file": "%s", "key_file": "%s",
                                      "verify_incoming": %s, "verify_outgoing": true}}}
                """.formatted(certs.ca, server.cert(), server.key(), verifyIncoming);
    }

    private DevAgent agent(Path config, int httpsPort) throws Exception {
        return DevAgent.start("tls1", cfg -> {
            cfg.configFiles.add(config);
            cfg.httpsPort = httpsPort;
        });
    }

    @Test
    void withVerifyIncomingTheHttpsApiRefusesAClientWithoutACertificateSignedByTheCa() throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        TestCertificates.Pair server = certs.cert("-server");
        TestCertificates.Pair client = certs.cert("-client");
        Path other = Files.createDirectories(dir.resolve("other"));
        TestCertificates.Pair stranger = TestCertificates.create(other).cert("-client");
        Path config = dir.resolve("tls.json");
        Files.writeString(config, tlsConfig(certs, server, true));
        int httpsPort = FreePorts.next();
        try (DevAgent a = agent(config, httpsPort)) {
            assertThat(a.agent.httpsPort()).isEqualTo(httpsPort);
            Https without = new Https(httpsPort, certs.ca, null);
            assertThatThrownBy(() -> without.get("/v1/agent/self")).as("no client certificate").isInstanceOf(IOException.class);
            Https wrongCa = new Https(httpsPort, certs.ca, stranger);
            assertThatThrownBy(() -> wrongCa.get("/v1/agent/self")).as("a client certificate of another CA").isInstanceOf(IOException.class);

            Https with = new Https(httpsPort, certs.ca, client);
            assertThat(with.get("/v1/agent/self").status()).isEqualTo(200);
            assertThat(with.put("/v1/kv/tls/hello", "world").body()).isEqualTo("true");
            assertThat(with.get("/v1/kv/tls/hello?raw").body()).isEqualTo("world");
            // HTTP stays (Consul turns it off only with ports.http = -1); the same data behind both
            assertThat(a.http.get("/v1/kv/tls/hello?raw").body()).isEqualTo("world");
            // the served certificate is the server's, signed by the CA
            var served = Https.servedCertificate(httpsPort, certs.ca, client);
            assertThat(served.getSerialNumber()).isEqualTo(PemFiles.certificates(server.cert()).get(0).getSerialNumber());
        }
    }

    @Test
    void withoutVerifyIncomingAnyClientOfTheHttpsApiIsServed() throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        TestCertificates.Pair server = certs.cert("-server");
        Path config = dir.resolve("tls.json");
        Files.writeString(config, tlsConfig(certs, server, false));
        int httpsPort = FreePorts.next();
        try (DevAgent a = agent(config, httpsPort)) {
            assertThat(new Https(httpsPort, certs.ca, null).get("/v1/agent/self").status()).isEqualTo(200);
        }
    }

    @Test
    void aCertificateSwappedOnDiskIsServedAfterReloadAndABadSwapChangesNothing() throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        TestCertificates.Pair first = certs.cert("-server");
        TestCertificates.Pair client = certs.cert("-client");
        Path live = Files.createDirectories(dir.resolve("live"));
        TestCertificates.Pair inUse = new TestCertificates.Pair(live.resolve("agent.pem"), live.resolve("agent-key.pem"));
        Files.copy(first.cert(), inUse.cert());
        Files.copy(first.key(), inUse.key());
        Path config = dir.resolve("tls.json");
        Files.writeString(config, tlsConfig(certs, inUse, true));
        int httpsPort = FreePorts.next();
        try (DevAgent a = agent(config, httpsPort)) {
            Https https = new Https(httpsPort, certs.ca, client);
            BigInteger before = Https.servedCertificate(httpsPort, certs.ca, client).getSerialNumber();
            assertThat(before).isEqualTo(serial(first.cert()));

            TestCertificates.Pair second = certs.cert("-server");
            Files.copy(second.cert(), inUse.cert(), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(second.key(), inUse.key(), StandardCopyOption.REPLACE_EXISTING);
            assertThat(Https.servedCertificate(httpsPort, certs.ca, client).getSerialNumber()).as("not before the reload").isEqualTo(before);
            assertThat(https.put("/v1/agent/reload", null).status()).isEqualTo(200);
            assertThat(Https.servedCertificate(httpsPort, certs.ca, client).getSerialNumber()).isEqualTo(serial(second.cert()));
            assertThat(a.agent.tls().certificate().getSerialNumber()).isEqualTo(serial(second.cert()));

            // a certificate whose key is not the one on disk: the reload is refused and the second one stays in use
            TestCertificates.Pair third = certs.cert("-server");
            Files.copy(third.cert(), inUse.cert(), StandardCopyOption.REPLACE_EXISTING);
            var refused = https.put("/v1/agent/reload", null);
            assertThat(refused.status()).isEqualTo(400);
            assertThat(refused.body()).contains("is not the private key of the certificate");
            assertThat(Https.servedCertificate(httpsPort, certs.ca, client).getSerialNumber()).isEqualTo(serial(second.cert()));
            assertThat(https.get("/v1/agent/self").status()).isEqualTo(200);
        }
    }

    private static BigInteger serial(Path cert) throws IOException {
        return PemFiles.certificates(cert).get(0).getSerialNumber();
    }
}

package io.failoverkit.discovery.tls;

import io.failoverkit.discovery.testing.Cli;
import io.failoverkit.discovery.testing.TestCertificates;
import io.failoverkit.tls.PeerTrust;
import io.failoverkit.tls.PemFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** `discovery-node tls ca create` and `tls cert create`: Consul's file names, names in the certificates, private keys kept private. */
class TlsCertCreateTest {
    @TempDir Path dir;

    @Test
    void caAndCertificatesGetConsulsFileNamesAndKeysAreOwnerOnly() throws Exception {
        Cli.Run ca = Cli.run("tls", "ca", "create", "-output-dir", dir.toString());
        assertThat(ca.code()).isZero();
        assertThat(ca.out()).contains("==> Saved consul-agent-ca.pem").contains("==> Saved consul-agent-ca-key.pem");

        Cli.Run server = Cli.run("tls", "cert", "create", "-server", "-output-dir", dir.toString(), "-node", "s1",
                "-additional-dnsname", "db.example.net", "-additional-ipaddress", "10.1.2.3");
        assertThat(server.code()).isZero();
        assertThat(server.out()).contains("==> Using consul-agent-ca.pem and consul-agent-ca-key.pem")
                .contains("==> Saved dc1-server-consul-0.pem").contains("==> Saved dc1-server-consul-0-key.pem");
        Cli.Run second = Cli.run("tls", "cert", "create", "-server", "-output-dir", dir.toString());
        assertThat(second.out()).contains("==> Saved dc1-server-consul-1.pem");
        Cli.Run client = Cli.run("tls", "cert", "create", "-client", "-dc", "east", "-output-dir", dir.toString());
        assertThat(client.out()).contains("==> Saved east-client-consul-0.pem").contains("==> Saved east-client-consul-0-key.pem");
        Cli.Run cli = Cli.run("tls", "cert", "create", "-cli", "-output-dir", dir.toString());
        assertThat(cli.out()).contains("==> Saved dc1-cli-consul-0.pem");

        for (String key : List.of("consul-agent-ca-key.pem", "dc1-server-consul-0-key.pem", "east-client-consul-0-key.pem", "dc1-cli-consul-0-key.pem")) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(key)))).as(key).isEqualTo("rw-------");
            String pem = Files.readString(dir.resolve(key));
            assertThat(pem).contains("PRIVATE KEY");
            // never printed: no line of the key's text is in anything the commands wrote
            String body = pem.lines().filter(l -> !l.startsWith("-----")).findFirst().orElseThrow();
            for (Cli.Run r : List.of(ca, server, second, client, cli)) assertThat(r.out() + r.err()).doesNotContain(body);
        }

        X509Certificate caCert = PemFiles.certificates(dir.resolve("consul-agent-ca.pem")).get(0);
        X509Certificate s = PemFiles.certificates(dir.resolve("dc1-server-consul-0.pem")).get(0);
        s.verify(caCert.getPublicKey());
        assertThat(caCert.getBasicConstraints()).isGreaterThanOrEqualTo(0);
        assertThat(s.getBasicConstraints()).isEqualTo(-1);
        assertThat(PeerTrust.certificateNames(s, "server.dc1.consul")).isTrue();
        assertThat(PeerTrust.certificateNames(s, "s1.server.dc1.consul")).isTrue();
        assertThat(PeerTrust.certificateNames(s, "localhost")).isTrue();
        assertThat(PeerTrust.certificateNames(s, "127.0.0.1")).isTrue();
        assertThat(PeerTrust.certificateNames(s, "db.example.net")).isTrue();
        assertThat(PeerTrust.certificateNames(s, "10.1.2.3")).isTrue();
        assertThat(PeerTrust.certificateNames(s, "client.dc1.consul")).isFalse();
        assertThat(s.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        X509Certificate c = PemFiles.certificates(dir.resolve("east-client-consul-0.pem")).get(0);
        assertThat(PeerTrust.certificateNames(c, "client.east.consul")).isTrue();
        assertThat(PeerTrust.certificateNames(c, "server.east.consul")).isFalse();
        X509Certificate cl = PemFiles.certificates(dir.resolve("dc1-cli-consul-0.pem")).get(0);
        assertThat(cl.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        // each key belongs to its certificate (KeyMaterial refuses a mismatch)
        KeyMaterial.read(dir.resolve("consul-agent-ca.pem").toString(), dir.resolve("dc1-server-consul-0.pem").toString(),
                dir.resolve("dc1-server-consul-0-key.pem").toString());
    }

    @Test
    void badRequestsAreRefusedAndNothingIsOverwritten() throws Exception {
        assertThat(Cli.run("tls", "cert", "create", "-output-dir", dir.toString()).code()).as("no kind").isEqualTo(64);
        assertThat(Cli.run("tls", "cert", "create", "-server", "-client", "-output-dir", dir.toString()).code()).as("two kinds").isEqualTo(64);
        Cli.Run noCa = Cli.run("tls", "cert", "create", "-server", "-output-dir", dir.toString());
        assertThat(noCa.code()).isEqualTo(1);
        assertThat(noCa.err()).contains("not found");

        TestCertificates.create(dir);
        String before = Files.readString(dir.resolve("consul-agent-ca.pem"));
        Cli.Run again = Cli.run("tls", "ca", "create", "-output-dir", dir.toString());
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).contains("already exists");
        assertThat(Files.readString(dir.resolve("consul-agent-ca.pem"))).isEqualTo(before);

        assertThat(Cli.run("tls", "cert", "create", "-server", "-additional-ipaddress", "not-an-ip", "-output-dir", dir.toString()).code()).isEqualTo(64);
        assertThat(Cli.run("tls", "cert", "create", "-client", "-node", "n1", "-output-dir", dir.toString()).code()).isEqualTo(64);
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).toList()).containsExactlyInAnyOrder("consul-agent-ca.pem", "consul-agent-ca-key.pem");
        }
    }

    @Test
    void aKeyThatIsNotTheCertificatesIsRefused() throws Exception {
        TestCertificates certs = TestCertificates.create(dir);
        var a = certs.cert("-server");
        var b = certs.cert("-server");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> KeyMaterial.read(certs.ca.toString(), a.cert().toString(), b.key().toString()))
                .isInstanceOf(java.io.IOException.class).hasMessageContaining("is not the private key of the certificate");
    }
}

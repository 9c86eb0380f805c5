package io.failoverkit.drills;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.tls.CertificateAuthority;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.discovery.DiscoveryTls;
import io.failoverkit.failover.guard.DiscoveryEpochReader;
import io.failoverkit.failover.guard.EpochView;
import io.failoverkit.tls.PemFiles;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * failover against discovery nodes that serve HTTPS only (ports.http = -1), with a CA made here: one without and one
 * with verify_incoming. The `failover` program in its own process (as an operator runs it, environment and all) and
 * the clients it is made of (DiscoveryClient, the guard's DiscoveryEpochReader): CONSUL_CACERT makes the node trusted,
 * without it the error says the certificate is not trusted and names CONSUL_CACERT; with verify_incoming only
 * CONSUL_CLIENT_CERT / CONSUL_CLIENT_KEY get in; CONSUL_HTTP_SSL=true makes a bare host:port https; half a client
 * certificate is a usage error (64) and nothing is stored. Run under flock /tmp/failoverkit-drills.lock.
 */
class FailoverOverHttpsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir static Path dir;
    static Path ca, cliCert, cliKey;
    static Agent open, mutual;
    static String openUrl, mutualUrl;

    @BeforeAll
    static void start() throws Exception {
        CertificateAuthority.Issued authority = CertificateAuthority.createCa("failoverkit test CA", 7, List.of());
        CertificateAuthority.Issued server = CertificateAuthority.issue(authority.certificate(), authority.key(),
                CertificateAuthority.Kind.SERVER, "server.dc1.consul", 7, List.of("server.dc1.consul", "localhost"), List.of("127.0.0.1"));
        CertificateAuthority.Issued cli = CertificateAuthority.issue(authority.certificate(), authority.key(),
                CertificateAuthority.Kind.CLI, "cli.dc1.consul", 7, List.of("cli.dc1.consul"), List.of());
        ca = write("ca.pem", authority.certificate(), false);
        Path serverCert = write("server.pem", server.certificate(), false), serverKey = write("server-key.pem", server.key(), true);
        cliCert = write("cli.pem", cli.certificate(), false);
        cliKey = write("cli-key.pem", cli.key(), true);
        open = httpsOnly("tls-open", serverCert, serverKey, false);
        openUrl = "https://127.0.0.1:" + open.httpsPort();
        mutual = httpsOnly("tls-mutual", serverCert, serverKey, true);
        mutualUrl = "https://127.0.0.1:" + mutual.httpsPort();
        // Ready once each takes a write over HTTPS (its leader elected), through the client under test.
        for (String url : List.of(openUrl, mutualUrl)) {
            DiscoveryClient c = new DiscoveryClient(url, null, DiscoveryTls.of(fullTls()));
            await().atMost(Duration.ofSeconds(60)).ignoreExceptions().untilAsserted(() -> c.put("tls/ready", "1"));
        }
    }

    @AfterAll
    static void stop() {
        if (open != null) open.close();
        if (mutual != null) mutual.close();
    }

    private static Path write(String name, Object pemObject, boolean secret) throws Exception {
        Path f = dir.resolve(name);
        PemFiles.writeNew(f, PemFiles.pem(pemObject), secret);
        return f;
    }

    /** A discovery node (`agent -dev`) in this JVM serving the HTTP API on HTTPS alone. */
    private static Agent httpsOnly(String node, Path cert, Path key, boolean verifyIncoming) throws Exception {
        Path config = dir.resolve(node + ".json");
        Files.writeString(config, JSON.writeValueAsString(Map.of("ports", Map.of("http", -1, "https", DiscoveryLab.freePort()),
                "tls", Map.of("defaults", Map.of("ca_file", ca.toString(), "cert_file", cert.toString(), "key_file", key.toString(),
                        "verify_incoming", verifyIncoming, "verify_outgoing", true)))));
        Agent a = Agent.start(DiscoveryLab.devConfig(node, config));
        assertThat(a.httpPort()).as("no plain HTTP listener").isLessThan(0);
        return a;
    }

    private static Map<String, String> fullTls() {
        return Map.of("CONSUL_CACERT", ca.toString(), "CONSUL_CLIENT_CERT", cliCert.toString(), "CONSUL_CLIENT_KEY", cliKey.toString());
    }

    private static Path definition(String name) throws Exception {
        int a = DiscoveryLab.freePort(), b = DiscoveryLab.freePort(); // nothing listens there: the members are DOWN
        return Files.writeString(dir.resolve(name + ".yaml"), "name: " + name + "\nkind: redis\nmembers: [127.0.0.1:" + a + ", 127.0.0.1:" + b + "]\n");
    }

    private static FailoverDrillCommandTest.Run failover(Map<String, String> env, String... args) throws Exception {
        return FailoverDrillCommandTest.failover(env, 180, args);
    }

    @Test
    void theCliWorksOverHttpsWithConsulCacertAndWithoutItSaysTheCertificateIsNotTrusted() throws Exception {
        Path def = definition("tls-open-redis");
        var define = failover(Map.of("CONSUL_CACERT", ca.toString()), "define", "--file", def.toString(), "--discovery", openUrl);
        assertThat(define.exit()).as(define.err()).isZero();
        var status = failover(Map.of("CONSUL_CACERT", ca.toString()), "status", "--cluster", "kv:tls-open-redis", "--discovery", openUrl);
        assertThat(status.exit()).as(status.err()).isZero();
        assertThat(status.out()).contains("cluster tls-open-redis (redis)");

        var untrusted = failover(Map.of(), "status", "--cluster", "kv:tls-open-redis", "--discovery", openUrl);
        assertThat(untrusted.exit()).isEqualTo(1);
        assertThat(untrusted.err()).contains("certificate is not trusted").contains("CONSUL_CACERT").doesNotContain("\tat ");

        // CONSUL_HTTP_SSL=true: the bare host:port of CONSUL_HTTP_ADDR is https (no --discovery)
        var bare = failover(Map.of("CONSUL_CACERT", ca.toString(), "CONSUL_HTTP_SSL", "true", "CONSUL_HTTP_ADDR", "127.0.0.1:" + open.httpsPort()),
                "status", "--cluster", "kv:tls-open-redis");
        assertThat(bare.exit()).as(bare.err()).isZero();
        assertThat(bare.out()).contains("cluster tls-open-redis (redis)");

        // half a client certificate: a usage error before anything is done (the definition is not stored)
        Path half = definition("tls-half");
        var usage = failover(Map.of("CONSUL_CACERT", ca.toString(), "CONSUL_CLIENT_CERT", cliCert.toString()),
                "define", "--file", half.toString(), "--discovery", openUrl);
        assertThat(usage.exit()).isEqualTo(64);
        assertThat(usage.err()).contains("CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY go together");
        assertThat(new DiscoveryClient(openUrl, null, DiscoveryTls.of(fullTls())).get(ClusterDefinition.kvKey("tls-half"))).isEmpty();
    }

    @Test
    void aPlaybookRunAgainstAnHttpsNodeKeepsItHttpsForItsSteps() throws Exception {
        Path def = definition("tls-playbook-redis");
        Map<String, String> env = Map.of("CONSUL_CACERT", ca.toString());
        assertThat(failover(env, "define", "--file", def.toString(), "--discovery", openUrl).exit()).isZero();
        Path pages = Files.createDirectories(dir.resolve("pages"));
        Files.writeString(pages.resolve("tls-status.md"), """
                # Status over TLS

                ## Variables

                ```vars
                FAILOVER_CLUSTER required the cluster definition
                ```

                ## Check first

                ```sh step=status readonly expect-exit=0
                echo "steps see CONSUL_HTTP_SSL=$CONSUL_HTTP_SSL FAILOVER_DISCOVERY=$FAILOVER_DISCOVERY"
                failover status --cluster "$FAILOVER_CLUSTER" --discovery "$FAILOVER_DISCOVERY"
                ```

                > If it fails: the step could not reach the discovery node over HTTPS.
                """);
        Path bin = PlaybookLab.bin(dir.resolve("playbook-work"));
        var run = failover(env, "playbook", "run", "tls-status", "--cluster", "kv:tls-playbook-redis", "--dir", pages.toString(),
                "--bin", bin.toString(), "--discovery", openUrl, "--yes");
        assertThat(run.exit()).as(run.out() + run.err()).isZero();
        assertThat(run.out()).contains("steps see CONSUL_HTTP_SSL=true FAILOVER_DISCOVERY=127.0.0.1:" + open.httpsPort())
                .contains("cluster tls-playbook-redis (redis)");
    }

    @Test
    void withVerifyIncomingOnlyAClientWithConsulClientCertAndKeyGetsIn() throws Exception {
        Path def = definition("tls-mutual-redis");
        var noCert = failover(Map.of("CONSUL_CACERT", ca.toString()), "define", "--file", def.toString(), "--discovery", mutualUrl);
        assertThat(noCert.exit()).isEqualTo(1);
        assertThat(noCert.err()).contains("CONSUL_CLIENT_CERT").contains("CONSUL_CLIENT_KEY").doesNotContain("\tat ");
        assertThat(new DiscoveryClient(mutualUrl, null, DiscoveryTls.of(fullTls())).get(ClusterDefinition.kvKey("tls-mutual-redis"))).isEmpty();

        var define = failover(fullTls(), "define", "--file", def.toString(), "--discovery", mutualUrl);
        assertThat(define.exit()).as(define.err()).isZero();
        var status = failover(fullTls(), "status", "--cluster", "kv:tls-mutual-redis", "--discovery", mutualUrl);
        assertThat(status.exit()).as(status.err()).isZero();
        assertThat(status.out()).contains("cluster tls-mutual-redis (redis)");
    }

    @Test
    void theClientsTheManagerAndTheGuardAreMadeOfUseTheSameSettings() throws Exception {
        DiscoveryClient full = new DiscoveryClient(mutualUrl, null, DiscoveryTls.of(fullTls()));
        full.put(ClusterDefinition.kvPrefix("tls-guarded") + "epoch", "{\"epoch\":3,\"master\":\"127.0.0.1:7001\"}");
        assertThat(full.get(ClusterDefinition.kvPrefix("tls-guarded") + "epoch")).isPresent();

        Map<String, String> named = new HashMap<>(fullTls());
        named.put("CONSUL_TLS_SERVER_NAME", "server.dc1.consul");
        assertThat(new DiscoveryClient(mutualUrl, null, DiscoveryTls.of(named)).get("tls/ready")).isPresent();
        named.put("CONSUL_TLS_SERVER_NAME", "server.other.consul");
        assertThatThrownBy(() -> new DiscoveryClient(mutualUrl, null, DiscoveryTls.of(named)).get("tls/ready"))
                .hasMessageContaining("server.other.consul").hasMessageContaining("CONSUL_TLS_SERVER_NAME");

        Duration t = Duration.ofSeconds(10); // generous: only the answer's content is asserted
        EpochView read = new DiscoveryEpochReader(List.of(mutualUrl), "tls-guarded", t, null, DiscoveryTls.of(fullTls())).read();
        assertThat(read).isEqualTo(new EpochView.Names(3, "127.0.0.1:7001", mutualUrl));
        EpochView noCa = new DiscoveryEpochReader(List.of(mutualUrl), "tls-guarded", t, null, DiscoveryTls.of(Map.of())).read();
        assertThat(noCa).isInstanceOfSatisfying(EpochView.Unconfirmed.class, u -> assertThat(u.why()).contains("not trusted").contains("CONSUL_CACERT"));
        EpochView noCert = new DiscoveryEpochReader(List.of(mutualUrl), "tls-guarded", t, null,
                DiscoveryTls.of(Map.of("CONSUL_CACERT", ca.toString()))).read();
        assertThat(noCert).isInstanceOfSatisfying(EpochView.Unconfirmed.class, u -> assertThat(u.why()).contains("CONSUL_CLIENT_CERT"));
        // CONSUL_HTTP_SSL=true with bare host:port, as the guard's --discovery a,b,c would give them
        Map<String, String> bare = new HashMap<>(fullTls());
        bare.put("CONSUL_HTTP_SSL", "true");
        EpochView viaBare = new DiscoveryEpochReader(List.of("127.0.0.1:" + mutual.httpsPort()), "tls-guarded", t, null, DiscoveryTls.of(bare)).read();
        assertThat(viaBare).isInstanceOf(EpochView.Names.class);
    }
}

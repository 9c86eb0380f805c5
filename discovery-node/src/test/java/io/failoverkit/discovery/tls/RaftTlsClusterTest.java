package io.failoverkit.discovery.tls;

import io.failoverkit.discovery.testing.AgentProcess;
import io.failoverkit.discovery.testing.FreePorts;
import io.failoverkit.discovery.testing.Https;
import io.failoverkit.discovery.testing.TestCertificates;
import io.failoverkit.tls.PeerTrust;
import io.failoverkit.tls.PemFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Three servers in their own JVMs whose Raft traffic runs over mutual TLS (verify_incoming, verify_outgoing,
 * verify_server_hostname) and whose API is HTTPS only (ports.http = -1): bootstrapping, a follower's and a client
 * agent's forwarding all go over HTTPS, the Raft port refuses plain text, a certificate swapped on disk is presented
 * after SIGHUP, and the cluster survives a leader kill.
 */
class RaftTlsClusterTest {
    @TempDir Path dir;

    private final Map<AgentProcess, Integer> httpsPorts = new HashMap<>();
    private final Map<AgentProcess, TestCertificates.Pair> inUse = new HashMap<>();

    @Test
    void aClusterWithRaftOverTlsSurvivesTheKillOfItsLeader() throws Exception {
        TestCertificates certs = TestCertificates.create(Files.createDirectories(dir.resolve("certs")));
        TestCertificates.Pair cli = certs.cert("-cli");
        List<AgentProcess> servers = new ArrayList<>();
        List<AgentProcess> all = new ArrayList<>();
        try {
            for (int i = 1; i <= 3; i++) {
                TestCertificates.Pair pair = certs.cert("-server", "-node", "s" + i);
                servers.add(agent("s" + i, pair, certs, List.of("-server", "-bootstrap-expect=3")));
            }
            AgentProcess client = agent("c1", certs.cert("-client"), certs, List.of());
            all.addAll(servers);
            all.add(client);
            for (AgentProcess s : servers) {
                List<String> join = new ArrayList<>();
                for (AgentProcess o : servers) if (o != s) join.add("-retry-join=" + o.lanAddress());
                s.start(join);
            }
            client.start(List.of("-retry-join=" + servers.get(0).lanAddress()));

            AgentProcess leader = awaitLeader(servers, certs, cli, Duration.ofSeconds(120));
            AgentProcess follower = servers.stream().filter(s -> s != leader).findFirst().orElseThrow();
            // a follower passes the write on to the leader; a client agent to a server: over HTTPS, there is no HTTP
            put(follower, certs, cli, "tls/before", "1");
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                    .until(() -> https(client, certs, cli).put("/v1/kv/tls/from-client", "c").body().equals("true"));

            TestCertificates.Pair aServer = inUse.get(servers.get(0));
            for (AgentProcess s : servers) {
                // the same HTTP/2 greeting gRPC answers: ignored in plain text, answered over TLS with a server's certificate
                assertThat(http2Answer(s.serverPort, null, null)).as("Raft port of %s answers plain-text HTTP/2", s.name).isFalse();
                assertThat(http2Answer(s.serverPort, certs.ca, aServer)).as("Raft port of %s answers HTTP/2 over TLS", s.name).isTrue();
                // a certificate of the same CA that is not a server's (verify_server_hostname) is not let in
                assertThat(http2Answer(s.serverPort, certs.ca, cli)).as("Raft port of %s answers a CLI certificate", s.name).isFalse();
                X509Certificate served = Https.servedCertificate(s.serverPort, certs.ca, aServer);
                assertThat(PeerTrust.certificateNames(served, s.name + ".server.dc1.consul")).as("Raft port of %s presents its own server certificate", s.name).isTrue();
            }

            // SIGHUP after a certificate swap on disk: the follower's Raft port and HTTPS port present the new
            // certificate to new connections, without a restart of its Raft server
            TestCertificates.Pair renewed = certs.cert("-server", "-node", follower.name);
            java.math.BigInteger renewedSerial = PemFiles.certificates(renewed.cert()).get(0).getSerialNumber();
            Files.copy(renewed.cert(), inUse.get(follower).cert(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.copy(renewed.key(), inUse.get(follower).key(), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            assertThat(new ProcessBuilder("kill", "-HUP", Long.toString(follower.pid())).start().waitFor()).isZero();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).ignoreExceptions()
                    .until(() -> Https.servedCertificate(follower.serverPort, certs.ca, aServer).getSerialNumber().equals(renewedSerial));
            assertThat(Https.servedCertificate(httpsPorts.get(follower), certs.ca, cli).getSerialNumber()).isEqualTo(renewedSerial);
            put(follower, certs, cli, "tls/after-reload", "r");

            leader.kill();
            List<AgentProcess> survivors = servers.stream().filter(s -> s != leader).toList();
            AgentProcess next = awaitLeader(survivors, certs, cli, Duration.ofSeconds(120));
            assertThat(next).isNotSameAs(leader);
            AgentProcess other = survivors.stream().filter(s -> s != next).findFirst().orElseThrow();
            put(other, certs, cli, "tls/after", "2");
            for (AgentProcess s : survivors) {
                assertThat(https(s, certs, cli).get("/v1/kv/tls/before?raw&consistent").body()).isEqualTo("1");
                assertThat(https(s, certs, cli).get("/v1/kv/tls/after?raw&consistent").body()).isEqualTo("2");
                assertThat(https(s, certs, cli).get("/v1/kv/tls/from-client?raw&consistent").body()).isEqualTo("c");
                assertThat(https(s, certs, cli).get("/v1/kv/tls/after-reload?raw&consistent").body()).isEqualTo("r");
            }
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).ignoreExceptions()
                    .until(() -> https(client, certs, cli).get("/v1/kv/tls/after?raw").body().equals("2"));
        } catch (AssertionError | RuntimeException e) {
            StringBuilder logs = new StringBuilder();
            for (AgentProcess a : all) logs.append("\n--- ").append(a.name).append('\n').append(a.logTail(40));
            throw new AssertionError(e.getMessage() + logs, e);
        } finally {
            for (AgentProcess a : all) a.close();
        }
    }

    private AgentProcess agent(String name, TestCertificates.Pair issued, TestCertificates certs, List<String> args) throws IOException {
        // the files the agent reads, apart from what `tls cert create` wrote, so a test can swap them
        TestCertificates.Pair pair = new TestCertificates.Pair(dir.resolve(name + ".pem"), dir.resolve(name + "-key.pem"));
        Files.copy(issued.cert(), pair.cert());
        Files.copy(issued.key(), pair.key());
        Path config = dir.resolve(name + "-tls.json");
        Files.writeString(config, """
                {"tls": {"defaults": {"ca_file": "%s", "cert_file": "%s", "key_file": "%s",
                                      "verify_incoming": true, "verify_outgoing": true},
                         "internal_rpc": {"verify_server_hostname": true}}}
                """.formatted(certs.ca, pair.cert(), pair.key()));
        int httpsPort = FreePorts.next();
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("-config-file=" + config, "-http-port=-1", "-https-port=" + httpsPort));
        AgentProcess p = new AgentProcess(name, dir.resolve(name), all);
        httpsPorts.put(p, httpsPort);
        inUse.put(p, pair);
        return p;
    }

    private Https https(AgentProcess p, TestCertificates certs, TestCertificates.Pair cli) {
        return new Https(httpsPorts.get(p), certs.ca, cli);
    }

    private void put(AgentProcess p, TestCertificates certs, TestCertificates.Pair cli, String key, String value) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(300)).ignoreExceptions()
                .until(() -> https(p, certs, cli).put("/v1/kv/" + key, value).body().equals("true"));
    }

    /** The server every given (running) server names as leader, once they agree. */
    private AgentProcess awaitLeader(List<AgentProcess> servers, TestCertificates certs, TestCertificates.Pair cli, Duration within) {
        AgentProcess[] found = new AgentProcess[1];
        await().atMost(within).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() -> {
            String seen = null;
            for (AgentProcess s : servers) {
                String l = https(s, certs, cli).get("/v1/status/leader").json().asText();
                if (l.isEmpty() || (seen != null && !seen.equals(l))) return false;
                seen = l;
            }
            String addr = seen;
            Optional<AgentProcess> l = servers.stream().filter(s -> addr.endsWith(":" + s.serverPort)).findFirst();
            l.ifPresent(x -> found[0] = x);
            return l.isPresent();
        });
        return found[0];
    }

    /**
     * Speaks HTTP/2 (gRPC's transport) to the port, in plain text ({@code ca} null) or over TLS trusting {@code ca} and
     * presenting {@code cert}: the client preface and an empty SETTINGS frame. A gRPC server that accepts the
     * connection answers with its own SETTINGS frame (frame type 4 in the fourth byte); true if it did.
     */
    private static boolean http2Answer(int port, Path ca, TestCertificates.Pair cert) throws IOException {
        try (Socket s = ca == null ? new Socket("127.0.0.1", port) : Https.context(ca, cert).getSocketFactory().createSocket("127.0.0.1", port)) {
            s.setSoTimeout(5000);
            if (s instanceof javax.net.ssl.SSLSocket tls) {
                var params = tls.getSSLParameters();
                params.setApplicationProtocols(new String[]{"h2"}); // gRPC over TLS negotiates h2 with ALPN
                tls.setSSLParameters(params);
            }
            OutputStream out = s.getOutputStream();
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[]{0, 0, 0, 4, 0, 0, 0, 0, 0});
            out.flush();
            InputStream in = s.getInputStream();
            byte[] head = in.readNBytes(9);
            return head.length == 9 && head[3] == 4;
        } catch (SocketTimeoutException | javax.net.ssl.SSLException e) {
            return false;
        } catch (IOException e) {
            if (String.valueOf(e.getMessage()).contains("reset") || String.valueOf(e.getMessage()).contains("Broken pipe")) return false;
            throw e;
        }
    }
}

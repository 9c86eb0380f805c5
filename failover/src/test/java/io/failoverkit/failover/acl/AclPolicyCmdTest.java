package io.failoverkit.failover.acl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.failoverkit.failover.Main;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * `failover acl-policy` as an operator runs it, and the token rules of every failover command: never from argv
 * (--token is a usage error, exit 64, that says why), from CONSUL_HTTP_TOKEN or a token file otherwise.
 */
class AclPolicyCmdTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path dir;

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    Path definition() throws Exception {
        Path f = dir.resolve("foo.json");
        Files.writeString(f, """
                {"name": "foo", "kind": "redis", "service": "foo-db", "members": ["10.0.0.1:6379", "10.0.0.2:6379"]}""");
        return f;
    }

    @Test
    void itPrintsThePolicyOfTheDefinitionWithoutCreatingAnything() throws Exception {
        Run r = run("acl-policy", "--cluster", definition().toString(), "--session-node", "db-host-1", "--discovery", "127.0.0.1:1");
        assertThat(r.code()).as(r.err()).isZero();
        ClusterDefinition c = ClusterDefinition.read(definition());
        assertThat(r.out()).isEqualTo(ManagerPolicy.of(c, List.of("db-host-1")).rules());
    }

    @Test
    void aTokenOnTheCommandLineIsRefusedWithTheReasonByEveryCommandThatTalksToTheDiscoveryNode() throws Exception {
        String def = definition().toString();
        for (String[] args : new String[][]{
                {"status", "--cluster", def, "--token", "s3cret"}, {"watch", "--cluster", def, "--token=s3cret"},
                {"promote", "--cluster", def, "--token", "s3cret"}, {"ack", "--cluster", def, "--token", "s3cret"},
                {"define", "--file", def, "--token", "s3cret"}, {"guard", "--cluster", def, "--instance", "10.0.0.1:6379", "--token", "s3cret"},
                {"acl-policy", "--cluster", def, "--token", "s3cret"}, {"playbook", "run", "x", "--token", "s3cret"}}) {
            Run r = run(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(Main.EX_USAGE);
            assertThat(r.err()).as(String.join(" ", args)).contains("--token is not accepted").contains("visible to every local user")
                    .contains("CONSUL_HTTP_TOKEN").contains("--token-file");
        }
    }

    @Test
    void createNeedsTokenOutAndTokenOutNeedsCreate() throws Exception {
        Run r = run("acl-policy", "--cluster", definition().toString(), "--session-node", "n", "--create");
        assertThat(r.code()).isEqualTo(Main.EX_USAGE);
        assertThat(r.err()).contains("--create needs --token-out FILE").contains("never printed");
        Run r2 = run("acl-policy", "--cluster", definition().toString(), "--session-node", "n", "--token-out", dir.resolve("t").toString());
        assertThat(r2.code()).isEqualTo(Main.EX_USAGE);
        assertThat(r2.err()).contains("--token-out goes with --create");
        Run r3 = run("acl-policy", "--cluster", definition().toString(), "--session-node", "n", "--create", "--token-out", dir.toString());
        assertThat(r3.code()).isEqualTo(Main.EX_USAGE);
        assertThat(r3.err()).contains("is a directory");
    }

    @Test
    void theTokenComesFromTheEnvironmentFirstThenTheTokenFileFlagThenTheFileTheEnvironmentNames() throws Exception {
        Path flagFile = dir.resolve("flag-token");
        Files.writeString(flagFile, "from-flag-file\nsecond line ignored\n");
        Path envFile = dir.resolve("env-token");
        Files.writeString(envFile, "  from-env-file  \n");
        assertThat(DiscoveryAddress.token(flagFile, Map.of("CONSUL_HTTP_TOKEN", "from-env", "CONSUL_HTTP_TOKEN_FILE", envFile.toString())))
                .isEqualTo("from-env");
        assertThat(DiscoveryAddress.token(flagFile, Map.of("CONSUL_HTTP_TOKEN_FILE", envFile.toString()))).isEqualTo("from-flag-file");
        assertThat(DiscoveryAddress.token(null, Map.of("CONSUL_HTTP_TOKEN_FILE", envFile.toString()))).isEqualTo("from-env-file");
        assertThat(DiscoveryAddress.token(null, Map.of())).isNull();
        assertThatThrownBy(() -> DiscoveryAddress.token(dir.resolve("missing"), Map.of()))
                .hasMessageContaining("cannot read the token file").hasMessageContaining("missing").hasMessageContaining("no such file");
    }

    /**
     * --create against a stand-in for the ACL endpoints: the policy is created with the printed rules, the token with
     * that policy, the SecretID lands in a 0600 file, the output names only the AccessorID; the operator's token (from
     * --token-file) is what every request carried.
     */
    @Test
    void createMakesThePolicyAndATokenWritesTheSecretToA0600FileAndPrintsOnlyTheAccessor() throws Exception {
        List<String> seen = new CopyOnWriteArrayList<>();
        List<JsonNode> bodies = new CopyOnWriteArrayList<>();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            String path = ex.getRequestURI().getPath();
            seen.add(ex.getRequestMethod() + " " + path + " token=" + ex.getRequestHeaders().getFirst("X-Consul-Token"));
            if (!body.isEmpty()) bodies.add(JSON.readTree(body));
            String answer;
            int status = 200;
            if (path.equals("/v1/agent/self")) answer = "{\"Config\": {\"NodeName\": \"db-host-7\"}}";
            else if (path.startsWith("/v1/acl/policy/name/")) { status = 404; answer = "ACL policy not found"; }
            else if (path.equals("/v1/acl/policy")) answer = "{\"ID\": \"pol-1\", \"Name\": \"failover-foo\"}";
            else if (path.equals("/v1/acl/token")) answer = "{\"AccessorID\": \"acc-1\", \"SecretID\": \"the-secret-value\"}";
            else { status = 404; answer = "no"; }
            byte[] b = answer.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(status, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        server.start();
        try {
            Path operatorToken = dir.resolve("operator-token");
            Files.writeString(operatorToken, "management-secret\n");
            Path out = dir.resolve("foo.token");
            Run r = run("acl-policy", "--cluster", definition().toString(), "--discovery", "127.0.0.1:" + server.getAddress().getPort(),
                    "--token-file", operatorToken.toString(), "--create", "--token-out", out.toString());
            assertThat(r.code()).as(r.err()).isZero();
            assertThat(r.out()).contains("AccessorID acc-1").contains("pol-1").contains(out.toString()).doesNotContain("the-secret-value");
            assertThat(r.err()).doesNotContain("the-secret-value");
            assertThat(Files.readString(out)).isEqualTo("the-secret-value\n");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(out))).isEqualTo("rw-------");
            try (var files = Files.list(dir)) {
                assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp"));
            }
            assertThat(seen).allSatisfy(s -> assertThat(s).endsWith("token=management-secret"));
            assertThat(seen).extracting(s -> s.substring(0, s.indexOf(" token="))).containsExactly(
                    "GET /v1/agent/self", "GET /v1/acl/policy/name/failover-foo", "PUT /v1/acl/policy", "PUT /v1/acl/token");
            ClusterDefinition c = ClusterDefinition.read(definition());
            assertThat(bodies.get(0).get("Name").asText()).isEqualTo("failover-foo");
            assertThat(bodies.get(0).get("Rules").asText()).isEqualTo(ManagerPolicy.of(c, List.of("db-host-7")).rules());
            assertThat(bodies.get(1).get("Policies").get(0).get("ID").asText()).isEqualTo("pol-1");
        } finally {
            server.stop(0);
        }
    }
}

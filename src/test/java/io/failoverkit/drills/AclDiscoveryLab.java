package io.failoverkit.drills;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.discovery.agent.Agent;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * A discovery node (`agent -dev`) in the drill's JVM with ACLs on and {@code default_policy = "deny"}, as the seeds'
 * operators ended up running Consul: a management token ({@code initial_management}) for the operator, and a default
 * token that may only read services and nodes, so that DNS (answered with the default token's view) still names
 * the master to the applications while anonymous HTTP reads and writes nothing else.
 */
final class AclDiscoveryLab implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    final Agent agent;
    /** The operator's management token (its SecretID), also in {@link #rootTokenFile}. */
    final String rootToken;
    final Path rootTokenFile;

    private AclDiscoveryLab(Agent agent, String rootToken, Path rootTokenFile) {
        this.agent = agent;
        this.rootToken = rootToken;
        this.rootTokenFile = rootTokenFile;
    }

    String http() { return "127.0.0.1:" + agent.httpPort(); }

    static AclDiscoveryLab start(Path dir, String nodeName) throws Exception {
        Files.createDirectories(dir);
        String root = UUID.randomUUID().toString();
        String dnsDefault = UUID.randomUUID().toString();
        Path config = dir.resolve("acl.json");
        Files.writeString(config, JSON.writeValueAsString(Map.of("acl", Map.of("enabled", true, "default_policy", "deny",
                "tokens", Map.of("initial_management", root, "default", dnsDefault)))));
        Path rootFile = dir.resolve("root.token");
        Files.writeString(rootFile, root + "\n");
        Files.setPosixFilePermissions(rootFile, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));

        Agent agent = Agent.start(DiscoveryLab.devConfig(nodeName, config));
        AclDiscoveryLab lab = new AclDiscoveryLab(agent, root, rootFile);
        try {
            // Ready once the leader has created the management token (the leader is elected first).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (lab.send("GET", "/v1/acl/token/self", root, null).statusCode() != 200) {
                if (System.nanoTime() > deadline) throw new IllegalStateException("the ACL system was not ready within 30 s");
                Thread.sleep(50);
            }
            // Sessions name this agent's node: ready once the leader's reconciler has put it in the catalog (a moment
            // after start; a loaded box can ask for a session first).
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!lab.send("GET", "/v1/catalog/node/" + nodeName, root, null).body().contains("\"Node\":\"" + nodeName + "\"")) {
                if (System.nanoTime() > deadline) throw new IllegalStateException("the agent's node " + nodeName + " was not in the catalog within 60 s");
                Thread.sleep(50);
            }
            // The default token: what DNS answers with. Services and nodes to read, nothing else.
            String policyId = lab.json("PUT", "/v1/acl/policy", root, Map.of("Name", "dns-read",
                    "Rules", "service_prefix \"\" {\n  policy = \"read\"\n}\nnode_prefix \"\" {\n  policy = \"read\"\n}\n")).path("ID").asText();
            lab.json("PUT", "/v1/acl/token", root, Map.of("SecretID", dnsDefault, "Description", "agent default token: DNS reads",
                    "Policies", java.util.List.of(Map.of("ID", policyId))));
            return lab;
        } catch (Exception e) {
            agent.close();
            throw e;
        }
    }

    HttpResponse<String> send(String method, String path, String token, Object body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + http() + path)).timeout(java.time.Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(
                        body instanceof String s ? s.getBytes(java.nio.charset.StandardCharsets.UTF_8) : JSON.writeValueAsBytes(body)));
        if (token != null) b.header("X-Consul-Token", token);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    JsonNode json(String method, String path, String token, Object body) throws Exception {
        HttpResponse<String> r = send(method, path, token, body);
        if (r.statusCode() != 200) throw new IllegalStateException(method + " " + path + ": HTTP " + r.statusCode() + " " + r.body());
        return JSON.readTree(r.body());
    }

    /**
     * Runs {@code failover acl-policy --cluster DEF --create --token-out FILE} as the operator (management token from a
     * token file), and returns the manager's token read back from FILE.
     */
    String createManagerToken(Path dir, io.failoverkit.failover.cluster.ClusterDefinition cluster) throws Exception {
        Path def = dir.resolve(cluster.name() + ".json");
        Files.writeString(def, cluster.toJson());
        Path out = dir.resolve(cluster.name() + ".token");
        java.io.StringWriter stdout = new java.io.StringWriter();
        java.io.StringWriter stderr = new java.io.StringWriter();
        picocli.CommandLine cl = io.failoverkit.failover.Main.commandLine();
        cl.setOut(new java.io.PrintWriter(stdout));
        cl.setErr(new java.io.PrintWriter(stderr));
        int code = cl.execute("acl-policy", "--cluster", def.toString(), "--discovery", http(), "--token-file", rootTokenFile.toString(),
                "--create", "--token-out", out.toString());
        if (code != 0) throw new IllegalStateException("failover acl-policy --create exited " + code + ": " + stderr);
        String secret = Files.readString(out).strip();
        if (stdout.toString().contains(secret)) throw new IllegalStateException("acl-policy printed the SecretID");
        if (!java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(out)).equals("rw-------")) {
            throw new IllegalStateException("the token file is not mode 0600");
        }
        return secret;
    }

    @Override
    public void close() {
        agent.close();
    }
}

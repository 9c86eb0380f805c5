package io.failoverkit.failover.discovery;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * failover's only way to the discovery node: Consul's HTTP API, so it works as well against a real Consul.
 * Every call throws {@link IOException} with what failed; nothing is retried here (the HA loop decides).
 */
public final class DiscoveryClient implements Discovery {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String base;
    private final String token;
    private final HttpClient http;

    /**
     * {@code hostPort}: host:port or http[s]://host:port; the token is {@code CONSUL_HTTP_TOKEN} when set, and TLS is
     * Consul's variables' ({@link DiscoveryTls}), as Consul's tools read them.
     */
    public DiscoveryClient(String hostPort) {
        this(hostPort, DiscoveryAddress.tokenFromEnvironment());
    }

    /** {@code token}: sent as {@code X-Consul-Token} on every request when not null (never logged, never in a message). */
    public DiscoveryClient(String hostPort, String token) {
        this(hostPort, token, DiscoveryTls.fromEnvironment());
    }

    /**
     * With the TLS settings {@code tls}.
     * @throws IllegalArgumentException for a bad address, or bad TLS settings of an https one ("TLS settings: ...")
     */
    public DiscoveryClient(String hostPort, String token, DiscoveryTls tls) {
        this.base = tls.baseUrl(hostPort);
        this.token = token == null || token.isBlank() ? null : token;
        this.http = tls.builder(base).connectTimeout(Duration.ofSeconds(2)).build();
    }

    /** The base URL requests go to (http[s]://host:port). */
    public String baseUrl() {
        return base;
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path));
        if (token != null) b.header("X-Consul-Token", token);
        return b;
    }


    private HttpResponse<String> send(String method, String path, byte[] body) throws IOException {
        HttpRequest req = request(path).timeout(Duration.ofSeconds(10))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body)).build();
        // Not interruptible: an interrupt that lands in the middle of a failover must not make its discovery steps (the
        // epoch, the catalog move, the attempt's end, the lock's release) fail half way while the server steps, which
        // ignore interrupts, go on. The request's own timeout bounds the wait; the flag is kept for the loop to see.
        java.util.concurrent.CompletableFuture<HttpResponse<String>> f = http.sendAsync(req, HttpResponse.BodyHandlers.ofString());
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return f.get(15, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (java.util.concurrent.ExecutionException e) {
                    Throwable c = e.getCause();
                    String tlsProblem = DiscoveryTls.explain(c);
                    if (tlsProblem != null) throw new IOException(method + " " + base + path + ": " + tlsProblem, c);
                    if (c instanceof IOException io) throw io;
                    throw new IOException(method + " " + path + ": " + c, c);
                } catch (java.util.concurrent.TimeoutException e) {
                    f.cancel(true);
                    throw new IOException(method + " " + path + ": no answer in 15 s");
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    private HttpResponse<String> ok(String method, String path, byte[] body) throws IOException {
        HttpResponse<String> r = send(method, path, body);
        if (r.statusCode() != 200) throw new IOException(method + " " + path + ": HTTP " + r.statusCode() + " " + r.body().strip());
        return r;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("%2F", "/");
    }

    /** Reads a key with ?consistent (the leader's read index), as lock and epoch reads must. */
    @Override
    public Optional<KvEntry> get(String key) throws IOException {
        HttpResponse<String> r = send("GET", "/v1/kv/" + enc(key) + "?consistent", null);
        if (r.statusCode() == 404) return Optional.empty();
        if (r.statusCode() != 200) throw new IOException("GET " + key + ": HTTP " + r.statusCode() + " " + r.body().strip());
        JsonNode e = JSON.readTree(r.body()).get(0);
        byte[] value = e.path("Value").isTextual() ? Base64.getDecoder().decode(e.get("Value").asText()) : new byte[0];
        return Optional.of(new KvEntry(e.get("Key").asText(), value, e.get("ModifyIndex").asLong(), e.path("Session").asText(null)));
    }

    /** Every entry under {@code prefix} (?recurse, consistent), in key order; empty when there is none. */
    public List<KvEntry> list(String prefix) throws IOException {
        HttpResponse<String> r = send("GET", "/v1/kv/" + enc(prefix) + "?recurse&consistent", null);
        if (r.statusCode() == 404) return List.of();
        if (r.statusCode() != 200) throw new IOException("GET " + prefix + "?recurse: HTTP " + r.statusCode() + " " + r.body().strip());
        List<KvEntry> out = new java.util.ArrayList<>();
        for (JsonNode e : JSON.readTree(r.body())) {
            byte[] value = e.path("Value").isTextual() ? Base64.getDecoder().decode(e.get("Value").asText()) : new byte[0];
            out.add(new KvEntry(e.get("Key").asText(), value, e.get("ModifyIndex").asLong(), e.path("Session").asText(null)));
        }
        return out;
    }

    @Override
    public void put(String key, String value) throws IOException {
        if (!ok("PUT", "/v1/kv/" + enc(key), value.getBytes(StandardCharsets.UTF_8)).body().strip().equals("true")) throw new IOException("PUT " + key + " refused");
    }

    /** Check-and-set: true when the key still had {@code modifyIndex} (0: did not exist) and now holds the value. */
    @Override
    public boolean cas(String key, String value, long modifyIndex) throws IOException {
        return ok("PUT", "/v1/kv/" + enc(key) + "?cas=" + modifyIndex, value.getBytes(StandardCharsets.UTF_8)).body().strip().equals("true");
    }

    @Override
    public void delete(String key) throws IOException {
        ok("DELETE", "/v1/kv/" + enc(key), null);
    }

    @Override
    public boolean acquire(String key, String session, String value) throws IOException {
        return ok("PUT", "/v1/kv/" + enc(key) + "?acquire=" + session, value.getBytes(StandardCharsets.UTF_8)).body().strip().equals("true");
    }

    @Override
    public boolean release(String key, String session) throws IOException {
        return ok("PUT", "/v1/kv/" + enc(key) + "?release=" + session, new byte[0]).body().strip().equals("true");
    }

    @Override
    public TxnResult txn(List<TxnOp> ops) throws IOException {
        List<Map<String, Object>> body = new ArrayList<>();
        for (TxnOp op : ops) {
            Map<String, Object> kv = new LinkedHashMap<>();
            kv.put("Verb", op.verb());
            kv.put("Key", op.key());
            if (op.value() != null) kv.put("Value", Base64.getEncoder().encodeToString(op.value()));
            if (op.index() != 0) kv.put("Index", op.index());
            if (op.session() != null) kv.put("Session", op.session());
            body.add(Map.of("KV", kv));
        }
        HttpResponse<String> r = send("PUT", "/v1/txn", JSON.writeValueAsBytes(body));
        if (r.statusCode() != 200 && r.statusCode() != 409) throw new IOException("PUT /v1/txn: HTTP " + r.statusCode() + " " + r.body().strip());
        JsonNode answer = JSON.readTree(r.body());
        if (r.statusCode() == 409) {
            List<TxnError> errors = new ArrayList<>();
            answer.path("Errors").forEach(e -> errors.add(new TxnError(e.path("OpIndex").asInt(), e.path("What").asText())));
            return new TxnResult(false, List.of(), errors);
        }
        List<KvEntry> results = new ArrayList<>();
        for (JsonNode res : answer.path("Results")) {
            JsonNode e = res.path("KV");
            if (e.isMissingNode() || e.isNull()) continue;
            byte[] value = e.path("Value").isTextual() ? Base64.getDecoder().decode(e.get("Value").asText()) : null;
            results.add(new KvEntry(e.path("Key").asText(), value, e.path("ModifyIndex").asLong(), e.path("Session").asText(null)));
        }
        return new TxnResult(true, results, List.of());
    }

    /**
     * A session whose locks are released when it ends. {@code lockDelay}: after the session is invalidated (destroyed,
     * its node failed), nobody may acquire its locks for this long (Consul's lock-delay): a holder that has not yet
     * noticed keeps acting until its own validity ends, so the delay must cover that validity.
     */
    @Override
    public String createSession(String name, Duration ttl, Duration lockDelay) throws IOException {
        String body = JSON.writeValueAsString(Map.of("Name", name, "TTL", ttl.toSeconds() + "s", "LockDelay", lockDelay.toMillis() + "ms", "Behavior", "release"));
        return JSON.readTree(ok("PUT", "/v1/session/create", body.getBytes(StandardCharsets.UTF_8)).body()).get("ID").asText();
    }

    /** Renews a session; false when it no longer exists (the lock it held is gone). */
    @Override
    public boolean renewSession(String id) throws IOException {
        HttpResponse<String> r = send("PUT", "/v1/session/renew/" + id, null);
        if (r.statusCode() == 404) return false;
        if (r.statusCode() != 200) throw new IOException("renew session: HTTP " + r.statusCode() + " " + r.body().strip());
        return true;
    }

    @Override
    public void destroySession(String id) throws IOException {
        ok("PUT", "/v1/session/destroy/" + id, null);
    }

    @Override
    public void register(String node, String address, String serviceId, String service, List<String> tags, int port, Check check) throws IOException {
        Map<String, Object> svc = new LinkedHashMap<>();
        svc.put("ID", serviceId);
        svc.put("Service", service);
        svc.put("Tags", tags);
        svc.put("Address", address);
        svc.put("Port", port);
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("Node", node);
        body.put("Address", address);
        body.put("Service", svc);
        if (check != null) {
            // A catalog check on this instance: Consul's DNS leaves out instances whose check is critical.
            Map<String, Object> chk = new LinkedHashMap<>();
            chk.put("Node", node);
            chk.put("CheckID", check.checkId());
            chk.put("Name", check.checkId());
            chk.put("Status", check.status());
            chk.put("Output", check.output());
            chk.put("ServiceID", serviceId);
            body.put("Check", chk);
        }
        ok("PUT", "/v1/catalog/register", JSON.writeValueAsBytes(body));
    }

    @Override
    public void deregisterService(String node, String serviceId) throws IOException {
        ok("PUT", "/v1/catalog/deregister", JSON.writeValueAsBytes(Map.of("Node", node, "ServiceID", serviceId)));
    }

    @Override
    public List<Instance> instances(String service, String tag) throws IOException {
        String path = "/v1/catalog/service/" + enc(service) + "?consistent" + (tag == null ? "" : "&tag=" + enc(tag));
        List<Instance> out = new ArrayList<>();
        for (JsonNode e : JSON.readTree(ok("GET", path, null).body())) {
            List<String> tags = new ArrayList<>();
            e.path("ServiceTags").forEach(t -> tags.add(t.asText()));
            String addr = e.path("ServiceAddress").asText("");
            out.add(new Instance(e.get("Node").asText(), addr.isEmpty() ? e.get("Address").asText() : addr, e.get("ServiceID").asText(),
                    e.get("ServiceName").asText(), tags, e.path("ServicePort").asInt()));
        }
        return out;
    }

    @Override
    public List<Health> health(String service) throws IOException {
        List<Health> out = new ArrayList<>();
        for (JsonNode e : JSON.readTree(ok("GET", "/v1/health/service/" + enc(service) + "?consistent", null).body())) {
            JsonNode n = e.path("Node");
            JsonNode s = e.path("Service");
            List<String> tags = new ArrayList<>();
            s.path("Tags").forEach(t -> tags.add(t.asText()));
            String addr = s.path("Address").asText("");
            String status = Check.PASSING;
            for (JsonNode c : e.path("Checks")) {
                String st = c.path("Status").asText(Check.PASSING);
                if (Check.CRITICAL.equals(st) || ("warning".equals(st) && !Check.CRITICAL.equals(status))) status = st;
            }
            out.add(new Health(new Instance(n.path("Node").asText(), addr.isEmpty() ? n.path("Address").asText() : addr, s.path("ID").asText(),
                    s.path("Service").asText(), tags, s.path("Port").asInt()), status));
        }
        return out;
    }

    /** This agent's node name (/v1/agent/self Config.NodeName): the node the sessions it creates belong to. */
    public String agentNodeName() throws IOException {
        String name = JSON.readTree(ok("GET", "/v1/agent/self", null).body()).path("Config").path("NodeName").asText("");
        if (name.isEmpty()) throw new IOException("GET /v1/agent/self: no Config.NodeName in the answer");
        return name;
    }

    /** A token as created: its public AccessorID and its SecretID (the credential: never logged, never printed). */
    public record AclToken(String accessorId, String secretId) {
        @Override
        public String toString() {
            return "AclToken[accessorId=" + accessorId + ", secretId=<hidden>]";
        }
    }

    /** The ID of the ACL policy called {@code name}, or empty when there is none. */
    public Optional<String> aclPolicyId(String name) throws IOException {
        HttpResponse<String> r = send("GET", "/v1/acl/policy/name/" + enc(name), null);
        // Consul answers a missing policy with 404, or with 403 "ACL not found" in some versions.
        if (r.statusCode() == 404 || r.statusCode() == 403 && r.body().contains("ACL not found")) return Optional.empty();
        if (r.statusCode() != 200) throw new IOException("GET /v1/acl/policy/name/" + name + ": HTTP " + r.statusCode() + " " + r.body().strip());
        String id = JSON.readTree(r.body()).path("ID").asText("");
        return id.isEmpty() ? Optional.empty() : Optional.of(id);
    }

    /** Creates an ACL policy (PUT /v1/acl/policy); returns its ID. */
    public String createAclPolicy(String name, String description, String rules) throws IOException {
        byte[] body = JSON.writeValueAsBytes(Map.of("Name", name, "Description", description, "Rules", rules));
        String id = JSON.readTree(ok("PUT", "/v1/acl/policy", body).body()).path("ID").asText("");
        if (id.isEmpty()) throw new IOException("PUT /v1/acl/policy: no ID in the answer");
        return id;
    }

    /** Replaces an ACL policy's rules (PUT /v1/acl/policy/ID). */
    public void updateAclPolicy(String id, String name, String description, String rules) throws IOException {
        byte[] body = JSON.writeValueAsBytes(Map.of("ID", id, "Name", name, "Description", description, "Rules", rules));
        ok("PUT", "/v1/acl/policy/" + enc(id), body);
    }

    /** Creates a token linked to one policy (PUT /v1/acl/token). The answer's secret is never put in a message. */
    public AclToken createAclToken(String description, String policyId) throws IOException {
        byte[] body = JSON.writeValueAsBytes(Map.of("Description", description, "Policies", List.of(Map.of("ID", policyId))));
        HttpResponse<String> r = send("PUT", "/v1/acl/token", body);
        if (r.statusCode() != 200) throw new IOException("PUT /v1/acl/token: HTTP " + r.statusCode() + " " + r.body().strip());
        JsonNode t;
        try {
            t = JSON.readTree(r.body());
        } catch (IOException e) {
            throw new IOException("PUT /v1/acl/token: the answer is not JSON"); // its text may hold the secret: not quoted
        }
        String accessor = t.path("AccessorID").asText("");
        String secret = t.path("SecretID").asText("");
        if (accessor.isEmpty() || secret.isEmpty()) throw new IOException("PUT /v1/acl/token: no AccessorID or SecretID in the answer");
        return new AclToken(accessor, secret);
    }

    /** Deletes a token by its AccessorID (DELETE /v1/acl/token/ID). */
    public void deleteAclToken(String accessorId) throws IOException {
        ok("DELETE", "/v1/acl/token/" + enc(accessorId), null);
    }
}

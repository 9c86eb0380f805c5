package io.failoverkit.discovery.compat;

import com.ecwid.consul.v1.ConsulClient;
import com.ecwid.consul.v1.agent.model.NewService;
import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The agent and catalog endpoints tools call that were missing: /v1/agent/service/ID (with hash blocking),
 * /v1/catalog/node-services/NODE, /v1/agent/metrics (JSON and Prometheus), /v1/agent/host, /v1/agent/version,
 * /v1/agent/monitor; and the servers' "consul" service in the catalog and in DNS. Shapes as in Consul's API docs and
 * the Go client's api.AgentService, api.CatalogNodeServiceList, api.MetricsInfo.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AgentEndpointsTest {
    private static final String NODE = "endpoints-node";
    private static DevAgent agent;
    private static Http http;
    private static ConsulClient consul;

    @BeforeAll
    static void start() throws Exception {
        agent = DevAgent.start(NODE);
        http = agent.http;
        consul = new ConsulClient("127.0.0.1", agent.httpPort);
    }

    @AfterAll
    static void stop() {
        if (agent != null) agent.close();
    }

    @Test
    void agentServiceAnswersOneServiceWithItsHashAndBlocksOnTheHash() throws Exception {
        NewService s = new NewService();
        s.setId("one-1");
        s.setName("one");
        s.setTags(List.of("a"));
        s.setPort(7000);
        consul.agentServiceRegister(s);

        Http.Reply r = http.get("/v1/agent/service/one-1");
        assertThat(r.status()).isEqualTo(200);
        JsonNode svc = r.json();
        assertThat(svc.path("ID").asText()).isEqualTo("one-1");
        assertThat(svc.path("Service").asText()).isEqualTo("one");
        assertThat(svc.path("Port").asInt()).isEqualTo(7000);
        assertThat(svc.path("Weights").path("Passing").asInt()).isEqualTo(1);
        assertThat(svc.path("Datacenter").asText()).isEqualTo("dc1");
        String hash = svc.path("ContentHash").asText();
        assertThat(hash).isNotEmpty();
        assertThat(r.headers().firstValue("X-Consul-ContentHash")).contains(hash);
        // The same content hashes the same; a different hash answers at once.
        assertThat(http.get("/v1/agent/service/one-1").json().path("ContentHash").asText()).isEqualTo(hash);
        assertThat(http.get("/v1/agent/service/one-1?hash=other&wait=30s", Duration.ofSeconds(5)).status()).isEqualTo(200);

        // With the current hash it waits for a change; a registration with other tags wakes it with the new hash.
        CompletableFuture<Http.Reply> blocked = CompletableFuture.supplyAsync(() -> http.get("/v1/agent/service/one-1?hash=" + hash + "&wait=60s", Duration.ofSeconds(90)));
        await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(() -> !blocked.isDone());
        s.setTags(List.of("a", "b"));
        consul.agentServiceRegister(s);
        Http.Reply woke = blocked.get(30, TimeUnit.SECONDS);
        assertThat(woke.json().path("Tags").toString()).isEqualTo("[\"a\",\"b\"]");
        assertThat(woke.json().path("ContentHash").asText()).isNotEqualTo(hash);

        // A short wait with nothing changing ends with the same service.
        String now = woke.json().path("ContentHash").asText();
        Http.Reply timedOut = http.get("/v1/agent/service/one-1?hash=" + now + "&wait=200ms", Duration.ofSeconds(10));
        assertThat(timedOut.status()).isEqualTo(200);
        assertThat(timedOut.json().path("ContentHash").asText()).isEqualTo(now);

        Http.Reply missing = http.get("/v1/agent/service/nope");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.body()).contains("unknown service ID: nope");
    }

    @Test
    void nodeServicesListsTheNodeAndItsServices() {
        assertThat(http.put("/v1/agent/service/register", "{\"ID\":\"ns-1\",\"Name\":\"ns\",\"Port\":81,\"Tags\":[\"x\"],"
                + "\"TaggedAddresses\":{\"wan\":{\"Address\":\"192.0.2.1\",\"Port\":81}}}").status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(20)).until(() -> http.get("/v1/catalog/node-services/" + NODE).json().path("Services").toString().contains("\"ns-1\""));
        Http.Reply r = http.get("/v1/catalog/node-services/" + NODE);
        assertThat(r.index()).isPositive();
        JsonNode body = r.json();
        assertThat(body.path("Node").path("Node").asText()).isEqualTo(NODE);
        assertThat(body.path("Services").isArray()).isTrue();
        JsonNode ns = null;
        for (JsonNode s : body.path("Services")) if (s.path("ID").asText().equals("ns-1")) ns = s;
        assertThat(ns).isNotNull();
        assertThat(ns.path("Service").asText()).isEqualTo("ns");
        assertThat(ns.path("Port").asInt()).isEqualTo(81);
        assertThat(ns.path("TaggedAddresses").path("wan").path("Address").asText()).isEqualTo("192.0.2.1");
        assertThat(ns.path("Weights").path("Warning").asInt()).isEqualTo(1);

        JsonNode unknown = http.get("/v1/catalog/node-services/no-such-node").json();
        assertThat(unknown.path("Node").isNull()).isTrue();
    }

    @Test
    void metricsAreServedInConsulsJsonAndInPrometheusFormat() throws Exception {
        // Something to count: a write, a DNS query, a session.
        assertThat(http.put("/v1/kv/metrics/probe", "x").status()).isEqualTo(200);
        SimpleResolver dns = new SimpleResolver("127.0.0.1");
        dns.setPort(agent.dnsPort);
        Lookup lookup = new Lookup("consul.service.consul", Type.A);
        lookup.setResolver(dns);
        lookup.setCache(null);
        lookup.run();
        assertThat(http.put("/v1/session/create", "{\"TTL\":\"60s\"}").status()).isEqualTo(200);

        JsonNode m = http.get("/v1/agent/metrics").json();
        assertThat(m.path("Timestamp").asText()).matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\+0000 UTC");
        assertThat(m.path("Points").isArray()).isTrue();
        List<String> gauges = names(m.path("Gauges"));
        List<String> counters = names(m.path("Counters"));
        List<String> samples = names(m.path("Samples"));
        assertThat(gauges).contains("consul.rpc.queries_blocking", "consul.session_ttl.active", "consul.serf.members", "consul.server.isLeader");
        assertThat(counters).contains("consul.raft.apply", "consul.raft.state.leader", "consul.dns.domain_query");
        assertThat(samples).contains("consul.raft.commitTime", "consul.api.http");
        JsonNode sessions = find(m.path("Gauges"), "consul.session_ttl.active");
        assertThat(sessions.path("Value").asDouble()).isGreaterThanOrEqualTo(1);
        JsonNode aliveMembers = null;
        for (JsonNode g : m.path("Gauges")) {
            if (g.path("Name").asText().equals("consul.serf.members") && g.path("Labels").path("status").asText().equals("alive")) aliveMembers = g;
        }
        assertThat(aliveMembers).isNotNull();
        assertThat(aliveMembers.path("Value").asDouble()).isEqualTo(1);
        JsonNode commit = find(m.path("Samples"), "consul.raft.commitTime");
        assertThat(commit.path("Count").asLong()).isPositive();
        assertThat(commit.path("Max").asDouble()).isGreaterThanOrEqualTo(commit.path("Min").asDouble());
        boolean kvPut = false;
        for (JsonNode s : m.path("Samples")) {
            if (s.path("Name").asText().equals("consul.api.http") && s.path("Labels").path("method").asText().equals("PUT")
                    && s.path("Labels").path("path").asText().equals("v1_kv_")) kvPut = true;
        }
        assertThat(kvPut).isTrue();

        Http.Reply prom = http.get("/v1/agent/metrics?format=prometheus");
        assertThat(prom.status()).isEqualTo(200);
        assertThat(prom.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain; version=0.0.4");
        assertThat(prom.body()).contains("# TYPE consul_raft_commitTime summary", "consul_raft_commitTime_count ",
                "# TYPE consul_raft_apply counter", "consul_serf_members{status=\"alive\"} 1", "consul_api_http_count{method=\"PUT\",path=\"v1_kv_\"}");
        // Every sample line is "name{labels} value" with a number.
        for (String line : prom.body().split("\n")) {
            if (line.startsWith("#") || line.isEmpty()) continue;
            assertThat(line).matches("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{[^}]*\\})? (-?[0-9.eE+-]+|NaN)");
        }
        assertThat(http.get("/v1/agent/metrics?format=xml").status()).isEqualTo(400);
    }

    private static List<String> names(JsonNode arr) {
        List<String> out = new ArrayList<>();
        arr.forEach(n -> out.add(n.path("Name").asText()));
        return out;
    }

    private static JsonNode find(JsonNode arr, String name) {
        for (JsonNode n : arr) if (n.path("Name").asText().equals(name)) return n;
        throw new AssertionError(name + " not in " + arr);
    }

    @Test
    void hostAndVersionDescribeTheAgent() {
        JsonNode host = http.get("/v1/agent/host").json();
        assertThat(host.path("Memory").path("total").asLong()).isPositive();
        assertThat(host.path("CPU").isArray()).isTrue();
        assertThat(host.path("CPU").size()).isPositive();
        assertThat(host.path("Host").path("hostname").asText()).isNotEmpty();
        assertThat(host.path("Host").path("os").asText()).isEqualTo("linux");
        assertThat(host.path("Disk").path("total").asLong()).isPositive();
        assertThat(host.path("CollectionTime").asLong()).isPositive();

        JsonNode version = http.get("/v1/agent/version").json();
        assertThat(version.path("Version").asText()).isEqualTo(io.failoverkit.discovery.agent.Agent.VERSION);
        assertThat(version.has("HumanVersion")).isTrue();
        assertThat(version.has("Revision")).isTrue();
        assertThat(version.has("BuildDate")).isTrue();
    }

    @Test
    void monitorStreamsTheLogAtTheAskedLevel() throws Exception {
        assertThat(http.get("/v1/agent/monitor?loglevel=chatty").status()).isEqualTo(400);

        HttpClient client = HttpClient.newHttpClient();
        HttpResponse<java.io.InputStream> stream = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + agent.httpPort + "/v1/agent/monitor?loglevel=info"))
                .GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(stream.statusCode()).isEqualTo(200);
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) lines.add(line);
            } catch (java.io.IOException ignored) { /* closed at the end of the test */ }
        });
        // A reload logs an INFO line; keep reloading until the stream has shown one (the stream may open a bit later).
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(300)).until(() -> {
            http.put("/v1/agent/reload", "");
            return lines.stream().anyMatch(l -> l.contains("reloaded:") && l.contains("INFO"));
        });
        stream.body().close();
        reader.join(5000);
        assertThat(lines).noneMatch(l -> l.contains(" DEBUG "));
    }

    @Test
    void theServerIsTheConsulServiceInTheCatalogAndInDns() throws Exception {
        int serverPort = agent.agent.config().serverPort;
        await().atMost(Duration.ofSeconds(20)).until(() -> consul.getCatalogService("consul", com.ecwid.consul.v1.QueryParams.DEFAULT).getValue().size() == 1);
        var instance = consul.getCatalogService("consul", com.ecwid.consul.v1.QueryParams.DEFAULT).getValue().get(0);
        assertThat(instance.getNode()).isEqualTo(NODE);
        assertThat(instance.getServiceId()).isEqualTo("consul");
        assertThat(instance.getServicePort()).isEqualTo(serverPort);
        assertThat(consul.getHealthServices("consul", true, com.ecwid.consul.v1.QueryParams.DEFAULT).getValue()).hasSize(1);
        // Anti-entropy of the server's own agent leaves it alone (it is the leader's, not a local registration).
        assertThat(consul.getAgentServices().getValue()).doesNotContainKey("consul");

        SimpleResolver dns = new SimpleResolver("127.0.0.1");
        dns.setPort(agent.dnsPort);
        Lookup srv = new Lookup("consul.service.consul", Type.SRV);
        srv.setResolver(dns);
        srv.setCache(null);
        Record[] answers = srv.run();
        assertThat(answers).isNotNull().hasSize(1);
        assertThat(((SRVRecord) answers[0]).getPort()).isEqualTo(serverPort);
        Lookup a = new Lookup("consul.service.consul", Type.A);
        a.setResolver(dns);
        a.setCache(null);
        assertThat(a.run()).isNotNull().hasSize(1);
    }
}

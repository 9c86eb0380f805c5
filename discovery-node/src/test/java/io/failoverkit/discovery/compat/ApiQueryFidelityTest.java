package io.failoverkit.discovery.compat;

import com.ecwid.consul.v1.ConsistencyMode;
import com.ecwid.consul.v1.ConsulClient;
import com.ecwid.consul.v1.OperationException;
import com.ecwid.consul.v1.QueryParams;
import com.ecwid.consul.v1.Response;
import com.ecwid.consul.v1.catalog.CatalogNodesRequest;
import com.ecwid.consul.v1.catalog.CatalogServiceRequest;
import com.ecwid.consul.v1.catalog.model.CatalogService;
import com.ecwid.consul.v1.catalog.model.Node;
import com.ecwid.consul.v1.health.HealthServicesRequest;
import com.ecwid.consul.v1.health.model.HealthService;
import com.ecwid.consul.v1.kv.model.GetValue;
import com.ecwid.consul.v1.kv.model.PutParams;
import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.Http;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Issue 13's query side, checked against Consul's API docs and the Go client's api/ package: through the Ecwid client
 * (com.ecwid.consul:consul-api) where it exposes the parameter, through plain HTTP where it does not (?filter, headers).
 * One test per item, named after it.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ApiQueryFidelityTest {
    private static final String NODE = "apiq-node";
    private static DevAgent agent;
    private static ConsulClient consul;
    private static Http http;

    @BeforeAll
    static void start() throws Exception {
        agent = DevAgent.start(NODE);
        consul = new ConsulClient("127.0.0.1", agent.httpPort);
        http = agent.http;
        // Three instances of "web" on three external nodes, and one "db".
        register("ext-1", "10.1.0.1", Map.of("rack", "r1", "env", "prod"), "web-1", "web", List.of("primary", "v2"), Map.of("version", "2"), 8080, "passing");
        register("ext-2", "10.1.0.2", Map.of("rack", "r2", "env", "prod"), "web-2", "web", List.of("primary"), Map.of("version", "1"), 80, "critical");
        register("ext-3", "10.1.0.3", Map.of("rack", "r1", "env", "qa"), "web-3", "web", List.of("v2"), Map.of(), 80, "passing");
        register("ext-4", "10.1.0.4", Map.of("env", "prod"), "db-1", "db", List.of("primary"), Map.of(), 5432, "passing");
    }

    @AfterAll
    static void stop() {
        if (agent != null) agent.close();
    }

    static void register(String node, String addr, Map<String, String> nodeMeta, String id, String name, List<String> tags, Map<String, String> meta,
                         int port, String status) throws Exception {
        Map<String, Object> body = Map.of("Node", node, "Address", addr, "NodeMeta", nodeMeta,
                "Service", Map.of("ID", id, "Service", name, "Tags", tags, "Meta", meta, "Port", port),
                "Check", Map.of("CheckID", "service:" + id, "Name", "svc", "ServiceID", id, "Status", status));
        Http.Reply r = http.put("/v1/catalog/register", io.failoverkit.discovery.state.Json.MAPPER.writeValueAsString(body));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    static List<String> field(JsonNode array, String... path) {
        List<String> out = new java.util.ArrayList<>();
        for (JsonNode n : array) {
            JsonNode v = n;
            for (String p : path) v = v.path(p);
            out.add(v.asText());
        }
        return out;
    }

    // ------------------------------------------------------------------ ?tag= repeated

    @Test
    void repeatedTagMeansAllOfThem() {
        // The Ecwid client sends setTags as repeated ?tag= (as Prometheus' consul_sd does with its tags list).
        List<CatalogService> catalog = consul.getCatalogService("web", CatalogServiceRequest.newBuilder().setTags(new String[]{"primary", "v2"}).build()).getValue();
        assertThat(catalog).extracting(CatalogService::getServiceId).containsExactly("web-1");
        List<HealthService> health = consul.getHealthServices("web", HealthServicesRequest.newBuilder().setTags(new String[]{"v2", "PRIMARY"}).build()).getValue();
        assertThat(health).extracting(h -> h.getService().getId()).containsExactly("web-1");
        assertThat(consul.getCatalogService("web", CatalogServiceRequest.newBuilder().setTag("primary").build()).getValue())
                .extracting(CatalogService::getServiceId).containsExactlyInAnyOrder("web-1", "web-2");
        assertThat(field(http.get("/v1/health/service/web?tag=v2&tag=primary&tag=nope").json(), "Service", "ID")).isEmpty();
        assertThat(field(http.get("/v1/catalog/service/web?tag=v2&tag=").json(), "ServiceID")).containsExactlyInAnyOrder("web-1", "web-3");
    }

    // ------------------------------------------------------------------ ?filter=

    @Test
    void filterOnEveryEndpointThatDocumentsIt() {
        assertThat(field(http.get("/v1/catalog/service/web?filter=" + enc("ServiceMeta.version == \"2\" or NodeMeta.env == qa")).json(), "ServiceID"))
                .containsExactlyInAnyOrder("web-1", "web-3");
        assertThat(field(http.get("/v1/catalog/nodes?filter=" + enc("Meta.rack == r1")).json(), "Node")).containsExactlyInAnyOrder("ext-1", "ext-3");
        assertThat(http.get("/v1/catalog/services?filter=" + enc("ServiceTags contains primary and NodeMeta.env == prod")).json().fieldNames())
                .toIterable().containsExactlyInAnyOrder("web", "db");
        assertThat(http.get("/v1/catalog/services?filter=" + enc("ServicePort == 5432")).json().fieldNames()).toIterable().containsExactly("db");
        assertThat(http.get("/v1/catalog/node/ext-1?filter=" + enc("Port == 80")).json().path("Services").size()).isZero();
        assertThat(http.get("/v1/catalog/node/ext-1?filter=" + enc("v2 in Tags")).json().path("Services").has("web-1")).isTrue();
        assertThat(field(http.get("/v1/health/service/web?filter=" + enc("Checks.Status == critical")).json(), "Service", "ID")).containsExactly("web-2");
        assertThat(field(http.get("/v1/health/service/web?filter=" + enc("Service.Port == 80 and not Checks.Status == critical")).json(), "Service", "ID"))
                .containsExactly("web-3");
        assertThat(field(http.get("/v1/health/checks/web?filter=" + enc("Status != passing")).json(), "CheckID")).containsExactly("service:web-2");
        assertThat(field(http.get("/v1/health/node/ext-3?filter=" + enc("ServiceTags contains v2")).json(), "CheckID")).containsExactly("service:web-3");
        assertThat(field(http.get("/v1/health/state/any?filter=" + enc("Node matches \"^ext-[12]$\"")).json(), "CheckID"))
                .containsExactlyInAnyOrder("service:web-1", "service:web-2");
        assertThat(field(http.get("/v1/health/state/passing?filter=" + enc("ServiceName == db")).json(), "CheckID")).containsExactly("service:db-1");
    }

    @Test
    void filterOnTheAgentsServicesAndChecks() throws Exception {
        String svc = "{\"ID\":\"local-a\",\"Name\":\"local\",\"Tags\":[\"blue\"],\"Port\":1,\"Meta\":{\"m\":\"x\"},\"Check\":{\"CheckID\":\"local-a-ttl\",\"TTL\":\"60s\"}}";
        assertThat(http.put("/v1/agent/service/register", svc).status()).isEqualTo(200);
        assertThat(http.put("/v1/agent/service/register", "{\"ID\":\"local-b\",\"Name\":\"local\",\"Tags\":[\"green\"],\"Port\":2}").status()).isEqualTo(200);
        JsonNode services = http.get("/v1/agent/services?filter=" + enc("blue in Tags and Meta.m == x")).json();
        assertThat(services.fieldNames()).toIterable().containsExactly("local-a");
        assertThat(http.get("/v1/agent/services?filter=" + enc("Port == 2")).json().fieldNames()).toIterable().containsExactly("local-b");
        JsonNode checks = http.get("/v1/agent/checks?filter=" + enc("ServiceID == \"local-a\"")).json();
        assertThat(checks.fieldNames()).toIterable().containsExactly("local-a-ttl");
        assertThat(http.get("/v1/agent/checks?filter=" + enc("Nope == 1")).status()).isEqualTo(400);
    }

    @Test
    void filterMalformedOrUnknownSelectorIsA400WithThePosition() {
        Http.Reply bad = http.get("/v1/catalog/service/web?filter=" + enc("ServiceMeta.version == "));
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body()).startsWith("Failed to create boolean expression evaluator: 1:24 (23): ");
        Http.Reply unknown = http.get("/v1/health/service/web?filter=" + enc("Service.Tags contains x and Service.Bogus == 1"));
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.body()).contains("1:29 (28)", "Selector \"Service.Bogus\" is not valid");
        // Field names are the endpoint's own: the catalog's flat ServiceTags is not a health entry's.
        assertThat(http.get("/v1/health/service/web?filter=" + enc("ServiceTags contains x")).status()).isEqualTo(400);
        assertThat(http.get("/v1/catalog/nodes?filter=" + enc("Service.ID == x")).status()).isEqualTo(400);
        assertThat(http.get("/v1/health/state/any?filter=" + enc("(Status == passing")).status()).isEqualTo(400);
    }

    // ------------------------------------------------------------------ ?node-meta, ?near, ?dc

    @Test
    void nodeMetaRepeatedMeansAllPairsMustMatch() {
        List<Node> nodes = consul.getCatalogNodes(CatalogNodesRequest.newBuilder().setNodeMeta(Map.of("env", "prod", "rack", "r1")).build()).getValue();
        assertThat(nodes).extracting(Node::getNode).containsExactly("ext-1");
        List<HealthService> health = consul.getHealthServices("web", HealthServicesRequest.newBuilder().setNodeMeta(Map.of("env", "prod")).build()).getValue();
        assertThat(health).extracting(h -> h.getService().getId()).containsExactlyInAnyOrder("web-1", "web-2");
        List<CatalogService> catalog = consul.getCatalogService("web", CatalogServiceRequest.newBuilder().setNodeMeta(Map.of("rack", "r1")).build()).getValue();
        assertThat(catalog).extracting(CatalogService::getServiceId).containsExactlyInAnyOrder("web-1", "web-3");
        assertThat(http.get("/v1/catalog/services?node-meta=env:qa").json().fieldNames()).toIterable().containsExactly("web");
        assertThat(field(http.get("/v1/health/state/any?node-meta=rack:r2").json(), "CheckID")).containsExactly("service:web-2");
        assertThat(field(http.get("/v1/health/checks/web?node-meta=env:prod&node-meta=rack:r1").json(), "CheckID")).containsExactly("service:web-1");
    }

    @Test
    void nearIsA400UntilCoordinatesExist() {
        assertThatThrownBy(() -> consul.getCatalogNodes(CatalogNodesRequest.newBuilder().setNear("_agent").build()))
                .isInstanceOfSatisfying(OperationException.class, e -> {
                    assertThat(e.getStatusCode()).isEqualTo(400);
                    assertThat(e.getStatusContent()).contains("network coordinates");
                });
        assertThatThrownBy(() -> consul.getHealthServices("web", HealthServicesRequest.newBuilder().setNear("ext-1").build()))
                .isInstanceOfSatisfying(OperationException.class, e -> assertThat(e.getStatusCode()).isEqualTo(400));
        assertThat(http.get("/v1/catalog/service/web?near=_agent").status()).isEqualTo(400);
    }

    @Test
    void otherDatacenterHasNoPath() {
        assertThatThrownBy(() -> consul.getCatalogService("web", CatalogServiceRequest.newBuilder().setDatacenter("dc9").build()))
                .isInstanceOfSatisfying(OperationException.class, e -> {
                    assertThat(e.getStatusCode()).isEqualTo(500);
                    assertThat(e.getStatusContent()).contains("No path to datacenter");
                });
        assertThatThrownBy(() -> consul.getKVValue("any", new QueryParams("dc9")))
                .isInstanceOfSatisfying(OperationException.class, e -> assertThat(e.getStatusCode()).isEqualTo(500));
        // Writes too: nothing reaches this datacenter's state.
        assertThat(http.put("/v1/kv/dc-test?dc=dc9", "x").status()).isEqualTo(500);
        assertThat(http.get("/v1/kv/dc-test").status()).isEqualTo(404);
        // Its own name is fine.
        assertThat(consul.getCatalogService("web", CatalogServiceRequest.newBuilder().setDatacenter("dc1").build()).getValue()).hasSize(3);
    }

    // ------------------------------------------------------------------ blocking queries

    @Test
    void blockingQueryWithAnIndexAboveTheCurrentOneBlocks() throws Exception {
        consul.setKVValue("block/k", "v0");
        Response<GetValue> now = consul.getKVValue("block/k");
        long ahead = now.getConsulIndex() + 1_000_000;
        long t0 = System.nanoTime();
        // Ecwid's QueryParams(waitSeconds, index): Consul's rule is to wait while the result's index is not past the
        // one asked for, so this returns at the end of its wait, with the current (lower) index for the client to reset on.
        Response<GetValue> r = consul.getKVValue("block/k", new QueryParams(1, ahead));
        assertThat(System.nanoTime() - t0).as("waited its wait out").isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(950));
        assertThat(r.getConsulIndex()).isEqualTo(now.getConsulIndex());
        assertThat(r.getValue().getDecodedValue()).isEqualTo("v0");

        // And a change below the index asked for does not answer it; one past it does.
        // (Raft indexes are shared by every table and by the agent's own writes, so the target is read, not computed.)
        consul.setKVValue("block/k", "v1");
        consul.setKVValue("block/k", "v2");
        long target = http.get("/v1/kv/block/k").index();
        CompletableFuture<Http.Reply> parked = CompletableFuture.supplyAsync(() -> http.get("/v1/kv/block/k?wait=60s&index=" + target, Duration.ofSeconds(90)));
        Thread.sleep(300);
        assertThat(parked).as("index %d not yet passed", target).isNotDone();
        consul.setKVValue("block/k", "v3");
        Http.Reply woke = parked.get(30, TimeUnit.SECONDS);
        assertThat(woke.index()).isGreaterThan(target);
    }

    @Test
    void watchersOnOneServiceAreNotAnsweredByAnotherServicesChange() throws Exception {
        Response<List<HealthService>> first = consul.getHealthServices("web", HealthServicesRequest.newBuilder().build());
        long index = first.getConsulIndex();
        CompletableFuture<Response<List<HealthService>>> health = CompletableFuture.supplyAsync(() ->
                consul.getHealthServices("web", HealthServicesRequest.newBuilder().setQueryParams(new QueryParams(30, index)).build()));
        CompletableFuture<Response<List<CatalogService>>> catalog = CompletableFuture.supplyAsync(() ->
                consul.getCatalogService("web", CatalogServiceRequest.newBuilder().setQueryParams(new QueryParams(30, index)).build()));
        // db changes, an unrelated node appears, a KV write: none is web's.
        register("ext-4", "10.1.0.4", Map.of("env", "prod"), "db-1", "db", List.of("primary", "changed"), Map.of(), 5432, "passing");
        register("ext-9", "10.1.0.9", Map.of(), "cache-1", "cache", List.of(), Map.of(), 6379, "passing");
        consul.setKVValue("unrelated", "x");
        Thread.sleep(300);
        assertThat(health).isNotDone();
        assertThat(catalog).isNotDone();
        assertThat(http.get("/v1/health/service/web").index()).isEqualTo(index);
        // web's own change answers both, with a higher index.
        register("ext-3", "10.1.0.3", Map.of("rack", "r1", "env", "qa"), "web-3", "web", List.of("v2"), Map.of(), 80, "warning");
        assertThat(health.get(30, TimeUnit.SECONDS).getConsulIndex()).isGreaterThan(index);
        assertThat(catalog.get(30, TimeUnit.SECONDS).getConsulIndex()).isGreaterThanOrEqualTo(index);
        register("ext-3", "10.1.0.3", Map.of("rack", "r1", "env", "qa"), "web-3", "web", List.of("v2"), Map.of(), 80, "passing");
        register("ext-4", "10.1.0.4", Map.of("env", "prod"), "db-1", "db", List.of("primary"), Map.of(), 5432, "passing");
    }

    @Test
    void effectiveConsistencyHeaderIsSent() {
        assertThat(http.get("/v1/catalog/nodes").headers().firstValue("X-Consul-Effective-Consistency")).hasValue("leader");
        assertThat(http.get("/v1/catalog/nodes?stale").headers().firstValue("X-Consul-Effective-Consistency")).hasValue("stale");
        assertThat(http.get("/v1/health/service/web?consistent").headers().firstValue("X-Consul-Effective-Consistency")).hasValue("consistent");
        Response<List<Node>> viaEcwid = consul.getCatalogNodes(CatalogNodesRequest.newBuilder().setQueryParams(new QueryParams(ConsistencyMode.STALE)).build());
        assertThat(viaEcwid.getValue()).isNotEmpty();
    }

    // ------------------------------------------------------------------ KV

    @Test
    void kvFlagsAreUnsigned64Bit() {
        long semaphore = 0xe0f69a2baa414de0L;
        PutParams p = new PutParams();
        p.setFlags(semaphore);
        // Ecwid writes a Java long as it is (signed): a uint64 server must refuse the negative spelling, as Consul's
        // strconv.ParseUint does, rather than store something else.
        assertThatThrownBy(() -> consul.setKVValue("flags/sem", "x", p)).isInstanceOfSatisfying(OperationException.class,
                e -> assertThat(e.getStatusCode()).isEqualTo(400));
        assertThat(http.put("/v1/kv/flags/neg?flags=-1", "x").status()).isEqualTo(400);
        // The Go client's spelling (uint64 in decimal) round-trips, and comes back as Go's encoding/json writes it.
        assertThat(http.put("/v1/kv/flags/sem?flags=" + Long.toUnsignedString(semaphore), "x").status()).isEqualTo(200);
        assertThat(http.get("/v1/kv/flags/sem").body()).contains("\"Flags\":16210313421097356768");
        // Ecwid 1.4.5 keeps Flags in a signed long read by Gson 2.8.2, which refuses a number above Long.MAX_VALUE:
        // the client's limit (it fails loudly, it never sees another value). Below the top bit it round-trips.
        assertThatThrownBy(() -> consul.getKVValue("flags/sem")).hasStackTraceContaining("16210313421097356768");
        PutParams high = new PutParams();
        high.setFlags(Long.MAX_VALUE);
        consul.setKVValue("flags/high", "x", high);
        assertThat(consul.getKVValue("flags/high").getValue().getFlags()).isEqualTo(Long.MAX_VALUE);
        PutParams small = new PutParams();
        small.setFlags(42);
        consul.setKVValue("flags/small", "x", small);
        assertThat(consul.getKVValue("flags/small").getValue().getFlags()).isEqualTo(42);
    }

    @Test
    void kvEmptyValueIsNull() {
        assertThat(consul.setKVValue("empty/k", "").getValue()).isTrue();
        GetValue v = consul.getKVValue("empty/k").getValue();
        assertThat(v).isNotNull();
        assertThat(v.getValue()).isNull();
        assertThat(http.get("/v1/kv/empty/k").body()).contains("\"Value\":null").doesNotContain("\"Session\"");
        assertThat(http.get("/v1/kv/empty/?recurse").body()).contains("\"Value\":null");
        consul.setKVValue("empty/full", "abc");
        assertThat(http.get("/v1/kv/empty/full").body()).contains("\"Value\":\"YWJj\"");
    }

    @Test
    void kvRawIsTextPlain() {
        consul.setKVValue("raw/k", "<script>x</script>");
        Http.Reply raw = http.get("/v1/kv/raw/k?raw");
        assertThat(raw.status()).isEqualTo(200);
        assertThat(raw.body()).isEqualTo("<script>x</script>");
        assertThat(raw.headers().firstValue("Content-Type")).hasValue("text/plain");
        assertThat(raw.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
        assertThat(raw.headers().firstValue("Content-Security-Policy")).hasValue("sandbox");
        assertThat(consul.getKVBinaryValue("raw/k").getValue().getValue()).isEqualTo("<script>x</script>".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void kvTombstoneLetsABlockedReaderOfADeletedKeyWakeOnItsReturn() throws Exception {
        consul.setKVValue("tomb/k", "1");
        consul.deleteKVValue("tomb/k");
        Http.Reply gone = http.get("/v1/kv/tomb/k");
        assertThat(gone.status()).isEqualTo(404);
        long deletedAt = gone.index();
        // Other keys change: the deleted key's index stays the delete's, so the reader stays parked.
        CompletableFuture<Http.Reply> parked = CompletableFuture.supplyAsync(() -> http.get("/v1/kv/tomb/k?wait=60s&index=" + deletedAt, Duration.ofSeconds(90)));
        consul.setKVValue("tomb/other", "x");
        consul.setKVValue("elsewhere", "x");
        Thread.sleep(300);
        assertThat(parked).isNotDone();
        consul.setKVValue("tomb/k", "back");
        Http.Reply woke = parked.get(30, TimeUnit.SECONDS);
        assertThat(woke.status()).isEqualTo(200);
        assertThat(woke.index()).isGreaterThan(deletedAt);
        // A prefix read keeps the delete's index while the tombstone is kept.
        consul.deleteKVValue("tomb/other");
        long prefixAt = http.get("/v1/kv/tomb/?recurse").index();
        assertThat(prefixAt).isGreaterThan(deletedAt);
    }

    // ------------------------------------------------------------------ sessions

    @Test
    void sessionNodeChecksAndServiceChecksAsConsul() throws Exception {
        String svc = "{\"ID\":\"locked\",\"Name\":\"locked\",\"Port\":1,\"Check\":{\"CheckID\":\"locked-ttl\",\"TTL\":\"60s\",\"Status\":\"passing\"}}";
        assertThat(http.put("/v1/agent/service/register", svc).status()).isEqualTo(200);
        assertThat(http.put("/v1/agent/check/pass/locked-ttl", "").status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(20)).until(() -> http.get("/v1/health/checks/locked").body().contains("\"passing\""));
        Http.Reply created = http.put("/v1/session/create",
                "{\"Name\":\"s\",\"NodeChecks\":[\"serfHealth\"],\"ServiceChecks\":[{\"ID\":\"locked-ttl\",\"Namespace\":\"\"}]}");
        assertThat(created.status()).as(created.body()).isEqualTo(200);
        String id = created.json().get("ID").asText();
        JsonNode info = http.get("/v1/session/info/" + id).json().get(0);
        assertThat(info.get("NodeChecks")).hasToString("[\"serfHealth\"]");
        assertThat(info.get("ServiceChecks")).hasToString("[{\"ID\":\"locked-ttl\",\"Namespace\":\"\"}]");
        assertThat(info.get("Checks")).hasToString("[\"serfHealth\"]");
        // The Ecwid client (Checks only) still reads it.
        assertThat(consul.getSessionInfo(id, QueryParams.DEFAULT).getValue().getChecks()).containsExactly("serfHealth");
        // A session with neither field gets the node's serfHealth alone; naming NodeChecks: [] means none.
        String plain = http.put("/v1/session/create", "{}").json().get("ID").asText();
        assertThat(http.get("/v1/session/info/" + plain).json().get(0).get("NodeChecks")).hasToString("[\"serfHealth\"]");
        String none = http.put("/v1/session/create", "{\"NodeChecks\":[]}").json().get("ID").asText();
        assertThat(http.get("/v1/session/info/" + none).json().get(0).get("NodeChecks")).hasToString("[]");
        // Failing the service check invalidates the session.
        assertThat(http.put("/v1/agent/check/fail/locked-ttl", "").status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(20)).until(() -> http.get("/v1/session/info/" + id).json().isEmpty());
        assertThat(http.put("/v1/session/create", "{\"ServiceChecks\":[{\"ID\":\"no-such-check\"}]}").status()).isEqualTo(400);
        assertThat(http.put("/v1/session/create", "{\"ServiceChecks\":{\"ID\":\"x\"}}").status()).isEqualTo(400);
        http.put("/v1/session/destroy/" + plain, "");
        http.put("/v1/session/destroy/" + none, "");
    }

    @Test
    void sessionMalformedIdIsA400() {
        for (String bad : List.of("not-a-uuid", "1234", "11111111-2222-3333-4444-55555555555g")) {
            assertThatThrownBy(() -> consul.getSessionInfo(bad, QueryParams.DEFAULT)).isInstanceOfSatisfying(OperationException.class,
                    e -> assertThat(e.getStatusCode()).isEqualTo(400));
            assertThatThrownBy(() -> consul.renewSession(bad, QueryParams.DEFAULT)).isInstanceOfSatisfying(OperationException.class,
                    e -> assertThat(e.getStatusCode()).isEqualTo(400));
            assertThatThrownBy(() -> consul.sessionDestroy(bad, QueryParams.DEFAULT)).isInstanceOfSatisfying(OperationException.class,
                    e -> assertThat(e.getStatusCode()).isEqualTo(400));
            PutParams acquire = new PutParams();
            acquire.setAcquireSession(bad);
            assertThatThrownBy(() -> consul.setKVValue("lock/k", "x", acquire)).isInstanceOfSatisfying(OperationException.class,
                    e -> assertThat(e.getStatusCode()).isEqualTo(400));
            assertThat(http.put("/v1/kv/lock/k?release=" + bad, "x").status()).isEqualTo(400);
        }
        assertThat(http.get("/v1/kv/lock/k").status()).as("nothing was written").isEqualTo(404);
        // A well-formed ID that does not exist is not a format error.
        assertThat(http.get("/v1/session/info/11111111-2222-3333-4444-555555555555").json()).isEmpty();
        assertThat(http.put("/v1/session/renew/11111111-2222-3333-4444-555555555555", "").status()).isEqualTo(404);
    }
}

package io.failoverkit.discovery.compat;

import com.ecwid.consul.v1.ConsulClient;
import com.ecwid.consul.v1.OperationException;
import com.ecwid.consul.v1.QueryParams;
import com.ecwid.consul.v1.Response;
import com.ecwid.consul.v1.agent.model.NewService;
import com.ecwid.consul.v1.catalog.model.CatalogDeregistration;
import com.ecwid.consul.v1.catalog.model.CatalogRegistration;
import com.ecwid.consul.v1.catalog.model.CatalogService;
import com.ecwid.consul.v1.health.model.Check;
import com.ecwid.consul.v1.health.model.HealthService;
import com.ecwid.consul.v1.kv.model.GetBinaryValue;
import com.ecwid.consul.v1.kv.model.GetValue;
import com.ecwid.consul.v1.kv.model.PutParams;
import com.ecwid.consul.v1.session.model.NewSession;
import com.ecwid.consul.v1.session.model.Session;
import io.failoverkit.discovery.testing.DevAgent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

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
 * A third-party Consul client (com.ecwid.consul:consul-api, as used by Spring Cloud Consul) against a dev agent:
 * every call below goes through {@link ConsulClient} only, so what passes here is what such a client really sees.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ConsulClientCompatibilityTest {
    private static final String NODE = "compat-node";

    private static DevAgent agent;
    private static ConsulClient consul;

    @BeforeAll
    static void start() throws Exception {
        agent = DevAgent.start(NODE);
        consul = new ConsulClient("127.0.0.1", agent.httpPort);
    }

    @AfterAll
    static void stop() {
        if (agent != null) agent.close();
    }

    // ------------------------------------------------------------------ KV

    @Test
    void kvPutGetRoundTripsValueAndFlags() {
        PutParams flags = new PutParams();
        flags.setFlags(42);
        Response<Boolean> put = consul.setKVValue("compat/kv/greeting", "hello, wörld", flags);
        assertThat(put.getValue()).isTrue();

        Response<GetValue> got = consul.getKVValue("compat/kv/greeting");
        GetValue v = got.getValue();
        assertThat(v).isNotNull();
        assertThat(v.getKey()).isEqualTo("compat/kv/greeting");
        assertThat(v.getDecodedValue(StandardCharsets.UTF_8)).isEqualTo("hello, wörld");
        assertThat(v.getFlags()).isEqualTo(42);
        assertThat(v.getSession()).isNull();
        assertThat(v.getCreateIndex()).isPositive();
        assertThat(v.getModifyIndex()).isEqualTo(v.getCreateIndex());
        assertThat(got.getConsulIndex()).isEqualTo(v.getModifyIndex());
        assertThat(got.isConsulKnownLeader()).isTrue();
        assertThat(got.getConsulLastContact()).isNotNull().isGreaterThanOrEqualTo(0L);

        // An overwrite keeps CreateIndex, moves ModifyIndex, and takes the new flags.
        PutParams other = new PutParams();
        other.setFlags(7);
        assertThat(consul.setKVValue("compat/kv/greeting", "second", other).getValue()).isTrue();
        GetValue v2 = consul.getKVValue("compat/kv/greeting").getValue();
        assertThat(v2.getDecodedValue()).isEqualTo("second");
        assertThat(v2.getFlags()).isEqualTo(7);
        assertThat(v2.getCreateIndex()).isEqualTo(v.getCreateIndex());
        assertThat(v2.getModifyIndex()).isGreaterThan(v.getModifyIndex());

        // Binary values survive byte for byte (all 256 byte values).
        byte[] bytes = new byte[256];
        for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) i;
        assertThat(consul.setKVBinaryValue("compat/kv/binary", bytes).getValue()).isTrue();
        GetBinaryValue bin = consul.getKVBinaryValue("compat/kv/binary").getValue();
        assertThat(bin.getValue()).isEqualTo(bytes);

        // A missing key is a null value, not an exception.
        Response<GetValue> missing = consul.getKVValue("compat/kv/does-not-exist");
        assertThat(missing.getValue()).isNull();
        assertThat(missing.getConsulIndex()).isPositive();
    }

    @Test
    void casSucceedsOnlyAtTheCurrentModifyIndex() {
        String key = "compat/cas/counter";
        assertThat(consul.setKVValue(key, "1").getValue()).isTrue();
        long index = consul.getKVValue(key).getValue().getModifyIndex();

        PutParams atCurrent = new PutParams();
        atCurrent.setCas(index);
        assertThat(consul.setKVValue(key, "2", atCurrent).getValue()).isTrue();
        GetValue after = consul.getKVValue(key).getValue();
        assertThat(after.getDecodedValue()).isEqualTo("2");
        assertThat(after.getModifyIndex()).isGreaterThan(index);

        // The same (now stale) index loses, and changes nothing.
        assertThat(consul.setKVValue(key, "3", atCurrent).getValue()).isFalse();
        GetValue unchanged = consul.getKVValue(key).getValue();
        assertThat(unchanged.getDecodedValue()).isEqualTo("2");
        assertThat(unchanged.getModifyIndex()).isEqualTo(after.getModifyIndex());

        // cas=0 means "only if it does not exist yet".
        PutParams create = new PutParams();
        create.setCas(0L);
        assertThat(consul.setKVValue(key, "4", create).getValue()).isFalse();
        assertThat(consul.setKVValue("compat/cas/fresh", "new", create).getValue()).isTrue();
        assertThat(consul.getKVValue("compat/cas/fresh").getValue().getDecodedValue()).isEqualTo("new");

        // A non-zero cas on a missing key is a plain false, as in Consul, and creates nothing.
        PutParams onMissing = new PutParams();
        onMissing.setCas(123456L);
        assertThat(consul.setKVValue("compat/cas/missing", "x", onMissing).getValue()).isFalse();
        assertThat(consul.getKVValue("compat/cas/missing").getValue()).isNull();
    }

    @Test
    void blockingReadReturnsEarlyWhenTheKeyIsWritten() throws Exception {
        String key = "compat/watch/early";
        assertThat(consul.setKVValue(key, "before").getValue()).isTrue();
        Response<GetValue> first = consul.getKVValue(key);
        long index = first.getConsulIndex();

        CompletableFuture<Boolean> writer = CompletableFuture.supplyAsync(() -> {
            sleep(500);
            return new ConsulClient("127.0.0.1", agent.httpPort).setKVValue(key, "after").getValue();
        });
        long t0 = System.nanoTime();
        Response<GetValue> woken = consul.getKVValue(key, new QueryParams(20, index));
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        assertThat(writer.get(10, TimeUnit.SECONDS)).isTrue();
        assertThat(woken.getValue().getDecodedValue()).isEqualTo("after");
        assertThat(woken.getConsulIndex()).isGreaterThan(index);
        assertThat(elapsedMs).as("returned at the write, not at the 20 s wait").isGreaterThanOrEqualTo(300).isLessThan(10_000);
    }

    @Test
    void blockingReadReturnsAtTheWaitTimeWhenNothingChanges() {
        String key = "compat/watch/quiet";
        assertThat(consul.setKVValue(key, "still").getValue()).isTrue();
        long index = consul.getKVValue(key).getConsulIndex();

        long t0 = System.nanoTime();
        Response<GetValue> r = consul.getKVValue(key, new QueryParams(2, index));
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

        assertThat(elapsedMs).isGreaterThanOrEqualTo(1_900).isLessThan(6_000);
        assertThat(r.getConsulIndex()).isEqualTo(index);
        assertThat(r.getValue().getDecodedValue()).isEqualTo("still");
    }

    @Test
    void recurseAndKeysOnlyListAPrefix() {
        consul.setKVValue("compat/tree/a", "A");
        consul.setKVValue("compat/tree/b/c", "C");
        consul.setKVValue("compat/tree/b/d", "D");
        consul.setKVValue("compat/treeish", "not under compat/tree/");

        List<GetValue> values = consul.getKVValues("compat/tree/").getValue();
        assertThat(values).extracting(GetValue::getKey).containsExactly("compat/tree/a", "compat/tree/b/c", "compat/tree/b/d");
        assertThat(values).extracting(GetValue::getDecodedValue).containsExactly("A", "C", "D");

        assertThat(consul.getKVKeysOnly("compat/tree/").getValue())
                .containsExactly("compat/tree/a", "compat/tree/b/c", "compat/tree/b/d");
        assertThat(consul.getKVKeysOnly("compat/tree/", "/", null).getValue())
                .containsExactly("compat/tree/a", "compat/tree/b/");

        // An empty prefix: no values, no keys (404 in Consul, null to the client).
        assertThat(consul.getKVValues("compat/nothing-here/").getValue()).isNull();
        assertThat(consul.getKVKeysOnly("compat/nothing-here/").getValue()).isNull();
    }

    @Test
    void deleteOneKeyAndAWholePrefix() {
        consul.setKVValue("compat/del/one", "1");
        consul.setKVValue("compat/del/tree/x", "x");
        consul.setKVValue("compat/del/tree/y", "y");
        consul.setKVValue("compat/del/treeless", "stays");

        consul.deleteKVValue("compat/del/one");
        assertThat(consul.getKVValue("compat/del/one").getValue()).isNull();
        assertThat(consul.getKVValues("compat/del/tree/").getValue()).hasSize(2);

        consul.deleteKVValues("compat/del/tree/");
        assertThat(consul.getKVValues("compat/del/tree/").getValue()).isNull();
        assertThat(consul.getKVValue("compat/del/treeless").getValue().getDecodedValue()).isEqualTo("stays");

        // Deleting what is not there is fine.
        assertThat(consul.deleteKVValue("compat/del/one")).isNotNull();
    }

    // ------------------------------------------------------------------ catalog and health

    @Test
    void catalogRegistrationIsVisibleInCatalogAndHealth() {
        register("ext-1", "10.0.0.11", "web-1", "web", 8080, List.of("v1", "primary"), CatalogRegistration.CheckStatus.PASSING);
        register("ext-2", "10.0.0.12", "web-2", "web", 8081, List.of("v1"), CatalogRegistration.CheckStatus.CRITICAL);

        Map<String, List<String>> services = consul.getCatalogServices(QueryParams.DEFAULT).getValue();
        assertThat(services).containsKey("web");
        assertThat(services.get("web")).containsExactlyInAnyOrder("v1", "primary");

        List<CatalogService> web = consul.getCatalogService("web", QueryParams.DEFAULT).getValue();
        assertThat(web).extracting(CatalogService::getServiceId).containsExactlyInAnyOrder("web-1", "web-2");
        CatalogService one = web.stream().filter(s -> s.getServiceId().equals("web-1")).findFirst().orElseThrow();
        assertThat(one.getNode()).isEqualTo("ext-1");
        assertThat(one.getAddress()).isEqualTo("10.0.0.11");
        assertThat(one.getServiceName()).isEqualTo("web");
        assertThat(one.getServicePort()).isEqualTo(8080);
        assertThat(one.getServiceTags()).containsExactly("v1", "primary");
        assertThat(one.getDatacenter()).isNotBlank();
        assertThat(one.getCreateIndex()).isPositive();

        assertThat(consul.getCatalogService("web", "primary", QueryParams.DEFAULT).getValue())
                .extracting(CatalogService::getServiceId).containsExactly("web-1");

        List<HealthService> all = consul.getHealthServices("web", false, QueryParams.DEFAULT).getValue();
        assertThat(all).extracting(h -> h.getService().getId()).containsExactlyInAnyOrder("web-1", "web-2");
        HealthService critical = all.stream().filter(h -> h.getService().getId().equals("web-2")).findFirst().orElseThrow();
        assertThat(critical.getNode().getNode()).isEqualTo("ext-2");
        assertThat(critical.getService().getPort()).isEqualTo(8081);
        assertThat(critical.getChecks()).extracting(Check::getStatus).containsExactly(Check.CheckStatus.CRITICAL);
        assertThat(critical.getChecks()).extracting(Check::getServiceName).containsExactly("web");

        List<HealthService> passing = consul.getHealthServices("web", true, QueryParams.DEFAULT).getValue();
        assertThat(passing).extracting(h -> h.getService().getId()).containsExactly("web-1");
        assertThat(passing.get(0).getChecks()).extracting(Check::getStatus).containsExactly(Check.CheckStatus.PASSING);

        // Deregistering one service leaves the node; deregistering the node takes everything of it.
        CatalogDeregistration dropService = new CatalogDeregistration();
        dropService.setNode("ext-1");
        dropService.setServiceId("web-1");
        consul.catalogDeregister(dropService);
        assertThat(consul.getCatalogService("web", QueryParams.DEFAULT).getValue())
                .extracting(CatalogService::getServiceId).containsExactly("web-2");
        assertThat(consul.getCatalogNode("ext-1", QueryParams.DEFAULT).getValue().getNode().getAddress()).isEqualTo("10.0.0.11");

        CatalogDeregistration dropNode = new CatalogDeregistration();
        dropNode.setNode("ext-2");
        consul.catalogDeregister(dropNode);
        assertThat(consul.getCatalogService("web", QueryParams.DEFAULT).getValue()).isEmpty();
        assertThat(consul.getHealthServices("web", false, QueryParams.DEFAULT).getValue()).isEmpty();
        assertThat(consul.getCatalogServices(QueryParams.DEFAULT).getValue()).doesNotContainKey("web");

        CatalogDeregistration cleanup = new CatalogDeregistration();
        cleanup.setNode("ext-1");
        consul.catalogDeregister(cleanup);
    }

    private static void register(String node, String address, String id, String name, int port, List<String> tags,
                                 CatalogRegistration.CheckStatus status) {
        CatalogRegistration reg = new CatalogRegistration();
        reg.setNode(node);
        reg.setAddress(address);
        CatalogRegistration.Service svc = new CatalogRegistration.Service();
        svc.setId(id);
        svc.setService(name);
        svc.setPort(port);
        svc.setTags(tags);
        reg.setService(svc);
        CatalogRegistration.Check check = new CatalogRegistration.Check();
        check.setNode(node);
        check.setCheckId("check-" + id);
        check.setName(name + " health");
        check.setServiceId(id);
        check.setStatus(status);
        reg.setCheck(check);
        consul.catalogRegister(reg);
    }

    @Test
    void agentServiceWithTtlCheckReachesTheCatalogAndTurnsPassing() {
        NewService svc = new NewService();
        svc.setId("api-1");
        svc.setName("api");
        svc.setPort(9090);
        svc.setTags(List.of("blue"));
        NewService.Check ttl = new NewService.Check();
        ttl.setTtl("30s");
        svc.setCheck(ttl);
        consul.agentServiceRegister(svc);

        assertThat(consul.getAgentServices().getValue()).containsKey("api-1");
        assertThat(consul.getAgentServices().getValue().get("api-1").getService()).isEqualTo("api");
        assertThat(consul.getAgentChecks().getValue()).containsKey("service:api-1");

        // Anti-entropy copies the agent's service into the catalog; a TTL check starts critical.
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            List<HealthService> all = consul.getHealthServices("api", false, QueryParams.DEFAULT).getValue();
            assertThat(all).hasSize(1);
            assertThat(all.get(0).getNode().getNode()).isEqualTo(NODE);
            assertThat(all.get(0).getService().getPort()).isEqualTo(9090);
            assertThat(all.get(0).getChecks()).extracting(Check::getCheckId).contains("service:api-1", "serfHealth");
        });
        assertThat(consul.getHealthServices("api", true, QueryParams.DEFAULT).getValue()).isEmpty();

        consul.agentCheckPass("service:api-1", "all good");
        assertThat(consul.getAgentChecks().getValue().get("service:api-1").getStatus())
                .isEqualTo(com.ecwid.consul.v1.agent.model.Check.CheckStatus.PASSING);
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
            List<HealthService> passing = consul.getHealthServices("api", true, QueryParams.DEFAULT).getValue();
            assertThat(passing).hasSize(1);
            Check c = passing.get(0).getChecks().stream().filter(k -> k.getCheckId().equals("service:api-1")).findFirst().orElseThrow();
            assertThat(c.getStatus()).isEqualTo(Check.CheckStatus.PASSING);
            assertThat(c.getServiceId()).isEqualTo("api-1");
        });

        // Unknown check ids are refused by the client call.
        assertThatThrownBy(() -> consul.agentCheckPass("no-such-check"))
                .isInstanceOfSatisfying(OperationException.class, e -> assertThat(e.getStatusCode()).isEqualTo(404));

        consul.agentServiceDeregister("api-1");
        assertThat(consul.getAgentServices().getValue()).doesNotContainKey("api-1");
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).untilAsserted(() ->
                assertThat(consul.getHealthServices("api", false, QueryParams.DEFAULT).getValue()).isEmpty());
    }

    // ------------------------------------------------------------------ sessions and locks

    private static String newSession(String name) {
        NewSession s = new NewSession();
        s.setName(name);
        s.setTtl("10s");
        s.setLockDelay(0);
        String id = consul.sessionCreate(s, QueryParams.DEFAULT).getValue();
        assertThat(id).isNotBlank();
        return id;
    }

    @Test
    void sessionLifecycle() {
        String id = newSession("compat-lifecycle");

        Session info = consul.getSessionInfo(id, QueryParams.DEFAULT).getValue();
        assertThat(info).isNotNull();
        assertThat(info.getId()).isEqualTo(id);
        assertThat(info.getName()).isEqualTo("compat-lifecycle");
        assertThat(info.getNode()).isEqualTo(NODE);
        assertThat(info.getTtl()).isEqualTo("10s");
        assertThat(info.getLockDelay()).isZero();
        assertThat(info.getBehavior()).isEqualTo(Session.Behavior.RELEASE);
        assertThat(info.getChecks()).containsExactly("serfHealth");
        assertThat(info.getCreateIndex()).isPositive();

        assertThat(consul.getSessionList(QueryParams.DEFAULT).getValue()).extracting(Session::getId).contains(id);
        assertThat(consul.getSessionNode(NODE, QueryParams.DEFAULT).getValue()).extracting(Session::getId).contains(id);

        Session renewed = consul.renewSession(id, QueryParams.DEFAULT).getValue();
        assertThat(renewed.getId()).isEqualTo(id);
        assertThat(renewed.getTtl()).isEqualTo("10s");

        consul.sessionDestroy(id, QueryParams.DEFAULT);
        assertThat(consul.getSessionInfo(id, QueryParams.DEFAULT).getValue()).isNull();
        assertThat(consul.getSessionList(QueryParams.DEFAULT).getValue()).extracting(Session::getId).doesNotContain(id);
        assertThatThrownBy(() -> consul.renewSession(id, QueryParams.DEFAULT))
                .isInstanceOfSatisfying(OperationException.class, e -> assertThat(e.getStatusCode()).isEqualTo(404));
    }

    @Test
    void lockAcquireAndRelease() {
        String key = "compat/lock/leader";
        String s1 = newSession("compat-lock-1");
        String s2 = newSession("compat-lock-2");
        try {
            assertThat(consul.setKVValue(key, "held-by-1", acquire(s1)).getValue()).isTrue();
            GetValue held = consul.getKVValue(key).getValue();
            assertThat(held.getSession()).isEqualTo(s1);
            assertThat(held.getLockIndex()).isEqualTo(1L);
            assertThat(held.getDecodedValue()).isEqualTo("held-by-1");

            // The holder may re-acquire (and update the value); another session may not.
            assertThat(consul.setKVValue(key, "still-1", acquire(s1)).getValue()).isTrue();
            assertThat(consul.setKVValue(key, "held-by-2", acquire(s2)).getValue()).isFalse();
            GetValue still = consul.getKVValue(key).getValue();
            assertThat(still.getSession()).isEqualTo(s1);
            assertThat(still.getDecodedValue()).isEqualTo("still-1");
            assertThat(still.getLockIndex()).isEqualTo(1L);

            // Only the holder can release.
            assertThat(consul.setKVValue(key, "x", release(s2)).getValue()).isFalse();
            assertThat(consul.setKVValue(key, "released", release(s1)).getValue()).isTrue();
            GetValue free = consul.getKVValue(key).getValue();
            assertThat(free.getSession()).isNull();
            assertThat(free.getDecodedValue()).isEqualTo("released");

            assertThat(consul.setKVValue(key, "held-by-2", acquire(s2)).getValue()).isTrue();
            GetValue second = consul.getKVValue(key).getValue();
            assertThat(second.getSession()).isEqualTo(s2);
            assertThat(second.getLockIndex()).isEqualTo(2L);

            // Destroying the holder's session releases the lock (Behavior release keeps the key).
            consul.sessionDestroy(s2, QueryParams.DEFAULT);
            GetValue orphan = consul.getKVValue(key).getValue();
            assertThat(orphan).isNotNull();
            assertThat(orphan.getSession()).isNull();
            assertThat(orphan.getDecodedValue()).isEqualTo("held-by-2");

            assertThat(consul.getSessionList(QueryParams.DEFAULT).getValue()).extracting(Session::getId).contains(s1).doesNotContain(s2);
        } finally {
            consul.sessionDestroy(s1, QueryParams.DEFAULT);
            consul.sessionDestroy(s2, QueryParams.DEFAULT);
        }
    }

    private static PutParams acquire(String session) {
        PutParams p = new PutParams();
        p.setAcquireSession(session);
        return p;
    }

    private static PutParams release(String session) {
        PutParams p = new PutParams();
        p.setReleaseSession(session);
        return p;
    }

    // ------------------------------------------------------------------ status

    @Test
    void statusLeaderAndPeers() {
        String leader = consul.getStatusLeader().getValue();
        assertThat(leader).isNotBlank().startsWith("127.0.0.1:");
        assertThat(consul.getStatusPeers().getValue()).containsExactly(leader);
        assertThat(consul.getCatalogDatacenters().getValue()).hasSize(1);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}

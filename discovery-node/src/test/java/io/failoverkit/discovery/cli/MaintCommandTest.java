package io.failoverkit.discovery.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.Main;
import io.failoverkit.discovery.testing.DevAgent;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** {@code discovery-node maint} against a real agent: what it does shows in /v1/health, as Consul's does. */
class MaintCommandTest {
    private record Run(int code, String out, String err) {}

    private static Run run(DevAgent a, String... args) {
        var cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        String[] all = new String[args.length + 2];
        all[0] = "maint";
        all[1] = "-http-addr=127.0.0.1:" + a.httpPort;
        System.arraycopy(args, 0, all, 2, args.length);
        return new Run(cl.execute(all), out.toString(), err.toString());
    }

    private static JsonNode check(DevAgent a, String path, String checkId) {
        for (JsonNode c : a.http.get(path).json()) if (c.get("CheckID").asText().equals(checkId)) return c;
        return null;
    }

    @Test
    void enableAndDisableShowInHealthAndTheListing() throws Exception {
        try (DevAgent a = DevAgent.start("maint-1")) {
            assertThat(a.http.put("/v1/agent/service/register", "{\"ID\":\"web-1\",\"Name\":\"web\",\"Port\":8080}").status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(30)).until(() -> a.http.get("/v1/health/service/web?passing").json().size() == 1);
            Run none = run(a);
            assertThat(none.code()).isZero();
            assertThat(none.out()).isEmpty();

            Run svc = run(a, "-enable", "-service", "web-1", "-reason", "disk swap; rm -rf / $(x)");
            assertThat(svc.code()).as(svc.err()).isZero();
            assertThat(svc.out()).contains("Service maintenance is now enabled for \"web-1\"");
            await().atMost(Duration.ofSeconds(30)).until(() -> a.http.get("/v1/health/service/web?passing").json().isEmpty());
            JsonNode sc = check(a, "/v1/health/checks/web", "_service_maintenance:web-1");
            assertThat(sc).isNotNull();
            assertThat(sc.get("Status").asText()).isEqualTo("critical");
            assertThat(sc.get("Notes").asText()).as("the reason arrives as it was typed").isEqualTo("disk swap; rm -rf / $(x)");

            Run node = run(a, "-enable");
            assertThat(node.code()).isZero();
            assertThat(node.out()).contains("Node maintenance is now enabled");
            await().atMost(Duration.ofSeconds(30)).until(() -> check(a, "/v1/health/node/maint-1", "_node_maintenance") != null);
            JsonNode nc = check(a, "/v1/health/node/maint-1", "_node_maintenance");
            assertThat(nc.get("Status").asText()).isEqualTo("critical");
            assertThat(nc.get("Notes").asText()).isEqualTo("Maintenance mode is enabled for this node, but no reason was provided. This is a default message.");
            assertThat(a.http.get("/v1/health/state/critical").json().findValuesAsText("CheckID")).contains("_node_maintenance", "_service_maintenance:web-1");

            Run list = run(a);
            assertThat(list.code()).isZero();
            assertThat(list.out()).contains("Node:\n  Name:   maint-1\n  Reason: Maintenance mode is enabled for this node")
                    .contains("Service:\n  ID:     web-1\n  Reason: disk swap; rm -rf / $(x)");

            assertThat(run(a, "-disable").out()).contains("Node maintenance is now disabled");
            Run off = run(a, "-disable", "-service", "web-1");
            assertThat(off.code()).isZero();
            assertThat(off.out()).contains("Service maintenance is now disabled for \"web-1\"");
            await().atMost(Duration.ofSeconds(30)).until(() -> a.http.get("/v1/health/service/web?passing").json().size() == 1);
            await().atMost(Duration.ofSeconds(30)).until(() -> check(a, "/v1/health/node/maint-1", "_node_maintenance") == null);
            assertThat(run(a).out()).isEmpty();
        }
    }

    @Test
    void anUnknownServiceIsAnErrorAndBadFlagsAreUsageErrors() throws Exception {
        try (DevAgent a = DevAgent.start("maint-2")) {
            Run r = run(a, "-enable", "-service", "nope");
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err().strip()).isEqualTo("Error enabling service maintenance: Unexpected response code: 404 (No service registered with ID \"nope\")");
            assertThat(run(a, "-enable", "-disable").code()).isEqualTo(64);
            assertThat(run(a, "-reason", "x").code()).isEqualTo(64);
            assertThat(run(a, "-disable", "-reason", "x").code()).isEqualTo(64);
            assertThat(run(a, "-service", "web").code()).isEqualTo(64);
            assertThat(run(a, "extra").code()).isEqualTo(64);
            // The endpoint itself answers as Consul's.
            assertThat(a.http.put("/v1/agent/maintenance", (String) null).body()).contains("Missing value for enable");
            assertThat(a.http.put("/v1/agent/maintenance?enable=yes", (String) null).body()).contains("Invalid value for enable: \"yes\"");
            assertThat(a.http.put("/v1/agent/maintenance?enable=1&reason=r1", (String) null).status()).isEqualTo(200);
            assertThat(a.http.put("/v1/agent/maintenance?enable=true&reason=r2", (String) null).status()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(30)).until(() -> check(a, "/v1/health/node/maint-2", "_node_maintenance") != null);
            assertThat(check(a, "/v1/health/node/maint-2", "_node_maintenance").get("Notes").asText()).as("enabling again keeps the first reason").isEqualTo("r1");
        }
    }
}

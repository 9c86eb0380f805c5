package io.failoverkit.discovery.http;

import io.failoverkit.discovery.testing.DevAgent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 15: the web UI is served by the agent from its jar at /ui/: deep links get the page, assets their types,
 * nothing else leaks out of the classpath, and the page refers to nothing outside the agent.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class UiEndpointTest {
    private static DevAgent agent;
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        agent = DevAgent.start("ui-node");
    }

    @AfterAll
    static void stop() {
        if (agent != null) agent.close();
    }

    static HttpResponse<String> get(String path) throws Exception {
        return send("GET", path);
    }

    static HttpResponse<String> send(String method, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://" + agent.address() + path))
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void everyRouteIsLoadableDirectlyAndGetsThePage() throws Exception {
        for (String route : new String[]{"/ui/", "/ui/services", "/ui/nodes", "/ui/kv/", "/ui/kv/a/b/c", "/ui/clusters/drill-redis", "/ui/sessions"}) {
            HttpResponse<String> r = get(route);
            assertThat(r.statusCode()).as(route).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).as(route).hasValue("text/html; charset=utf-8");
            assertThat(r.body()).as(route).contains("<script type=\"module\" src=\"/ui/assets/app.js\">");
            assertThat(r.headers().firstValue("Content-Security-Policy").orElse("")).contains("default-src 'none'", "connect-src 'self'");
        }
        HttpResponse<String> bare = get("/ui");
        assertThat(bare.statusCode()).isEqualTo(301);
        assertThat(bare.headers().firstValue("Location")).hasValue("/ui/");
    }

    @Test
    void everyAssetThePageImportsIsServedWithItsTypeAndNothingComesFromElsewhere() throws Exception {
        // Follow the module graph from the page: every import must be served from /ui/assets/, none from another origin.
        java.util.Deque<String> todo = new java.util.ArrayDeque<>(java.util.List.of("app.js", "style.css"));
        java.util.Set<String> seen = new java.util.HashSet<>();
        Pattern imports = Pattern.compile("from '\\./([A-Za-z0-9_.-]+)'");
        while (!todo.isEmpty()) {
            String name = todo.pop();
            if (!seen.add(name)) continue;
            HttpResponse<String> r = get("/ui/assets/" + name);
            assertThat(r.statusCode()).as(name).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type").orElse("")).as(name)
                    .startsWith(name.endsWith(".js") ? "text/javascript" : "text/css");
            assertThat(r.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
            assertThat(r.body()).as(name + " loads nothing from elsewhere").doesNotContain("http://", "https://", "//cdn");
            Matcher m = imports.matcher(r.body());
            while (m.find()) todo.add(m.group(1));
        }
        assertThat(seen).contains("api.js", "overview.js", "cluster.js", "nodes.js", "services.js", "kv.js", "sessions.js");
    }

    @Test
    void aMissingAssetIsA404AndNoPathLeavesTheAssetsFolder() throws Exception {
        assertThat(get("/ui/assets/nope.js").statusCode()).isEqualTo(404);
        // A dot-segment is resolved before routing: at most it reaches the page (a route), never another resource.
        for (String sneaky : new String[]{"/ui/assets/../index.html", "/ui/assets/%2e%2e/%2e%2e/io/failoverkit/discovery/http/UiEndpoint.class",
                "/ui/assets/..%2f..%2fio/failoverkit/discovery/http/UiEndpoint.class", "/ui/assets/%2e%2e%2fui%2findex.html"}) {
            HttpResponse<String> r = get(sneaky);
            if (r.statusCode() == 200) assertThat(r.headers().firstValue("Content-Type")).as(sneaky).hasValue("text/html; charset=utf-8");
            else assertThat(r.statusCode()).as(sneaky).isIn(400, 404);
        }
        assertThat(get("/ui/assets/").statusCode()).isEqualTo(404);
        HttpResponse<String> post = send("POST", "/ui/");
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("Allow")).hasValue("GET, HEAD");
        assertThat(get("/v1/nope").statusCode()).as("the API's own 404s are unchanged").isEqualTo(404);
    }
}

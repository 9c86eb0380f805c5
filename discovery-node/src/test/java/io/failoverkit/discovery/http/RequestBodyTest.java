package io.failoverkit.discovery.http;

import io.failoverkit.discovery.testing.DevAgent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A request body is read at its Content-Length when it has one, and in chunks up to the limit when it does not
 * (chunked transfer encoding): both give the same value, and both refuse a body over the 512 KiB limit with 413 and
 * nothing written. The KV write's answer (true/false) is JSON either way.
 */
class RequestBodyTest {
    private static DevAgent agent;
    private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @BeforeAll
    static void start() throws Exception {
        agent = DevAgent.start("body-node");
    }

    @AfterAll
    static void stop() {
        if (agent != null) agent.close();
    }

    /** A PUT whose body has no declared length: the JDK client sends it chunked. */
    private static HttpResponse<String> putChunked(String path, byte[] body) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://" + agent.address() + path))
                .timeout(Duration.ofSeconds(30))
                .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body)))
                .build();
        return CLIENT.send(req, HttpResponse.BodyHandlers.ofString());
    }

    private static byte[] filled(int n, char c) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) c);
        return b;
    }

    @Test
    void aChunkedBodyIsReadWholeAndTheSameAsWithAContentLength() throws Exception {
        byte[] value = filled(100_000, 'x');
        HttpResponse<String> chunked = putChunked("/v1/kv/body/chunked", value);
        assertThat(chunked.statusCode()).isEqualTo(200);
        assertThat(chunked.body()).isEqualTo("true");
        assertThat(chunked.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(agent.http.get("/v1/kv/body/chunked?raw").body()).isEqualTo(new String(value));

        var sized = agent.http.put("/v1/kv/body/sized", value);
        assertThat(sized.status()).isEqualTo(200);
        assertThat(sized.body()).isEqualTo("true");
        assertThat(agent.http.get("/v1/kv/body/sized?raw").body()).isEqualTo(new String(value));

        // An empty body: an empty value (Consul returns null for it).
        assertThat(putChunked("/v1/kv/body/empty", new byte[0]).statusCode()).isEqualTo(200);
        assertThat(agent.http.get("/v1/kv/body/empty").json().get(0).get("Value").isNull()).isTrue();
        // A CAS that fails still answers JSON false.
        var casMiss = agent.http.put("/v1/kv/body/sized?cas=1", "v");
        assertThat(casMiss.status()).isEqualTo(200);
        assertThat(casMiss.body()).isEqualTo("false");
    }

    @Test
    void aChunkedBodyOverTheLimitIsRefusedAndNothingIsWritten() throws Exception {
        HttpResponse<String> atLimit = putChunked("/v1/kv/body/at-limit", filled(Call.MAX_BODY, 'a'));
        assertThat(atLimit.statusCode()).isEqualTo(200);
        assertThat(agent.http.get("/v1/kv/body/at-limit?raw").body()).hasSize(Call.MAX_BODY);

        HttpResponse<String> over = putChunked("/v1/kv/body/over", filled(Call.MAX_BODY + 1, 'b'));
        assertThat(over.statusCode()).isEqualTo(413);
        assertThat(agent.http.get("/v1/kv/body/over").status()).isEqualTo(404);
        // and the value at the limit is unchanged by a refused overwrite
        assertThat(putChunked("/v1/kv/body/at-limit", filled(Call.MAX_BODY + 1, 'c')).statusCode()).isEqualTo(413);
        assertThat(agent.http.get("/v1/kv/body/at-limit?raw").body()).startsWith("aaa").hasSize(Call.MAX_BODY);
    }
}

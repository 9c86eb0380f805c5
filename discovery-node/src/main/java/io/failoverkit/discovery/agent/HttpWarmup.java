package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.cluster.Member;
import io.failoverkit.discovery.state.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;

/**
 * Runs, once at start and on a background thread, the code a client agent first needs when it joins a pool: the JDK
 * HTTP client with which its anti-entropy asks a server for the node's catalog entry (two GETs of its own HTTP API,
 * the same requests, read and parsed as anti-entropy reads them: the client, the connection, this agent's routing and
 * JSON), and the {@link Member} record's equality and hash (the members endpoint's cache compares members on every
 * change; a record's first equals links its method handles).
 *
 * <p>Why: the first use of the JDK HTTP client loads, links and initialises a few hundred classes. Without this it
 * happened inside the join: every client agent syncs with the server it has just learned of, so in a mass join of
 * 30 agents on two cores (bench/gossip.sh) all 29 clients paid it at the same moment, and their JVMs' class loading
 * and call-site linking was about a quarter of the CPU samples of the join window (JFR, bench/gossip/jfr_window.py).
 * Nothing is written: the requests are reads (answered with an error on a client that knows no server yet, which
 * warms the same code). System property failoverkit.agent.warmup=false switches it off.
 */
final class HttpWarmup {
    private static final Logger LOG = LoggerFactory.getLogger(HttpWarmup.class);
    static final String PROPERTY = "failoverkit.agent.warmup";

    private HttpWarmup() {}

    /** Starts the warm-up thread, unless switched off. {@code base}: this agent's HTTP API (http://host:port). */
    static void start(HttpClient http, String base, String node, Supplier<Member> self) {
        if ("false".equals(System.getProperty(PROPERTY))) return;
        Thread.ofPlatform().daemon().name("agent-warmup").start(() -> run(http, base, node, self));
    }

    /** Runs the warm-up on the calling thread; returns how many of the requests were answered (any status). */
    static int run(HttpClient http, String base, String node, Supplier<Member> self) {
        long start = System.nanoTime();
        try {
            Member m = self.get();
            if (m != null) LOG.debug("warm-up: own member unchanged: {}", m.equals(self.get()) && m.hashCode() == self.get().hashCode());
        } catch (RuntimeException e) {
            LOG.debug("warm-up: member: {}", e.toString());
        }
        int answered = 0;
        for (String path : List.of("/v1/catalog/node/" + node + "?stale", "/v1/health/node/" + node + "?stale")) {
            try {
                HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(5)).GET().build(),
                        HttpResponse.BodyHandlers.ofByteArray());
                answered++;
                if (r.statusCode() == 200) Json.MAPPER.readTree(r.body());
            } catch (IOException | RuntimeException e) {
                LOG.debug("warm-up: GET {}: {}", path, e.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return answered;
            }
        }
        LOG.debug("HTTP client warm-up done in {} ms", (System.nanoTime() - start) / 1_000_000);
        return answered;
    }
}

package io.failoverkit.discovery.agent;

import com.sun.net.httpserver.HttpServer;
import io.failoverkit.discovery.config.Definitions;
import io.failoverkit.discovery.state.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.random.RandomGenerator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A client agent's first catalog sync after a server appears waits a random stagger, as Consul's agent waits up to
 * serverUpIntv (3 s, scaled above 128 members) after a server joins; a server lost and found again staggers again.
 * Only lower bounds on time are asserted (a loaded machine makes things late, never early).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AntiEntropyStaggerTest {
    /** Every request the fake server got: System.nanoTime() and path. */
    private final List<long[]> hits = new CopyOnWriteArrayList<>();
    private final List<String> paths = new CopyOnWriteArrayList<>();
    private final List<String> bodies = new CopyOnWriteArrayList<>();
    private final LocalState local = new LocalState();
    private HttpServer server;
    private final AtomicReference<Optional<String>> known = new AtomicReference<>(Optional.empty());
    private AntiEntropy ae;

    @BeforeEach
    void fakeServer() throws Exception {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            hits.add(new long[] {System.nanoTime()});
            paths.add(ex.getRequestURI().getPath());
            bodies.add(new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
            String path = ex.getRequestURI().getPath();
            byte[] b = (path.startsWith("/v1/catalog/node/") ? "{\"Node\":{\"Node\":\"n1\",\"Meta\":{}},\"Services\":{}}"
                    : path.startsWith("/v1/health/node/") ? "[]" : "true").getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        server.start();
        local.addService(Definitions.service(Json.MAPPER.readTree("{\"ID\":\"s1\",\"Name\":\"s\",\"Port\":80}")), LocalState.Source.API);
        ae = new AntiEntropy(local, "n1", "id-1", "127.0.0.1", known::get);
    }

    @AfterEach
    void stop() {
        ae.close();
        server.stop(0);
    }

    /** A generator whose nextLong(bound) is always that fraction of the bound. */
    private static RandomGenerator fraction(double f) {
        return new RandomGenerator() {
            @Override public long nextLong() { return 0; }
            @Override public long nextLong(long bound) { return (long) (bound * f); }
        };
    }

    private String url() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    @Test
    void theFirstSyncAfterAServerAppearsWaitsTheStaggerThenHappensWithoutAnotherTick() {
        ae.staggerAfterServerUp(Duration.ofMillis(2000), () -> 3, fraction(0.75)); // 1.5 s
        ae.tick(); // no server known: nothing
        long appeared = System.nanoTime();
        known.set(Optional.of(url()));
        ae.tick(); // starts the stagger; no request yet
        // No further tick: the pusher thread syncs when the stagger ends (Consul syncs then, not at a later round).
        await().atMost(Duration.ofSeconds(30)).until(() -> paths.contains("/v1/catalog/register"));
        assertThat(hits.get(0)[0] - appeared).isGreaterThanOrEqualTo(Duration.ofMillis(1500).toNanos());
    }

    /** A generator whose nextLong(bound) gives these values in turn (then the last again), whatever the bound. */
    private static RandomGenerator draws(Duration... values) {
        java.util.Iterator<Duration> it = List.of(values).iterator();
        return new RandomGenerator() {
            Duration last = values[values.length - 1];
            @Override public long nextLong() { return 0; }
            @Override public long nextLong(long bound) { return (it.hasNext() ? (last = it.next()) : last).toNanos(); }
        };
    }

    @Test
    void aServiceAddedDuringTheStaggerGoesInTheSyncAfterItAndAServerLostAndFoundStaggersAgain() throws Exception {
        ae.staggerAfterServerUp(Duration.ofSeconds(3), () -> 3, draws(Duration.ofMillis(300), Duration.ofSeconds(60)));
        long appeared = System.nanoTime();
        known.set(Optional.of(url()));
        ae.tick();
        local.addService(Definitions.service(Json.MAPPER.readTree("{\"ID\":\"s2\",\"Name\":\"late\",\"Port\":81}")), LocalState.Source.API);
        await().atMost(Duration.ofSeconds(30)).until(() -> bodies.stream().anyMatch(b -> b.contains("\"late\"")));
        assertThat(hits.get(0)[0] - appeared).isGreaterThanOrEqualTo(Duration.ofMillis(300).toNanos());
        assertThat(bodies).anyMatch(b -> b.contains("\"s1\""));

        // Every server gone, then one back: a new stagger (60 s here), during which nothing is sent, changes or not.
        known.set(Optional.empty());
        ae.tick();
        known.set(Optional.of(url()));
        ae.tick();
        local.addService(Definitions.service(Json.MAPPER.readTree("{\"ID\":\"s3\",\"Name\":\"later\",\"Port\":82}")), LocalState.Source.API);
        Thread.sleep(1500);
        ae.tick();
        // (a sync of the first round still finishing read the services before s3 was added)
        assertThat(bodies).noneMatch(b -> b.contains("\"later\""));
    }

    @Test
    void aServerThatComesAndGoesDuringTheStaggerDoesNotDrawItAgain() {
        // First draw 1 s; any later draw 60 s: were the stagger drawn again on each return, nothing would be sent in
        // the 30 s this test waits.
        ae.staggerAfterServerUp(Duration.ofSeconds(3), () -> 3, draws(Duration.ofSeconds(1), Duration.ofSeconds(60)));
        long appeared = System.nanoTime();
        known.set(Optional.of(url()));
        ae.tick();
        for (int i = 0; i < 3; i++) {
            known.set(Optional.empty());
            ae.tick();
            known.set(Optional.of(url()));
            ae.tick();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> paths.contains("/v1/catalog/register"));
        assertThat(hits.get(0)[0] - appeared).isGreaterThanOrEqualTo(Duration.ofSeconds(1).toNanos());
    }

    @Test
    void withoutAStaggerTheFirstSyncIsImmediate() {
        known.set(Optional.of(url()));
        ae.tick();
        assertThat(paths).contains("/v1/catalog/register"); // tick syncs on the calling thread
    }

    @Test
    void theStaggerScalesAsConsulsAboveOneHundredTwentyEightMembers() {
        assertThat(AntiEntropy.scaleFactor(1)).isEqualTo(1);
        assertThat(AntiEntropy.scaleFactor(128)).isEqualTo(1);
        assertThat(AntiEntropy.scaleFactor(129)).isEqualTo(2);
        assertThat(AntiEntropy.scaleFactor(256)).isEqualTo(2);
        assertThat(AntiEntropy.scaleFactor(257)).isEqualTo(3);
        assertThat(AntiEntropy.scaleFactor(10_000)).isEqualTo(8);
    }
}

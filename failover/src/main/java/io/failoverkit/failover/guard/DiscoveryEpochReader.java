package io.failoverkit.failover.guard;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryTls;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Reads {@code failover/<cluster>/epoch} with {@code ?consistent} (the leader confirms its leadership before
 * answering, so a server cut off from the quorum cannot answer from stale state) from every given discovery address
 * at once: the local agent, or the servers. The first answer wins; the whole read is bounded by the timeout, which is
 * far shorter than {@code DiscoveryClient}'s, because an answer that comes late is worth nothing to the guard.
 */
public final class DiscoveryEpochReader implements Guard.EpochSource {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final List<String> bases;
    private final String key;
    private final Duration timeout;
    private final HttpClient http;
    private final String token;

    public DiscoveryEpochReader(List<String> addresses, String cluster, Duration timeout) {
        this(addresses, cluster, timeout, io.failoverkit.failover.discovery.DiscoveryAddress.tokenFromEnvironment());
    }

    /** {@code token}: sent as X-Consul-Token on every read (null: none); TLS from Consul's variables ({@link DiscoveryTls}). */
    public DiscoveryEpochReader(List<String> addresses, String cluster, Duration timeout, String token) {
        this(addresses, cluster, timeout, token, DiscoveryTls.fromEnvironment());
    }

    /**
     * With the TLS settings {@code tls} for the https addresses (one SSL context for all of them: the servers of one
     * cluster share a CA and the client certificate).
     */
    public DiscoveryEpochReader(List<String> addresses, String cluster, Duration timeout, String token, DiscoveryTls tls) {
        this.token = token == null || token.isBlank() ? null : token;
        if (addresses.isEmpty()) throw new IllegalArgumentException("at least one discovery address is needed");
        this.bases = addresses.stream().map(tls::baseUrl).toList();
        this.key = ClusterDefinition.kvPrefix(cluster) + "epoch";
        this.timeout = timeout;
        HttpClient.Builder b = HttpClient.newBuilder();
        if (bases.stream().anyMatch(u -> u.startsWith("https://"))) b.sslContext(tls.context());
        this.http = b.connectTimeout(timeout).build();
    }

    @Override
    public EpochView read() {
        CompletableFuture<EpochView> first = new CompletableFuture<>();
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        AtomicInteger pending = new AtomicInteger(bases.size());
        for (String base : bases) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/v1/kv/" + key + "?consistent")).timeout(timeout).GET();
            if (token != null) b.header("X-Consul-Token", token);
            HttpRequest req = b.build();
            http.sendAsync(req, HttpResponse.BodyHandlers.ofString()).whenComplete((r, e) -> {
                String failure = null;
                if (e != null) {
                    failure = base + ": " + describe(e);
                } else {
                    try {
                        EpochView v = parse(r.statusCode(), r.body(), base);
                        if (v != null) first.complete(v);
                        else failure = base + ": HTTP " + r.statusCode() + " " + firstLine(r.body());
                    } catch (RuntimeException | java.io.IOException ex) {
                        failure = base + ": unreadable answer: " + ex.getMessage();
                    }
                }
                if (failure != null) failures.add(failure);
                if (pending.decrementAndGet() == 0) first.complete(new EpochView.Unconfirmed(String.join("; ", failures)));
            });
        }
        try {
            return first.get(timeout.toMillis() + 20, TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            return new EpochView.Unconfirmed("no discovery server answered within " + timeout.toMillis() + " ms " + bases
                    + (failures.isEmpty() ? "" : " (" + String.join("; ", failures) + ")"));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new EpochView.Unconfirmed("interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            return new EpochView.Unconfirmed(describe(e.getCause()));
        }
    }

    /** Pure: a KV answer as an epoch view; null when the status is no answer at all (5xx: no leader, no quorum). */
    static EpochView parse(int status, String body, String via) throws java.io.IOException {
        if (status == 404) return new EpochView.None(via);
        if (status != 200) return null;
        JsonNode entry = JSON.readTree(body).get(0);
        if (entry == null || !entry.path("Value").isTextual()) return new EpochView.Names(0, null, via);
        JsonNode doc = JSON.readTree(new String(Base64.getDecoder().decode(entry.get("Value").asText()), StandardCharsets.UTF_8));
        return new EpochView.Names(doc.path("epoch").asLong(), doc.path("master").asText(null), via);
    }

    private static String describe(Throwable e) {
        Throwable t = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
        String tlsProblem = DiscoveryTls.explain(t);
        if (tlsProblem != null) return tlsProblem;
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : " " + t.getMessage());
    }

    private static String firstLine(String s) {
        String t = s == null ? "" : s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }
}

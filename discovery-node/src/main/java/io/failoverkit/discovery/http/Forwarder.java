package io.failoverkit.discovery.http;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.Flow;

/**
 * Passes a call on to another agent's HTTP API (a client agent to a server, a follower to the leader) and relays
 * the answer. Asynchronous, so a forwarded blocking query holds no thread here either.
 */
final class Forwarder {
    static final String FORWARDED_HEADER = "X-Failoverkit-Forwarded";
    /** The header's value on a client agent's hop to a server, which may still pass the call on to the leader. */
    static final String FROM_CLIENT_AGENT = "client";
    /** The address of the client that made the request, set by the first hop (the audit log's forwarded_for). */
    static final String SOURCE_HEADER = "X-Failoverkit-Source";
    private static final List<String> RELAYED_HEADERS = List.of("X-Consul-Index", "X-Consul-KnownLeader", "X-Consul-LastContact",
            "X-Consul-Effective-Consistency", "Content-Type", "X-Content-Type-Options", "Content-Security-Policy", Permissions.FILTERED_HEADER);
    /** The headers a request's token may travel in: passed on as they came, so the next hop resolves the same token. */
    private static final List<String> TOKEN_HEADERS = List.of("X-Consul-Token", "Authorization");
    /** This agent's {@code acl.tokens.default} (null when unset): sent for a request that carries no token, as Consul's agents do. */
    private final java.util.function.Supplier<String> defaultToken;
    private final HttpClient http;

    /** {@code client}: the agent's (with its TLS, so an agent that serves only HTTPS is reached over HTTPS). */
    Forwarder(java.util.function.Supplier<String> defaultToken, HttpClient.Builder client) {
        this(defaultToken, client, CONNECT_TIMEOUT);
    }

    /** Tests: another connect timeout. */
    Forwarder(java.util.function.Supplier<String> defaultToken, HttpClient.Builder client, Duration connectTimeout) {
        this.defaultToken = defaultToken;
        // One client for every forwarded call: HTTP/1.1 kept alive, its connections pooled per target (AgentTls).
        this.http = client.connectTimeout(connectTimeout)
                .executor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor())
                .build();
    }

    /** A target is a base URL (http://host:port, https://host:port) or, as before, a bare host:port meaning http. */
    static String baseUrl(String target) {
        return target.contains("://") ? target : "http://" + target;
    }

    void forward(Call call, Optional<String> target, String pathWithPrefix, byte[] body) {
        forward(call, target, pathWithPrefix, body, "1");
    }

    /** As {@link #forward(Call, Optional, String, byte[])}, marking the hop as {@code hop} (see {@link #FROM_CLIENT_AGENT}). */
    void forward(Call call, Optional<String> target, String pathWithPrefix, byte[] body, String hop) {
        forward(call, target, pathWithPrefix, body, hop, false);
    }

    /** As {@link #forward(Call, Optional, String, byte[], String)}; a {@code joinable} request may share one relayed ({@link #relay}). */
    void forward(Call call, Optional<String> target, String pathWithPrefix, byte[] body, String hop, boolean joinable) {
        if (target.isEmpty()) {
            call.text(500, "No known Consul servers (this agent has not joined a cluster with a server yet)");
            return;
        }
        String query = call.rawQuery();
        URI uri = URI.create(baseUrl(target.get()) + pathWithPrefix + (query == null || query.isEmpty() ? "" : "?" + query));
        HttpRequest.Builder req = HttpRequest.newBuilder(uri)
                .timeout(ServerSide.MAX_WAIT.plusMinutes(1))
                .method(call.method, body == null || body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        req.header(FORWARDED_HEADER, hop);
        boolean carriesToken = call.param("token") != null && !call.param("token").isBlank();
        for (String h : TOKEN_HEADERS) {
            String v = call.header(h);
            if (v != null && !v.isBlank()) {
                req.header(h, v);
                carriesToken = true;
            }
        }
        String dflt = defaultToken.get();
        if (!carriesToken && dflt != null && !call.forwarded()) req.header("X-Consul-Token", dflt);
        String source = call.forwarded() ? call.header(SOURCE_HEADER) : call.remoteAddress();
        if (source != null) req.header(SOURCE_HEADER, source);
        String ct = call.header("Content-Type");
        if (ct != null) req.header("Content-Type", ct);
        relay(req.build(), joinable && call.method.equals("GET") && (body == null || body.length == 0)).whenComplete((resp, err) -> {
            if (err != null) {
                call.text(500, "forwarding to " + target.get() + " failed: " + ServerSide.rootMessage(err));
                return;
            }
            for (String h : RELAYED_HEADERS) resp.headers().firstValue(h).ifPresent(v -> call.header(h, v));
            call.send(resp.status(), resp.body(), resp.headers().firstValue("Content-Type").orElse(null));
        });
    }

    /** What the next hop answered. */
    record Answer(int status, HttpHeaders headers, byte[] body) {}

    /** Blocking queries relayed now, by the request sent on: identical ones share one. */
    private final java.util.concurrent.ConcurrentHashMap<RelayKey, Relayed> relaying = new java.util.concurrent.ConcurrentHashMap<>();

    /** A relayed request's answer to come, and when it was sent (System.nanoTime). */
    private record Relayed(CompletableFuture<Answer> answer, long sentAt) {}

    /**
     * How long after it was sent a relayed query may still be joined: the watchers one change wakes re-park within
     * it; a later request goes on its own (so an answer in transit long, or a stalled one, is not handed on and on).
     */
    static final long JOIN_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(1);
    long joinWindowNanos = JOIN_WINDOW_NANOS;
    private volatile java.util.concurrent.atomic.LongAdder joined = new java.util.concurrent.atomic.LongAdder();

    /** A relayed request as the next hop sees it: its method, URI and the headers sent (the token among them) but the source. */
    private record RelayKey(String method, URI uri, java.util.Map<String, List<String>> headers) {}

    /** Counts, in {@code m}, the blocking queries that joined an identical one being relayed, and the connects retried. */
    void metrics(io.failoverkit.discovery.metrics.Metrics m) {
        joined = m.eventCounter("failoverkit.http.forwarded.joined", java.util.Map.of());
        connectRetries = m.eventCounter("failoverkit.http.forwarded.connect_retries", java.util.Map.of());
    }

    /**
     * Sends the request on, or joins an identical blocking query being relayed now (same URI, same headers: the same
     * index, wait, parameters and token): the watchers one change woke re-park together with the same index, and each
     * was relayed and its whole answer held here on its own (a follower relaying a third of 5,000 watchers spent 8-9 s
     * of a minute in GC pauses of up to 0.7 s, copying those answers: bench/scale.sh). The joiner gets the answer of a
     * query with the same index that another caller asked first (sent then, or, when its connect timed out, once more
     * a moment later): an answer past that index, or one at the end of the wait, which
     * a blocking query may return early (the client asks again). Only {@code joinable} requests are joined (the
     * caller decides: blocking queries of a route that blocks, without ?consistent, with ACLs off), and only within
     * {@link #JOIN_WINDOW_NANOS} of the first one's sending; other reads and all writes go on their own.
     */
    CompletableFuture<Answer> relay(HttpRequest request, boolean joinable) {
        if (!joinable || joinWindowNanos <= 0) return exchange(request);
        // The client's address (for the audit log, which records no read) is the one header that may differ.
        java.util.TreeMap<String, List<String>> headers = new java.util.TreeMap<>();
        request.headers().map().forEach((name, values) -> {
            if (!name.equalsIgnoreCase(SOURCE_HEADER)) headers.put(name.toLowerCase(java.util.Locale.ROOT), values);
        });
        RelayKey key = new RelayKey(request.method(), request.uri(), headers);
        long now = System.nanoTime();
        Relayed mine = new Relayed(new CompletableFuture<>(), now);
        Relayed running = relaying.compute(key, (k, r) -> r != null && now - r.sentAt() < joinWindowNanos ? r : mine);
        if (running != mine) {
            joined.increment();
            return running.answer().copy();
        }
        CompletableFuture<Answer> sent;
        try {
            sent = exchange(request);
        } catch (Throwable e) {
            sent = CompletableFuture.failedFuture(e);
        }
        sent.whenComplete((a, err) -> {
            relaying.remove(key, mine);
            if (err != null) mine.answer().completeExceptionally(err);
            else mine.answer().complete(a);
        });
        return mine.answer().copy();
    }

    /** Tests: stops the client (its selector thread) without waiting for exchanges in flight. */
    void shutdownNow() {
        http.shutdownNow();
    }

    /** Tests: connects retried so far. */
    long connectRetries() {
        return connectRetries.sum();
    }

    /** Tests: blocking queries being relayed now. */
    int relayingNow() {
        return relaying.size();
    }

    /**
     * Sends one request to the next hop. The body is collected by a {@link OneShotBody} that gives it away once: the
     * JDK client keeps each pooled connection's first exchange, with its body subscriber and response, for as long as
     * the connection lives (PlainHttpConnection's connect timer). With the JDK's byte-array subscriber a follower
     * relaying thousands of watchers' blocking queries kept one whole answer per connection (~110 KB each for a large
     * service: 60-110 MB of live heap, bench/scale.sh); now it keeps an emptied collector (ForwarderMemoryTest).
     */
    CompletableFuture<Answer> exchange(HttpRequest request) {
        CompletableFuture<Answer> done = new CompletableFuture<>();
        try {
            attempt(request, 1, done);
        } catch (Throwable t) {
            done.completeExceptionally(t);
        }
        return done;
    }

    /**
     * Attempts a read whose connect timed out may take. A burst of connections (thousands of watchers re-parking
     * through a follower, each relayed on a connection of its own) overflows the next hop's accept queue; the kernel
     * then drops the SYN and resends it only after 1 s and 3 s, past the 2 s connect timeout: bench/scale.sh's 5,000
     * watchers got 16-352 "HTTP connect timed out" answers (500) while parking, with as many listen overflows counted
     * by the kernel. A second attempt starts a new handshake. Only reads (GET, HEAD) are tried again: a write that
     * waited for a second attempt would reach the leader seconds after its caller sent it, perhaps after the caller
     * gave up and wrote again elsewhere; it fails when its connect times out, as before, and is not tried again (the
     * caller retries, knowing what it did). A refused connection (nothing listens) is not retried either. Bounds: two
     * attempts of at most {@link #CONNECT_TIMEOUT} with a pause of at most {@link #CONNECT_RETRY_PAUSE_MAX_MS}, ~4.3 s
     * per hop, inside Consul's rpc_hold_timeout (7 s) for one hop; a read through a client agent and then a follower
     * may take it at both hops (~8.6 s). Each attempt has the request's own timeout (MAX_WAIT + 1 min), so a blocking
     * query may end up to one retry later than it would have; relay joiners share the retried answer.
     */
    static final int CONNECT_ATTEMPTS = 2;
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    static final long CONNECT_RETRY_PAUSE_MAX_MS = 250;
    private volatile java.util.concurrent.atomic.LongAdder connectRetries = new java.util.concurrent.atomic.LongAdder();

    private void attempt(HttpRequest request, int attempt, CompletableFuture<Answer> done) {
        CompletableFuture<Answer> sent;
        try {
            sent = http.sendAsync(request, info -> new OneShotBody())
                    .thenApply(r -> new Answer(r.statusCode(), r.headers(), r.body().take()));
        } catch (Throwable e) {
            sent = CompletableFuture.failedFuture(e);
        }
        sent.whenComplete((a, err) -> {
            try {
                if (err == null) {
                    done.complete(a);
                } else if (attempt < CONNECT_ATTEMPTS && isRead(request) && connectTimedOut(err)) {
                    long pause = 50 + java.util.concurrent.ThreadLocalRandom.current().nextLong(CONNECT_RETRY_PAUSE_MAX_MS - 50 + 1);
                    // On a thread of its own that completes the caller's future whatever happens to the retry.
                    Thread.ofVirtual().name("forward-retry").start(() -> {
                        try {
                            connectRetries.increment();
                            Thread.sleep(pause);
                            attempt(request, attempt + 1, done);
                        } catch (Throwable t) {
                            failWith(done, t, err);
                        }
                    });
                } else {
                    done.completeExceptionally(err);
                }
            } catch (Throwable t) {
                // No thread for the retry (or worse): the caller is answered with the failure, never left waiting.
                failWith(done, t, err);
            }
        });
    }

    /** Fails {@code done} with {@code t} (and {@code cause} beside it, when that can be recorded). */
    private static void failWith(CompletableFuture<Answer> done, Throwable t, Throwable cause) {
        try {
            if (cause != null && cause != t) t.addSuppressed(cause);
        } catch (Throwable ignored) {
            // nothing more to record
        } finally {
            done.completeExceptionally(t);
        }
    }

    private static boolean isRead(HttpRequest request) {
        return request.method().equals("GET") || request.method().equals("HEAD");
    }

    /** True when {@code err} is a connect that timed out (the request was not sent). */
    static boolean connectTimedOut(Throwable err) {
        Throwable t = err;
        for (int depth = 0; t != null && depth < 16; depth++, t = t.getCause()) {
            if (t instanceof java.net.http.HttpConnectTimeoutException) return true;
        }
        return false;
    }

    /** A body subscriber whose bytes are handed out once by {@link #take()} and not kept after. */
    static final class OneShotBody implements HttpResponse.BodySubscriber<OneShotBody> {
        private final CompletableFuture<OneShotBody> done = new CompletableFuture<>();
        private List<ByteBuffer> parts = new ArrayList<>();

        @Override
        public CompletionStage<OneShotBody> getBody() { return done; }

        @Override
        public void onSubscribe(Flow.Subscription subscription) { subscription.request(Long.MAX_VALUE); }

        @Override
        public synchronized void onNext(List<ByteBuffer> items) {
            // The client hands each buffer over for good (it reuses none), as its own byte-array subscriber relies on.
            if (parts != null) parts.addAll(items);
        }

        @Override
        public void onError(Throwable failure) {
            synchronized (this) {
                parts = null;
            }
            done.completeExceptionally(failure);
        }

        @Override
        public void onComplete() { done.complete(this); }

        /** The whole body, once; the collected buffers are let go. */
        synchronized byte[] take() {
            if (parts == null) throw new IllegalStateException("the body was taken already");
            int size = 0;
            for (ByteBuffer b : parts) size += b.remaining();
            byte[] body = new byte[size];
            int at = 0;
            for (ByteBuffer b : parts) {
                int n = b.remaining();
                b.get(body, at, n);
                at += n;
            }
            parts = null;
            return body;
        }
    }
}

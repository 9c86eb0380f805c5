package io.failoverkit.discovery.acl;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.config.AclConfig;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.state.Model;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A client agent's token resolver: it asks a server (GET /v1/acl/token/self with the secret, then each linked policy,
 * which a token may read), compiles the rules, and caches the identity for {@code token_ttl}, as Consul's client
 * agents do. When no server answers, {@code down_policy} decides: {@code extend-cache} keeps using what is cached (a
 * token not cached is denied), {@code async-cache} the same, and also answers from a stale cache entry at once while it
 * refreshes in the background, {@code allow} allows and {@code deny} denies everything. A server that says the token
 * does not exist is believed at once (the entry is dropped: a deleted token stops working on the next lookup).
 * The cache is keyed by the secret's hash; the secret itself is kept only for the duration of a lookup.
 */
public final class RemoteTokenResolver implements TokenResolver {
    private static final Logger LOG = LoggerFactory.getLogger(RemoteTokenResolver.class);

    private final Supplier<Optional<String>> server;
    private final AclConfig config;
    private final LongSupplier nanoClock;
    private final HttpClient http;
    private final Map<String, Entry> cache = new ConcurrentHashMap<>();
    private final Map<String, Boolean> refreshing = new ConcurrentHashMap<>();

    private record Entry(Identity identity, Long expirationTime, long fetchedNanos) {}

    /** No server answered (or answered with an error that says nothing about the token). */
    static final class Unreachable extends Exception {
        Unreachable(String message) { super(message, null, false, false); }
    }

    public RemoteTokenResolver(Supplier<Optional<String>> server, AclConfig config) {
        this(server, config, System::nanoTime);
    }

    public RemoteTokenResolver(Supplier<Optional<String>> server, AclConfig config, LongSupplier nanoClock) {
        this(server, config, nanoClock, HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build());
    }

    /** {@code server} gives a base URL (http:// or https://; a bare host:port means http); {@code http}: the agent's client (its TLS). */
    public RemoteTokenResolver(Supplier<Optional<String>> server, AclConfig config, LongSupplier nanoClock, HttpClient http) {
        this.http = http;
        this.server = server;
        this.config = config;
        this.nanoClock = nanoClock;
    }

    @Override
    public Identity resolve(String secret) throws AclNotFound {
        if (secret == null || secret.isEmpty()) secret = config.defaultToken;
        if (secret == null || secret.isEmpty()) secret = StoreTokenResolver.ANONYMOUS_SECRET;
        String key = Secrets.hash(secret);
        Entry cached = cache.get(key);
        long now = nanoClock.getAsLong();
        if (cached != null && cached.expirationTime != null && cached.expirationTime <= System.currentTimeMillis()) {
            cache.remove(key);
            throw new AclNotFound();
        }
        if (cached != null && now - cached.fetchedNanos < config.tokenTtl.toNanos()) return cached.identity;
        if (cached != null && config.downPolicy.equals("async-cache")) {
            String s = secret;
            if (refreshing.putIfAbsent(key, Boolean.TRUE) == null) {
                Thread.ofVirtual().start(() -> {
                    try { fetch(key, s); } catch (AclNotFound | Unreachable ignored) { /* the next lookup decides */ } finally { refreshing.remove(key); }
                });
            }
            return cached.identity;
        }
        try {
            return fetch(key, secret);
        } catch (Unreachable e) {
            LOG.warn("ACL token lookup failed ({}); down_policy {} decides", e.getMessage(), config.downPolicy);
            return switch (config.downPolicy) {
                case "allow" -> new Identity(cached == null ? "" : cached.identity.accessorId(), Authorizer.ALLOW_ALL);
                case "deny" -> new Identity(cached == null ? "" : cached.identity.accessorId(), Authorizer.DENY_ALL);
                default -> cached != null ? cached.identity : new Identity("", Authorizer.DENY_ALL);
            };
        }
    }

    private Identity fetch(String key, String secret) throws AclNotFound, Unreachable {
        JsonNode token = get("/v1/acl/token/self", secret, key);
        String accessor = token.path("AccessorID").asText("");
        List<Model.AclPolicy> policies = new ArrayList<>();
        boolean management = false;
        for (JsonNode link : token.path("Policies")) {
            String id = link.path("ID").asText("");
            if (PolicyAuthorizer.GLOBAL_MANAGEMENT_ID.equals(id)) { management = true; continue; }
            JsonNode p;
            try {
                p = get("/v1/acl/policy/" + id, secret, key);
            } catch (AclNotFound e) {
                continue; // deleted meanwhile
            }
            policies.add(new Model.AclPolicy(id, p.path("Name").asText(""), "", p.path("Rules").asText(""), List.of(), 0, 0));
        }
        Authorizer a = management ? Authorizer.ALLOW_ALL : StoreTokenResolver.compile(policies, config.defaultAllow);
        Long exp = null;
        String et = token.path("ExpirationTime").asText("");
        if (!et.isEmpty()) {
            try { exp = java.time.Instant.parse(et).toEpochMilli(); } catch (java.time.format.DateTimeParseException ignored) { /* not expiring here */ }
        }
        Identity id = new Identity(accessor, a);
        cache.put(key, new Entry(id, exp, nanoClock.getAsLong()));
        return id;
    }

    /** One GET to a server with the secret; 403/404 mean the token (or policy) does not exist. */
    private JsonNode get(String path, String secret, String key) throws AclNotFound, Unreachable {
        Optional<String> target = server.get();
        if (target.isEmpty()) throw new Unreachable("no known server");
        HttpRequest req = HttpRequest.newBuilder(URI.create((target.get().contains("://") ? target.get() : "http://" + target.get()) + path)).timeout(Duration.ofSeconds(5))
                .header("X-Consul-Token", secret).GET().build();
        HttpResponse<byte[]> r;
        try {
            r = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            throw new Unreachable(target.get() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unreachable("interrupted");
        }
        if (r.statusCode() == 403 || r.statusCode() == 404) {
            if (path.startsWith("/v1/acl/token/")) cache.remove(key);
            throw new AclNotFound();
        }
        if (r.statusCode() != 200) throw new Unreachable(target.get() + " answered " + r.statusCode());
        try {
            return Json.MAPPER.readTree(r.body());
        } catch (IOException e) {
            throw new Unreachable(target.get() + " sent no JSON: " + e.getMessage());
        }
    }
}

package io.failoverkit.discovery.http;

import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model.KvEntry;
import io.failoverkit.discovery.state.Table;

import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.List;

/** /v1/kv/&lt;key&gt;: Consul's KV API over the replicated store. */
final class KvEndpoint {
    /** Keys longer than this are refused (Consul sets no limit; a key is a path, not a value). */
    static final int MAX_KEY_BYTES = 2048;

    private final ServerSide server;

    KvEndpoint(ServerSide server) {
        this.server = server;
    }

    void handle(Call call) {
        String key = call.path;
        if (key.getBytes(StandardCharsets.UTF_8).length > MAX_KEY_BYTES) throw HttpError.badRequest("key is longer than " + MAX_KEY_BYTES + " bytes");
        switch (call.method) {
            case "GET" -> get(call, key);
            case "PUT", "POST" -> put(call, key);
            case "DELETE" -> delete(call, key);
            default -> throw new HttpError(405, "method " + call.method + " not allowed on /v1/kv");
        }
    }

    private void get(Call call, String key) {
        if (call.has("keys")) {
            String sep = call.param("separator");
            if (call.identity().authorizer() == io.failoverkit.discovery.acl.Authorizer.ALLOW_ALL) {
                server.read(call, EnumSet.of(Table.KVS), key, () -> server.store.kvKeys(key, sep), (c, r) -> {
                    if (r.value().isEmpty()) c.text(404, "");
                    else c.json(200, r.value());
                });
                return;
            }
            // As Consul: the entries the token may not read are removed before the keys are cut at the separator.
            server.read(call, EnumSet.of(Table.KVS), key, () -> server.store.kvList(key), (c, r) -> {
                List<KvEntry> visible = c.visible(r.value(), e -> Permissions.mayRead(c.identity().authorizer(), e));
                if (visible.isEmpty()) c.text(404, "");
                else c.json(200, keys(visible, key, sep));
            });
        } else if (call.has("recurse")) {
            server.read(call, EnumSet.of(Table.KVS), key, () -> server.store.kvList(key), (c, r) -> {
                List<KvEntry> visible = c.visible(r.value(), e -> Permissions.mayRead(c.identity().authorizer(), e));
                if (visible.isEmpty()) c.text(404, "");
                else c.json(200, visible);
            });
        } else {
            if (key.isEmpty()) throw HttpError.badRequest("missing key name (use ?recurse or ?keys to list)");
            server.read(call, EnumSet.of(Table.KVS), key, () -> server.store.kvGet(key), (c, r) -> {
                KvEntry e = r.value();
                if (e == null) c.text(404, "");
                else if (c.has("raw")) {
                    // As Consul: text/plain, never sniffed, and sandboxed should a browser open it.
                    c.header("X-Content-Type-Options", "nosniff");
                    c.header("Content-Security-Policy", "sandbox");
                    c.send(200, e.value() == null ? new byte[0] : e.value(), "text/plain");
                }
                else c.json(200, List.of(e));
            });
        }
    }

    /** The keys of {@code entries}, each cut after the first {@code separator} past the prefix, without repeats, sorted. */
    static List<String> keys(List<KvEntry> entries, String prefix, String separator) {
        java.util.TreeSet<String> keys = new java.util.TreeSet<>();
        for (KvEntry e : entries) {
            String k = e.key();
            if (separator != null && !separator.isEmpty()) {
                int at = k.indexOf(separator, prefix.length());
                if (at >= 0) k = k.substring(0, at + separator.length());
            }
            keys.add(k);
        }
        return List.copyOf(keys);
    }

    private void put(Call call, String key) {
        if (key.isEmpty()) throw HttpError.badRequest("missing key name");
        if (call.has("acquire") && call.has("release")) throw HttpError.badRequest("?acquire and ?release cannot be used together");
        long flags = flags(call);
        Long cas = call.has("cas") ? Long.valueOf(call.longParam("cas", 0)) : null;
        if (cas != null && cas < 0) throw HttpError.badRequest("\"cas\" must not be negative");
        String acquire = emptyToError(call, "acquire");
        String release = emptyToError(call, "release");
        byte[] value = call.body();
        Long checkedAt = null;
        if (acquire != null) {
            // Lock-delay is checked by the leader, before proposing, as Consul does: apply reads no clock.
            if (server.forwardToLeader(call, value)) return;
            checkedAt = server.store.lastIndex();
            if (server.store.lockDelays().remaining(key).isPositive()) {
                call.header("X-Consul-Index", Long.toString(checkedAt));
                call.json(200, false);
                return;
            }
        }
        server.write(call, new Command.KvPut(key, value, flags, cas, acquire, release, checkedAt), r -> call.json(200, r.value()));
    }

    /** ?flags is a Go uint64 (Consul's semaphore flag uses the top bit). */
    private static long flags(Call call) {
        String f = call.param("flags");
        if (f == null || f.isEmpty()) return 0;
        try {
            return io.failoverkit.discovery.state.UnsignedLong.parse(f);
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest("query parameter \"flags\" " + e.getMessage());
        }
    }

    private static String emptyToError(Call call, String p) {
        if (!call.has(p)) return null;
        String v = call.param(p);
        if (v == null || v.isEmpty()) throw HttpError.badRequest("?" + p + " needs a session id");
        return SessionEndpoint.sessionId(v);
    }

    private void delete(Call call, String key) {
        boolean recurse = call.has("recurse");
        if (key.isEmpty() && !recurse) throw HttpError.badRequest("missing key name");
        Long cas = call.has("cas") ? Long.valueOf(call.longParam("cas", 0)) : null;
        if (cas != null && recurse) throw HttpError.badRequest("?cas cannot be used with ?recurse");
        server.write(call, new Command.KvDelete(key, recurse, cas), r -> call.json(200, r.value()));
    }
}

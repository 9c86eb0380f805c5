package io.failoverkit.discovery.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.config.Definitions;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.state.TxnOp;
import io.failoverkit.discovery.state.TxnOutcome;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * PUT /v1/txn: Consul's transactions, KV operations only. A transaction with a write is one Raft entry applied all
 * or nothing (200 with Results, or 409 with Errors); one without is a read with Consul's consistency modes. Bad input
 * is refused whole before anything is proposed.
 */
final class TxnEndpoint {
    /** Consul's limit on the operations of one transaction. */
    static final int MAX_OPS = 128;
    /** Consul's limit on one value, as on /v1/kv. */
    static final int MAX_VALUE = 512 * 1024;
    private static final Set<String> FIELDS = Set.of("verb", "key", "value", "flags", "index", "session", "namespace", "partition");

    private final ServerSide server;

    TxnEndpoint(ServerSide server) {
        this.server = server;
    }

    void handle(Call call) {
        if (!call.path.isEmpty()) throw HttpError.notFound("unknown endpoint /v1/txn/" + call.path);
        if (!call.method.equals("PUT")) throw new HttpError(405, "method " + call.method + " not allowed on /v1/txn; use PUT");
        byte[] body = call.body();
        List<TxnOp> ops = parse(body);
        if (ops.stream().noneMatch(op -> op.verb().writes())) {
            server.readOnce(call, body, () -> server.store.txnRead(ops), (c, r) -> c.json(r.value().applied() ? 200 : 409, visible(c, r.value())));
            return;
        }
        if (ops.stream().anyMatch(op -> op.verb() == TxnOp.Verb.LOCK) && server.forwardToLeader(call, body)) return;
        // Read before the lock-delay stamps: a release applied after this index is refused by apply instead.
        long checkedAt = server.store.lastIndex();
        List<TxnOutcome.Error> delayed = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            TxnOp op = ops.get(i);
            if (op.verb() != TxnOp.Verb.LOCK) continue;
            Duration left = server.store.lockDelays().remaining(op.key());
            if (left.isPositive()) {
                delayed.add(new TxnOutcome.Error(i, "failed to lock key \"" + op.key() + "\": lock-delay in effect for another "
                        + left.toMillis() + " ms (an invalidated session released it)"));
            }
        }
        if (!delayed.isEmpty()) {
            call.json(409, new TxnOutcome(null, delayed));
            return;
        }
        server.write(call, new Command.Txn(ops, checkedAt), r -> {
            JsonNode outcome = Json.MAPPER.valueToTree(r.value() instanceof TxnOutcome o ? visible(call, o) : r.value());
            call.json(outcome.path("Errors").isNull() ? 200 : 409, outcome);
        });
    }

    /** Results the token may not read removed, as Consul's FilterTxnResults (keys without key:read). */
    static TxnOutcome visible(Call call, TxnOutcome o) {
        if (o.results() == null) return o;
        var a = call.identity().authorizer();
        List<TxnOutcome.Result> kept = call.visible(o.results(),
                res -> res.kv() == null || a.allows(io.failoverkit.discovery.acl.Resource.KEY, res.kv().key(), io.failoverkit.discovery.acl.Access.READ));
        return kept == o.results() ? o : new TxnOutcome(kept, o.errors());
    }

    /** The operations of a request body, validated; throws 400 (or 413 for sizes, as Consul) naming what is wrong. */
    static List<TxnOp> parse(byte[] body) {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(body);
        } catch (JsonProcessingException e) {
            throw HttpError.badRequest("Failed to parse body: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw HttpError.badRequest("Failed to parse body: " + e.getMessage());
        }
        if (root == null || root.isMissingNode()) throw HttpError.badRequest("Failed to parse body: the body must be a JSON array of operations");
        if (!root.isArray()) throw HttpError.badRequest("Failed to parse body: the body must be a JSON array of operations, got " + kind(root));
        if (root.size() > MAX_OPS) {
            throw new HttpError(413, "Transaction contains too many operations (" + root.size() + " > " + MAX_OPS + ")");
        }
        List<TxnOp> ops = new ArrayList<>();
        for (int i = 0; i < root.size(); i++) ops.add(operation(i, root.get(i)));
        return ops;
    }

    private static TxnOp operation(int i, JsonNode n) {
        if (!n.isObject() || n.size() != 1) {
            throw HttpError.badRequest("operation " + i + " must be an object with exactly one of KV, Node, Service or Check");
        }
        String kind = n.fieldNames().next();
        JsonNode kv = Definitions.field(n, "KV");
        if (kv == null) {
            String k = kind.toLowerCase(java.util.Locale.ROOT);
            if (k.equals("node") || k.equals("service") || k.equals("check")) {
                throw HttpError.badRequest("operation " + i + ": " + kind + " operations are not supported by this server; only KV operations are");
            }
            throw HttpError.badRequest("operation " + i + ": unknown operation type \"" + kind + "\" (KV, Node, Service or Check)");
        }
        if (!kv.isObject()) throw HttpError.badRequest("operation " + i + ": KV must be an object, got " + kind(kv));
        for (Iterator<String> it = kv.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f.toLowerCase(java.util.Locale.ROOT))) throw HttpError.badRequest("operation " + i + ": unknown KV field \"" + f + "\"");
        }
        try {
            String verbText = Definitions.text(kv, "Verb", null);
            if (verbText == null || verbText.isEmpty()) throw new IllegalArgumentException("\"Verb\" is required");
            TxnOp.Verb verb = TxnOp.Verb.parse(verbText).orElseThrow(() -> new IllegalArgumentException("unknown KV verb \"" + verbText
                    + "\" (set, cas, lock, unlock, get, get-or-empty, get-tree, check-index, check-session, check-not-exists, delete, delete-tree, delete-cas)"));
            String key = Definitions.text(kv, "Key", "");
            boolean tree = verb == TxnOp.Verb.GET_TREE || verb == TxnOp.Verb.DELETE_TREE;
            if (key.isEmpty() && !tree) throw new IllegalArgumentException("\"Key\" is required for " + verb.wire());
            if (key.getBytes(StandardCharsets.UTF_8).length > KvEndpoint.MAX_KEY_BYTES) {
                throw new IllegalArgumentException("\"Key\" is longer than " + KvEndpoint.MAX_KEY_BYTES + " bytes");
            }
            byte[] value = value(kv, key);
            long flags = uint64(kv, "Flags");
            long index = unsigned(kv, "Index");
            String session = Definitions.text(kv, "Session", "");
            boolean needsSession = verb == TxnOp.Verb.LOCK || verb == TxnOp.Verb.UNLOCK || verb == TxnOp.Verb.CHECK_SESSION;
            if (needsSession && session.isEmpty()) throw new IllegalArgumentException("\"Session\" is required for " + verb.wire());
            return new TxnOp(verb, key, value, flags, index, session.isEmpty() ? null : session);
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest("operation " + i + ": " + e.getMessage());
        }
    }

    private static byte[] value(JsonNode kv, String key) {
        JsonNode v = Definitions.field(kv, "Value");
        if (v == null) return null;
        if (!v.isTextual()) throw new IllegalArgumentException("\"Value\" must be a base64 string, got " + kind(v));
        byte[] data;
        try {
            data = Base64.getDecoder().decode(v.asText());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("\"Value\" is not valid base64: " + e.getMessage());
        }
        if (data.length > MAX_VALUE) throw new HttpError(413, "Value for key \"" + key + "\" is too large (" + data.length + " > " + MAX_VALUE + " bytes)");
        return data;
    }

    private static long unsigned(JsonNode kv, String name) {
        JsonNode n = Definitions.field(kv, name);
        if (n == null) return 0;
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 0) {
            throw new IllegalArgumentException("\"" + name + "\" must be a non-negative integer, got " + n);
        }
        return n.asLong();
    }

    /** A Go uint64 (KV Flags): 0..2^64-1, kept in a long's bits. */
    private static long uint64(JsonNode kv, String name) {
        JsonNode n = Definitions.field(kv, name);
        if (n == null) return 0;
        if (!n.isIntegralNumber()) throw new IllegalArgumentException("\"" + name + "\" must be a non-negative integer, got " + n);
        try {
            return io.failoverkit.discovery.state.UnsignedLong.of(n.bigIntegerValue());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("\"" + name + "\" " + e.getMessage());
        }
    }

    private static String kind(JsonNode n) {
        return n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }
}

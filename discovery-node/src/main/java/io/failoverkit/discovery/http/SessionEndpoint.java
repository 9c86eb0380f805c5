package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.config.Definitions;
import io.failoverkit.discovery.config.Durations;
import io.failoverkit.discovery.leader.SessionTimers;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.Table;

import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Supplier;

/** /v1/session/...: sessions, the basis of locks. Renewals go to the leader, which keeps the TTL timers. */
final class SessionEndpoint {
    static final Duration MIN_TTL = io.failoverkit.discovery.state.SessionRules.MIN_TTL;
    static final Duration MAX_TTL = io.failoverkit.discovery.state.SessionRules.MAX_TTL;
    private static final Duration DEFAULT_LOCK_DELAY = Duration.ofSeconds(15);

    private final ServerSide server;
    private final SessionTimers timers;
    private final Forwarder forwarder;
    private final Supplier<Optional<String>> leaderHttp;

    SessionEndpoint(ServerSide server, SessionTimers timers, Forwarder forwarder, Supplier<Optional<String>> leaderHttp) {
        this.server = server;
        this.timers = timers;
        this.forwarder = forwarder;
        this.leaderHttp = leaderHttp;
    }

    void handle(Call call) {
        String p = call.path;
        if (p.equals("create")) {
            CatalogEndpoint.requireWrite(call);
            create(call);
        } else if (p.startsWith("destroy/") && p.length() > 8) {
            CatalogEndpoint.requireWrite(call);
            // Judged where the session surely is: a lagging follower may not know one just created, and an unknown
            // session needs no permission here. The leader checks again with its own state.
            if (server.forwardToLeader(call, call.body())) return;
            server.write(call, new Command.SessionDestroy(sessionId(p.substring(8)), "destroyed", System.currentTimeMillis()), r -> call.json(200, true));
        } else if (p.startsWith("renew/") && p.length() > 6) {
            CatalogEndpoint.requireWrite(call);
            renew(call, sessionId(p.substring(6)));
        } else if (p.startsWith("info/") && p.length() > 5) {
            String id = sessionId(p.substring(5));
            server.read(call, EnumSet.of(Table.SESSIONS), null, () -> server.store.sessions(s -> s.id().equals(id)), (c, r) -> c.json(200, c.visible(r.value(), x -> Permissions.mayRead(c.identity().authorizer(), x))));
        } else if (p.equals("list")) {
            server.read(call, EnumSet.of(Table.SESSIONS), null, () -> server.store.sessions(s -> true), (c, r) -> c.json(200, c.visible(r.value(), x -> Permissions.mayRead(c.identity().authorizer(), x))));
        } else if (p.startsWith("node/") && p.length() > 5) {
            String node = p.substring(5);
            server.read(call, EnumSet.of(Table.SESSIONS), null, () -> server.store.sessions(s -> s.node().equals(node)), (c, r) -> c.json(200, c.visible(r.value(), x -> Permissions.mayRead(c.identity().authorizer(), x))));
        } else {
            throw HttpError.notFound("unknown session endpoint /v1/session/" + p);
        }
    }

    private void create(Call call) {
        JsonNode body = call.jsonBody(true);
        Model.Session s;
        try {
            s = parse(body, server.nodeName);
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        }
        server.write(call, new Command.SessionCreate(s), r -> call.json(200, Map.of("ID", r.value())));
    }

    static Model.Session parse(JsonNode body, String defaultNode) {
        if (body != null && !body.isObject()) throw new IllegalArgumentException("request body must be a JSON object");
        String node = Definitions.text(body, "Node", defaultNode);
        if (node == null || node.isEmpty()) node = defaultNode;
        // As Consul 1.7+: "Checks" (older) and "NodeChecks" name node checks, "ServiceChecks" service checks; naming
        // none of the three means the node's serfHealth alone, naming any (even empty) means exactly those.
        List<String> oldChecks = Definitions.strings(body, "Checks");
        List<String> nodeChecks = Definitions.strings(body, "NodeChecks");
        List<Model.ServiceCheck> serviceChecks = serviceChecks(Definitions.field(body, "ServiceChecks"));
        List<String> checks;
        if (oldChecks == null && nodeChecks == null && serviceChecks == null) {
            checks = List.of(Model.SERF_HEALTH);
        } else {
            checks = java.util.stream.Stream.concat((oldChecks == null ? List.<String>of() : oldChecks).stream(),
                    (nodeChecks == null ? List.<String>of() : nodeChecks).stream()).distinct().toList();
        }
        for (String c : checks) if (c == null || c.isEmpty()) throw new IllegalArgumentException("a session's check ID must not be empty");
        String behavior = Definitions.text(body, "Behavior", "release");
        if (behavior.isEmpty()) behavior = "release";
        if (!behavior.equals("release") && !behavior.equals("delete")) throw new IllegalArgumentException("\"Behavior\" must be \"release\" or \"delete\"");
        Duration lockDelay = DEFAULT_LOCK_DELAY;
        JsonNode ld = Definitions.field(body, "LockDelay");
        if (ld != null) {
            if (ld.isIntegralNumber()) {
                // As Consul: a small number is seconds, a large one nanoseconds.
                lockDelay = ld.asLong() < 1000 ? Duration.ofSeconds(ld.asLong()) : Duration.ofNanos(ld.asLong());
            } else if (ld.isTextual()) {
                try { lockDelay = Durations.parse(ld.asText()); } catch (IllegalArgumentException e) { throw new IllegalArgumentException("\"LockDelay\": " + e.getMessage()); }
            } else {
                throw new IllegalArgumentException("\"LockDelay\" must be a duration such as \"15s\"");
            }
            if (lockDelay.isNegative() || lockDelay.compareTo(io.failoverkit.discovery.state.SessionRules.MAX_LOCK_DELAY) > 0) throw new IllegalArgumentException("\"LockDelay\" must be 0-60s");
        }
        String ttl = Definitions.text(body, "TTL", "");
        if (!ttl.isEmpty()) {
            Duration d;
            try { d = Durations.parse(ttl); } catch (IllegalArgumentException e) { throw new IllegalArgumentException("\"TTL\": " + e.getMessage()); }
            if (d.compareTo(MIN_TTL) < 0 || d.compareTo(MAX_TTL) > 0) throw new IllegalArgumentException("\"TTL\" must be between 10s and 24h, got " + ttl);
            ttl = Durations.format(d);
        }
        return new Model.Session(UUID.randomUUID().toString(), Definitions.text(body, "Name", ""), node, List.copyOf(checks),
                lockDelay.toNanos(), behavior, ttl, 0, 0, serviceChecks == null || serviceChecks.isEmpty() ? null : serviceChecks);
    }

    /** "ServiceChecks": [{"ID": "...", "Namespace": ""}] (null when absent). */
    private static List<Model.ServiceCheck> serviceChecks(JsonNode n) {
        if (n == null || n.isNull()) return null;
        if (!n.isArray()) throw new IllegalArgumentException("\"ServiceChecks\" must be an array of {\"ID\": ...} objects");
        List<Model.ServiceCheck> out = new java.util.ArrayList<>();
        for (JsonNode c : n) {
            if (!c.isObject()) throw new IllegalArgumentException("\"ServiceChecks\" must be an array of {\"ID\": ...} objects");
            String id = Definitions.text(c, "ID", "");
            if (id.isEmpty()) throw new IllegalArgumentException("a service check of a session needs its \"ID\"");
            String ns = Definitions.text(c, "Namespace", "");
            if (!ns.isEmpty() && !ns.equals("default")) throw new IllegalArgumentException("namespaces are not supported (service check " + id + " names \"" + ns + "\")");
            if (out.stream().noneMatch(x -> x.id().equals(id))) out.add(new Model.ServiceCheck(id, ""));
        }
        return List.copyOf(out);
    }

    /** A session ID as Consul issues them (a UUID); anything else is the caller's mistake (400), not a missing session. */
    static String sessionId(String id) {
        if (!UUID_SHAPE.matcher(id).matches()) throw HttpError.badRequest("Session ID must be a valid UUID, got \"" + id + "\"");
        return id;
    }

    private static final java.util.regex.Pattern UUID_SHAPE = java.util.regex.Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    private void renew(Call call, String id) {
        if (!server.raft.isLeader()) {
            // TTL timers live on the leader: the renewal must reach it.
            forwarder.forward(call, leaderHttp.get(), "/v1/session/renew/" + id, call.body());
            return;
        }
        if (!timers.renew(id)) {
            call.text(404, "Session id '" + id + "' not found");
            return;
        }
        call.json(200, server.store.sessions(s -> s.id().equals(id)).value());
    }
}

package io.failoverkit.discovery.http;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.cluster.UserEvents;
import io.failoverkit.discovery.config.Durations;

import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * /v1/event/...: Consul's user events. {@code PUT /v1/event/fire/<name>} (body = payload; ?node=, ?service=, ?tag=
 * regular expressions choose the nodes that act on it) gossips the event and returns it; {@code GET /v1/event/list}
 * (?name=) lists the last events this agent acted on, blocking with ?index= while the index (a hash of the newest
 * event's ID) is the one given. Served by every agent, never forwarded.
 */
final class EventEndpoint {
    private final Agent agent;
    private final ScheduledExecutorService timer;
    private final Executor executor;

    EventEndpoint(Agent agent, ScheduledExecutorService timer, Executor executor) {
        this.agent = agent;
        this.timer = timer;
        this.executor = executor;
    }

    void handle(Call call) {
        String p = call.path;
        if (p.startsWith("fire/") || p.equals("fire")) {
            CatalogEndpoint.requireWrite(call);
            fire(call, p.length() > 5 ? p.substring(5) : "");
        } else if (p.equals("list")) {
            if (!call.method.equals("GET")) throw new HttpError(405, "method " + call.method + " not allowed; use GET");
            list(call);
        } else {
            throw HttpError.notFound("unknown event endpoint /v1/event/" + p);
        }
    }

    private void fire(Call call, String name) {
        if (name.isEmpty()) throw HttpError.badRequest("Missing name");
        byte[] payload = call.body();
        UserEvents.Event e;
        try {
            e = agent.fireEvent(name, payload, call.param("node"), call.param("service"), call.param("tag"));
        } catch (IllegalArgumentException ex) {
            throw HttpError.badRequest(ex.getMessage());
        }
        call.json(200, json(e));
    }

    static Map<String, Object> json(UserEvents.Event e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ID", e.id());
        m.put("Name", e.name());
        m.put("Payload", e.payload() == null ? null : Base64.getEncoder().encodeToString(e.payload()));
        m.put("NodeFilter", e.nodeFilter());
        m.put("ServiceFilter", e.serviceFilter());
        m.put("TagFilter", e.tagFilter());
        m.put("Version", e.version());
        m.put("LTime", e.ltime());
        return m;
    }

    private void list(Call call) {
        String name = call.param("name");
        String idx = call.param("index");
        long min = 0;
        if (idx != null && !idx.isEmpty()) {
            try {
                min = Long.parseUnsignedLong(idx);
            } catch (NumberFormatException ex) {
                throw HttpError.badRequest("query parameter \"index\" must be an unsigned integer, got \"" + idx + "\"");
            }
        }
        Duration wait = ServerSide.DEFAULT_WAIT;
        String w = call.param("wait");
        if (w != null && !w.isEmpty()) {
            try {
                wait = Durations.parse(w);
            } catch (IllegalArgumentException ex) {
                throw HttpError.badRequest("query parameter \"wait\": " + ex.getMessage());
            }
        }
        if (wait.compareTo(ServerSide.MAX_WAIT) > 0) wait = ServerSide.MAX_WAIT;
        attempt(call, name, min, System.nanoTime() + wait.toNanos());
    }

    private List<UserEvents.Event> events(String name) {
        List<UserEvents.Event> all = agent.userEvents().list();
        return name == null || name.isEmpty() ? all : all.stream().filter(e -> e.name().equals(name)).toList();
    }

    private void attempt(Call call, String name, long min, long deadline) {
        if (call.answered()) return;
        List<UserEvents.Event> events = events(name);
        long index = UserEvents.index(events);
        var who = call.identity().authorizer();
        long left = deadline - System.nanoTime();
        if (min != 0 && index == min && left > 0) {
            CompletableFuture<Void> next = agent.userEvents().nextEvent();
            if (UserEvents.index(events(name)) != index) next.complete(null); // one arrived meanwhile
            ScheduledFuture<?> timeout = timer.schedule(() -> next.complete(null), left, TimeUnit.NANOSECONDS);
            next.thenRunAsync(() -> {
                timeout.cancel(false);
                // Woken by an event (perhaps of another name: look again) or by the timeout (past the deadline: answer).
                attempt(call, name, min, deadline);
            }, executor);
            return;
        }
        call.header("X-Consul-Index", Long.toUnsignedString(index));
        // Filtered on every answer (a blocking list woken by a new event included), as Consul's event:read.
        List<UserEvents.Event> visible = call.visible(events,
                e -> who.allows(io.failoverkit.discovery.acl.Resource.EVENT, e.name(), io.failoverkit.discovery.acl.Access.READ));
        call.json(200, visible.stream().map(EventEndpoint::json).toList());
    }
}

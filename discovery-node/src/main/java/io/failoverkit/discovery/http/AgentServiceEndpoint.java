package io.failoverkit.discovery.http;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.Definitions.ServiceDef;
import io.failoverkit.discovery.config.Durations;
import io.failoverkit.discovery.state.Json;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * GET /v1/agent/service/&lt;id&gt;: one local service in the shape of Consul's AgentService, with its ContentHash (also in
 * X-Consul-ContentHash). With {@code ?hash=H} the request blocks while the service's hash is still H (Consul's
 * hash-based blocking: up to {@code ?wait}, 5 minutes by default), parked on the local state without a thread.
 */
final class AgentServiceEndpoint {
    static final Duration DEFAULT_WAIT = Duration.ofMinutes(5);

    private final Agent agent;
    private final ScheduledExecutorService timer;

    AgentServiceEndpoint(Agent agent, ScheduledExecutorService timer) {
        this.agent = agent;
        this.timer = timer;
    }

    /** The agent paths this class answers: service/ID, but not service/register, deregister/ or maintenance/. */
    static boolean serves(String sub) {
        return sub.startsWith("service/") && !sub.equals("service/register") && !sub.startsWith("service/deregister/")
                && !sub.startsWith("service/maintenance/");
    }

    void handle(Call call) {
        if (!call.method.equals("GET")) throw new HttpError(405, "method " + call.method + " not allowed; use GET");
        String id = call.path.substring("service/".length());
        if (id.isEmpty()) throw HttpError.badRequest("Missing service ID");
        String hash = call.param("hash");
        Duration wait = DEFAULT_WAIT;
        String w = call.param("wait");
        if (w != null && !w.isEmpty()) {
            try {
                wait = Durations.parse(w);
            } catch (IllegalArgumentException e) {
                throw HttpError.badRequest("query parameter \"wait\": " + e.getMessage());
            }
        }
        if (wait.compareTo(ServerSide.MAX_WAIT) > 0) wait = ServerSide.MAX_WAIT;
        Map<String, Object> current = view(id);
        if (hash == null || hash.isEmpty() || current == null || !hash.equals(current.get("ContentHash"))) {
            answer(call, id, current);
            return;
        }
        long waitMillis = wait.toMillis() + ThreadLocalRandom.current().nextLong(wait.toMillis() / 16 + 1);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
        park(call, id, hash, deadline);
    }

    private void park(Call call, String id, String hash, long deadline) {
        java.util.concurrent.atomic.AtomicReference<java.util.concurrent.ScheduledFuture<?>> timeout = new java.util.concurrent.atomic.AtomicReference<>();
        Runnable[] cancel = new Runnable[1];
        cancel[0] = agent.local().awaitChange(() -> {
            java.util.concurrent.ScheduledFuture<?> t = timeout.get();
            if (t != null) t.cancel(false);
            Map<String, Object> now = view(id);
            if (now == null || !hash.equals(now.get("ContentHash")) || System.nanoTime() - deadline >= 0) answer(call, id, now);
            else park(call, id, hash, deadline);
        });
        long left = Math.max(0, deadline - System.nanoTime());
        timeout.set(timer.schedule(() -> {
            cancel[0].run();
            answer(call, id, view(id));
        }, left, TimeUnit.NANOSECONDS));
    }

    private void answer(Call call, String id, Map<String, Object> service) {
        if (service == null) {
            call.text(404, "unknown service ID: " + id);
            return;
        }
        call.header("X-Consul-ContentHash", (String) service.get("ContentHash"));
        call.json(200, service);
    }

    private Map<String, Object> view(String id) {
        ServiceDef s = agent.local().services().get(id);
        if (s == null) return null;
        Map<String, Object> out = agentService(s, agent.config().datacenter);
        out.put("ContentHash", contentHash(out));
        return out;
    }

    /** Consul's AgentService JSON for a local service (what /v1/agent/services lists). */
    static Map<String, Object> agentService(ServiceDef s, String datacenter) {
        Map<String, Object> out = new LinkedHashMap<>();
        if (!s.kind().isEmpty()) out.put("Kind", s.kind());
        out.put("ID", s.id());
        out.put("Service", s.name());
        out.put("Tags", s.tags());
        out.put("Meta", s.meta());
        out.put("Port", s.port());
        out.put("Address", s.address());
        if (!s.taggedAddresses().isEmpty()) out.put("TaggedAddresses", s.taggedAddresses());
        out.put("Weights", s.weights());
        out.put("EnableTagOverride", s.enableTagOverride());
        out.put("Datacenter", datacenter);
        return out;
    }

    /** A digest of the service's content: changes whenever anything the answer shows changes. */
    static String contentHash(Map<String, Object> service) {
        try {
            byte[] json = Json.MAPPER.writeValueAsString(service).getBytes(StandardCharsets.UTF_8);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(json), 0, 8);
        } catch (NoSuchAlgorithmException | com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot hash a service", e);
        }
    }
}

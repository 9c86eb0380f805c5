package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.config.EventHandlerSpec;
import io.failoverkit.discovery.gossip.serf.SerfEvent;
import io.failoverkit.discovery.gossip.serf.SerfMember;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Runs the agent's -event-handler scripts as Serf does: {@code sh -c script}, the event on stdin (one line per member,
 * "name TAB address TAB role TAB tags", or a user event's payload) and Serf's environment (SERF_EVENT,
 * SERF_SELF_NAME, SERF_SELF_ROLE, SERF_TAG_*, SERF_USER_EVENT, SERF_USER_LTIME). Scripts run one at a time, in event
 * order, on a thread of their own (never the gossip thread), each bounded by a timeout after which it is killed.
 */
public final class EventScripts implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventScripts.class);
    static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final List<EventHandlerSpec> handlers;
    private final String selfName;
    private final Supplier<Map<String, String>> selfTags;
    private final ExecutorService runner = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon().name("event-handlers").unstarted(r));

    public EventScripts(List<EventHandlerSpec> handlers, String selfName, Supplier<Map<String, String>> selfTags) {
        this.handlers = List.copyOf(handlers);
        this.selfName = selfName;
        this.selfTags = selfTags;
    }

    /** Queues the event for every handler whose filters take it; returns at once. */
    public void handle(SerfEvent e) {
        if (handlers.isEmpty()) return;
        String type;
        String userName = null;
        if (e instanceof SerfEvent.Members m) {
            type = m.kind().serfName;
        } else if (e instanceof SerfEvent.User u) {
            type = "user";
            userName = u.name();
        } else {
            return;
        }
        for (EventHandlerSpec h : handlers) {
            if (!h.accepts(type, userName)) continue;
            String t = type;
            try {
                runner.execute(() -> run(h, t, e));
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                return;
            }
        }
    }

    private void run(EventHandlerSpec h, String type, SerfEvent e) {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", h.script()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        Map<String, String> env = pb.environment();
        Map<String, String> tags = selfTags.get();
        env.put("SERF_EVENT", type);
        env.put("SERF_SELF_NAME", selfName);
        env.put("SERF_SELF_ROLE", tags.getOrDefault("role", ""));
        for (var t : tags.entrySet()) env.put("SERF_TAG_" + t.getKey().toUpperCase(Locale.ROOT).replaceAll("[^A-Z0-9_]", "_"), t.getValue());
        byte[] stdin;
        if (e instanceof SerfEvent.User u) {
            env.put("SERF_USER_EVENT", u.name());
            env.put("SERF_USER_LTIME", Long.toString(u.ltime()));
            stdin = u.payload() == null ? new byte[0] : u.payload();
        } else {
            StringBuilder sb = new StringBuilder();
            for (SerfMember m : ((SerfEvent.Members) e).members()) {
                StringBuilder tagText = new StringBuilder();
                for (var t : new TreeMap<>(m.tags()).entrySet()) {
                    if (!tagText.isEmpty()) tagText.append(',');
                    tagText.append(t.getKey()).append('=').append(t.getValue());
                }
                String addr = m.address().getAddress() != null ? m.address().getAddress().getHostAddress() : m.address().getHostString();
                sb.append(m.name()).append('\t').append(addr).append('\t').append(m.tags().getOrDefault("role", "")).append('\t').append(tagText).append('\n');
            }
            stdin = sb.toString().getBytes(StandardCharsets.UTF_8);
        }
        Process p = null;
        try {
            p = pb.start();
            try (OutputStream in = p.getOutputStream()) {
                in.write(stdin);
            } catch (IOException closedEarly) {
                // the script did not read its stdin: fine
            }
            if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("event handler \"{}\" for {} still running after {} s: killed", h.script(), type, TIMEOUT.toSeconds());
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                return;
            }
            if (p.exitValue() != 0) LOG.warn("event handler \"{}\" for {} exited {}", h.script(), type, p.exitValue());
        } catch (IOException ex) {
            LOG.warn("event handler \"{}\" could not start: {}", h.script(), ex.getMessage());
        } catch (InterruptedException ex) {
            if (p != null) p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        runner.shutdownNow();
    }
}

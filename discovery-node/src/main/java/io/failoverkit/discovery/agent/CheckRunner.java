package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.config.Definitions.CheckDef;
import io.failoverkit.discovery.state.Model;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs the agent's checks at their intervals: script (exit 0 passing, 1 warning, else critical), http (2xx passing,
 * 429 warning), tcp (connect), and ttl (critical when not updated in time). A check that hangs is killed at its
 * timeout and reported critical. Each run is a virtual thread; nothing runs twice at once for one check.
 */
public final class CheckRunner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CheckRunner.class);

    private final LocalState local;
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("checks").unstarted(r));
    private final Map<String, ScheduledFuture<?>> scheduled = new ConcurrentHashMap<>();
    private final Map<String, Long> ttlDeadlines = new ConcurrentHashMap<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).followRedirects(HttpClient.Redirect.NORMAL).build();

    public CheckRunner(LocalState local) {
        this.local = local;
        scheduler.scheduleWithFixedDelay(this::expireTtls, 100, 100, TimeUnit.MILLISECONDS);
    }

    /** Brings the schedule in line with the local checks (after a registration, removal or reload). */
    public synchronized void sync() {
        Map<String, CheckDef> wanted = new java.util.HashMap<>();
        for (LocalState.CheckState c : local.checkStates()) wanted.put(c.def.id(), c.def);
        scheduled.entrySet().removeIf(e -> {
            CheckDef d = wanted.get(e.getKey());
            if (d == null) { e.getValue().cancel(true); return true; }
            return false;
        });
        ttlDeadlines.keySet().retainAll(wanted.keySet());
        for (CheckDef d : wanted.values()) {
            if (d.ttl() != null) {
                ttlDeadlines.putIfAbsent(d.id(), System.nanoTime() + d.ttl().toNanos());
                continue;
            }
            scheduled.computeIfAbsent(d.id(), id -> {
                java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean();
                return scheduler.scheduleWithFixedDelay(() -> {
                    if (!running.compareAndSet(false, true)) return;
                    Thread.ofVirtual().name("check-" + id).start(() -> {
                        try { run(d); } finally { running.set(false); }
                    });
                }, 0, d.interval().toMillis(), TimeUnit.MILLISECONDS);
            });
        }
    }

    /** TTL checks: /v1/agent/check/pass|warn|fail. */
    public void ttlUpdate(CheckDef d, String status, String note) {
        ttlDeadlines.put(d.id(), System.nanoTime() + d.ttl().toNanos());
        local.update(d.id(), status, note);
    }

    private void expireTtls() {
        long now = System.nanoTime();
        ttlDeadlines.forEach((id, deadline) -> {
            LocalState.CheckState c = local.check(id);
            if (c != null && now - deadline > 0 && !Model.CRITICAL.equals(c.status())) {
                local.update(id, Model.CRITICAL, "TTL expired");
            }
        });
    }

    private void run(CheckDef d) {
        String[] result = switch (d.kind()) {
            case "script" -> script(d);
            case "http" -> http(d);
            default -> tcp(d);
        };
        if (local.update(d.id(), result[0], result[1])) LOG.info("check {} is now {}: {}", d.id(), result[0], result[1].strip());
    }

    private String[] script(CheckDef d) {
        Process p;
        try {
            p = new ProcessBuilder(d.args()).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            return new String[]{Model.CRITICAL, "could not start " + d.args().get(0) + ": " + e.getMessage()};
        }
        // Read the output in the background, bounded; the process is killed at its timeout whatever it prints.
        StringBuilder out = new StringBuilder();
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream()) {
                byte[] buf = new byte[1024];
                int n;
                while ((n = in.read(buf)) > 0) {
                    synchronized (out) { if (out.length() < LocalState.MAX_OUTPUT) out.append(new String(buf, 0, n, StandardCharsets.UTF_8)); }
                }
            } catch (IOException ignored) { /* process ended */ }
        });
        try {
            if (!p.waitFor(d.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                return new String[]{Model.CRITICAL, "Timed out (" + d.timeout().toMillis() + "ms) running check; killed"};
            }
            reader.join(1000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return new String[]{Model.CRITICAL, "interrupted"};
        }
        int code = p.exitValue();
        String status = code == 0 ? Model.PASSING : code == 1 ? Model.WARNING : Model.CRITICAL;
        synchronized (out) { return new String[]{status, out.toString()}; }
    }

    private String[] http(CheckDef d) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(d.http())).timeout(d.timeout()).GET().build(), HttpResponse.BodyHandlers.ofString());
            String body = r.body().length() > LocalState.MAX_OUTPUT ? r.body().substring(0, LocalState.MAX_OUTPUT) : r.body();
            String line = "HTTP GET " + d.http() + ": " + r.statusCode() + " Output: " + body;
            if (r.statusCode() >= 200 && r.statusCode() < 300) return new String[]{Model.PASSING, line};
            if (r.statusCode() == 429) return new String[]{Model.WARNING, line};
            return new String[]{Model.CRITICAL, line};
        } catch (IOException | IllegalArgumentException e) {
            return new String[]{Model.CRITICAL, "HTTP GET " + d.http() + ": " + e.getMessage()};
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new String[]{Model.CRITICAL, "interrupted"};
        }
    }

    private String[] tcp(CheckDef d) {
        int colon = d.tcp().lastIndexOf(':');
        if (colon < 0) return new String[]{Model.CRITICAL, "TCP check needs host:port, got " + d.tcp()};
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(d.tcp().substring(0, colon), Integer.parseInt(d.tcp().substring(colon + 1))), (int) d.timeout().toMillis());
            return new String[]{Model.PASSING, "TCP connect " + d.tcp() + ": Success"};
        } catch (IOException | RuntimeException e) {
            return new String[]{Model.CRITICAL, "dial tcp " + d.tcp() + ": " + e.getMessage()};
        }
    }

    @Override
    public void close() {
        scheduler.shutdownNow();
    }
}

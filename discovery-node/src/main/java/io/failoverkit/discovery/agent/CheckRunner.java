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
import java.util.List;
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
    /** A check's schedule and the definition it runs (a re-registration with other settings is rescheduled). */
    private record Scheduled(CheckDef def, ScheduledFuture<?> future) {}
    private final Map<String, Scheduled> scheduled = new ConcurrentHashMap<>();
    private final Map<String, Long> ttlDeadlines = new ConcurrentHashMap<>();
    /**
     * The TTL checks' expiry tick (every 100 ms), scheduled only while there are TTL checks (guarded by ttlTickLock):
     * an agent without any (most client agents) no longer wakes this thread ten times a second for nothing, ~2 ms of
     * CPU a second per agent measured on the 2-core box, which 30 agents on one machine (bench/gossip.sh) all paid.
     */
    private ScheduledFuture<?> ttlTick;
    private final Object ttlTickLock = new Object();
    private final HttpCheckClients httpClients = new HttpCheckClients();
    private final Map<String, GrpcHealth> grpcChannels = new ConcurrentHashMap<>();
    private volatile HttpClient catalogHttp = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    /** This agent's node name and where its catalog reads go: for alias checks of other nodes. */
    private volatile String nodeName = "";
    private volatile java.util.function.Supplier<java.util.Optional<String>> serverHttp = java.util.Optional::empty;
    private volatile java.util.function.Supplier<String> catalogToken = () -> null;

    public CheckRunner(LocalState local) {
        this.local = local;
        scheduler.scheduleWithFixedDelay(this::reapCriticalServices, 1, 1, TimeUnit.SECONDS);
        // Alias checks of local services follow the local state as it changes, as Consul's do.
        local.onCheckStatus(id -> scheduler.execute(this::runLocalAliases));
        local.onChange(() -> scheduler.execute(this::runLocalAliases));
    }

    /** Where alias checks of other nodes read the catalog (the agent's server) and which node is this one. */
    /** The client alias checks read other nodes with: the agent's, with its TLS (a server may serve only HTTPS). */
    public void catalogClient(HttpClient client) {
        this.catalogHttp = client;
    }

    public void catalog(String nodeName, java.util.function.Supplier<java.util.Optional<String>> serverHttp) {
        catalog(nodeName, serverHttp, () -> null);
    }

    /** As {@link #catalog(String, java.util.function.Supplier)}, the reads carrying {@code token} (the agent's ACL token; null: none). */
    public void catalog(String nodeName, java.util.function.Supplier<java.util.Optional<String>> serverHttp, java.util.function.Supplier<String> token) {
        this.nodeName = nodeName;
        this.serverHttp = serverHttp;
        this.catalogToken = java.util.Objects.requireNonNull(token);
    }

    /** The shortest DeregisterCriticalServiceAfter honoured (Consul's minimum is one minute; tests lower it). */
    static Duration reapMinimum() {
        return Duration.ofMillis(Long.getLong("failoverkit.check.reap-min-ms", 60_000));
    }

    /**
     * Consul's DeregisterCriticalServiceAfter: a service with a check that has stayed critical that long is
     * deregistered from this agent (and so from the catalog).
     */
    private void reapCriticalServices() {
        try {
            long now = System.nanoTime();
            Duration min = reapMinimum();
            for (LocalState.CheckState c : local.checkStates()) {
                Duration after = c.def.deregisterCriticalServiceAfter();
                if (after == null || c.def.serviceId().isEmpty()) continue;
                if (after.compareTo(min) < 0) after = min;
                Duration critical = c.criticalFor(now);
                if (critical != null && critical.compareTo(after) >= 0 && local.removeService(c.def.serviceId())) {
                    LOG.warn("service {} deregistered: its check {} has been critical for {} (DeregisterCriticalServiceAfter {})",
                            c.def.serviceId(), c.def.id(), critical, after);
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("reaping critical services failed", e);
        }
    }

    private void runLocalAliases() {
        for (LocalState.CheckState c : local.checkStates()) {
            if (c.def.kind().equals("alias") && isLocal(c.def.aliasNode())) run(c.def);
        }
    }

    private boolean isLocal(String aliasNode) {
        return aliasNode == null || aliasNode.isEmpty() || aliasNode.equals(nodeName);
    }

    /** Brings the schedule in line with the local checks (after a registration, removal or reload). */
    public synchronized void sync() {
        Map<String, CheckDef> wanted = new java.util.HashMap<>();
        for (LocalState.CheckState c : local.checkStates()) wanted.put(c.def.id(), c.def);
        scheduled.entrySet().removeIf(e -> {
            CheckDef d = wanted.get(e.getKey());
            if (d == null || !d.equals(e.getValue().def())) { e.getValue().future().cancel(true); return true; }
            return false;
        });
        ttlDeadlines.keySet().retainAll(wanted.keySet());
        grpcChannels.entrySet().removeIf(e -> {
            CheckDef d = wanted.get(e.getKey());
            Scheduled running = scheduled.get(e.getKey());
            if (d != null && d.grpc() != null && running != null && running.def().equals(d)) return false;
            e.getValue().close();
            return true;
        });
        for (CheckDef d : wanted.values()) {
            if (d.ttl() != null) {
                ttlDeadlines.putIfAbsent(d.id(), System.nanoTime() + d.ttl().toNanos());
                ensureTtlTick();
                continue;
            }
            if (d.kind().equals("alias") && isLocal(d.aliasNode())) continue; // run on local changes, above
            scheduled.computeIfAbsent(d.id(), id -> {
                java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean();
                return new Scheduled(d, scheduler.scheduleWithFixedDelay(() -> {
                    if (!running.compareAndSet(false, true)) return;
                    Thread.ofVirtual().name("check-" + id).start(() -> {
                        try { run(d); } finally { running.set(false); }
                    });
                }, 0, d.interval() == null ? 1000 : d.interval().toMillis(), TimeUnit.MILLISECONDS));
            });
        }
    }

    /** TTL checks: /v1/agent/check/pass|warn|fail. */
    public void ttlUpdate(CheckDef d, String status, String note) {
        ttlDeadlines.put(d.id(), System.nanoTime() + d.ttl().toNanos());
        ensureTtlTick();
        local.update(d.id(), status, note);
    }

    /** Starts the expiry tick unless it runs; call after putting a deadline (the tick stops once none is left). */
    private void ensureTtlTick() {
        synchronized (ttlTickLock) {
            if (ttlTick != null || ttlDeadlines.isEmpty()) return;
            try {
                ttlTick = scheduler.scheduleWithFixedDelay(this::expireTtls, 100, 100, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // closed
            }
        }
    }

    /** True while the TTL expiry tick is scheduled (a test's view). */
    boolean ttlTickRunning() {
        synchronized (ttlTickLock) { return ttlTick != null; }
    }

    private void expireTtls() {
        synchronized (ttlTickLock) {
            // a deadline put after this look starts a new tick (ensureTtlTick runs after the put)
            if (ttlDeadlines.isEmpty()) {
                if (ttlTick != null) ttlTick.cancel(false);
                ttlTick = null;
                return;
            }
        }
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
            case "udp" -> udp(d);
            case "grpc" -> grpcChannels.computeIfAbsent(d.id(), id -> new GrpcHealth(d.grpc(), d.grpcUseTls(), d.httpOptions().tlsSkipVerify()))
                    .probe(d.timeout());
            case "alias" -> alias(d);
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
        var o = d.httpOptions();
        try {
            HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(d.http())).timeout(d.timeout())
                    .method(o.method(), o.body().isEmpty() ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(o.body()));
            // Consul's checks say who they are unless the definition sets its own User-Agent.
            if (o.header().keySet().stream().noneMatch(h -> h.equalsIgnoreCase("User-Agent"))) req.header("User-Agent", "Consul Health Check");
            o.header().forEach((name, values) -> values.forEach(v -> req.header(name, v)));
            HttpResponse<String> r = httpClients.forOptions(o).send(req.build(), HttpResponse.BodyHandlers.ofString());
            String body = r.body().length() > LocalState.MAX_OUTPUT ? r.body().substring(0, LocalState.MAX_OUTPUT) : r.body();
            String line = "HTTP " + o.method() + " " + d.http() + ": " + r.statusCode() + " Output: " + body;
            if (r.statusCode() >= 200 && r.statusCode() < 300) return new String[]{Model.PASSING, line};
            if (r.statusCode() == 429) return new String[]{Model.WARNING, line};
            return new String[]{Model.CRITICAL, line};
        } catch (IOException | IllegalArgumentException e) {
            return new String[]{Model.CRITICAL, "HTTP " + o.method() + " " + d.http() + ": " + e.getMessage()};
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new String[]{Model.CRITICAL, "interrupted"};
        }
    }

    /**
     * Consul's UDP check: a datagram to host:port, then a read until the timeout. A reply, or silence, is passing (UDP
     * has no handshake); an error, such as the ICMP port-unreachable a closed port answers with, is critical.
     */
    private String[] udp(CheckDef d) {
        int colon = d.udp().lastIndexOf(':');
        if (colon < 0) return new String[]{Model.CRITICAL, "UDP check needs host:port, got " + d.udp()};
        try (java.net.DatagramSocket s = new java.net.DatagramSocket()) {
            s.connect(new InetSocketAddress(d.udp().substring(0, colon), Integer.parseInt(d.udp().substring(colon + 1))));
            s.setSoTimeout((int) Math.max(1, d.timeout().toMillis()));
            s.send(new java.net.DatagramPacket(new byte[]{'h'}, 1));
            try {
                s.receive(new java.net.DatagramPacket(new byte[1024], 1024));
            } catch (java.net.SocketTimeoutException silent) {
                return new String[]{Model.PASSING, "UDP connect " + d.udp() + ": Success (no reply within the timeout)"};
            }
            return new String[]{Model.PASSING, "UDP connect " + d.udp() + ": Success"};
        } catch (IOException | RuntimeException e) {
            return new String[]{Model.CRITICAL, "UDP connect " + d.udp() + ": " + e.getMessage()};
        }
    }

    /**
     * Consul's alias check: the worst status among the aliased service's checks and its node's own checks (or, for
     * AliasNode alone, all of the node's checks); critical when the aliased service is not registered.
     */
    private String[] alias(CheckDef d) {
        List<Model.Check> checks;
        boolean serviceKnown;
        if (isLocal(d.aliasNode())) {
            checks = local.catalogChecks(nodeName);
            serviceKnown = d.aliasService().isEmpty() || local.services().containsKey(d.aliasService());
        } else {
            java.util.Optional<String> server = serverHttp.get();
            if (server.isEmpty()) return new String[]{Model.CRITICAL, "no server to read node " + d.aliasNode() + " from"};
            try {
                String node = java.net.URLEncoder.encode(d.aliasNode(), StandardCharsets.UTF_8);
                HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create((server.get().contains("://") ? server.get() : "http://" + server.get()) + "/v1/health/node/" + node + "?stale"))
                        .timeout(d.timeout()).GET();
                String token = catalogToken.get();
                if (token != null && !token.isEmpty()) rb.header("X-Consul-Token", token);
                HttpResponse<byte[]> r = catalogHttp.send(rb.build(), HttpResponse.BodyHandlers.ofByteArray());
                if (r.statusCode() != 200) return new String[]{Model.CRITICAL, "reading node " + d.aliasNode() + ": HTTP " + r.statusCode()};
                checks = List.of(io.failoverkit.discovery.state.Json.MAPPER.readValue(r.body(), Model.Check[].class));
                serviceKnown = d.aliasService().isEmpty() || checks.stream().anyMatch(c -> c.serviceId().equals(d.aliasService()));
            } catch (IOException e) {
                return new String[]{Model.CRITICAL, "reading node " + d.aliasNode() + ": " + e.getMessage()};
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new String[]{Model.CRITICAL, "interrupted"};
            }
        }
        String status = Model.PASSING;
        String output = "No checks found.";
        for (Model.Check c : checks) {
            if (c.checkId().equals(d.id())) continue; // not itself
            if (!c.serviceId().isEmpty() && !c.serviceId().equals(d.aliasService())) continue;
            if (Model.CRITICAL.equals(c.status()) || Model.WARNING.equals(c.status())) {
                if (!Model.CRITICAL.equals(status)) {
                    status = c.status();
                    output = "Aliased check \"" + c.name() + "\" failing: " + c.output();
                }
            } else if (Model.PASSING.equals(status)) {
                output = "All checks passing.";
            }
        }
        if (!serviceKnown) return new String[]{Model.CRITICAL, "Service not found"};
        return new String[]{status, output};
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
        grpcChannels.values().forEach(GrpcHealth::close);
    }
}

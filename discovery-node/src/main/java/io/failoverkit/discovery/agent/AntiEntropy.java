package io.failoverkit.discovery.agent;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.config.Definitions.ServiceDef;
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
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * Keeps the catalog's record of this node in step with {@link LocalState}: registers what is missing or different,
 * deregisters what the agent no longer has. It reads the catalog afresh each time, so it also repairs the catalog
 * after a server restart or a leader change. It speaks the HTTP API to a server, as any Consul client would.
 */
public final class AntiEntropy {
    private static final Logger LOG = LoggerFactory.getLogger(AntiEntropy.class);
    /** Output-only changes wait for a full sync, so chatty checks do not write on every run. */
    static final long FULL_SYNC_NANOS = Duration.ofSeconds(30).toNanos();

    static final String CONSUL_SERVICE_ID = "consul";
    /**
     * A client agent's first sync after a server appears (none known before: the agent's start, or every server
     * gone and one back) waits a random time below this, scaled up above 128 members, as Consul's agent staggers its
     * full sync after a server joins (its serverUpIntv): a mass join or a restarted server group is not met by every
     * client's catalog reads and writes in the same second.
     */
    static final Duration SERVER_UP_STAGGER = Duration.ofSeconds(3);
    /** Pool size above which the stagger grows: doubled above 128 members, tripled above 256, ... (Consul's). */
    static final int SCALE_THRESHOLD = 128;

    private final LocalState local;
    private final String node;
    private final String nodeId;
    private final String address;
    private final Supplier<Optional<String>> serverHttp;
    private final Map<String, String> nodeMeta;
    private final HttpClient http;
    private volatile boolean dirty = true;
    /** The token its requests carry (the agent's acl.tokens.agent, else default; null: none), as Consul's agent token. */
    private volatile Supplier<String> token = () -> null;
    /** When the last full sync started (System.nanoTime); written under the write slot. One is due at start. */
    private volatile long lastFull = System.nanoTime() - FULL_SYNC_NANOS - 1;
    /**
     * Held by every write to the catalog until it is done (a blocking sync holds it for its whole run, an in-process
     * push until its Raft entry is applied), so a later write always carries a later local state.
     */
    private final java.util.concurrent.Semaphore writeSlot = new java.util.concurrent.Semaphore(1);
    /** A server agent's own catalog, written in-process (null: every write goes over HTTP). */
    private volatile CatalogWriter inProcess;
    /** Checks whose status changed and are not in the catalog yet: pushed at once, all of a burst in one write. */
    private final Set<String> changedChecks = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final java.util.concurrent.Semaphore wake = new java.util.concurrent.Semaphore(0);
    private final Thread pusher;
    private volatile boolean closed;
    /** The stagger after a server appears (zero: none, a server agent's case) and what scales it. */
    private volatile Duration serverUpStagger = Duration.ZERO;
    private volatile IntSupplier clusterSize = () -> 1;
    private volatile RandomGenerator random = RandomGenerator.getDefault();
    /** Guarded by this: whether the last look found a server, and until when (System.nanoTime) no sync starts. */
    private boolean serverKnown;
    private boolean staggering;
    private long staggerEnd;

    /**
     * A server's catalog register route, called in-process: the same parsing, ACL check (with the token given) and
     * Raft proposal as {@code PUT /v1/catalog/register}, without the HTTP round trip to itself.
     */
    public interface CatalogWriter {
        /**
         * Proposes {@code body} (the route's JSON body as maps and lists) with {@code token} (null: none); completes
         * once applied, exceptionally when refused or not committed. Null when it cannot be written in-process now
         * (the server has not taken its Raft seat): the write then goes over HTTP.
         */
        java.util.concurrent.CompletableFuture<Void> register(Map<String, Object> body, String token);
    }

    public AntiEntropy(LocalState local, String node, String nodeId, String address, Supplier<Optional<String>> serverHttp) {
        this(local, node, nodeId, address, Map.of(), serverHttp);
    }

    /** With the node's metadata (-node-meta), which Consul keeps in the catalog's node, not in gossip. */
    public AntiEntropy(LocalState local, String node, String nodeId, String address, Map<String, String> nodeMeta, Supplier<Optional<String>> serverHttp) {
        this(local, node, nodeId, address, nodeMeta, serverHttp, HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build());
    }

    /**
     * {@code serverHttp} gives a server's HTTP API as a base URL (http:// or https://; a bare host:port means http),
     * {@code http} is the agent's client (with its TLS).
     */
    public AntiEntropy(LocalState local, String node, String nodeId, String address, Map<String, String> nodeMeta,
                       Supplier<Optional<String>> serverHttp, HttpClient http) {
        this.http = http;
        this.nodeMeta = Map.copyOf(nodeMeta);
        this.local = local;
        this.node = node;
        this.nodeId = nodeId;
        this.address = address;
        this.serverHttp = serverHttp;
        local.onChange(this::markDirty);
        local.onCheckStatus(this::checkChanged);
        this.pusher = Thread.ofPlatform().daemon().name("check-sync-" + node).start(this::pushLoop);
    }

    /** Something local changed: synced now by the pusher thread (not at the next tick), as Consul's agent does. */
    public void markDirty() {
        dirty = true;
        wake.release();
    }

    /**
     * A check's status changed: it goes to the catalog now, without waiting for anti-entropy, as Consul's agent
     * triggers a sync on every status change. Changes that arrive while a write is in flight go together in the next.
     */
    public void checkChanged(String checkId) {
        changedChecks.add(checkId);
        if (inProcess != null) pushInProcess();
        else wake.release();
    }

    /**
     * On a server agent: status changes are proposed to its own Raft node from the thread that saw them (no hop to the
     * pusher thread, no HTTP request to itself), one write at a time; changes that arrive while one is in flight go
     * together in the next, proposed when it completes. Anything else (a full sync due, no Raft seat yet, a failed
     * write) goes to the pusher thread and over HTTP as before.
     */
    public void writeInProcess(CatalogWriter writer) {
        this.inProcess = writer;
    }

    private void pushInProcess() {
        CatalogWriter writer = inProcess;
        while (!closed && !changedChecks.isEmpty()) {
            // A thread with its interrupt flag set (a check runner being stopped, a timer shut down) must not propose:
            // Ratis' client refuses at once and the batch fails for every writer in it. The pusher writes instead.
            if (dirty || writer == null || Thread.currentThread().isInterrupted()) {
                wake.release(); // the pusher's full sync compares every check
                return;
            }
            if (!writeSlot.tryAcquire()) return; // the holder looks at changedChecks again when it lets go
            Set<String> ids = new HashSet<>(changedChecks);
            changedChecks.removeAll(ids);
            java.util.concurrent.CompletableFuture<Void> written;
            try {
                List<Map<String, Object>> out = changedCheckBodies(ids);
                if (out.isEmpty()) {
                    writeSlot.release();
                    continue;
                }
                written = writer.register(registerBody(Map.of("Checks", out)), token.get());
            } catch (RuntimeException | Error e) {
                // Whatever the writer throws, the slot is given back below (else check sync would stop for good).
                written = java.util.concurrent.CompletableFuture.failedFuture(e);
            }
            if (written == null) { // no Raft seat yet: over HTTP
                changedChecks.addAll(ids);
                writeSlot.release();
                wake.release();
                return;
            }
            written.whenComplete((ok, err) -> {
                if (err == null) {
                    releaseWriteSlot();
                    return;
                }
                // Not a retry loop: the pusher's full sync (over HTTP, with anti-entropy's retries) repairs the catalog.
                changedChecks.addAll(ids);
                dirty = true;
                writeSlot.release();
                wake.release();
                LOG.debug("in-process check sync failed, anti-entropy retries: {}", err.toString());
            });
            return;
        }
    }

    /** Lets the next catalog write go; changes that came meanwhile are pushed now. */
    private void releaseWriteSlot() {
        writeSlot.release();
        if (!changedChecks.isEmpty()) {
            if (inProcess != null) pushInProcess();
            else wake.release();
        }
    }

    private void pushLoop() {
        while (!closed) {
            try {
                long left = staggerLeft();
                if (left > 0) wake.tryAcquire(left, TimeUnit.NANOSECONDS); // woken early or not: looks again below
                else wake.acquire();
                wake.drainPermits();
            } catch (InterruptedException e) {
                return;
            }
            if (closed) return;
            Optional<String> server = syncTarget();
            if (server.isEmpty()) continue; // the periodic tick retries once a server is known (and staggered)
            try {
                if (dirty) {
                    syncUnderSlot(server.get());
                } else {
                    pushChangedChecks(server.get());
                }
            } catch (IOException | RuntimeException e) {
                dirty = true;
                LOG.debug("sync with {} failed, anti-entropy retries: {}", server.get(), e.getMessage());
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * One sync, holding the write slot: a full one when due (its start then recorded, on success), else one that
     * leaves output-only check changes for the next full sync. Every check is compared either way.
     */
    private void syncUnderSlot(String server) throws IOException, InterruptedException {
        writeSlot.acquire();
        try {
            long now = System.nanoTime();
            boolean full = now - lastFull > FULL_SYNC_NANOS;
            dirty = false;
            changedChecks.clear(); // the sync below compares every check
            sync(server, full);
            if (full) lastFull = now;
        } finally {
            releaseWriteSlot();
        }
    }

    /** The changed checks as the local state has them now, in one catalog write (one Raft entry). */
    private void pushChangedChecks(String server) throws IOException, InterruptedException {
        writeSlot.acquire();
        Set<String> ids = Set.of();
        boolean failed = false;
        try {
            if (changedChecks.isEmpty()) return;
            ids = new HashSet<>(changedChecks);
            changedChecks.removeAll(ids);
            List<Map<String, Object>> out = changedCheckBodies(ids);
            if (out.isEmpty()) return;
            register(server, Map.of("Checks", out));
        } catch (IOException | RuntimeException e) {
            changedChecks.addAll(ids);
            failed = true;
            throw e;
        } finally {
            // A failed push's checks wait for the full sync it asks for (next wake-up or tick), not pushed again at once.
            if (failed) writeSlot.release();
            else releaseWriteSlot();
        }
    }

    /** The catalog form of those checks as the local state has them now. */
    private List<Map<String, Object>> changedCheckBodies(Set<String> ids) {
        List<Map<String, Object>> out = new java.util.ArrayList<>();
        for (Model.Check c : local.catalogChecks(node)) if (ids.contains(c.checkId())) out.add(checkBody(c));
        return out;
    }

    public void close() {
        closed = true;
        pusher.interrupt();
    }

    /** Where the token for the catalog requests comes from (read before each request: a reload may change it). */
    public void token(Supplier<String> source) { this.token = java.util.Objects.requireNonNull(source); }

    /**
     * Client agents: once a server appears where none was known, no sync starts for a random time in [0, max x the
     * pool's scale factor) (see {@link #SERVER_UP_STAGGER}); local changes made meanwhile go in the sync after it.
     */
    public void staggerAfterServerUp(Duration max, IntSupplier poolSize, RandomGenerator random) {
        this.clusterSize = java.util.Objects.requireNonNull(poolSize);
        this.random = java.util.Objects.requireNonNull(random);
        this.serverUpStagger = java.util.Objects.requireNonNull(max);
    }

    /** Consul's ae.scaleFactor: 1 up to 128 members, then one more for every doubling. */
    static int scaleFactor(int members) {
        int factor = 1;
        for (long limit = SCALE_THRESHOLD; limit < members; limit <<= 1) factor++; // 1 + ceil(log2(members / 128))
        return factor;
    }

    /**
     * The server to sync with now: empty while none is known or while the stagger after one appeared runs. A server
     * appearing where none was starts the stagger (and wakes the pusher, which then waits for its end).
     */
    private Optional<String> syncTarget() {
        Optional<String> server = serverHttp.get();
        long now = System.nanoTime();
        boolean started = false;
        synchronized (this) {
            if (server.isEmpty()) {
                serverKnown = false;
                return server;
            }
            if (!serverKnown) {
                serverKnown = true;
                long max = serverUpStagger.toNanos() * scaleFactor(clusterSize.getAsInt());
                // A stagger still running is kept, not drawn again (as Consul ignores server joins while it waits):
                // a server that keeps coming and going delays the sync by one stagger at most, not without end.
                if (max > 0 && !(staggering && now - staggerEnd < 0)) {
                    staggering = true;
                    staggerEnd = now + random.nextLong(max);
                    started = true;
                }
                dirty = true; // a sync once it ends (every service and check compared), as Consul syncs after a server joins
            }
            if (staggering && now - staggerEnd < 0) {
                if (started) {
                    wake.release();
                    LOG.debug("a server is known now: first catalog sync in {} ms (stagger)", (staggerEnd - now) / 1_000_000);
                }
                return Optional.empty();
            }
            staggering = false;
            return server;
        }
    }

    /** Nanoseconds left of the stagger after a server appeared, 0 when none runs. */
    private synchronized long staggerLeft() {
        if (!staggering) return 0;
        return Math.max(0, staggerEnd - System.nanoTime());
    }

    private HttpRequest.Builder withToken(HttpRequest.Builder b) {
        String t = token.get();
        return t == null || t.isEmpty() ? b : b.header("X-Consul-Token", t);
    }

    /** Runs often (every second); does work when something changed locally or a full sync is due. */
    public void tick() {
        // Looked at every tick, work or not: a server lost and found again is staggered (and fully synced) again.
        Optional<String> server = syncTarget();
        boolean full = System.nanoTime() - lastFull > FULL_SYNC_NANOS;
        if (!dirty && !full && changedChecks.isEmpty()) return;
        if (server.isEmpty()) return;
        try {
            syncUnderSlot(server.get());
        } catch (IOException | RuntimeException e) {
            dirty = true;
            LOG.debug("anti-entropy sync with {} failed, will retry: {}", server.get(), e.getMessage());
        } catch (InterruptedException e) {
            dirty = true;
            Thread.currentThread().interrupt();
        }
    }

    private void sync(String server, boolean full) throws IOException, InterruptedException {
        JsonNode nodeServices = get(server, "/v1/catalog/node/" + node + "?stale");
        JsonNode nodeChecks = get(server, "/v1/health/node/" + node + "?stale");
        Map<String, JsonNode> remoteServices = new HashMap<>();
        if (nodeServices != null && nodeServices.isObject() && nodeServices.get("Services") != null) {
            nodeServices.get("Services").fields().forEachRemaining(e -> remoteServices.put(e.getKey(), e.getValue()));
        }
        syncNodeMeta(server, nodeServices);
        Map<String, JsonNode> remoteChecks = new HashMap<>();
        if (nodeChecks != null) for (JsonNode c : nodeChecks) remoteChecks.put(c.get("CheckID").asText(), c);

        Map<String, ServiceDef> services = local.services();
        for (ServiceDef s : services.values()) {
            JsonNode r = remoteServices.get(s.id());
            // EnableTagOverride: tags changed in the catalog by someone else are kept, as Consul's anti-entropy does.
            List<String> tags = s.tags();
            if (s.enableTagOverride() && r != null) tags = remoteTags(r);
            if (r == null || !sameService(s, tags, r)) {
                Map<String, Object> svc = new LinkedHashMap<>();
                svc.put("ID", s.id());
                svc.put("Service", s.name());
                svc.put("Tags", tags);
                svc.put("Address", s.address());
                svc.put("Port", s.port());
                svc.put("Meta", s.meta());
                svc.put("EnableTagOverride", s.enableTagOverride());
                svc.put("Weights", s.weights());
                svc.put("Kind", s.kind());
                svc.put("TaggedAddresses", s.taggedAddresses());
                register(server, Map.of("Service", svc));
            }
        }
        for (String id : remoteServices.keySet()) {
            // The "consul" service of a server is the leader's (see Reconciler), as in Consul's agent.
            if (!services.containsKey(id) && !CONSUL_SERVICE_ID.equals(id)) deregister(server, "ServiceID", id);
        }
        Set<String> localIds = new HashSet<>();
        List<Map<String, Object>> changed = new java.util.ArrayList<>();
        for (Model.Check c : local.catalogChecks(node)) {
            localIds.add(c.checkId());
            JsonNode r = remoteChecks.get(c.checkId());
            boolean differs = r == null || !c.status().equals(r.path("Status").asText()) || !c.name().equals(r.path("Name").asText())
                    || !c.serviceId().equals(r.path("ServiceID").asText()) || !c.notes().equals(r.path("Notes").asText());
            if (differs || (full && !c.output().equals(r.path("Output").asText()))) changed.add(checkBody(c));
        }
        if (!changed.isEmpty()) register(server, Map.of("Checks", changed));
        for (String id : remoteChecks.keySet()) {
            if (!localIds.contains(id) && !Model.SERF_HEALTH.equals(id)) deregister(server, "CheckID", id);
        }
    }

    private Map<String, Object> checkBody(Model.Check c) {
        Map<String, Object> chk = new LinkedHashMap<>();
        chk.put("Node", node);
        chk.put("CheckID", c.checkId());
        chk.put("Name", c.name());
        chk.put("Status", c.status());
        chk.put("Notes", c.notes());
        chk.put("Output", c.output());
        chk.put("ServiceID", c.serviceId());
        chk.put("Type", c.type());
        return chk;
    }

    /** The node's metadata in the catalog follows -node-meta (once the node is there: the leader registers it). */
    private void syncNodeMeta(String server, JsonNode nodeServices) throws IOException, InterruptedException {
        if (nodeServices == null || !nodeServices.isObject() || nodeServices.get("Node") == null) return;
        Map<String, String> remote = new HashMap<>();
        nodeServices.get("Node").path("Meta").fields().forEachRemaining(e -> remote.put(e.getKey(), e.getValue().asText()));
        if (remote.equals(nodeMeta)) return;
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("ID", nodeId);
        body.put("Node", node);
        body.put("Address", address);
        body.put("TaggedAddresses", Map.of("lan", address));
        body.put("NodeMeta", nodeMeta);
        put(server, "/v1/catalog/register", body);
    }

    private static List<String> remoteTags(JsonNode r) {
        List<String> tags = new java.util.ArrayList<>();
        r.path("Tags").forEach(t -> tags.add(t.asText()));
        return tags;
    }

    private static boolean sameService(ServiceDef s, List<String> wantTags, JsonNode r) {
        List<String> tags = remoteTags(r);
        Map<String, String> meta = new HashMap<>();
        r.path("Meta").fields().forEachRemaining(e -> meta.put(e.getKey(), e.getValue().asText()));
        Map<String, Model.ServiceAddress> tagged = new HashMap<>();
        r.path("TaggedAddresses").fields().forEachRemaining(e -> tagged.put(e.getKey(),
                new Model.ServiceAddress(e.getValue().path("Address").asText(), e.getValue().path("Port").asInt())));
        return s.name().equals(r.path("Service").asText()) && wantTags.equals(tags) && s.address().equals(r.path("Address").asText())
                && s.port() == r.path("Port").asInt() && s.meta().equals(meta) && s.enableTagOverride() == r.path("EnableTagOverride").asBoolean()
                && s.kind().equals(r.path("Kind").asText()) && s.taggedAddresses().equals(tagged)
                && s.weights().passing() == r.path("Weights").path("Passing").asInt(1) && s.weights().warning() == r.path("Weights").path("Warning").asInt(1);
    }

    private static String base(String server) {
        return server.contains("://") ? server : "http://" + server;
    }

    private JsonNode get(String server, String path) throws IOException, InterruptedException {
        HttpResponse<byte[]> r = http.send(withToken(HttpRequest.newBuilder(URI.create(base(server) + path)).timeout(Duration.ofSeconds(5))).GET().build(),
                HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() != 200) throw new IOException("GET " + path + ": HTTP " + r.statusCode() + " " + new String(r.body()).strip());
        return Json.MAPPER.readTree(r.body());
    }

    private void register(String server, Map<String, Object> part) throws IOException, InterruptedException {
        put(server, "/v1/catalog/register", registerBody(part));
    }

    private Map<String, Object> registerBody(Map<String, Object> part) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("ID", nodeId);
        body.put("Node", node);
        body.put("Address", address);
        body.put("SkipNodeUpdate", true);
        body.putAll(part);
        return body;
    }

    private void deregister(String server, String field, String id) throws IOException, InterruptedException {
        put(server, "/v1/catalog/deregister", Map.of("Node", node, field, id));
    }

    private void put(String server, String path, Object body) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(withToken(HttpRequest.newBuilder(URI.create(base(server) + path)).timeout(Duration.ofSeconds(10)))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(Json.MAPPER.writeValueAsBytes(body))).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) throw new IOException("PUT " + path + ": HTTP " + r.statusCode() + " " + r.body().strip());
    }
}

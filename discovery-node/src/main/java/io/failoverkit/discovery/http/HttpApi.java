package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.acl.Authorizer;
import io.failoverkit.discovery.acl.Identity;
import io.failoverkit.discovery.acl.Resource;
import io.failoverkit.discovery.acl.TokenResolver;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.agent.AntiEntropy;
import io.failoverkit.discovery.audit.AuditLog;
import io.failoverkit.discovery.leader.SessionTimers;
import io.failoverkit.discovery.raft.RaftNode;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.state.TxnOutcome;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;

/**
 * The HTTP API (Consul's /v1 paths) on Jetty 12's core handler API. Requests run on virtual threads; a blocking
 * query that has to wait parks as a callback on the state store and releases its thread. Agent endpoints are
 * served locally on every agent; the rest by the servers (a client agent forwards them to one).
 */
public final class HttpApi implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(HttpApi.class);

    private final Server jetty;
    private final Agent agent;
    private final Forwarder forwarder;
    private final ServerConnector httpConnector;
    private final ServerConnector httpsConnector;
    private final ScheduledExecutorService timer;
    private final Executor executor = Executors.newVirtualThreadPerTaskExecutor();
    private volatile Routes routes;
    private volatile StateStore store;
    /** The audit log of write requests (null unless {@code audit.enabled}). */
    private final AuditLog audit;
    private final Permissions.Lookup lookup;
    /** /v1/agent/members' bodies, encoded once per membership change and authorizer. */
    private final MembersCache membersCache;

    /** The server-side endpoints, present once this server has joined its Raft group. */
    private record Routes(KvEndpoint kv, CatalogEndpoint catalog, HealthEndpoint health, SessionEndpoint session, StatusEndpoint status,
                          TxnEndpoint txn, SnapshotEndpoint snapshot, AclEndpoint acl) {}

    public HttpApi(Agent agent, String host, int port, ScheduledExecutorService timer) throws Exception {
        this.agent = agent;
        this.timer = timer;
        this.forwarder = new Forwarder(this::defaultToken, agent.tls().httpClient());
        forwarder.metrics(agent.metrics());
        this.lookup = new AgentLookup();
        this.membersCache = new MembersCache(agent.membership());
        this.audit = agent.config().auditEnabled ? AuditLog.open(auditPath(agent)) : null;
        QueuedThreadPool pool = new QueuedThreadPool(64, 4);
        pool.setName("http");
        pool.setVirtualThreadsExecutor(executor);
        jetty = new Server(pool);
        HttpConfiguration cfg = new HttpConfiguration();
        cfg.setSendServerVersion(false);
        cfg.setUriCompliance(UriCompliance.LEGACY);
        // No per-connection header cache: Jetty's (1,024 rows, built on a connection's second request) costs ~100 KB
        // of heap per kept-alive connection, and a watcher's connection lives on with its blocking query parked:
        // 5,000 watchers took a server's live heap from ~125 MB to 370-620 MB (bench/scale.sh). Without it, a request's
        // few header fields are parsed afresh, as Consul's Go server does (ParkedConnectionMemoryTest).
        cfg.setHeaderCacheSize(0);
        // HTTP stays unless its port is -1, as Consul's; HTTPS is added beside it when ports.https is set.
        httpConnector = port < 0 ? null : connector(new ServerConnector(jetty, new HttpConnectionFactory(cfg)), host, port);
        int httpsPort = agent.config().httpsPort;
        if (httpsPort >= 0) {
            HttpConfiguration tlsCfg = new HttpConfiguration(cfg);
            // Consul does not compare the Host header with the certificate's names; neither does this listener.
            tlsCfg.addCustomizer(new org.eclipse.jetty.server.SecureRequestCustomizer(false));
            httpsConnector = connector(new ServerConnector(jetty, agent.tls().httpsFactory(), new HttpConnectionFactory(tlsCfg)), host, httpsPort);
        } else {
            httpsConnector = null;
        }
        jetty.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) {
                dispatch(request, response, callback);
                return true;
            }
        });
        jetty.start();
    }

    /**
     * The listen backlog of the HTTP(S) listeners: the kernel's limit (net.core.somaxconn), as a Go listener such as
     * Consul's gets. Jetty's default leaves it to the JVM's 50: thousands of watchers (re)connecting at once, or a
     * follower passing their blocking queries on to the leader, overflowed it, and the dropped connection attempts
     * waited out TCP's SYN retries (seconds) or failed (bench/scale.sh, 5,000 watchers).
     */
    static int acceptQueueSize() {
        try {
            int max = Integer.parseInt(java.nio.file.Files.readString(Path.of("/proc/sys/net/core/somaxconn")).trim());
            return Math.max(128, max);
        } catch (IOException | RuntimeException e) {
            return 4096;
        }
    }

    private ServerConnector connector(ServerConnector c, String host, int port) {
        c.setHost(host);
        c.setPort(port);
        c.setAcceptQueueSize(acceptQueueSize());
        // Longer than the longest blocking query (10 min plus jitter).
        c.setIdleTimeout(ServerSide.MAX_WAIT.plusMinutes(2).toMillis());
        jetty.addConnector(c);
        return c;
    }

    /** Turns on the server-side endpoints (KV, catalog, health, sessions, status) over this server's Raft node. */
    public void serve(StateStore store, RaftNode raft, SessionTimers timers, Supplier<Optional<String>> leaderHttp) {
        this.store = store;
        ServerSide side = new ServerSide(store, raft, agent.nodeName(), agent.config().datacenter, timer, executor, forwarder, leaderHttp);
        side.metrics(agent.metrics());
        side.aclsOff(() -> agent.acl() == TokenResolver.DISABLED);
        routes = new Routes(new KvEndpoint(side), new CatalogEndpoint(side), new HealthEndpoint(side),
                new SessionEndpoint(side, timers, forwarder, leaderHttp), new StatusEndpoint(side), new TxnEndpoint(side),
                new SnapshotEndpoint(side), new AclEndpoint(side, agent));
        catalogInProcess = new InProcessCatalog(store, raft::propose, agent::acl, agent.config().datacenter);
    }

    private volatile AntiEntropy.CatalogWriter catalogInProcess;

    /** This server's catalog register route, for its own check sync to call in-process (null before {@link #serve}). */
    public AntiEntropy.CatalogWriter catalogInProcess() {
        return catalogInProcess;
    }

    /** The agent's acl.tokens.default, sent on by the forwarder for requests that carry no token. */
    private String defaultToken() {
        return agent.config().acl.defaultToken;
    }

    /** The HTTP port, -1 when HTTP is off. */
    public int port() {
        return httpConnector == null ? -1 : httpConnector.getLocalPort();
    }

    /** The HTTPS port, -1 when HTTPS is off. */
    public int httpsPort() {
        return httpsConnector == null ? -1 : httpsConnector.getLocalPort();
    }

    private void dispatch(Request request, Response response, Callback callback) {
        String path = request.getHttpURI().getDecodedPath();
        long start = System.nanoTime();
        String method = request.getMethod();
        Callback timed = Callback.from(callback, () -> agent.metrics().sinceMillis("consul.api.http",
                java.util.Map.of("method", method, "path", metricPath(path)), start));
        Call call = new Call(request, response, timed, path);
        try {
            route(call, path);
        } catch (HttpError e) {
            call.text(e.status, e.getMessage());
        } catch (RuntimeException e) {
            LOG.warn("{} {} failed", request.getMethod(), path, e);
            call.text(500, "internal error: " + e.getMessage());
        }
    }

    private static final java.util.Set<String> GROUPS = java.util.Set.of("agent", "event", "operator", "kv", "catalog", "health",
            "session", "status", "txn", "snapshot", "acl", "query", "coordinate", "connect", "config", "internal");

    private static final java.util.regex.Pattern ROUTE_WORD = java.util.regex.Pattern.compile("[a-z-]{1,32}");

    /** The route a request took, as Consul labels consul.api.http ("v1_health_service_"): bounded, no keys or names. */
    static String metricPath(String path) {
        if (path == null || !path.startsWith("/v1/")) return "unknown";
        String rest = path.substring(4);
        int slash = rest.indexOf('/');
        String group = slash < 0 ? rest : rest.substring(0, slash);
        if (!GROUPS.contains(group)) return "unknown";
        if (slash < 0) return "v1_" + group;
        if (group.equals("kv")) return "v1_kv_";
        String sub = rest.substring(slash + 1);
        int next = sub.indexOf('/');
        String first = next < 0 ? sub : sub.substring(0, next);
        if (!ROUTE_WORD.matcher(first).matches()) return "v1_" + group + "_";
        return "v1_" + group + "_" + first.replace('-', '_') + (next < 0 ? "" : "_");
    }

    private void route(Call call, String path) {
        if (path != null && UiEndpoint.serves(path)) { UiEndpoint.handle(call, path); return; } // the web UI (issue 15)
        if (path == null || !path.startsWith("/v1/")) throw HttpError.notFound("unknown endpoint " + path + " (the API lives under /v1/)");
        String rest = path.substring(4);
        int slash = rest.indexOf('/');
        String group = slash < 0 ? rest : rest.substring(0, slash);
        String sub = slash < 0 ? "" : rest.substring(slash + 1);
        // A client agent passes the server-side routes on with the token; the server checks them (once, with its state).
        boolean passedOn = !agent.config().server && (SERVER_GROUPS.contains(group) || group.equals("operator") && sub.startsWith("raft/"));
        if (!passedOn && !authorize(call, group, sub)) return;
        if (group.equals("agent") && AgentServiceEndpoint.serves(sub)) { new AgentServiceEndpoint(agent, timer).handle(call.withPath(sub)); return; }
        if (group.equals("agent") && sub.equals("metrics")) { new AgentMetricsEndpoint(agent).handle(call); return; }
        if (group.equals("agent") && sub.equals("host")) { new AgentHostEndpoint(agent).handle(call); return; }
        if (group.equals("agent") && sub.equals("version")) { new AgentVersionEndpoint().handle(call); return; }
        if (group.equals("agent") && sub.startsWith("token/")) { new AgentTokenEndpoint(agent).handle(call.withPath(sub.substring(6))); return; }
        if (group.equals("agent") && sub.equals("monitor")) { new AgentMonitorEndpoint(agent, timer).handle(call); return; }
        if (group.equals("agent")) {
            new AgentEndpoint(agent, membersCache).handle(call.withPath(sub));
            return;
        }
        if (group.equals("event")) {
            new EventEndpoint(agent, timer, executor).handle(call.withPath(sub));
            return;
        }
        if (group.equals("operator") && sub.equals("keyring")) {
            new KeyringEndpoint(agent).handle(call.withPath(sub));
            return;
        }
        if (group.equals("operator") && sub.startsWith("raft/")) {
            if (agent.config().server) new OperatorRaftEndpoint(agent).handle(call.withPath(sub.substring("raft/".length())));
            else forwardToServer(call, path, group, sub);
            return;
        }
        if (!SERVER_GROUPS.contains(group)) {
            throw HttpError.notFound("unknown endpoint " + path);
        }
        // As Consul without a WAN link to it: another datacenter is unreachable, never answered with this one's data.
        String dc = call.param("dc");
        if (dc != null && !dc.isEmpty() && !dc.equals(agent.config().datacenter)) {
            call.text(500, "No path to datacenter");
            return;
        }
        Routes r = routes;
        if (!agent.config().server) {
            forwardToServer(call, path, group, sub);
            return;
        }
        if (r == null) {
            call.text(500, "No cluster leader (this server is waiting for -bootstrap-expect servers to join)");
            return;
        }
        Call c = call.withPath(sub);
        switch (group) {
            case "kv" -> r.kv.handle(c);
            case "catalog" -> r.catalog.handle(c);
            case "health" -> r.health.handle(c);
            case "session" -> r.session.handle(c);
            case "txn" -> r.txn.handle(c);
            case "snapshot" -> r.snapshot.handle(c);
            case "acl" -> r.acl.handle(c);
            default -> r.status.handle(c);
        }
    }

    private static final java.util.Set<String> SERVER_GROUPS = java.util.Set.of("kv", "catalog", "health", "session", "status", "txn", "snapshot", "acl");

    /**
     * The one ACL check of every request: resolves its token once (unknown: 403 "ACL not found"), asks
     * {@link Permissions} what the route needs, and answers the refusal itself (403 with Consul's "Permission denied"
     * text; a transaction's as Consul's 409 with one error per refused operation). True when the route may run; the
     * identity stays on the call for the routes that filter what they return. Write requests go to the audit log.
     */
    private boolean authorize(Call call, String group, String sub) {
        Identity who;
        TokenResolver resolver = agent.acl();
        // With ACLs off no token is read at all: a client's odd Authorization header changes nothing.
        String token = resolver == TokenResolver.DISABLED ? null : call.token();
        try {
            who = resolver == TokenResolver.DISABLED ? Identity.ACL_DISABLED : resolver.resolve(token);
        } catch (TokenResolver.AclNotFound e) {
            auditLater(call, null, List.of());
            // The ACL endpoints decide for themselves (bootstrap needs no token, and runs before the anonymous token exists).
            if (group.equals("acl")) return true;
            call.text(403, e.getMessage());
            return false;
        }
        // "Tokenless" as Consul sees it: no token on the request and no default token of this agent's to stand in.
        String standIn = agent.config().acl.defaultToken;
        // A forwarded request without one of its own is the first hop's tokenless caller (see Call.token).
        call.identity(who, !call.carriesToken() && (call.forwarded() || standIn == null || standIn.isEmpty()));
        boolean writes = !call.method.equals("GET") && !call.method.equals("HEAD");
        AuditLog log = writes ? audit : null;
        if (who.authorizer() == Authorizer.ALLOW_ALL && log == null) return true;
        auditLater(call, who, List.of()); // a request refused as malformed is logged too
        Permissions.Rule rule = Permissions.of(group, sub, call, lookup, agent.nodeName());
        List<Permissions.Need> touched = switch (rule) {
            case Permissions.Require r -> r.needs();
            case Permissions.PerOperation p -> p.operations().stream().flatMap(List::stream).toList();
            case Permissions.SelfChecked s -> List.of();
        };
        if (log != null) auditLater(call, who, touched);
        switch (rule) {
            case Permissions.Require r -> {
                Permissions.Need missing = Permissions.firstDenied(who, r.needs());
                if (missing != null) {
                    call.text(403, Permissions.denied(who, missing));
                    return false;
                }
            }
            case Permissions.PerOperation p -> {
                List<TxnOutcome.Error> refused = new ArrayList<>();
                for (int i = 0; i < p.operations().size(); i++) {
                    Permissions.Need missing = Permissions.firstDenied(who, p.operations().get(i));
                    if (missing != null) refused.add(new TxnOutcome.Error(i, Permissions.denied(who, missing)));
                }
                if (!refused.isEmpty()) {
                    call.json(409, new TxnOutcome(null, refused));
                    return false;
                }
            }
            case Permissions.SelfChecked s -> { }
        }
        return true;
    }

    /** Writes the call's audit line when it is answered (its status known). */
    private void auditLater(Call call, Identity who, List<Permissions.Need> touched) {
        AuditLog log = audit;
        if (log == null || call.method.equals("GET") || call.method.equals("HEAD")) return;
        String key = null;
        String service = null;
        for (Permissions.Need n : touched) {
            if (key == null && n.kind() == Resource.KEY) key = n.name();
            if (service == null && n.kind() == Resource.SERVICE) service = n.name();
        }
        String k = key;
        String s = service;
        String accessor = who == null ? null : who.accessorId();
        String source = call.remoteAddress();
        String forwardedFor = call.forwarded() ? call.header(Forwarder.SOURCE_HEADER) : null;
        String path = call.rawPath();
        call.onAnswer(status -> log.record(new AuditLog.Entry(java.time.Instant.now(), accessor, call.method, path, k, s, source, forwardedFor, status)));
    }

    private static Path auditPath(Agent agent) {
        String p = agent.config().auditPath;
        return p == null || p.isBlank() ? agent.dataDir().resolve("audit").resolve("audit.log") : Path.of(p);
    }

    /** Reopens the audit log's file (agent reload, SIGHUP): a rotated-away file is left alone and a new one started. */
    public void reopenAudit() {
        if (audit != null) audit.reopen();
    }

    /** The audit log, when enabled. */
    public java.util.Optional<AuditLog> auditLog() { return java.util.Optional.ofNullable(audit); }

    /** What the permission table looks up: this agent's local services and checks, and this server's state. */
    private final class AgentLookup implements Permissions.Lookup {
        @Override
        public String localServiceName(String serviceId) {
            var s = agent.local().services().get(serviceId);
            return s == null ? null : s.name();
        }

        @Override
        public String localCheckServiceId(String checkId) {
            var c = agent.local().check(checkId);
            if (c == null) return null;
            return c.def.serviceId() == null ? "" : c.def.serviceId();
        }

        @Override
        public StateStore store() { return store; }

        @Override
        public String datacenter() { return agent.config().datacenter; }
    }

    private void forwardToServer(Call call, String path, String group, String sub) {
        byte[] body = call.method.equals("GET") ? null : group.equals("snapshot") ? call.body(SnapshotEndpoint.MAX_ARCHIVE_BYTES) : call.body();
        if (group.equals("session") && sub.equals("create")) {
            // Like Consul, a session created through an agent belongs to that agent's node unless the body says otherwise.
            try {
                JsonNode node = body == null || body.length == 0 ? Json.MAPPER.createObjectNode() : Json.MAPPER.readTree(body);
                if (node.isObject() && io.failoverkit.discovery.config.Definitions.field(node, "Node") == null) {
                    ((com.fasterxml.jackson.databind.node.ObjectNode) node).put("Node", agent.nodeName());
                }
                body = Json.MAPPER.writeValueAsBytes(node);
            } catch (IOException e) {
                throw HttpError.badRequest("request body is not valid JSON: " + e.getMessage());
            }
        }
        forwarder.forward(call, agent.anyServerHttp(), path, body, Forwarder.FROM_CLIENT_AGENT);
    }

    @Override
    public void close() throws Exception {
        jetty.stop();
        if (audit != null) audit.close();
    }
}

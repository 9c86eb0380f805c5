package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.leader.SessionTimers;
import io.failoverkit.discovery.raft.RaftNode;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.state.StateStore;
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

    /** The server-side endpoints, present once this server has joined its Raft group. */
    private record Routes(KvEndpoint kv, CatalogEndpoint catalog, HealthEndpoint health, SessionEndpoint session, StatusEndpoint status,
                          TxnEndpoint txn, SnapshotEndpoint snapshot) {}

    public HttpApi(Agent agent, String host, int port, ScheduledExecutorService timer) throws Exception {
        this.agent = agent;
        this.timer = timer;
        this.forwarder = new Forwarder(agent.tls().httpClient());
        QueuedThreadPool pool = new QueuedThreadPool(64, 4);
        pool.setName("http");
        pool.setVirtualThreadsExecutor(executor);
        jetty = new Server(pool);
        HttpConfiguration cfg = new HttpConfiguration();
        cfg.setSendServerVersion(false);
        cfg.setUriCompliance(UriCompliance.LEGACY);
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

    private ServerConnector connector(ServerConnector c, String host, int port) {
        c.setHost(host);
        c.setPort(port);
        // Longer than the longest blocking query (10 min plus jitter).
        c.setIdleTimeout(ServerSide.MAX_WAIT.plusMinutes(2).toMillis());
        jetty.addConnector(c);
        return c;
    }

    /** Turns on the server-side endpoints (KV, catalog, health, sessions, status) over this server's Raft node. */
    public void serve(StateStore store, RaftNode raft, SessionTimers timers, Supplier<Optional<String>> leaderHttp) {
        ServerSide side = new ServerSide(store, raft, agent.nodeName(), agent.config().datacenter, timer, executor, forwarder, leaderHttp);
        routes = new Routes(new KvEndpoint(side), new CatalogEndpoint(side), new HealthEndpoint(side),
                new SessionEndpoint(side, timers, forwarder, leaderHttp), new StatusEndpoint(side), new TxnEndpoint(side),
                new SnapshotEndpoint(side));
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
        Call call = new Call(request, response, callback, path);
        try {
            route(call, path);
        } catch (HttpError e) {
            call.text(e.status, e.getMessage());
        } catch (RuntimeException e) {
            LOG.warn("{} {} failed", request.getMethod(), path, e);
            call.text(500, "internal error: " + e.getMessage());
        }
    }

    private void route(Call call, String path) {
        if (path == null || !path.startsWith("/v1/")) throw HttpError.notFound("unknown endpoint " + path + " (the API lives under /v1/)");
        String rest = path.substring(4);
        int slash = rest.indexOf('/');
        String group = slash < 0 ? rest : rest.substring(0, slash);
        String sub = slash < 0 ? "" : rest.substring(slash + 1);
        if (group.equals("agent")) {
            new AgentEndpoint(agent).handle(call.withPath(sub));
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
        if (!java.util.Set.of("kv", "catalog", "health", "session", "status", "txn", "snapshot").contains(group)) {
            throw HttpError.notFound("unknown endpoint " + path);
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
            default -> r.status.handle(c);
        }
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
    }
}

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.failoverkit.discovery.gossip.serf.Serf;
import io.failoverkit.discovery.gossip.serf.SerfConfig;
import io.failoverkit.discovery.gossip.serf.SerfEvent;
import io.failoverkit.discovery.gossip.serf.SerfMember;
import io.failoverkit.discovery.gossip.serf.handlers.CoalesceSettings;
import io.failoverkit.discovery.gossip.serf.handlers.EventHandlers;
import io.failoverkit.discovery.gossip.serf.handlers.EventScript;
import io.failoverkit.discovery.gossip.swim.SwimConfig;
import io.failoverkit.discovery.gossip.transport.RealScheduler;
import io.failoverkit.discovery.gossip.transport.UdpTcpTransport;
import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.Keyring;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * bench/gossip.sh's "lib" side: failoverkit's gossip library alone, one node per JVM, no agent around it (no Raft,
 * no catalog, no DNS): Serf over the real UdpTcpTransport with the agent's timings (SwimConfig.agent), its event
 * handlers run by the library's EventHandlers (Serf agent coalescing), and just enough HTTP for the harness, in the
 * agent's JSON: GET /v1/agent/members, PUT /v1/agent/join/HOST:PORT, PUT /v1/event/fire/NAME (body = payload).
 * It shows what the gossip costs and does by itself, next to the full agent ("fk").
 *
 *   java -cp ... GossipNode NAME GOSSIP_PORT HTTP_PORT HANDLER_SCRIPT [join=HOST:PORT] [key=BASE64]
 */
public class GossipNode {
    public static void main(String[] args) throws Exception {
        String name = args[0];
        int gossipPort = Integer.parseInt(args[1]);
        int httpPort = Integer.parseInt(args[2]);
        String handler = args[3];
        String key = null, join = null;
        for (int i = 4; i < args.length; i++) {
            if (args[i].startsWith("key=")) key = args[i].substring(4);
            else if (args[i].startsWith("join=")) join = args[i].substring(5);
            else throw new IllegalArgumentException("unknown argument " + args[i]);
        }
        UdpTcpTransport transport = new UdpTcpTransport(new InetSocketAddress("127.0.0.1", gossipPort),
                new Codec.Options("", key == null ? null : Keyring.ofBase64(key), true, false));
        RealScheduler scheduler = new RealScheduler(name);
        AtomicReference<Serf> ref = new AtomicReference<>();
        EventHandlers handlers = new EventHandlers(EventScript.parse(handler), () -> ref.get().localMember(),
                CoalesceSettings.serfAgent(), EventHandlers.DEFAULT_TIMEOUT);
        Serf serf = Serf.create(SerfConfig.defaults(SwimConfig.agent(name), Map.of()), transport, scheduler, (SerfEvent e) -> {
            if (ref.get() != null) handlers.accept(e); // only our own join can come before the node exists
        });
        ref.set(serf);

        HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", httpPort), 128);
        http.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        http.createContext("/v1/agent/members", ex -> {
            StringBuilder sb = new StringBuilder("[");
            for (SerfMember m : serf.members()) {
                if (sb.length() > 1) sb.append(',');
                sb.append("{\"Name\":\"").append(m.name()).append("\",\"Addr\":\"").append(m.address().getAddress().getHostAddress())
                        .append("\",\"Port\":").append(m.address().getPort()).append(",\"Status\":").append(m.status().code).append('}');
            }
            reply(ex, 200, sb.append(']').toString());
        });
        http.createContext("/v1/agent/join/", ex -> {
            String[] hp = ex.getRequestURI().getPath().substring("/v1/agent/join/".length()).split(":");
            try {
                serf.join(List.of(new InetSocketAddress(hp[0], Integer.parseInt(hp[1]))), false).get(30, TimeUnit.SECONDS);
                reply(ex, 200, "true");
            } catch (Exception e) {
                reply(ex, 500, "join failed: " + e);
            }
        });
        http.createContext("/v1/event/fire/", ex -> {
            String ev = ex.getRequestURI().getPath().substring("/v1/event/fire/".length());
            byte[] payload = ex.getRequestBody().readAllBytes();
            try {
                serf.userEvent(ev, payload, false);
                reply(ex, 200, "{}");
            } catch (IllegalArgumentException e) {
                reply(ex, 413, e.getMessage());
            }
        });
        http.start();
        if (join != null) {
            String[] hp = join.split(":");
            serf.join(List.of(new InetSocketAddress(hp[0], Integer.parseInt(hp[1]))), false).get(30, TimeUnit.SECONDS);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            http.stop(0);
            serf.shutdown();
            transport.close();
            handlers.close();
            scheduler.shutdown();
        }));
        Thread.currentThread().join();
    }

    static void reply(HttpExchange ex, int code, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(code, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }
}

package io.failoverkit.discovery.testing;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import static org.awaitility.Awaitility.await;

/** N discovery-node servers in their own JVMs on loopback, joined through the first one's LAN port. */
public final class ServerCluster implements AutoCloseable {
    public final List<AgentProcess> servers = new ArrayList<>();

    public ServerCluster(int n, Path baseDir) {
        this(n, baseDir, List.of());
    }

    public ServerCluster(int n, Path baseDir, List<String> extraArgs) {
        for (int i = 1; i <= n; i++) {
            List<String> args = new ArrayList<>(List.of("-server", "-bootstrap-expect=" + n));
            args.addAll(extraArgs);
            servers.add(new AgentProcess("s" + i, baseDir.resolve("s" + i), args));
        }
    }

    public ServerCluster start() throws IOException {
        for (AgentProcess s : servers) s.start(joinArgs(s));
        return this;
    }

    public List<String> joinArgs(AgentProcess s) {
        List<String> args = new ArrayList<>();
        for (AgentProcess o : servers) if (o != s) args.add("-retry-join=" + o.lanAddress());
        return args;
    }

    public void restart(AgentProcess s) throws IOException {
        s.start(joinArgs(s));
    }

    /** The server that every running server names as leader, once they agree. */
    public AgentProcess awaitLeader(Duration within) {
        AgentProcess[] found = new AgentProcess[1];
        await().atMost(within).pollInterval(Duration.ofMillis(100)).ignoreExceptions().until(() -> {
            Optional<AgentProcess> l = leaderSeenByAll();
            l.ifPresent(x -> found[0] = x);
            return l.isPresent();
        });
        return found[0];
    }

    /**
     * Waits until the catalog holds every running server's node with a passing serfHealth. A new leader registers the
     * members it learns from gossip after its election, so on a loaded machine a write can come before a server's
     * node is there; a session on such a node is refused ("not registered in the catalog"), as in Consul.
     */
    public void awaitInCatalog(Duration within) {
        await().atMost(within).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
            List<AgentProcess> up = running();
            for (AgentProcess s : up) {
                Http.Reply r = up.get(0).http().get("/v1/health/node/" + s.name, Duration.ofSeconds(2));
                if (r.status() != 200 || !r.body().contains("serfHealth") || !r.body().contains("passing")) return false;
            }
            return true;
        });
    }

    private Optional<AgentProcess> leaderSeenByAll() {
        String seen = null;
        for (AgentProcess s : servers) {
            if (!s.isRunning()) continue;
            Http.Reply r = s.http().get("/v1/status/leader", Duration.ofSeconds(2));
            if (r.status() != 200) return Optional.empty();
            String leader = r.json().asText();
            if (leader.isEmpty() || (seen != null && !seen.equals(leader))) return Optional.empty();
            seen = leader;
        }
        String addr = seen;
        return servers.stream().filter(s -> s.isRunning() && addr != null && addr.endsWith(":" + s.serverPort)).findFirst();
    }

    public List<AgentProcess> running() {
        return servers.stream().filter(AgentProcess::isRunning).toList();
    }

    @Override
    public void close() throws InterruptedException {
        for (AgentProcess s : servers) s.close();
    }
}

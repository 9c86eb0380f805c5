package io.failoverkit.failover.drill.campaign;

import io.failoverkit.failover.drill.LocalProcesses;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The campaign's discovery cluster: three discovery-node servers (Raft, fsync'd data dirs) as child processes on
 * loopback, or one (`-bootstrap-expect=1`, also with a data dir, so a SIGKILLed one comes back with its state). The
 * manager and the applications use server 0's HTTP and DNS, as a host would use its local agent. Only processes
 * started here are ever killed, by their handle.
 */
final class DiscoveryCluster implements AutoCloseable {
    final class Server {
        final int index, http, dns, rpc, serf;
        final Path dir;
        Process process;

        Server(int index, Path dir) throws IOException {
            this.index = index;
            this.dir = dir;
            this.http = LocalProcesses.freePort();
            this.dns = LocalProcesses.freePort();
            this.rpc = LocalProcesses.freePort();
            this.serf = LocalProcesses.freePort();
        }

        void start() throws IOException {
            List<String> args = new ArrayList<>(List.of("-server", "-bootstrap-expect=" + servers.size(), "-node=campaign-d" + index,
                    "-data-dir=" + dir.resolve("data"), "-bind=127.0.0.1", "-http-port=" + http, "-dns-port=" + dns,
                    "-server-port=" + rpc, "-serf-lan-port=" + serf, "-log-level=warn"));
            for (Server o : servers) if (o != this) args.add("-retry-join=127.0.0.1:" + o.serf);
            process = ChildJvm.discoveryNode(args, dir.resolve("discovery-node.log"));
        }

        boolean alive() { return process != null && process.isAlive(); }
    }

    private final List<Server> servers = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();

    DiscoveryCluster(Path dir, int size) throws IOException, InterruptedException {
        if (size != 1 && size != 3) throw new IllegalArgumentException("a discovery cluster of 1 or 3 servers");
        for (int i = 0; i < size; i++) servers.add(new Server(i, Files.createDirectories(dir.resolve("d" + i))));
        try {
            for (Server s : servers) s.start();
            if (!awaitLeader(Duration.ofSeconds(120))) throw new IOException("the discovery cluster elected no leader within 120 s; see " + dir);
        } catch (IOException | InterruptedException | RuntimeException e) {
            close();
            throw e;
        }
    }

    int size() { return servers.size(); }

    String http() { return "127.0.0.1:" + servers.get(0).http; }

    /** Server 0's base URL, http:// spelled out: these servers speak plain HTTP whatever CONSUL_HTTP_SSL the operator's shell sets. */
    String url() { return "http://" + http(); }

    int dnsPort() { return servers.get(0).dns; }

    /** The leader as some live server sees it, or null. */
    Server leader() {
        for (Server s : servers) {
            if (!s.alive()) continue;
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + s.http + "/v1/status/leader"))
                        .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.ofString());
                String body = r.body().replace("\"", "").trim();
                if (r.statusCode() != 200 || body.isEmpty()) continue;
                int port = Integer.parseInt(body.substring(body.lastIndexOf(':') + 1));
                for (Server o : servers) if (o.rpc == port) return o;
            } catch (IOException | RuntimeException e) {
                // try the next one
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }

    /** Every server alive and one leader that server 0 (the manager's) knows and that takes writes. */
    boolean awaitLeader(Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            for (Server s : servers) if (!s.alive()) return false;
            Server l = leader();
            if (l != null && serverZeroWrites()) return true;
            Thread.sleep(100);
        }
        return false;
    }

    private boolean serverZeroWrites() {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + http() + "/v1/kv/campaign/ready"))
                    .timeout(Duration.ofSeconds(2)).PUT(HttpRequest.BodyPublishers.ofString("1")).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** SIGKILLs the leader; returns it (null if there was none). */
    Server killLeader() throws InterruptedException {
        Server l = leader();
        if (l != null) {
            l.process.destroyForcibly();
            l.process.waitFor(10, TimeUnit.SECONDS);
        }
        return l;
    }

    /** Starts every server that is not running (a killed leader comes back with its data dir). */
    void restartDead() throws IOException {
        for (Server s : servers) if (!s.alive()) s.start();
    }

    @Override
    public void close() throws InterruptedException {
        for (Server s : servers) {
            if (s.process == null || !s.process.isAlive()) continue;
            s.process.destroy();
            if (!s.process.waitFor(10, TimeUnit.SECONDS)) s.process.destroyForcibly();
        }
    }
}

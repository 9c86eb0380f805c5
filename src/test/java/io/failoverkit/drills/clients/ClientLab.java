package io.failoverkit.drills.clients;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalProcesses;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.drill.ManagerThread;
import io.failoverkit.failover.drill.WriterProbe;
import io.failoverkit.failover.redis.RedisServers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.watch.Manager;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

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
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * The client-stack lab, run INSIDE a {@link ClientNamespace} ({@code ip netns exec NAME java ... ClientLab redis DIR}):
 * a discovery node (dev server, DNS on a free port), dnsmasq on 127.0.0.1:53 forwarding {@code consul} to it (the
 * namespace's resolv.conf names 127.0.0.1), a Redis master and two replicas on 127.0.0.11-13:6379, the failover manager,
 * the drills' direct writer probe (asks the agent's DNS port, caches nothing: the anchor) and the client processes
 * ({@link #CLIENTS}), every one resolving {@code master.drill-redis.service.consul} through libc. The master is SIGKILLed
 * once every client writes; the old master is started again (as a supervisor would) once the probe writes to the new
 * master, and must be demoted. Writes {@code DIR/report.tsv} ({@link ClientReport}) and prints the table.
 */
public final class ClientLab {
    static final String SERVICE = "drill-redis";
    static final String NAME = "master." + SERVICE + ".service.consul";
    static final int REDIS_PORT = 6379;
    static final List<String> HOSTS = List.of("127.0.0.11", "127.0.0.12", "127.0.0.13");
    /** How long after the kill every client has to write to the new master. */
    static final Duration CLIENT_BOUND = Duration.ofSeconds(45);

    record Client(String stack, String settings, List<String> command) {}

    /** Stack and settings: each stack's defaults, the guide's settings ("tuned"), and for Jedis the guide's helper on top. */
    static final List<String> CLIENTS = List.of("jedis defaults", "jedis tuned", "jedis tuned+helper", "redis-py defaults", "redis-py tuned");
    /** What docs/clients.md recommends per stack: these must reach the new master within the bound (with the direct probe). */
    public static final java.util.Set<String> GUIDE = java.util.Set.of("jedis tuned+helper", "redis-py tuned");

    private ClientLab() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]).toAbsolutePath();
        Path repo = Path.of(args[2]).toAbsolutePath();
        int code;
        try {
            code = redis(dir, repo) ? 0 : 1;
        } catch (Throwable t) {
            t.printStackTrace();
            code = 2;
        }
        System.out.flush();
        Runtime.getRuntime().halt(code); // the agent's and the pools' threads must not keep the namespace's JVM up
    }

    static boolean redis(Path dir, Path repo) throws Exception {
        Files.createDirectories(dir);
        List<Process> started = new ArrayList<>();
        Agent agent = startAgent(dir);
        try (LocalRedisLab lab = new LocalRedisLab(dir, HOSTS, REDIS_PORT, true, List.of())) {
            started.add(dnsmasq(dir, agent.dnsPort()));
            ClusterDefinition cluster = new ClusterDefinition(SERVICE, "redis", lab.addresses(), SERVICE, null, null, null, null, null, 0);
            DiscoveryClient discovery = new DiscoveryClient("127.0.0.1:" + agent.httpPort(), null);
            try (RedisServers redis = new RedisServers(cluster.detection().timeoutMs(), null)) {
                AtomicReference<FailoverRun.Outcome> outcome = new AtomicReference<>();
                ManagerThread manager = ManagerThread.start(new Manager(cluster, discovery, redis, "drill-manager", outcome::set), Duration.ofMinutes(4));
                WriterProbe probe = new WriterProbe(SERVICE, agent.dnsPort(), "probe:counter", Duration.ofMinutes(3));
                Thread probeThread = null;
                ResolutionSampler viaAgent = new ResolutionSampler(agent.dnsPort());
                ResolutionSampler viaDnsmasq = new ResolutionSampler(53);
                try {
                    String master = lab.servers.get(0).address();
                    String masterHost = lab.servers.get(0).host;
                    require(waitFor(Duration.ofSeconds(30), () -> masterHost.equals(viaDnsmasq.resolveNow())),
                            "dnsmasq never named " + masterHost + " (is the manager holding its lock? is dnsmasq forwarding?)");
                    require(waitFor(Duration.ofSeconds(30), () -> lab.servers.stream().skip(1).map(s -> redis.observe(s.address()))
                            .allMatch(i -> i.isReplica() && i.masterLinkUp())), "the replicas did not finish their initial sync within 30 s");
                    viaAgent.start();
                    viaDnsmasq.start();
                    probeThread = Thread.ofPlatform().name("writer-probe").start(probe);
                    List<Path> outputs = new ArrayList<>();
                    for (String c : CLIENTS) {
                        Path out = dir.resolve(c.replace(' ', '-') + ".out");
                        outputs.add(out);
                        started.add(new ProcessBuilder(clientCommand(c, repo)).redirectErrorStream(true).redirectOutput(out.toFile()).start());
                    }
                    require(waitFor(Duration.ofSeconds(60), () -> outputs.stream().allMatch(o -> ClientReport.acks(o) >= 25) && probe.acks().size() >= 25),
                            "the clients did not all write to the master within 60 s; see " + dir);

                    long killedAt = System.currentTimeMillis();
                    lab.servers.get(0).kill();
                    require(waitFor(Duration.ofSeconds(30), () -> probe.acks().stream().anyMatch(a -> a.atMillis() > killedAt && !a.address().equals(master))),
                            "the direct probe wrote to no new master within 30 s of the kill; outcome: " + outcome.get());
                    // The old master's supervisor starts it again, as a master with an empty data set: the manager must demote it.
                    lab.servers.get(0).start(null);
                    long restartedAt = System.currentTimeMillis();
                    String newMaster = probe.acks().stream().filter(a -> a.atMillis() > killedAt && !a.address().equals(master)).findFirst().orElseThrow().address();
                    boolean demoted = waitFor(Duration.ofSeconds(20), () -> {
                        InstanceState s = redis.observe(master);
                        return s.isReplica() && newMaster.equals(s.masterAddress());
                    });
                    waitFor(CLIENT_BOUND.minusMillis(System.currentTimeMillis() - killedAt),
                            () -> outputs.stream().allMatch(o -> ClientReport.wroteAfter(o, killedAt, newMaster)));
                    Thread.sleep(2000);
                    for (Process p : started.subList(1, started.size())) p.destroyForcibly();
                    probe.stop();
                    probeThread.join(5000);

                    FailoverRun.Outcome o = outcome.get();
                    long promotedAt = o == null ? 0 : o.timeline().steps().stream().filter(s -> s.name().equals("promoted"))
                            .mapToLong(Timeline.Step::atMillis).findFirst().orElse(0);
                    ClientReport.Lab facts = new ClientReport.Lab(killedAt, master, newMaster, promotedAt, restartedAt, demoted,
                            agentMoved(viaAgent, viaDnsmasq, killedAt, newMaster), viaDnsmasq.firstAfter(killedAt, hostOf(newMaster)), dnsTtl(agent.dnsPort()),
                            o == null ? "no failover outcome" : o.message());
                    List<ClientReport.Row> rows = new ArrayList<>();
                    rows.add(ClientReport.probeRow(facts, probe.acks()));
                    for (int i = 0; i < CLIENTS.size(); i++) rows.add(ClientReport.clientRow(facts, CLIENTS.get(i), outputs.get(i)));
                    ClientReport.write(dir.resolve("report.tsv"), facts, rows);
                    System.out.println(ClientReport.table(facts, rows));
                    if (o != null) for (Timeline.Step s : o.timeline().steps()) System.out.printf("%+6d ms %-22s %s%n", s.atMillis() - killedAt, s.name(), s.detail());
                    return true;
                } finally {
                    probe.stop();
                    viaAgent.stop();
                    viaDnsmasq.stop();
                    if (probeThread != null) probeThread.join(5000);
                    manager.close();
                }
            }
        } finally {
            for (Process p : started) if (p.isAlive()) { p.destroyForcibly(); p.waitFor(10, TimeUnit.SECONDS); }
            agent.close();
        }
    }

    /**
     * When the agent first named the new master: its sampler's time, or dnsmasq's when that came first (dnsmasq forwards
     * to the agent, so the agent had it then; the two samplers poll every 20 ms and a loaded box delays either).
     */
    static long agentMoved(ResolutionSampler viaAgent, ResolutionSampler viaDnsmasq, long killedAt, String newMaster) {
        long a = viaAgent.firstAfter(killedAt, hostOf(newMaster)), d = viaDnsmasq.firstAfter(killedAt, hostOf(newMaster));
        return a == 0 || d == 0 ? Math.max(a, d) : Math.min(a, d);
    }

    static String hostOf(String address) { return address.substring(0, address.lastIndexOf(':')); }

    static List<String> clientCommand(String client, Path repo) {
        String[] parts = client.split(" ");
        String seconds = Long.toString(CLIENT_BOUND.toSeconds() + 90);
        String key = "client:" + client.replace(' ', '-');
        return switch (parts[0]) {
            case "jedis" -> List.of(java(), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                    JedisWriter.class.getName(), NAME, Integer.toString(REDIS_PORT), key, parts[1], seconds);
            case "redis-py" -> List.of(ClientNamespace.PYTHON, "-u", repo.resolve("src/test/python/redis_writer.py").toString(),
                    NAME, Integer.toString(REDIS_PORT), key, parts[1], seconds);
            default -> throw new IllegalArgumentException(client);
        };
    }

    /**
     * dnsmasq as the seeds ran it in front of Consul: forwards {@code consul} to the agent, caches what the agent's
     * TTLs allow (its default cache of 150 names), nothing else: no upstream servers, no /etc/hosts, no config file.
     */
    static Process dnsmasq(Path dir, int agentDnsPort) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(ClientNamespace.DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--listen-address=127.0.0.1", "--bind-interfaces", "--port=53", "--server=/consul/127.0.0.1#" + agentDnsPort,
                "--cache-size=150", "--pid-file=" + dir.resolve("dnsmasq.pid"), "--log-facility=" + dir.resolve("dnsmasq.log"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("dnsmasq.out").toFile()).start();
        ResolutionSampler probe = new ResolutionSampler(53);
        if (!waitFor(Duration.ofSeconds(10), () -> !p.isAlive() || probe.answers())) throw new IOException("dnsmasq did not answer on 127.0.0.1:53");
        if (!p.isAlive()) throw new IOException("dnsmasq exited: " + Files.readString(dir.resolve("dnsmasq.out")));
        return p;
    }

    static Agent startAgent(Path dir) throws Exception {
        AgentConfig cfg = new AgentConfig();
        cfg.dev = true;
        cfg.nodeName = "clients-lab";
        cfg.httpPort = LocalProcesses.freePort();
        cfg.dnsPort = LocalProcesses.freePort();
        cfg.serverPort = LocalProcesses.freePort();
        cfg.serfLanPort = LocalProcesses.freePort();
        cfg.validate();
        Agent agent = Agent.start(cfg);
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            HttpResponse<String> leader = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + cfg.httpPort + "/v1/status/leader")).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (leader.statusCode() == 200 && leader.body().matches("\"[^\"]+\"")) return agent;
            Thread.sleep(20);
        }
        agent.close();
        throw new IllegalStateException("the discovery node elected no leader within 30 s");
    }

    /** The TTL the agent gives the master's A record (what dnsmasq and every resolver after it may cache). */
    static long dnsTtl(int port) {
        try {
            Record[] r = ResolutionSampler.lookup(port, NAME);
            return r == null || r.length == 0 ? -1 : r[0].getTTL();
        } catch (Exception e) {
            return -1;
        }
    }

    static void require(boolean ok, String why) {
        if (!ok) throw new IllegalStateException(why);
    }

    static boolean waitFor(Duration max, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Math.max(0, max.toNanos());
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) return true;
            Thread.sleep(50);
        }
        return condition.getAsBoolean();
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /** Asks one DNS server (the agent's port, or dnsmasq's 53) for the master's A record every 20 ms, without a cache. */
    static final class ResolutionSampler {
        record Change(long atMillis, String address) {}

        private final int port;
        private final List<Change> changes = new ArrayList<>();
        private volatile boolean stop;

        ResolutionSampler(int port) { this.port = port; }

        static Record[] lookup(int port, String name) throws Exception {
            SimpleResolver r = new SimpleResolver("127.0.0.1");
            r.setPort(port);
            r.setTimeout(Duration.ofMillis(500));
            Lookup l = new Lookup(name + ".", Type.A);
            l.setResolver(r);
            l.setCache(null);
            return l.run();
        }

        String resolveNow() {
            try {
                Record[] a = lookup(port, NAME);
                return a == null || a.length != 1 ? null : ((ARecord) a[0]).getAddress().getHostAddress();
            } catch (Exception e) {
                return null;
            }
        }

        boolean answers() {
            try {
                SimpleResolver r = new SimpleResolver("127.0.0.1");
                r.setPort(port);
                r.setTimeout(Duration.ofMillis(300));
                Lookup l = new Lookup("consul.", Type.SOA);
                l.setResolver(r);
                l.setCache(null);
                l.run();
                return l.getResult() != Lookup.UNRECOVERABLE;
            } catch (Exception e) {
                return false;
            }
        }

        void start() {
            Thread.ofPlatform().daemon().name("resolution-" + port).start(() -> {
                String last = "";
                while (!stop) {
                    String now = resolveNow();
                    if (!Objects.equals(now, last)) synchronized (changes) { changes.add(new Change(System.currentTimeMillis(), now)); }
                    last = now;
                    try { Thread.sleep(20); } catch (InterruptedException e) { return; }
                }
            });
        }

        void stop() { stop = true; }

        /** When, after {@code from}, this server first answered {@code host}; 0 if it never did. */
        long firstAfter(long from, String host) {
            synchronized (changes) {
                return changes.stream().filter(c -> c.atMillis() > from && host.equals(c.address())).mapToLong(Change::atMillis).findFirst().orElse(0);
            }
        }
    }
}

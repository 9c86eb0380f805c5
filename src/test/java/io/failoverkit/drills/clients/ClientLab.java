package io.failoverkit.drills.clients;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalProcesses;
import io.failoverkit.failover.drill.LocalMariaDbLab;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.drill.MySqlKillDrill;
import io.failoverkit.failover.drill.SqlWriterProbe;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.mysql.MySqlServers;
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
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * The client-stack lab, run INSIDE a {@link ClientNamespace} ({@code ip netns exec NAME java ... ClientLab redis|mysql
 * DIR REPO [SERVICE_TTL_SECONDS]}): a discovery node (dev server, DNS on a free port), dnsmasq on 127.0.0.1:53 forwarding {@code consul} to
 * it (the namespace's resolv.conf names 127.0.0.1), the servers on addresses of their own and one port (Redis master
 * and two replicas on 127.0.0.11-13:6379; MariaDB semi-sync primary and two replicas on 127.0.0.21-23:3306), the
 * failover manager, the drills' direct writer probe (asks the agent's DNS port, caches nothing: the anchor) and the
 * client processes of {@link Target#clients}, every one resolving {@code master.<service>.service.consul} through libc.
 * The master is SIGKILLed once every client writes; the old master is started again (as a supervisor would) once the
 * probe writes to the new master, and must be demoted or fenced. Writes {@code DIR/report.tsv} ({@link ClientReport})
 * and prints the table.
 */
public final class ClientLab {
    /** How long after the kill every client has to write to the new master. */
    static final Duration CLIENT_BOUND = Duration.ofSeconds(45);

    /** What docs/clients.md recommends per stack: these must reach the new master within the bound (with the direct probe). */
    public static final java.util.Set<String> GUIDE = java.util.Set.of("jedis tuned+helper", "redis-py tuned", "hikari tuned+evict", "hikari tuned", "pymysql tuned");

    private ClientLab() {}

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[1]).toAbsolutePath();
        Path repo = Path.of(args[2]).toAbsolutePath();
        int code;
        try {
            Files.createDirectories(dir);
            Duration serviceTtl = args.length > 3 ? Duration.ofSeconds(Long.parseLong(args[3])) : Duration.ZERO;
            code = run(args[0], dir, repo, serviceTtl) ? 0 : 1;
        } catch (Throwable t) {
            t.printStackTrace();
            code = 2;
        }
        System.out.flush();
        Runtime.getRuntime().halt(code); // the agent's and the pools' threads must not keep the namespace's JVM up
    }

    /** @param serviceTtl the agent's {@code dns_config.service_ttl} for every service (0: its default, Consul's) */
    static boolean run(String kind, Path dir, Path repo, Duration serviceTtl) throws Exception {
        List<Process> started = new ArrayList<>();
        Agent agent = startAgent(dir, serviceTtl);
        try (Target target = kind.equals("redis") ? new RedisTarget(dir, agent.dnsPort()) : new MariaDbTarget(dir, agent.dnsPort())) {
            started.add(dnsmasq(dir, agent.dnsPort()));
            DiscoveryClient discovery = new DiscoveryClient("127.0.0.1:" + agent.httpPort(), null);
            AtomicReference<FailoverRun.Outcome> outcome = new AtomicReference<>();
            ManagerThread manager = ManagerThread.start(new Manager(target.cluster(), discovery, target.servers(), "drill-manager", outcome::set),
                    Duration.ofMinutes(4));
            Thread probeThread = null;
            ResolutionSampler viaAgent = new ResolutionSampler(agent.dnsPort(), target.name());
            ResolutionSampler viaDnsmasq = new ResolutionSampler(53, target.name());
            try {
                String master = target.master();
                require(waitFor(Duration.ofSeconds(30), () -> hostOf(master).equals(viaDnsmasq.resolveNow())),
                        "dnsmasq never named " + master + " (is the manager holding its lock? is dnsmasq forwarding?)");
                require(waitFor(Duration.ofSeconds(30), target::replicasInSync), "the replicas did not catch up with the master within 30 s");
                viaAgent.start();
                viaDnsmasq.start();
                probeThread = Thread.ofPlatform().name("writer-probe").start(target.probe());
                List<Path> outputs = new ArrayList<>();
                for (int i = 0; i < target.clients().size(); i++) {
                    String c = target.clients().get(i);
                    Path out = dir.resolve(c.replace(' ', '-') + ".out");
                    outputs.add(out);
                    ProcessBuilder pb = new ProcessBuilder(target.command(c, i + 1, repo)).redirectErrorStream(true).redirectOutput(out.toFile());
                    pb.environment().putAll(target.clientEnvironment());
                    started.add(pb.start());
                }
                require(waitFor(Duration.ofSeconds(60), () -> outputs.stream().allMatch(o -> ClientReport.acks(o) >= 25) && target.probeAcks().size() >= 25),
                        "the clients did not all write to the master within 60 s; see " + dir);

                long killedAt = System.currentTimeMillis();
                target.killMaster();
                require(waitFor(Duration.ofSeconds(30), () -> target.probeAcks().stream().anyMatch(a -> a.at() > killedAt && !a.server().equals(master))),
                        "the direct probe wrote to no new master within 30 s of the kill; outcome: " + outcome.get());
                String newMaster = target.probeAcks().stream().filter(a -> a.at() > killedAt && !a.server().equals(master)).findFirst().orElseThrow().server();
                // The old master's supervisor starts it again: the manager must demote (Redis) or fence (MariaDB) it.
                target.restartOldMaster();
                long restartedAt = System.currentTimeMillis();
                boolean demoted = waitFor(Duration.ofSeconds(20), () -> target.oldMasterDemoted(newMaster));
                waitFor(CLIENT_BOUND.minusMillis(System.currentTimeMillis() - killedAt),
                        () -> outputs.stream().allMatch(o -> ClientReport.wroteAfter(o, killedAt, newMaster)));
                Thread.sleep(2000);
                for (Process p : started.subList(1, started.size())) { p.destroyForcibly(); p.waitFor(10, TimeUnit.SECONDS); }
                target.stopProbe();
                probeThread.join(5000);

                FailoverRun.Outcome o = outcome.get();
                long promotedAt = o == null ? 0 : o.timeline().steps().stream().filter(s -> s.name().equals("promoted"))
                        .mapToLong(Timeline.Step::atMillis).findFirst().orElse(0);
                ClientReport.Lab facts = new ClientReport.Lab(killedAt, master, newMaster, promotedAt, restartedAt, demoted,
                        agentMoved(viaAgent, viaDnsmasq, killedAt, newMaster), viaDnsmasq.firstAfter(killedAt, hostOf(newMaster)),
                        dnsTtl(agent.dnsPort(), target.name()), o == null ? "no failover outcome" : o.message());
                java.util.function.LongPredicate present = target.presentOn(newMaster);
                List<ClientReport.Row> rows = new ArrayList<>();
                rows.add(ClientReport.probeRow(facts, target.probeAcks(), present));
                for (int i = 0; i < target.clients().size(); i++) rows.add(ClientReport.clientRow(facts, target.clients().get(i), outputs.get(i), present));
                ClientReport.write(dir.resolve("report.tsv"), facts, rows);
                System.out.println(ClientReport.table(facts, rows));
                if (o != null) for (Timeline.Step s : o.timeline().steps()) System.out.printf("%+6d ms %-22s %s%n", s.atMillis() - killedAt, s.name(), s.detail());
                return true;
            } finally {
                target.stopProbe();
                viaAgent.stop();
                viaDnsmasq.stop();
                if (probeThread != null) probeThread.join(5000);
                manager.close(); // before the target's servers close: the loop observes through them until it has ended
            }
        } finally {
            for (Process p : started) if (p.isAlive()) { p.destroyForcibly(); p.waitFor(10, TimeUnit.SECONDS); }
            agent.close();
        }
    }

    /** One kind of servers with its lab, its manager's servers, its direct probe and its client stacks. */
    interface Target extends AutoCloseable {
        /** {@code master.<service>.service.consul} */
        String name();

        ClusterDefinition cluster();

        Servers servers();

        String master();

        boolean replicasInSync();

        Runnable probe();

        List<ClientReport.Ack> probeAcks();

        void stopProbe();

        /** Stack and settings: each stack's defaults, the guide's settings ("tuned"), and the guide's helper where one is needed. */
        List<String> clients();

        List<String> command(String client, int index, Path repo);

        default Map<String, String> clientEnvironment() { return Map.of(); }

        void killMaster() throws Exception;

        void restartOldMaster() throws Exception;

        boolean oldMasterDemoted(String newMaster);

        /** Whether an acknowledged value is on the new master (null: counters, judged by their values). */
        java.util.function.LongPredicate presentOn(String newMaster) throws Exception;
    }

    static final class RedisTarget implements Target {
        static final String SERVICE = "drill-redis";
        final LocalRedisLab lab;
        final ClusterDefinition cluster;
        final RedisServers redis;
        final WriterProbe probe;

        RedisTarget(Path dir, int dnsPort) throws IOException {
            lab = new LocalRedisLab(dir, List.of("127.0.0.11", "127.0.0.12", "127.0.0.13"), 6379, true, List.of());
            cluster = new ClusterDefinition(SERVICE, "redis", lab.addresses(), SERVICE, null, null, null, null, null, 0);
            redis = new RedisServers(cluster.detection().timeoutMs(), null);
            probe = new WriterProbe(SERVICE, dnsPort, "probe:counter", Duration.ofMinutes(3));
        }

        @Override public String name() { return "master." + SERVICE + ".service.consul"; }
        @Override public ClusterDefinition cluster() { return cluster; }
        @Override public Servers servers() { return redis; }
        @Override public String master() { return lab.servers.get(0).address(); }

        @Override
        public boolean replicasInSync() {
            return lab.servers.stream().skip(1).map(s -> redis.observe(s.address())).allMatch(i -> i.isReplica() && i.masterLinkUp());
        }

        @Override public Runnable probe() { return probe; }
        @Override public List<ClientReport.Ack> probeAcks() { return probe.acks().stream().map(a -> new ClientReport.Ack(a.atMillis(), a.address(), a.value())).toList(); }
        @Override public void stopProbe() { probe.stop(); }
        @Override public List<String> clients() { return List.of("jedis defaults", "jedis tuned", "jedis tuned+helper", "redis-py defaults", "redis-py tuned"); }

        @Override
        public List<String> command(String client, int index, Path repo) {
            String[] parts = client.split(" ");
            String seconds = Long.toString(CLIENT_BOUND.toSeconds() + 90);
            String key = "client:" + client.replace(' ', '-');
            return switch (parts[0]) {
                case "jedis" -> javaCommand(JedisWriter.class, name(), "6379", key, parts[1], seconds);
                case "redis-py" -> List.of(ClientNamespace.PYTHON, "-u", repo.resolve("src/test/python/redis_writer.py").toString(), name(), "6379", key, parts[1], seconds);
                default -> throw new IllegalArgumentException(client);
            };
        }

        @Override public void killMaster() throws Exception { lab.servers.get(0).kill(); }
        @Override public void restartOldMaster() throws Exception { lab.servers.get(0).start(null); }

        @Override
        public boolean oldMasterDemoted(String newMaster) {
            InstanceState s = redis.observe(master());
            return s.isReplica() && newMaster.equals(s.masterAddress());
        }

        @Override public java.util.function.LongPredicate presentOn(String newMaster) { return null; }

        @Override
        public void close() throws Exception {
            try { redis.close(); } finally { lab.close(); }
        }
    }

    static final class MariaDbTarget implements Target {
        static final String SERVICE = "drill-mysql";
        final LocalMariaDbLab lab;
        final ClusterDefinition cluster;
        final MySqlServers mysql;
        final SqlWriterProbe probe;

        MariaDbTarget(Path dir, int dnsPort) throws Exception {
            // Semi-synchronous, as failoverkit recommends for MySQL: no acknowledged row may be lost.
            lab = new LocalMariaDbLab(dir, List.of("127.0.0.21", "127.0.0.22", "127.0.0.23"), 3306, true);
            cluster = MySqlKillDrill.cluster(SERVICE, lab);
            mysql = MySqlKillDrill.servers(cluster, lab);
            probe = new SqlWriterProbe(SERVICE, dnsPort, lab.application(), Duration.ofMinutes(3));
        }

        @Override public String name() { return "master." + SERVICE + ".service.consul"; }
        @Override public ClusterDefinition cluster() { return cluster; }
        @Override public Servers servers() { return mysql; }
        @Override public String master() { return lab.servers.get(0).address(); }

        @Override
        public boolean replicasInSync() {
            return mysql.observeAll(lab.addresses()).instances().stream().skip(1)
                    .allMatch(i -> i.isReplica() && i.masterLinkUp() && i.position().covers(mysql.observe(master()).position()));
        }

        @Override public Runnable probe() { return probe; }
        @Override public List<ClientReport.Ack> probeAcks() { return probe.acks().stream().map(a -> new ClientReport.Ack(a.atMillis(), a.address(), a.seq())).toList(); }
        @Override public void stopProbe() { probe.stop(); }
        @Override public List<String> clients() { return List.of("hikari defaults", "hikari tuned", "hikari tuned+evict", "pymysql defaults", "pymysql tuned"); }
        @Override public Map<String, String> clientEnvironment() { return Map.of("DRILL_DB_PASSWORD", lab.application().password()); }

        @Override
        public List<String> command(String client, int index, Path repo) {
            String[] parts = client.split(" ");
            String seconds = Long.toString(CLIENT_BOUND.toSeconds() + 90);
            String first = Long.toString(index * 1_000_000_000L); // each client numbers its rows in its own range
            String user = lab.application().user();
            return switch (parts[0]) {
                case "hikari" -> javaCommand(HikariWriter.class, name(), "3306", user, first, parts[1], seconds);
                case "pymysql" -> List.of(ClientNamespace.PYTHON, "-u", repo.resolve("src/test/python/pymysql_writer.py").toString(), name(), "3306", user, first, parts[1], seconds);
                default -> throw new IllegalArgumentException(client);
            };
        }

        @Override public void killMaster() throws Exception { lab.servers.get(0).kill(); }
        @Override public void restartOldMaster() throws Exception { lab.servers.get(0).restartFenced(); }

        /** Fenced: reachable and nobody, not even an admin account, can write to it. */
        @Override
        public boolean oldMasterDemoted(String newMaster) {
            InstanceState s = mysql.observe(master());
            return s.reachable() && !s.isMaster();
        }

        @Override
        public java.util.function.LongPredicate presentOn(String newMaster) throws Exception {
            java.util.Set<Long> rows = MySqlKillDrill.rows(lab, newMaster);
            return rows::contains;
        }

        @Override
        public void close() throws Exception {
            try { mysql.close(); } finally { lab.close(); }
        }
    }

    static List<String> javaCommand(Class<?> main, String... args) {
        List<String> cmd = new ArrayList<>(List.of(java(), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        return cmd;
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

    /**
     * dnsmasq as the seeds ran it in front of Consul: forwards {@code consul} to the agent, caches what the agent's
     * TTLs allow (its default cache of 150 names), nothing else: no upstream servers, no /etc/hosts, no config file.
     */
    static Process dnsmasq(Path dir, int agentDnsPort) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(ClientNamespace.DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                "--listen-address=127.0.0.1", "--bind-interfaces", "--port=53", "--server=/consul/127.0.0.1#" + agentDnsPort,
                "--cache-size=150", "--pid-file=" + dir.resolve("dnsmasq.pid"), "--log-facility=" + dir.resolve("dnsmasq.log"))
                .redirectErrorStream(true).redirectOutput(dir.resolve("dnsmasq.out").toFile()).start();
        ResolutionSampler probe = new ResolutionSampler(53, "consul");
        if (!waitFor(Duration.ofSeconds(10), () -> !p.isAlive() || probe.answers())) throw new IOException("dnsmasq did not answer on 127.0.0.1:53");
        if (!p.isAlive()) throw new IOException("dnsmasq exited: " + Files.readString(dir.resolve("dnsmasq.out")));
        return p;
    }

    static Agent startAgent(Path dir, Duration serviceTtl) throws Exception {
        AgentConfig cfg = new AgentConfig();
        if (!serviceTtl.isZero()) cfg.dns.serviceTtl.put("*", serviceTtl);
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
    static long dnsTtl(int port, String name) {
        try {
            Record[] r = ResolutionSampler.lookup(port, name);
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
        private final String name;
        private final List<Change> changes = new ArrayList<>();
        private volatile boolean stop;

        ResolutionSampler(int port, String name) {
            this.port = port;
            this.name = name;
        }

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
                Record[] a = lookup(port, name);
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

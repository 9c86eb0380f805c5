package io.failoverkit.failover;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryAddress;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.DrillLog;
import io.failoverkit.failover.drill.DrillResult;
import io.failoverkit.failover.drill.MySqlKillDrill;
import io.failoverkit.failover.drill.LocalProcesses;
import io.failoverkit.failover.drill.RedisKillDrill;
import io.failoverkit.failover.inst.Kinds;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Topology;
import io.failoverkit.failover.watch.Manager;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import io.failoverkit.failover.drill.containers.ContainerEngine;
import io.failoverkit.failover.drill.containers.ContainerMariaDbLab;
import io.failoverkit.failover.drill.containers.ContainerRedisLab;
import java.util.concurrent.TimeUnit;

/** failover: the HA manager for MySQL and Redis masters. */
@Command(name = "failover", mixinStandardHelpOptions = true, version = "failover 0.1.0",
        description = "Failover manager for MySQL/MariaDB and Redis masters: status, watch, promote, ack, define, rejoin, drill, guard, playbook, acl-policy.",
        subcommands = {Main.StatusCmd.class, Main.WatchCmd.class, Main.PromoteCmd.class, Main.AckCmd.class, Main.DefineCmd.class, Main.RejoinCmd.class, Main.DrillCmd.class, Main.GuardCmd.class, io.failoverkit.failover.playbook.PlaybookCmd.class,
                io.failoverkit.failover.acl.AclPolicyCmd.class})
public final class Main implements Runnable {
    public static final int EX_USAGE = 64;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    public static void main(String[] args) {
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
        System.setProperty("org.slf4j.simpleLogger.log.com.zaxxer.hikari", "warn"); // pool start/stop lines drown the timelines
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println(ex.getMessage());
            ex.getCommandLine().usage(ex.getCommandLine().getErr());
            return EX_USAGE;
        });
        // An operational failure (discovery node or server unreachable) is a message and exit 1, not a stack trace.
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            Throwable t = ex instanceof java.io.UncheckedIOException u ? u.getCause() : ex;
            if (t instanceof IOException) {
                cmd.getErr().println("failover: " + t.getMessage());
            } else {
                ex.printStackTrace(cmd.getErr());
            }
            return 1;
        });
        return cl;
    }

    /** A usage error (exit 64) for a --discovery (or CONSUL_HTTP_ADDR) that is not host:port or http[s]://host:port. */
    static void checkDiscovery(CommandLine.Model.CommandSpec spec, String discovery) {
        checkDiscovery(spec, discovery, false);
    }

    /**
     * As {@link #checkDiscovery(CommandLine.Model.CommandSpec, String)}; {@code list} allows a,b,c (the guard reads the
     * epoch from every server). Elsewhere a list is a usage error: it made every request fail, forever, in the loop.
     */
    static void checkDiscovery(CommandLine.Model.CommandSpec spec, String discovery, boolean list) {
        if (!list && discovery.contains(",")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--discovery takes one address here, not a list: " + discovery
                    + (discovery.equals(DiscoveryAddress.fromEnvironment()) && System.getenv(DiscoveryAddress.ADDR_ENV) != null ? " (from " + DiscoveryAddress.ADDR_ENV + ")" : ""));
        }
        for (String a : discovery.split(",")) {
            try {
                DiscoveryAddress.baseUrl(a);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage()
                        + (discovery.equals(DiscoveryAddress.fromEnvironment()) && System.getenv(DiscoveryAddress.ADDR_ENV) != null ? " (from " + DiscoveryAddress.ADDR_ENV + ")" : ""));
            }
        }
    }

    /** Options of the commands that manage a defined cluster. */
    public static class ClusterOptions {
        @CommandLine.Spec protected CommandLine.Model.CommandSpec spec;
        @CommandLine.Mixin protected io.failoverkit.failover.discovery.TokenOption auth;
        @Option(names = "--cluster", required = true, paramLabel = "FILE|kv:NAME",
                description = "The cluster definition: a JSON or YAML (.yaml/.yml) file, or kv:NAME for the one stored with `failover define`.") String clusterRef;
        @Option(names = "--discovery", paramLabel = "HOST:PORT", description = "The discovery node's HTTP address, host:port or http[s]://host:port (default: $CONSUL_HTTP_ADDR when set, else 127.0.0.1:8500; the ACL token comes from $CONSUL_HTTP_TOKEN or --token-file; TLS from $CONSUL_HTTP_SSL, $CONSUL_CACERT, $CONSUL_CLIENT_CERT, $CONSUL_CLIENT_KEY, $CONSUL_TLS_SERVER_NAME).") protected String discovery = DiscoveryAddress.fromEnvironment();

        protected ClusterDefinition cluster() {
            checkDiscovery(spec, discovery);
            auth.checkTls(discovery);
            try {
                if (clusterRef.startsWith("kv:")) {
                    String name = clusterRef.substring(3);
                    if (!name.matches("[A-Za-z0-9][A-Za-z0-9_-]*")) throw new CommandLine.ParameterException(spec.commandLine(), "--cluster kv:NAME needs a cluster name");
                    Optional<DiscoveryClient.KvEntry> stored;
                    try {
                        stored = auth.client(discovery).get(ClusterDefinition.kvKey(name));
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(new IOException("cannot read the definition of " + name + " from the discovery node at " + discovery + ": " + e.getMessage(), e));
                    }
                    DiscoveryClient.KvEntry e = stored
                            .orElseThrow(() -> new CommandLine.ParameterException(spec.commandLine(), "no definition stored for cluster " + name
                                    + " (key " + ClusterDefinition.kvKey(name) + "); store one with `failover define --file FILE`"));
                    return ClusterDefinition.parse(e.text(), false, "kv:" + ClusterDefinition.kvKey(name));
                }
                return ClusterDefinition.read(Path.of(clusterRef));
            } catch (IOException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "bad cluster definition: " + e.getMessage());
            }
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Topology, offsets, epoch and what the catalog names master.")
    static final class StatusCmd extends ClusterOptions implements Callable<Integer> {
        @Option(names = "--json", description = "Machine-readable output.") boolean json;

        @Override
        public Integer call() throws Exception {
            ClusterDefinition c = cluster();
            Topology t = Kinds.open(c).observeAll(c.members());
            DiscoveryClient d = auth.client(discovery);
            EpochStore.Read epoch = new EpochStore(d, c.name()).read();
            List<String> catalogMasters = new io.failoverkit.failover.act.Catalog(d, c.service()).masters();
            if (json) {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("cluster", c.name());
                out.put("instances", t.instances());
                out.put("epoch", epoch.state());
                out.put("catalogMasters", catalogMasters);
                // Issue 15: the manager's own view, as it published it (the web UI reads the same keys), wherever it runs.
                out.putAll(publishedView(d, c.name()));
                System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
            } else {
                System.out.printf("cluster %s (%s), epoch %d names %s; catalog master.%s: %s%n", c.name(), c.kind(), epoch.state().epoch(),
                        epoch.state().master(), c.service(), catalogMasters);
                long masterOffset = t.masters().stream().mapToLong(InstanceState::offset).max().orElse(-1);
                for (InstanceState i : t.instances()) {
                    String lag = i.isReplica() && masterOffset >= 0 ? Long.toString(masterOffset - i.offset()) : "-";
                    String role = !i.reachable() ? "DOWN" : i.role() == InstanceState.Role.MASTER && !i.writable() ? "read-only" : i.role().name().toLowerCase();
                    System.out.printf("  %-22s %-9s %s%n", i.address(), role,
                            i.reachable() ? i.position().text() + (i.isReplica() ? " of " + i.masterAddress() + " link " + (i.masterLinkUp() ? "up" : "DOWN") + " lag " + lag : "")
                                    + (i.detail().isEmpty() ? "" : " " + i.detail())
                                    : i.error());
                }
            }
            // Split brain as nagios CRITICAL: two writable instances, or a catalog that does not name the epoch's master.
            List<String> problems = new java.util.ArrayList<>();
            if (t.masters().size() > 1) problems.add("writable masters: " + t.masters().stream().map(InstanceState::address).toList());
            if (catalogMasters.size() > 1) problems.add("the catalog names " + catalogMasters.size() + " masters " + catalogMasters);
            String epochMaster = epoch.state().master();
            if (epochMaster != null && !catalogMasters.isEmpty() && !catalogMasters.equals(List.of(epochMaster))) {
                problems.add("the catalog names " + catalogMasters + " but epoch " + epoch.state().epoch() + " names " + epochMaster);
            }
            // Issue 9, hole 4: a data-set loss the manager found stays CRITICAL until `failover ack` clears it.
            String dataLost = new io.failoverkit.failover.act.HistoryStore(d, c.name()).read().dataLost();
            if (dataLost != null) problems.add(dataLost);
            if (!json) for (String p : problems) System.out.println("CRITICAL: " + p);
            return problems.isEmpty() ? 0 : 2;
        }
    }

    /**
     * What the web UI shows of a cluster, from the same keys: {@code manager}, the lock holder's last published status
     * ({@code failover/<cluster>/status}: topology with lag, read-only and semi-sync detail, its liveness and lock;
     * null if no manager ever published), with {@code managerSilentMillis}, the heartbeat's age; {@code epochs}, the
     * audit record of each epoch with its timeline (the last 20), and {@code acknowledgements}.
     */
    static Map<String, Object> publishedView(DiscoveryClient d, String cluster) throws IOException {
        ObjectMapper json = new ObjectMapper();
        Map<String, Object> out = new LinkedHashMap<>();
        Optional<DiscoveryClient.KvEntry> status = d.get(io.failoverkit.failover.watch.StatusPublisher.key(cluster));
        com.fasterxml.jackson.databind.JsonNode doc = status.isPresent() && !status.get().text().isBlank() ? json.readTree(status.get().value()) : null;
        out.put("manager", doc);
        out.put("managerSilentMillis", doc == null ? null : Math.max(0, System.currentTimeMillis() - doc.path("heartbeatMillis").asLong()));
        String prefix = "failover/" + cluster + "/audit/";
        List<com.fasterxml.jackson.databind.JsonNode> epochs = new java.util.ArrayList<>();
        List<com.fasterxml.jackson.databind.JsonNode> acks = new java.util.ArrayList<>();
        for (DiscoveryClient.KvEntry e : d.list(prefix)) {
            String name = e.key().substring(prefix.length());
            try {
                if (name.matches("\\d+")) epochs.add(json.readTree(e.value()));
                else acks.add(json.readTree(e.value()));
            } catch (IOException bad) {
                // A record someone overwrote by hand is left out, not fatal to the status.
            }
        }
        epochs.sort(java.util.Comparator.comparingLong(n -> n.path("epoch").asLong()));
        out.put("epochs", epochs.subList(Math.max(0, epochs.size() - 20), epochs.size()));
        out.put("acknowledgements", acks);
        return out;
    }

    @Command(name = "watch", mixinStandardHelpOptions = true, description = "Runs the HA loop for a cluster, acting only while it holds the cluster's lock.")
    static final class WatchCmd extends ClusterOptions implements Callable<Integer> {
        @Option(names = "--max-runtime", paramLabel = "SECONDS", description = "Stop after this long (default: run until stopped).") long maxRuntime = Long.MAX_VALUE / 2_000_000_000L;

        @Override
        public Integer call() throws Exception {
            ClusterDefinition c = cluster();
            Manager m = new Manager(c, auth.client(discovery), Kinds.open(c),
                    InetAddress.getLocalHost().getHostName() + "-" + ProcessHandle.current().pid(), outcome -> {
                        for (Timeline.Step s : outcome.timeline().steps()) System.out.printf("%s %-22s %s%n", java.time.Instant.ofEpochMilli(s.atMillis()), s.name(), s.detail());
                    });
            // SIGTERM (a service stop) asks the loop to end after the cycle it is in, so a failover in progress finishes
            // and the lock is released, instead of the JVM dying between the epoch and the promotion. Bounded: a cycle's
            // steps are bounded by the cluster's timings; after that the JVM goes anyway.
            Thread loop = Thread.currentThread();
            Thread hook = new Thread(() -> {
                m.stop();
                try { loop.join(Math.max(30_000, 3L * c.detection().intervalMs() + 60_000)); } catch (InterruptedException ignored) { }
            }, "watch-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            m.run(System.nanoTime() + TimeUnit.SECONDS.toNanos(maxRuntime));
            return 0;
        }
    }

    @Command(name = "promote", mixinStandardHelpOptions = true,
            description = "Switchover when the master is alive (no acknowledged write lost), failover when it is dead.")
    static final class PromoteCmd extends ClusterOptions implements Callable<Integer> {
        @Option(names = "--to", paramLabel = "HOST:PORT", description = "The replica to promote (default: the most advanced).") String to;
        @Option(names = "--dry-run", description = "Print the plan; change nothing.") boolean dryRun;
        @Option(names = "--force", description = "Go on past a failing before hook, or promote --to a replica that is not the most advanced.") boolean force;

        @Override
        public Integer call() throws Exception {
            ClusterDefinition c = cluster();
            io.failoverkit.failover.watch.Promote.Result r = io.failoverkit.failover.watch.Promote.run(c, auth.client(discovery),
                    Kinds.open(c), to, dryRun, force);
            for (Timeline.Step s : r.timeline().steps()) System.out.printf("%s %-22s %s%n", java.time.Instant.ofEpochMilli(s.atMillis()), s.name(), s.detail());
            System.out.println((r.success() ? "OK: " : "FAILED: ") + r.message());
            return r.success() ? 0 : 1;
        }
    }

    @Command(name = "ack", mixinStandardHelpOptions = true,
            description = "Acknowledges the last automatic failover: lifts the anti-flapping block, so the next confirmed master death fails over at once.")
    static final class AckCmd extends ClusterOptions implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            ClusterDefinition c = cluster();
            EpochStore epochs = new EpochStore(auth.client(discovery), c.name());
            String by = System.getProperty("user.name", "?") + "@" + InetAddress.getLocalHost().getHostName();
            // Issue 9, hole 4: acknowledging also accepts a data-set loss the manager reported.
            String dataLost = new io.failoverkit.failover.act.HistoryStore(auth.client(discovery), c.name()).clearDataLost(by);
            if (dataLost != null) System.out.printf("OK: data-set loss of %s acknowledged by %s; the manager follows the master as it is now (was: %s)%n", c.name(), by, dataLost);
            if (epochs.acknowledge(by)) {
                System.out.printf("OK: epoch %d of %s acknowledged by %s; automatic failover is armed again%n", epochs.read().state().epoch(), c.name(), by);
            } else {
                System.out.printf("nothing to acknowledge: epoch %d of %s is not blocking failovers%n", epochs.read().state().epoch(), c.name());
            }
            return 0;
        }
    }

    @Command(name = "define", mixinStandardHelpOptions = true,
            description = "Validates a cluster definition file and stores it in the discovery KV (failover/<name>/definition), for --cluster kv:NAME.")
    static final class DefineCmd implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @CommandLine.Mixin io.failoverkit.failover.discovery.TokenOption auth;
        @Option(names = "--file", required = true, paramLabel = "FILE", description = "JSON or YAML (.yaml/.yml) definition.") Path file;
        @Option(names = "--discovery", paramLabel = "HOST:PORT", description = "The discovery node's HTTP address, host:port or http[s]://host:port (default: $CONSUL_HTTP_ADDR when set, else 127.0.0.1:8500; the ACL token comes from $CONSUL_HTTP_TOKEN or --token-file; TLS from $CONSUL_HTTP_SSL, $CONSUL_CACERT, $CONSUL_CLIENT_CERT, $CONSUL_CLIENT_KEY, $CONSUL_TLS_SERVER_NAME).") String discovery = DiscoveryAddress.fromEnvironment();

        @Override
        public Integer call() throws Exception {
            checkDiscovery(spec, discovery);
            auth.checkTls(discovery);
            ClusterDefinition c;
            try {
                c = ClusterDefinition.read(file);
            } catch (IOException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "bad cluster definition: " + e.getMessage());
            }
            auth.client(discovery).put(ClusterDefinition.kvKey(c.name()), c.toJson());
            System.out.printf("OK: %s stored at %s; use --cluster kv:%s%n", c.name(), ClusterDefinition.kvKey(c.name()), c.name());
            return 0;
        }
    }

    @Command(name = "rejoin", mixinStandardHelpOptions = true,
            description = "MySQL: makes a fenced old primary a replica of the epoch's master again; refuses when it diverged (it must then be rebuilt).")
    static final class RejoinCmd extends ClusterOptions implements Callable<Integer> {
        @Option(names = "--instance", required = true, paramLabel = "HOST:PORT", description = "The fenced old primary to rejoin.") String instance;
        @Option(names = "--timeout", paramLabel = "SECONDS", description = "How long it may take to catch up (default 60).") long timeoutSeconds = 60;

        @Override
        public Integer call() throws Exception {
            ClusterDefinition c = cluster();
            if (!c.kind().equals("mysql")) throw new CommandLine.ParameterException(spec.commandLine(), "rejoin is for mysql clusters (a returning Redis master is demoted by the manager)");
            if (!c.members().contains(instance)) throw new CommandLine.ParameterException(spec.commandLine(), instance + " is not a member of " + c.name() + " " + c.members());
            String master = new EpochStore(auth.client(discovery), c.name()).read().state().master();
            if (master == null) { System.out.println("FAILED: no epoch names a master for " + c.name() + "; nothing to rejoin to"); return 1; }
            if (master.equals(instance)) { System.out.println("FAILED: " + instance + " is the epoch's master; it cannot rejoin itself"); return 1; }
            try (io.failoverkit.failover.mysql.MySqlServers servers = (io.failoverkit.failover.mysql.MySqlServers) Kinds.open(c)) {
                io.failoverkit.failover.mysql.MySqlServers.RejoinResult r = servers.rejoin(instance, master, java.time.Duration.ofSeconds(timeoutSeconds));
                System.out.println((r.joined() ? "OK: " : "FAILED: ") + r.message());
                return r.joined() ? 0 : 1;
            }
        }
    }

    @Command(name = "guard", mixinStandardHelpOptions = true,
            description = "Runs beside a database instance: stops its writes when the cluster's epoch cannot confirm, within the grace, that it is the master.")
    static final class GuardCmd extends ClusterOptions implements Callable<Integer> {
        @Option(names = "--instance", required = true, paramLabel = "HOST:PORT", description = "This host's instance, as the cluster's members name it.") String instance;
        @Option(names = "--local", paramLabel = "HOST:PORT", description = "Where to dial the instance (default: --instance).") String local;
        @Option(names = "--interval-ms", description = "Epoch read every (default 100).") long intervalMs = io.failoverkit.failover.guard.GuardTiming.DEFAULT.intervalMs();
        @Option(names = "--timeout-ms", description = "Each read's bound (default 150).") long timeoutMs = io.failoverkit.failover.guard.GuardTiming.DEFAULT.timeoutMs();
        @Option(names = "--grace-ms", description = "Unconfirmed this long, a writable instance is fenced (default 250).") long graceMs = io.failoverkit.failover.guard.GuardTiming.DEFAULT.graceMs();
        @Option(names = "--once", description = "One check (0 confirmed master or replica, 1 no epoch yet, 2 fenced or unconfirmed, 3 unknown).") boolean once;
        @Option(names = "--max-runtime", paramLabel = "SECONDS", description = "Stop after this long (default: run until stopped).") long maxRuntime = Long.MAX_VALUE / 2_000_000_000L;

        @Override
        public Integer call() throws Exception {
            // --discovery may list several servers (a,b,c): the first serves a kv: definition, all serve the epoch.
            checkDiscovery(spec, discovery, true);
            auth.checkTls(discovery);
            List<String> servers = List.of(discovery.split(","));
            String all = discovery;
            discovery = servers.get(0);
            ClusterDefinition c = cluster();
            discovery = all;
            if (!c.members().contains(instance)) throw new CommandLine.ParameterException(spec.commandLine(), instance + " is not a member of " + c.name() + " " + c.members());
            io.failoverkit.failover.guard.GuardTiming timing = new io.failoverkit.failover.guard.GuardTiming(intervalMs, timeoutMs, graceMs);
            String problem = timing.problem(c);
            if (problem != null) throw new CommandLine.ParameterException(spec.commandLine(), "refusing to guard: " + problem);
            try (io.failoverkit.failover.guard.Guard g = io.failoverkit.failover.guard.Guard.forCluster(c, instance, local == null ? instance : local, servers, timing,
                    auth.token(), auth.tls())) {
                System.out.println("guard " + c.name() + " " + instance + ": " + timing.relation(c));
                if (once) {
                    io.failoverkit.failover.guard.Verdict v = g.once();
                    System.out.println(v.getClass().getSimpleName().toUpperCase() + ": " + v.reason());
                    return v.exitCode();
                }
                g.run(System.nanoTime() + TimeUnit.SECONDS.toNanos(maxRuntime));
                return 0;
            }
        }
    }

    @Command(name = "drill", mixinStandardHelpOptions = true,
            description = "Runs the failover drills on a local lab (redis-server / mariadbd processes, or each server in its own container with --lab containers, and a discovery node on loopback) and prints their timelines.")
    static final class DrillCmd implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Option(names = "--kind", paramLabel = "KIND", description = "redis or mysql (MariaDB processes); default: all kinds.") String kind;
        @Option(names = "--no-semi-sync", description = "mysql: asynchronous replication (acknowledged rows can be lost; the drill reports how many).") boolean noSemiSync;
        @Option(names = "--repeat", paramLabel = "N", description = "mysql: run the SIGKILL drill N times (fresh servers each time), one RESULT line per run (default 1).") int repeat = 1;
        @Option(names = "--campaign", description = "The seeded fault campaign instead of the SIGKILL drills: --runs runs, each one fault drawn from its seed; exit 0 only with no violation.") boolean campaign;
        @Option(names = "--runs", paramLabel = "N", description = "--campaign: runs in all, alternating the kinds (default 20).") int runs = 20;
        @Option(names = "--seed", paramLabel = "S", description = "--campaign: run i uses seed S+i; replay one with --kind K --seed S+i --runs 1 (default: random).") Long seed;
        @Option(names = "--discovery-servers", paramLabel = "N", description = "--campaign: discovery servers, 3 (default) or 1.") int discoveryServers = 3;
        @Option(names = "--with-guard", description = "--campaign: also cut the master's guard host off (needs `failover guard`).") boolean withGuard;

        @Option(names = "--json", description = "One JSON object per drill, one per line (no colours, no other output on stdout).") boolean json;
        @Option(names = "--lab", paramLabel = "WHERE", description = "processes (default: local redis-server and mariadbd) or containers (each server in its own container through"
                + " Testcontainers' RedisContainer / MariaDBContainer, host networking, on the images FAILOVERKIT_LAB_REDIS_IMAGE and FAILOVERKIT_LAB_MARIADB_IMAGE name,"
                + " by default the ones bin/lab-images builds; needs a Docker engine).") String lab = "processes";

        @Override
        public Integer call() throws Exception {
            if (campaign) return campaign();
            if (kind != null && !kind.equals("redis") && !kind.equals("mysql")) throw new CommandLine.ParameterException(spec.commandLine(), "--kind must be redis or mysql");
            if (repeat < 1 || repeat > 100) throw new CommandLine.ParameterException(spec.commandLine(), "--repeat must be 1..100");
            if (!lab.equals("processes") && !lab.equals("containers")) throw new CommandLine.ParameterException(spec.commandLine(), "--lab must be processes or containers");
            boolean containers = lab.equals("containers");
            Path work = Files.createTempDirectory("failover-drill");
            boolean colour = DrillResult.colour(json, DrillResult.stdoutIsTerminal(), System.getenv());
            boolean ok = true;
            java.io.PrintStream terminal = System.err;
            try (DrillLog log = DrillLog.open(work.resolve("drill.log"))) {
                String logPath = log.file().toString();
                if (containers) {
                    // Before anything starts: a clear error when no engine answers or an image is missing (Testcontainers'
                    // own messages go to the log with the rest).
                    for (String image : kind == null ? List.of(ContainerEngine.redisImage(), ContainerEngine.mariaDbImage())
                            : List.of(kind.equals("redis") ? ContainerEngine.redisImage() : ContainerEngine.mariaDbImage())) {
                        String problem = ContainerEngine.problem(image);
                        if (problem != null) {
                            terminal.println("Error running drills in containers: " + problem);
                            return 1;
                        }
                    }
                }
                if (!json) System.out.println("failover drill: lab under " + work + (containers ? " (servers in containers: " + ContainerEngine.redisImage() + ", "
                        + ContainerEngine.mariaDbImage() + ")" : "") + "; driver, pool and manager messages in " + logPath);
                try (DiscoveryProcess discovery = DiscoveryProcess.start(work.resolve("discovery"))) {
                    if (kind == null || kind.equals("redis")) {
                        DrillResult r;
                        try {
                            r = DrillResult.of(containers ? redisInContainers(discovery, work.resolve("redis")) : RedisKillDrill.run(discovery.http(), discovery.dnsPort, work.resolve("redis")), logPath);
                        } catch (Exception e) {
                            log.record("drill redis failed", e);
                            r = DrillResult.error("redis", "Redis master SIGKILL under writes", "drill-redis", "the drill could not run: " + e, logPath);
                        }
                        emit(r, colour);
                        ok &= r.passed();
                    }
                    for (int run = 1; (kind == null || kind.equals("mysql")) && run <= repeat; run++) {
                        String name = repeat == 1 ? MySqlKillDrill.SERVICE : MySqlKillDrill.SERVICE + "-" + run;
                        String title = "MariaDB primary SIGKILL under inserts, semi-sync " + (noSemiSync ? "off" : "on") + (containers ? ", in containers" : "")
                                + (repeat == 1 ? "" : " (run " + run + "/" + repeat + ")");
                        DrillResult r;
                        MySqlKillDrill.Report report = null;
                        try {
                            report = containers ? mysqlInContainers(discovery, work.resolve("mysql-" + run), !noSemiSync, name)
                                    : MySqlKillDrill.run(discovery.http(), discovery.dnsPort, work.resolve("mysql-" + run), !noSemiSync, name);
                            r = DrillResult.of(report, name, logPath);
                            if (repeat > 1) r = new DrillResult(r.kind(), title, r.service(), r.passed(), r.message(), r.killedAtMillis(), r.figures(), r.timeline(), r.log());
                        } catch (Exception e) {
                            log.record("drill mysql failed", e);
                            r = DrillResult.error("mysql", title, name, "the drill could not run: " + e, logPath);
                        }
                        emit(r, colour);
                        // One machine-readable line per run for bench/mysql-failover.sh.
                        if (!json && report != null) {
                            System.out.printf("RESULT kind=mysql semi_sync=%s kill_to_first_write_ms=%d acknowledged=%d lost=%d two_writable_ms=%d rejoined=%s success=%s%n",
                                    report.semiSync() ? "on" : "off", report.killToFirstWriteMillis(), report.acknowledged(), report.lostAcknowledged().size(),
                                    report.twoWritableMillis(), report.oldMasterRejoined(), report.success());
                        }
                        ok &= r.passed();
                    }
                }
            }
            return ok ? 0 : 1;
        }

        private static RedisKillDrill.Report redisInContainers(DiscoveryProcess discovery, Path dir) throws Exception {
            try (ContainerRedisLab lab = new ContainerRedisLab(dir, 2)) {
                return RedisKillDrill.run(discovery.http(), discovery.dnsPort, lab);
            }
        }

        private static MySqlKillDrill.Report mysqlInContainers(DiscoveryProcess discovery, Path dir, boolean semiSync, String name) throws Exception {
            try (ContainerMariaDbLab lab = new ContainerMariaDbLab(dir, 2, semiSync)) {
                return MySqlKillDrill.run(discovery.http(), discovery.dnsPort, lab, name);
            }
        }

        private void emit(DrillResult r, boolean colour) {
            if (json) {
                System.out.println(r.json());
            } else {
                r.printText(System.out, colour);
            }
            System.out.flush();
        }

        private int campaign() throws Exception {
            if (kind != null && !kind.equals("redis") && !kind.equals("mysql")) throw new CommandLine.ParameterException(spec.commandLine(), "--kind must be redis or mysql");
            if (runs < 1 || runs > 10_000) throw new CommandLine.ParameterException(spec.commandLine(), "--runs must be 1..10000");
            if (discoveryServers != 1 && discoveryServers != 3) throw new CommandLine.ParameterException(spec.commandLine(), "--discovery-servers must be 1 or 3");
            if (withGuard && !commandLine().getSubcommands().containsKey("guard")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--with-guard needs the `failover guard` command, which this build lacks");
            }
            long s = seed != null ? seed : new java.util.SplittableRandom().nextLong(1, 1_000_000_000L);
            if (json) throw new CommandLine.ParameterException(spec.commandLine(), "--json is for the SIGKILL drills, not --campaign (its RESULT lines are machine-readable)");
            if (!lab.equals("processes")) throw new CommandLine.ParameterException(spec.commandLine(), "--lab containers is for the SIGKILL drills; --campaign runs on local processes");
            List<String> kinds = kind == null ? List.of("redis", "mysql") : List.of(kind);
            Path work = Files.createTempDirectory("failover-campaign");
            try (DrillLog log = DrillLog.open(work.resolve("campaign.log"))) {
                System.out.println("failover drill --campaign: driver, pool and harness messages in " + log.file() + "; managers, guards and servers log beside it");
                var results = io.failoverkit.failover.drill.campaign.Campaign.run(new io.failoverkit.failover.drill.campaign.Campaign.Options(runs, s, kinds,
                        discoveryServers, withGuard, work), System.out);
                return results.stream().allMatch(r -> r.violations().isEmpty()) ? 0 : 1;
            }
        }
    }

    /** A `discovery-node agent -dev` child process on free ports, for the drills; stopped by its PID. */
    static final class DiscoveryProcess implements AutoCloseable {
        final Process process;
        final int httpPort;
        final int dnsPort;

        private DiscoveryProcess(Process process, int httpPort, int dnsPort) {
            this.process = process;
            this.httpPort = httpPort;
            this.dnsPort = dnsPort;
        }

        /** http:// spelled out: the drill's own node speaks plain HTTP whatever CONSUL_HTTP_SSL the operator's shell sets. */
        String http() { return "http://127.0.0.1:" + httpPort; }

        static DiscoveryProcess start(Path dir) throws IOException, InterruptedException {
            Files.createDirectories(dir);
            int http = LocalProcesses.freePort(), dns = LocalProcesses.freePort(), server = LocalProcesses.freePort(), serf = LocalProcesses.freePort();
            // A child JVM on this class path when the discovery node's classes are on it (tests), else bin/discovery-node.
            Process p = io.failoverkit.failover.drill.campaign.ChildJvm.discoveryNode(List.of("-dev", "-node=drill-discovery",
                    "-http-port=" + http, "-dns-port=" + dns, "-server-port=" + server, "-serf-lan-port=" + serf), dir.resolve("discovery-node.log"));
            DiscoveryProcess d = new DiscoveryProcess(p, http, dns);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline) {
                if (!p.isAlive()) throw new IOException("discovery-node exited; see " + dir.resolve("discovery-node.log"));
                try (Socket s = new Socket("127.0.0.1", http)) {
                    return d;
                } catch (IOException e) {
                    Thread.sleep(100);
                }
            }
            d.close();
            throw new IOException("discovery-node did not start within 120 s; see " + dir.resolve("discovery-node.log"));
        }


        @Override
        public void close() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroyForcibly();
        }
    }

}

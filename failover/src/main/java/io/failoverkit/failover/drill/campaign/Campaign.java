package io.failoverkit.failover.drill.campaign;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.topology.InstanceState;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;

/**
 * The fault campaign: runs drawn from seeds on local-process labs (Redis, MariaDB) kept between runs, each injecting
 * one fault under an application's writes while a manager process (`failover watch`'s loop) guards the cluster
 * through a discovery cluster, and checks five invariants after every run:
 * <ol>
 *   <li>no acknowledged write lost: every id the application was told is stored (Redis: confirmed by {@code WAIT 1};
 *   MySQL: committed with semi-sync on) is read back from the final master;</li>
 *   <li>no 10 ms instant with two writable masters (sampled on every member by its own thread);</li>
 *   <li>within {@link #CONVERGE_BOUND} of the last fault step, exactly one writable master, the one DNS names
 *   ({@code master.<cluster>.service.consul}), taking the application's writes;</li>
 *   <li>the manager loop alive: its process runs and still cycles (observes the servers) after the faults;</li>
 *   <li>every failover's timeline complete: each epoch written during the run has an audit record whose timeline ends
 *   in a terminal step ({@link #TERMINAL_STEPS}).</li>
 * </ol>
 * A run starts by restoring a healthy topology (reviving what the last run killed, rejoining fenced members,
 * acknowledging the last failover so the next one is not blocked), and rebuilds the lab only when that fails.
 */
public final class Campaign {
    /**
     * Faults stop, then this long for one writable master named by DNS. It covers the slowest path a schedule
     * draws: a SIGKILLed manager's session expiring (TTL 10 s) plus its lock delay (up to 15 s), then detection and a failover.
     */
    public static final Duration CONVERGE_BOUND = Duration.ofSeconds(45);
    /**
     * How long after convergence the manager must be seen cycling with the lock: a lock taken over after the session's
     * TTL plus its lock delay ({@code cluster.Timings}: 10 s + 10 s for Redis, 10 s + 15 s for MySQL), plus 10 s for a
     * loaded machine. (25 s, sized for the old 5 s lock delay, failed a MySQL manager takeover in the 200-run bench.)
     */
    public static final Duration MANAGER_CYCLE_BOUND = Duration.ofSeconds(35);
    /** The timeline steps a finished failover ends with (success, failure, rollback). */
    public static final Set<String> TERMINAL_STEPS = Set.of("dns moved", "FAILED", "rolled back", "done");

    public record Options(int runs, long seed, List<String> kinds, int discoveryServers, boolean withGuard, Path workDir) {}

    public enum Invariant { LOST_WRITE, TWO_WRITABLE, NO_SINGLE_MASTER, MANAGER_LOOP, TIMELINE_INCOMPLETE, LAB }

    public record Violation(Invariant invariant, String detail) {}

    public record RunResult(Schedule schedule, List<Violation> violations, long timeToWritableMillis, long runMillis, String line) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Options options;
    private final PrintStream out;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
    private DiscoveryCluster discovery;
    private final Map<String, KindState> kinds = new LinkedHashMap<>();

    /** A kind's lab and its manager, kept between runs. */
    private static final class KindState {
        final String kind;
        int generation;
        CampaignLab lab;
        ManagerHandle manager;
        GuardSet guards;

        KindState(String kind) { this.kind = kind; }
    }

    private Campaign(Options options, PrintStream out) {
        this.options = options;
        this.out = out;
    }

    /** Runs the campaign; returns every run's result (the summary is printed). */
    public static List<RunResult> run(Options options, PrintStream out) throws Exception {
        Campaign c = new Campaign(options, out);
        // Interrupted (Ctrl-C, SIGTERM from a bench's cleanup): the servers, managers and guards it started stop too.
        Thread stopChildren = new Thread(c::close, "campaign-stop");
        Runtime.getRuntime().addShutdownHook(stopChildren);
        try {
            return c.runAll();
        } finally {
            c.close();
            try { Runtime.getRuntime().removeShutdownHook(stopChildren); } catch (IllegalStateException shuttingDown) { }
        }
    }

    private List<RunResult> runAll() throws Exception {
        Files.createDirectories(options.workDir());
        long t = System.nanoTime();
        out.printf("campaign: %d runs from seed %d, kinds %s, a %d-server discovery cluster; work dir %s%n", options.runs(), options.seed(),
                options.kinds(), options.discoveryServers(), options.workDir());
        discovery = new DiscoveryCluster(options.workDir().resolve("discovery"), options.discoveryServers());
        out.printf("  discovery cluster up in %d ms%n", (System.nanoTime() - t) / 1_000_000);
        List<RunResult> results = new ArrayList<>();
        for (int i = 0; i < options.runs(); i++) {
            String kind = options.kinds().get(i % options.kinds().size());
            Schedule s = Schedule.draw(options.seed() + i, kind, FaultType.forKind(kind, options.withGuard()));
            RunResult r;
            try {
                r = runOne(i, s);
            } catch (Exception | AssertionError e) {
                // The harness itself failed (a fault step, a restore): loud, counted, and the campaign goes on; the next
                // run of this kind restores the lab (or rebuilds it) first.
                r = new RunResult(s, List.of(new Violation(Invariant.LAB, "the run's harness failed: " + e)), -1, 0,
                        "run " + (i + 1) + "/" + options.runs() + " seed=" + s.seed() + " kind=" + kind + " fault=" + s.fault() + ": HARNESS ERROR " + e);
            }
            results.add(r);
            out.println(r.line());
            if (!r.violations().isEmpty()) {
                out.print("    schedule: " + s.text());
                for (Violation v : r.violations()) out.println("    VIOLATION " + v.invariant() + ": " + v.detail());
            }
            out.flush();
        }
        printSummary(results);
        return results;
    }

    private RunResult runOne(int index, Schedule s) throws Exception {
        long started = System.currentTimeMillis();
        KindState k = kinds.computeIfAbsent(s.kind(), KindState::new);
        List<Violation> v = new ArrayList<>();
        String master = restore(k);
        if (master == null) {
            v.add(new Violation(Invariant.LAB, "no healthy topology to start from, even on a rebuilt lab (see " + options.workDir() + ")"));
            return new RunResult(s, v, -1, System.currentTimeMillis() - started, head(index, s) + " LAB BROKEN");
        }
        CampaignLab lab = k.lab;
        List<String> replicas = lab.members().stream().filter(m -> !m.equals(master)).toList();
        EpochStore epochs = new EpochStore(new DiscoveryClient(discovery.url()), lab.name());
        long epochBefore = epochs.read().state().epoch();
        CampaignWriter writer = lab.writer(discovery.dnsPort());
        WritableSampler sampler = new WritableSampler(lab);
        long t0, faultsEnd, convergedAt = -1;
        String finalMaster = null;
        boolean loopAlive;
        try {
            writer.start();
            if (!waitFor(Duration.ofSeconds(15), () -> writer.acks().size() >= 10)) {
                v.add(new Violation(Invariant.LAB, "the application could not write before the faults: " + writer.lastError()));
            }
            t0 = System.currentTimeMillis();
            for (Schedule.Step step : s.steps()) {
                long wait = t0 + step.atMillis() - System.currentTimeMillis();
                if (wait > 0) Thread.sleep(wait);
                apply(k, step, master, replicas);
            }
            faultsEnd = System.currentTimeMillis();
            long deadline = faultsEnd + CONVERGE_BOUND.toMillis();
            while (System.currentTimeMillis() < deadline) {
                String named = writer.resolve();
                long since = System.currentTimeMillis() - 300;
                if (named != null && sampler.writableNow().equals(List.of(named))
                        && writer.acks().stream().anyMatch(a -> a.member().equals(named) && a.atMillis() > Math.max(faultsEnd, since - 1000))) {
                    convergedAt = System.currentTimeMillis();
                    finalMaster = named;
                    break;
                }
                Thread.sleep(100);
            }
            if (convergedAt < 0) {
                v.add(new Violation(Invariant.NO_SINGLE_MASTER, "not one writable master named by DNS within " + CONVERGE_BOUND.toSeconds()
                        + " s of the last fault: DNS names " + writer.resolve() + ", writable " + sampler.writableNow() + ", last write error: " + writer.lastError()));
            }
            // A manager started during the run first waits out its predecessor's session (TTL + lock delay).
            long c1 = k.manager.cycles();
            loopAlive = waitFor(MANAGER_CYCLE_BOUND, () -> k.manager.alive() && k.manager.cycles() >= c1 + 3);
            if (!loopAlive) {
                v.add(new Violation(Invariant.MANAGER_LOOP, (k.manager.alive() ? "the manager process runs but did not cycle with the lock for "
                        + MANAGER_CYCLE_BOUND.toSeconds() + " s (cycles " + c1 + " -> " + k.manager.cycles() + ")" : "the manager process is gone")
                        + "; see " + k.manager.log()));
            }
        } finally {
            writer.stop();
            sampler.close();
        }
        long end = System.currentTimeMillis();

        // 1. Acknowledged writes, read back from the final master.
        List<CampaignWriter.Ack> acks = writer.acks();
        List<Long> strong = acks.stream().filter(CampaignWriter.Ack::strong).map(CampaignWriter.Ack::id).toList();
        List<Long> weak = acks.stream().filter(a -> !a.strong()).map(CampaignWriter.Ack::id).toList();
        if (finalMaster == null) {
            List<String> w = lab.members().stream().filter(lab::writable).toList();
            if (w.size() == 1) finalMaster = w.get(0);
        }
        String lostText = "-";
        if (finalMaster != null) {
            try {
                Set<Long> lost = lab.missing(finalMaster, strong);
                Set<Long> lostWeak = lab.missing(finalMaster, weak);
                lostText = lost.size() + "/" + strong.size() + (weak.isEmpty() ? "" : " (+" + lostWeak.size() + "/" + weak.size() + " unconfirmed)");
                if (!lost.isEmpty()) {
                    v.add(new Violation(Invariant.LOST_WRITE, lost.size() + " of " + strong.size() + " acknowledged writes missing on the final master "
                            + finalMaster + ", e.g. " + lost.stream().sorted().limit(5).toList() + " acknowledged by "
                            + acks.stream().filter(a -> lost.contains(a.id())).map(CampaignWriter.Ack::member).distinct().toList()));
                }
            } catch (Exception e) {
                v.add(new Violation(Invariant.LOST_WRITE, "could not read the acknowledged writes back from " + finalMaster + ": " + e.getMessage()));
            }
        } else {
            v.add(new Violation(Invariant.LOST_WRITE, "no single master to read " + strong.size() + " acknowledged writes back from"));
        }

        // 2. Two writable masters at a sampled instant.
        WritableSampler.SplitBrain split = sampler.twoWritable(t0, end);
        if (split.instants() > 0) {
            v.add(new Violation(Invariant.TWO_WRITABLE, split.instants() + " sampled 10 ms instants with two writable masters, first at +"
                    + (split.firstAtMillis() - t0) + " ms: " + split.members()));
        }

        // 5. Timelines of the failovers this run made.
        long epochAfter = epochs.read().state().epoch();
        for (String problem : incompleteTimelines(lab.name(), epochBefore)) v.add(new Violation(Invariant.TIMELINE_INCOMPLETE, problem));

        long ttw = timeToWritable(acks, t0 + s.steps().get(0).atMillis());
        String line = String.format("%s %s failovers=%d acked=%d lost=%s two-writable=%d converged=%s write-gap=%dms run=%.1fs",
                head(index, s), v.isEmpty() ? "OK" : "VIOLATION", epochAfter - epochBefore, acks.size(), lostText, split.instants(),
                convergedAt < 0 ? "never" : String.format("%.1fs", (convergedAt - faultsEnd) / 1000.0), ttw, (end - started) / 1000.0);
        return new RunResult(s, v, ttw, end - started, line);
    }

    private String head(int index, Schedule s) {
        return String.format("run %d/%d seed=%d kind=%s fault=%s:", index + 1, options.runs(), s.seed(), s.kind(), s.fault());
    }

    /** The longest time without an acknowledged write from the first fault on (0 when writes never stopped). */
    static long timeToWritable(List<CampaignWriter.Ack> acks, long faultAt) {
        long prev = faultAt, gap = 0;
        for (CampaignWriter.Ack a : acks) {
            if (a.atMillis() < faultAt) continue;
            gap = Math.max(gap, a.atMillis() - prev);
            prev = a.atMillis();
        }
        return gap;
    }

    private void apply(KindState k, Schedule.Step step, String master, List<String> replicas) throws Exception {
        CampaignLab lab = k.lab;
        String target = step.target().startsWith("replica ") ? replicas.get(Integer.parseInt(step.target().substring(8))) : master;
        switch (step.action() + " " + (step.target().startsWith("replica") ? "replica" : step.target())) {
            case "sigkill master" -> lab.kill(master);
            case "sigstop master" -> lab.freeze(master);
            case "sigcont master" -> lab.thaw(master);
            case "start-empty master" -> lab.startEmpty(master);
            case "cut manager master" -> lab.cutManager(master);
            case "cut replicas master" -> lab.cutReplicas(master);
            case "cut manager+replicas master" -> { lab.cutManager(master); lab.cutReplicas(master); }
            case "cut manager+replicas+discovery master" -> { lab.cutManager(master); lab.cutReplicas(master); k.guards.cut(master); }
            case "heal master" -> { lab.healAll(); if (k.guards != null) k.guards.healAll(); }
            case "stop-sql-thread replica" -> lab.stopSqlThread(target);
            case "start-sql-thread replica" -> {
                try {
                    lab.startSqlThread(target);
                } catch (java.sql.SQLException e) {
                    // The manager applied its relay log (starting the thread) and may have promoted or re-pointed it since.
                    out.println("    start-sql-thread on " + target + ": " + e.getMessage() + " (promoted or re-pointed meanwhile)");
                }
            }
            case "sigkill manager" -> k.manager.kill();
            case "start manager" -> k.manager.start();
            case "sigkill discovery leader" -> discovery.killLeader();
            case "restart discovery leader" -> discovery.restartDead();
            default -> throw new IllegalStateException("no such step: " + step.text());
        }
    }

    /**
     * A healthy topology to start a run from: every fault of the last run undone, the master the epoch names (or
     * the one writable member) with the others replicating from it, DNS naming it, the application able to write.
     * Rebuilds the lab (new servers, new cluster name) when that cannot be had. Returns the master, or null.
     */
    private String restore(KindState k) throws Exception {
        discovery.restartDead();
        if (!discovery.awaitLeader(Duration.ofSeconds(60))) out.println("    restore: the discovery cluster has no leader after 60 s");
        for (int attempt = 0; attempt < 2; attempt++) {
            if (k.lab == null) build(k);
            CampaignLab lab = k.lab;
            lab.healAll();
            if (k.guards != null) {
                k.guards.healAll();
                k.guards.startDead();
            }
            k.manager.start();
            String master = null;
            try {
                String epochMaster = new EpochStore(new DiscoveryClient(discovery.url()), lab.name()).read().state().master();
                List<String> writable = lab.members().stream().filter(lab::writable).toList();
                master = epochMaster != null ? epochMaster : writable.size() == 1 ? writable.get(0) : lab.members().get(0);
                if (lab.revive(master)) {
                    EpochStore epochs = new EpochStore(new DiscoveryClient(discovery.url()), lab.name());
                    String m = master;
                    CampaignWriter probe = lab.writer(discovery.dnsPort());
                    boolean healthy = waitFor(Duration.ofSeconds(60), () -> {
                        try { epochs.acknowledge("campaign restore"); } catch (IOException ignored) { }
                        if (!m.equals(probe.resolve())) return false;
                        if (!lab.members().stream().filter(lab::writable).toList().equals(List.of(m))) return false;
                        for (String r : lab.members()) {
                            if (r.equals(m)) continue;
                            InstanceState st = lab.servers().observe(r);
                            if (!(st.isReplica() && m.equals(st.masterAddress()) && st.masterLinkUp())) return false;
                        }
                        return true;
                    });
                    if (healthy) return master;
                    out.println("    restore: " + lab.name() + " not healthy within 60 s around " + master + "; rebuilding");
                } else {
                    out.println("    restore: " + lab.name() + " cannot be revived around " + master + "; rebuilding");
                }
            } catch (Exception e) {
                out.println("    restore: " + lab.name() + " failed (" + e + "); rebuilding");
            }
            dispose(k, true);
        }
        return null;
    }

    private void build(KindState k) throws Exception {
        k.generation++;
        String name = "campaign-" + k.kind + "-" + k.generation;
        Path dir = options.workDir().resolve(name);
        Files.createDirectories(dir);
        long t = System.nanoTime();
        k.lab = k.kind.equals("redis") ? new RedisCampaignLab(dir, name) : new MariaDbCampaignLab(dir, name);
        List<String> args = new ArrayList<>(List.of(k.kind, name, discovery.url()));
        args.addAll(k.lab.managerArgs());
        k.manager = new ManagerHandle(args, k.lab.managerEnv(), dir);
        if (options.withGuard()) k.guards = new GuardSet(k.lab, discovery.http(), dir);
        out.printf("  lab %s: %s, built in %d ms%n", name, k.lab.members(), (System.nanoTime() - t) / 1_000_000);
    }

    /**
     * Stops a kind's lab and its processes; a lab being rebuilt also loses its directory (MariaDB data dirs take
     * ~400 MB a lab), the last one is kept with its server and manager logs.
     */
    private void dispose(KindState k, boolean delete) {
        try { if (k.manager != null) k.manager.close(); } catch (Exception ignored) { }
        try { if (k.guards != null) k.guards.close(); } catch (Exception ignored) { }
        k.guards = null;
        try { if (k.lab != null) k.lab.close(); } catch (Exception ignored) { }
        if (k.lab != null && delete) deleteTree(options.workDir().resolve(k.lab.name()));
        k.lab = null;
        k.manager = null;
    }

    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a leftover temp dir
        }
    }

    /** Each epoch after {@code since}: its audit record's timeline must end in a terminal step. */
    private List<String> incompleteTimelines(String cluster, long since) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + discovery.http() + "/v1/kv/failover/" + cluster + "/audit/?recurse"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        Map<Long, JsonNode> records = new java.util.TreeMap<>();
        if (r.statusCode() == 200) {
            for (JsonNode e : JSON.readTree(r.body())) {
                String key = e.path("Key").asText();
                String last = key.substring(key.lastIndexOf('/') + 1);
                if (!last.matches("\\d+")) continue;
                String value = e.path("Value").isNull() ? "{}" : new String(Base64.getDecoder().decode(e.path("Value").asText()), StandardCharsets.UTF_8);
                records.put(Long.parseLong(last), JSON.readTree(value));
            }
        }
        long now = new EpochStore(new DiscoveryClient(discovery.url()), cluster).read().state().epoch();
        List<String> problems = new ArrayList<>();
        for (long e = Math.max(since + 1, 2); e <= now; e++) {
            JsonNode doc = records.get(e);
            if (doc == null) { problems.add("epoch " + e + " has no audit record"); continue; }
            JsonNode steps = doc.path("timeline");
            String lastStep = steps.isArray() && !steps.isEmpty() ? steps.get(steps.size() - 1).path("step").asText() : "(none)";
            if (!TERMINAL_STEPS.contains(lastStep)) {
                problems.add("epoch " + e + " (" + doc.path("master").asText() + "): the audit timeline ends at \"" + lastStep + "\", not in a terminal step");
            }
        }
        return problems;
    }

    private void printSummary(List<RunResult> results) {
        out.println();
        out.printf("%-26s %5s %10s %28s  %s%n", "fault", "runs", "violations", "time to writable min/median/max ms", "runs per invariant violated");
        Map<FaultType, List<RunResult>> byFault = new EnumMap<>(FaultType.class);
        for (RunResult r : results) byFault.computeIfAbsent(r.schedule().fault(), f -> new ArrayList<>()).add(r);
        for (Map.Entry<FaultType, List<RunResult>> e : byFault.entrySet()) {
            List<RunResult> rs = e.getValue();
            long bad = rs.stream().filter(r -> !r.violations().isEmpty()).count();
            long[] t = rs.stream().mapToLong(RunResult::timeToWritableMillis).filter(x -> x >= 0).sorted().toArray();
            String times = t.length == 0 ? "-" : t[0] + " / " + t[t.length / 2] + " / " + t[t.length - 1];
            Map<Invariant, Long> which = new EnumMap<>(Invariant.class);
            for (RunResult r : rs) r.violations().stream().map(Violation::invariant).distinct().forEach(i -> which.merge(i, 1L, Long::sum));
            out.printf("%-26s %5d %10d %28s  %s%n", e.getKey(), rs.size(), bad, times, which.isEmpty() ? "" : which);
            out.printf("RESULT fault=%s runs=%d violations=%d ttw_min_ms=%s ttw_median_ms=%s ttw_max_ms=%s%n", e.getKey(), rs.size(), bad,
                    t.length == 0 ? "-" : t[0], t.length == 0 ? "-" : t[t.length / 2], t.length == 0 ? "-" : t[t.length - 1]);
        }
        Map<Invariant, Long> byInvariant = new EnumMap<>(Invariant.class);
        for (RunResult r : results) for (Violation v : r.violations()) byInvariant.merge(v.invariant(), 1L, Long::sum);
        long bad = results.stream().filter(r -> !r.violations().isEmpty()).count();
        double avg = results.stream().mapToLong(RunResult::runMillis).average().orElse(0) / 1000.0;
        out.printf("violations by invariant: %s%n", byInvariant.isEmpty() ? "none" : byInvariant);
        if (bad > 0) {
            out.println("failing seeds (replay each with --kind K --seed S --runs 1):");
            for (RunResult r : results) {
                if (r.violations().isEmpty()) continue;
                out.printf("  --kind %s --seed %d  %s: %s%n", r.schedule().kind(), r.schedule().seed(), r.schedule().fault(),
                        r.violations().stream().map(v -> v.invariant().name()).distinct().toList());
            }
        }
        out.printf("RESULT total runs=%d violating_runs=%d avg_run_s=%.1f%n", results.size(), bad, avg);
    }

    static boolean waitFor(Duration max, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) return true;
            Thread.sleep(200);
        }
        return condition.getAsBoolean();
    }

    private synchronized void close() {
        for (KindState k : kinds.values()) dispose(k, false);
        try { if (discovery != null) discovery.close(); } catch (InterruptedException ignored) { Thread.currentThread().interrupt(); }
    }
}

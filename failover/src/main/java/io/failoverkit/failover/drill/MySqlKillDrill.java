package io.failoverkit.failover.drill;

import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.mysql.MySqlServers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.watch.Manager;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * The MySQL SIGKILL drill: a MariaDB primary with two GTID replicas, a manager watching them through a discovery
 * node, an application inserting numbered rows through `master.<service>.service.consul`. The primary is killed;
 * the drill measures the time from the kill to the first row the new primary acknowledges, checks which acknowledged
 * rows the new primary lacks, samples the members for two writable at once, then brings the old primary back
 * read-only and rejoins it (`failover rejoin`), which must refuse if it diverged.
 */
public final class MySqlKillDrill {
    /** {@code killedAtMillis}: wall-clock time of the SIGKILL (0 when the drill failed before it). */
    public record Report(boolean success, String message, boolean semiSync, String oldMaster, String newMaster, long killedAtMillis, long killToFirstWriteMillis,
                         long acknowledged, List<Long> lostAcknowledged, long twoWritableMillis, boolean otherReplicaFollows,
                         boolean oldMasterRejoined, String rejoinMessage, List<Timeline.Step> timeline) {}

    public static final String SERVICE = "drill-mysql";

    private MySqlKillDrill() {}

    /** Runs on a fresh local-process lab in {@code workDir}. */
    public static Report run(String discoveryHttp, int dnsPort, Path workDir, boolean semiSync) throws Exception {
        return run(discoveryHttp, dnsPort, workDir, semiSync, SERVICE);
    }

    /** Runs on a fresh local-process lab in {@code workDir}, as cluster and service {@code name} (one per run on a shared discovery node). */
    public static Report run(String discoveryHttp, int dnsPort, Path workDir, boolean semiSync, String name) throws Exception {
        try (MariaDbLab lab = new LocalMariaDbLab(workDir, 2, semiSync)) {
            return run(discoveryHttp, dnsPort, lab, name);
        }
    }

    /** Runs on {@code lab} (a primary and two replicas, just started); the caller closes the lab. */
    public static Report run(String discoveryHttp, int dnsPort, MariaDbLab lab) throws Exception {
        return run(discoveryHttp, dnsPort, lab, SERVICE);
    }

    /** The cluster definition a drill uses for {@code lab}. */
    public static ClusterDefinition cluster(String name, MariaDbLab lab) {
        return new ClusterDefinition(name, "mysql", lab.addresses(), name, null, null, null, null, null, 0,
                new ClusterDefinition.MySql(lab.admin().user(), lab.replication().user(), null, null));
    }

    public static MySqlServers servers(ClusterDefinition cluster, MariaDbLab lab) {
        return new MySqlServers(cluster.detection().timeoutMs(), lab.admin().user(), lab.admin().password(), lab.replication().user(), lab.replication().password());
    }

    /** Runs on {@code lab} as cluster and service {@code name}; the caller closes the lab. */
    public static Report run(String discoveryHttp, int dnsPort, MariaDbLab lab, String name) throws Exception {
        ClusterDefinition cluster = cluster(name, lab);
        DiscoveryClient discovery = new DiscoveryClient(discoveryHttp);
        MariaDbLab.Instance master = lab.instances().get(0);
        try (MySqlServers mysql = servers(cluster, lab)) {
            AtomicReference<FailoverRun.Outcome> outcome = new AtomicReference<>();
            Manager manager = new Manager(cluster, discovery, mysql, "drill-manager", outcome::set);
            ManagerThread managerThread = ManagerThread.start(manager, Duration.ofMinutes(3));
            SqlWriterProbe probe = new SqlWriterProbe(name, dnsPort, lab.application(), Duration.ofMinutes(2));
            Thread probeThread = null;
            WritableWatch watch = null;
            try {
                if (!waitFor(Duration.ofSeconds(30), () -> master.address().equals(probe.resolve()))) {
                    return fail(lab, "DNS never named " + master.address() + " master (is the manager holding its lock?)", master.address());
                }
                if (!waitFor(Duration.ofSeconds(30), () -> mysql.observeAll(lab.addresses()).instances().stream().skip(1)
                        .allMatch(i -> i.isReplica() && i.masterLinkUp() && i.position().covers(mysql.observe(master.address()).position())))) {
                    return fail(lab, "the replicas did not catch up with the primary within 30 s", master.address());
                }
                watch = new WritableWatch(servers(cluster, lab), lab.addresses(), Duration.ofMinutes(2));
                probeThread = Thread.ofPlatform().name("sql-writer-probe").start(probe);
                if (!waitFor(Duration.ofSeconds(10), () -> probe.acks().size() >= 50)) {
                    return fail(lab, "the writer probe could not write to the primary: " + probe.lastError(), master.address());
                }
                long killedAt = System.currentTimeMillis();
                master.kill();
                if (!waitFor(Duration.ofSeconds(30), () -> probe.acks().stream().anyMatch(a -> a.atMillis() > killedAt && !a.address().equals(master.address())))) {
                    return fail(lab, "no write was acknowledged by a new primary within 30 s of the kill; outcome: "
                            + (outcome.get() == null ? "no failover attempted" : outcome.get().message()) + "; probe: " + probe.lastError(), master.address());
                }
                SqlWriterProbe.Ack firstNew = probe.acks().stream().filter(a -> a.atMillis() > killedAt && !a.address().equals(master.address())).findFirst().orElseThrow();
                String newMaster = firstNew.address();
                Thread.sleep(500);
                probe.stop();
                probeThread.join(5000);
                List<SqlWriterProbe.Ack> acks = probe.acks();
                Set<Long> present = rows(lab, newMaster);
                List<Long> lost = acks.stream().map(SqlWriterProbe.Ack::seq).filter(s -> !present.contains(s)).toList();

                MariaDbLab.Instance other = lab.instances().stream().skip(1).filter(i -> !i.address().equals(newMaster)).findFirst().orElseThrow();
                boolean otherFollows = waitFor(Duration.ofSeconds(10), () -> {
                    InstanceState s = mysql.observe(other.address());
                    return s.isReplica() && newMaster.equals(s.masterAddress()) && s.masterLinkUp();
                });

                // The failover's window ends here. The old primary comes back read-only, as an operator would start it; on
                // MariaDB its accounts that bypass read_only could still write, so the manager fences it (locks them)
                // before it is rejoined (which unlocks them).
                long twoWritable = watch.twoWritableMillis();
                master.restartFenced();
                long restartedAt = System.currentTimeMillis();
                boolean fenced = waitFor(Duration.ofSeconds(20), () -> {
                    InstanceState s = mysql.observe(master.address());
                    return s.reachable() && !s.isMaster(); // fenced: nobody, not even an admin account, can write
                });
                long fencedAfter = System.currentTimeMillis() - restartedAt;
                MySqlServers.RejoinResult rejoin = fenced ? mysql.rejoin(master.address(), newMaster, Duration.ofSeconds(20))
                        : new MySqlServers.RejoinResult(false, "the manager did not fence the restarted old primary within 20 s: "
                        + mysql.observe(master.address()).detail());
                FailoverRun.Outcome o = outcome.get();
                boolean ok = o != null && o.success() && otherFollows && (!lab.semiSync() || (lost.isEmpty() && rejoin.joined())) && twoWritable == 0;
                String message = (o == null ? "no failover outcome" : o.message()) + "; " + acks.size() + " rows acknowledged, " + lost.size() + " lost"
                        + (otherFollows ? "; the other replica follows " + newMaster : "; the other replica does NOT follow " + newMaster)
                        + "; rejoin: " + rejoin.message() + (fenced ? " (fenced by the manager " + fencedAfter + " ms after its restart)" : "")
                        + (twoWritable > 0 ? "; TWO WRITABLE PRIMARIES for " + twoWritable + " ms" : "");
                return new Report(ok, message, lab.semiSync(), master.address(), newMaster, killedAt, firstNew.atMillis() - killedAt, acks.size(), lost,
                        twoWritable, otherFollows, rejoin.joined(), rejoin.message(), o == null ? List.of() : o.timeline().steps());
            } finally {
                probe.stop();
                if (probeThread != null) probeThread.join(5000);
                if (watch != null) watch.close();
                managerThread.close(); // before `mysql` is closed: the loop observes through it until it has ended
            }
        }
    }

    /** The sequence numbers in drill.probe on {@code address}. */
    public static Set<Long> rows(MariaDbLab lab, String address) throws Exception {
        MariaDbLab.Instance i = lab.instances().stream().filter(s -> s.address().equals(address)).findFirst().orElseThrow();
        Set<Long> out = new HashSet<>();
        try (Connection c = i.admin(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT seq FROM drill.probe")) {
            while (rs.next()) out.add(rs.getLong(1));
        }
        return out;
    }

    private static Report fail(MariaDbLab lab, String message, String oldMaster) {
        return new Report(false, message, lab.semiSync(), oldMaster, null, 0, -1, 0, List.of(), 0, false, false, "", List.of());
    }

    static boolean waitFor(Duration max, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) return true;
            Thread.sleep(50);
        }
        return condition.getAsBoolean();
    }

    /** Timeline lines for printing. */
    public static List<String> lines(List<Timeline.Step> steps) {
        List<String> out = new ArrayList<>();
        for (Timeline.Step s : steps) out.add(String.format("%s %-22s %s", java.time.Instant.ofEpochMilli(s.atMillis()), s.name(), s.detail()));
        return out;
    }
}

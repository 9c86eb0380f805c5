package io.failoverkit.failover.drill;

import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryAddress;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.redis.RedisServers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.watch.Manager;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The SIGKILL drill: a Redis master with two replicas, a manager watching them through a discovery node, an
 * application writing through `master.<service>.service.consul`; the master is killed, and the drill measures the
 * time from the kill to the first write the new master acknowledges, and how many acknowledged writes were lost.
 * Then the old master comes back as a master and must be demoted to a replica of the new one.
 */
public final class RedisKillDrill {
    /**
     * {@code killedAtMillis}: wall-clock time of the SIGKILL (0 when the drill failed before it); {@code acknowledged}:
     * writes the application had acknowledged by the end of the failover window, old and new master; {@code
     * twoWritableMillis}: time (sampled every ~50 ms) with two writable members between the kill and the old master's
     * return.
     */
    public record Report(boolean success, String message, String oldMaster, String newMaster, long killedAtMillis, long killToFirstWriteMillis,
                         long acknowledgedBeforeKill, long acknowledged, long lostAcknowledged, long twoWritableMillis, boolean oldMasterDemoted,
                         List<Timeline.Step> timeline) {}

    private RedisKillDrill() {}

    /** Runs on a fresh local-process lab in {@code workDir}. */
    public static Report run(String discoveryHttp, int dnsPort, Path workDir) throws Exception {
        try (RedisLab lab = new LocalRedisLab(workDir, 2)) {
            return run(discoveryHttp, dnsPort, lab);
        }
    }

    /** Runs on {@code lab} (a master and two replicas, just started); the caller closes the lab. */
    public static Report run(String discoveryHttp, int dnsPort, RedisLab lab) throws Exception {
        return run(discoveryHttp, dnsPort, lab, DiscoveryAddress.tokenFromEnvironment());
    }

    /** The cluster the drill runs: its name is the service's. */
    public static ClusterDefinition cluster(RedisLab lab) {
        return new ClusterDefinition(SERVICE, "redis", lab.addresses(), SERVICE, null, null, null, null, null, 0);
    }

    public static final String SERVICE = "drill-redis";

    /** As above, the manager talking to the discovery node with {@code token} alone (null: none). */
    public static Report run(String discoveryHttp, int dnsPort, RedisLab lab, String token) throws Exception {
        String service = SERVICE;
        ClusterDefinition cluster = cluster(lab);
        DiscoveryClient discovery = new DiscoveryClient(discoveryHttp, token);
        // Closed last: after the manager's loop and the watch that use them have ended.
        try (RedisServers redis = new RedisServers(cluster.detection().timeoutMs(), null)) {
            AtomicReference<FailoverRun.Outcome> outcome = new AtomicReference<>();
            Manager manager = new Manager(cluster, discovery, redis, "drill-manager", outcome::set);
            ManagerThread managerThread = ManagerThread.start(manager, Duration.ofMinutes(3));
            RedisLab.Instance master = lab.instances().get(0);
            WriterProbe probe = new WriterProbe(service, dnsPort, "drill:counter", Duration.ofMinutes(2));
            Thread probeThread = null;
            WritableWatch watch = null;
            try {
                if (!waitFor(Duration.ofSeconds(30), () -> master.address().equals(probe.resolve()))) {
                    return fail("DNS never named " + master.address() + " master (is the manager holding its lock?)", master.address());
                }
                // The drill measures a failover, not an initial sync: start once every replica holds the master's data.
                if (!waitFor(Duration.ofSeconds(30), () -> lab.instances().stream().skip(1).map(s -> redis.observe(s.address())).allMatch(i -> i.isReplica() && i.masterLinkUp()))) {
                    return fail("the replicas did not finish their initial sync within 30 s", master.address());
                }
                probeThread = Thread.ofPlatform().name("writer-probe").start(probe);
                Thread.sleep(2000);
                long before = probe.acks().size();
                if (before == 0) return fail("the writer probe could not write to the master", master.address());
                watch = new WritableWatch(new RedisServers(cluster.detection().timeoutMs(), null), lab.addresses(), Duration.ofMinutes(2));
                long killedAt = System.currentTimeMillis();
                master.kill();
                if (!waitFor(Duration.ofSeconds(30), () -> probe.acks().stream().anyMatch(a -> a.atMillis() > killedAt && !a.address().equals(master.address())))) {
                    return fail("no write was acknowledged by a new master within 30 s of the kill; outcome: "
                            + (outcome.get() == null ? "no failover attempted" : outcome.get().message()), master.address());
                }
                List<WriterProbe.Ack> acks = probe.acks();
                WriterProbe.Ack firstNew = acks.stream().filter(a -> a.atMillis() > killedAt && !a.address().equals(master.address())).findFirst().orElseThrow();
                long lastOld = acks.stream().filter(a -> a.address().equals(master.address())).mapToLong(WriterProbe.Ack::value).max().orElse(0);
                long lost = Math.max(0, lastOld - (firstNew.value() - 1));
                Thread.sleep(500);
                long acknowledged = probe.acks().size();
                long twoWritable = watch.twoWritableMillis();
                watch.close();
                watch = null;

                // The old master returns, as a master with an empty data set: the manager must demote it at once.
                master.start(null);
                String newMaster = firstNew.address();
                boolean demoted = waitFor(Duration.ofSeconds(15), () -> {
                    InstanceState s = redis.observe(master.address());
                    return s.isReplica() && newMaster.equals(s.masterAddress());
                });
                FailoverRun.Outcome o = outcome.get();
                boolean ok = o != null && o.success() && demoted;
                String message = o == null ? "no failover outcome" : o.message() + (demoted ? "; old master demoted on return" : "; old master NOT demoted");
                ok &= twoWritable == 0;
                if (twoWritable > 0) message += "; TWO WRITABLE MASTERS for " + twoWritable + " ms";
                return new Report(ok, message, master.address(), newMaster, killedAt, firstNew.atMillis() - killedAt, lastOld, acknowledged, lost,
                        twoWritable, demoted, o == null ? List.of() : o.timeline().steps());
            } finally {
                probe.stop();
                if (probeThread != null) probeThread.join(5000);
                if (watch != null) watch.close();
                managerThread.close();
            }
        }
    }

    private static Report fail(String message, String oldMaster) {
        return new Report(false, message, oldMaster, null, 0, -1, 0, 0, 0, 0, false, List.of());
    }

    private static boolean waitFor(Duration max, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) return true;
            Thread.sleep(50);
        }
        return condition.getAsBoolean();
    }
}

package io.failoverkit.failover.guard;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.mysql.MySqlServers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongSupplier;

/**
 * The self-fencing guard of one database instance (as Patroni demotes a primary that cannot renew its leader key):
 * every interval it reads the cluster's epoch and observes its local instance, and when the instance takes writes
 * but the epoch does not confirm, within the grace period, that it is the master, it fences it. It never makes
 * anything writable, logs every decision that differs from the last with its reason, and never ends because a
 * round failed: a round that throws is logged and the next one runs.
 */
public final class Guard implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Guard.class);

    /** The cluster's epoch as one bounded consistent read; never throws (failures are {@link EpochView.Unconfirmed}). */
    public interface EpochSource {
        EpochView read();
    }

    /** The instance beside the guard, seen and fenced by the kind's own means. */
    public interface LocalInstance extends AutoCloseable {
        LocalView observe();

        /** Makes the instance stop taking writes and drops its clients; {@code epochMaster} may be null. Throws when it failed. */
        void fence(String epochMaster, String reason);

        @Override
        default void close() {}
    }

    private final String cluster;
    private final String instance;
    private final GuardTiming timing;
    private final EpochSource epochs;
    private final LocalInstance local;
    private final LongSupplier nanos;
    private final ExecutorService reader = Executors.newVirtualThreadPerTaskExecutor();
    /** Send time of the read that last confirmed the instance; a guard starts with one grace period to confirm. */
    private long confirmedAtNanos;
    private String lastLogged = "";
    private int fences;

    public Guard(String cluster, String instance, GuardTiming timing, EpochSource epochs, LocalInstance local, LongSupplier nanos) {
        this.cluster = cluster;
        this.instance = instance;
        this.timing = timing;
        this.epochs = epochs;
        this.local = local;
        this.nanos = nanos;
        this.confirmedAtNanos = nanos.getAsLong();
    }

    /**
     * The guard of {@code instance} (a member of {@code cluster}) that dials it at {@code dial} and reads the epoch from
     * {@code discovery} (the local agent, or the servers), with the credentials the cluster definition names. Only
     * the manager's account is needed (MySQL) or the cluster's password (Redis): never the replication secret.
     */
    public static Guard forCluster(ClusterDefinition cluster, String instance, String dial, List<String> discovery, GuardTiming timing)
            throws java.io.IOException {
        return forCluster(cluster, instance, dial, discovery, timing, io.failoverkit.failover.discovery.DiscoveryAddress.tokenFromEnvironment());
    }

    /** As above, reading the epoch with {@code token} (null: none). */
    public static Guard forCluster(ClusterDefinition cluster, String instance, String dial, List<String> discovery, GuardTiming timing,
                                   String token) throws java.io.IOException {
        return forCluster(cluster, instance, dial, discovery, timing, token, io.failoverkit.failover.discovery.DiscoveryTls.fromEnvironment());
    }

    /** As above, with the TLS settings {@code tls} for https discovery addresses. */
    public static Guard forCluster(ClusterDefinition cluster, String instance, String dial, List<String> discovery, GuardTiming timing,
                                   String token, io.failoverkit.failover.discovery.DiscoveryTls tls) throws java.io.IOException {
        LocalInstance local = switch (cluster.kind()) {
            case "mysql" -> new ServersLocalInstance(new MySqlServers((int) Math.max(timing.timeoutMs(), cluster.detection().timeoutMs()),
                    cluster.mysql().user(), cluster.password(), cluster.mysql().replicationUser(), null), dial);
            case "redis" -> new RedisLocalInstance(dial, cluster.password(), (int) Math.max(timing.timeoutMs(), cluster.detection().timeoutMs()));
            default -> throw new java.io.IOException("the guard does not know cluster kind " + cluster.kind());
        };
        return new Guard(cluster.name(), instance, timing, new DiscoveryEpochReader(discovery, cluster.name(),
                java.time.Duration.ofMillis(timing.timeoutMs()), token, tls), local, System::nanoTime);
    }

    /** How many times this guard fenced its instance. */
    public int fences() { return fences; }

    /** One round: read the epoch (in parallel with the local observation), decide, fence if needed. Never throws. */
    public Verdict round() {
        try {
            long sentAt = nanos.getAsLong();
            CompletableFuture<EpochView> epoch = CompletableFuture.supplyAsync(this::readSafely, reader);
            LocalView here = observeSafely();
            EpochView read = epoch.join();
            long sinceMs = (nanos.getAsLong() - confirmedAtNanos) / 1_000_000;
            Verdict v = GuardDecision.decide(instance, read, here, sinceMs, timing.graceMs());
            if (v instanceof Verdict.Confirmed) confirmedAtNanos = sentAt;
            if (v instanceof Verdict.Fence f) {
                long start = nanos.getAsLong();
                try {
                    local.fence(f.epochMaster(), f.reason());
                    fences++;
                    LOG.warn("[{}] FENCED {}: {} (took {} ms)", cluster, instance, f.reason(), (nanos.getAsLong() - start) / 1_000_000);
                    lastLogged = "";
                } catch (RuntimeException e) {
                    LOG.error("[{}] could not fence {} ({}): {}; trying again next round", cluster, instance, f.reason(), e.getMessage());
                }
                return v;
            }
            log(v);
            return v;
        } catch (RuntimeException e) {
            Verdict v = new Verdict.Unknown("guard round failed: " + e);
            log(v);
            return v;
        }
    }

    private EpochView readSafely() {
        try {
            return epochs.read();
        } catch (RuntimeException e) {
            return new EpochView.Unconfirmed("epoch read failed: " + e);
        }
    }

    private LocalView observeSafely() {
        try {
            return local.observe();
        } catch (RuntimeException e) {
            return LocalView.unreachable("observation failed: " + e);
        }
    }

    /** Rounds every interval until {@code deadlineNanos} or interruption. */
    public void run(long deadlineNanos) {
        LOG.info("[{}] guarding {}: {}", cluster, instance, timing);
        while (nanos.getAsLong() < deadlineNanos && !Thread.currentThread().isInterrupted()) {
            long start = nanos.getAsLong();
            round();
            long sleepMs = timing.intervalMs() - (nanos.getAsLong() - start) / 1_000_000;
            if (sleepMs > 0) {
                try {
                    Thread.sleep(sleepMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /**
     * One check (`--once`): rounds until the verdict is no longer {@link Verdict.Waiting}, which is at most the grace
     * period plus a round; a fence within it is the result.
     */
    public Verdict once() {
        long rounds = timing.graceMs() / timing.intervalMs() + 3;
        for (long i = 1; ; i++) {
            long start = nanos.getAsLong();
            Verdict v = round();
            if (!(v instanceof Verdict.Waiting w) || i >= rounds) return v;
            long sleepMs = Math.min(w.fenceInMillis(), timing.intervalMs() - (nanos.getAsLong() - start) / 1_000_000);
            if (sleepMs > 0) {
                try {
                    Thread.sleep(sleepMs);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return v;
                }
            }
        }
    }

    /** Logs a decision when it differs from the last one logged (a confirmed master would otherwise log ten lines a second). */
    private void log(Verdict v) {
        String text = v.getClass().getSimpleName() + ": " + v.reason();
        String key = v instanceof Verdict.Waiting ? "waiting" + v.reason().replaceAll("\\d+ ms", "") : text;
        if (key.equals(lastLogged)) return;
        lastLogged = key;
        switch (v) {
            case Verdict.Confirmed c -> LOG.info("[{}] {}", cluster, text);
            case Verdict.Replica r -> LOG.info("[{}] {}", cluster, text);
            case Verdict.NoEpoch n -> LOG.info("[{}] {}", cluster, text);
            default -> LOG.warn("[{}] {}", cluster, text);
        }
    }

    @Override
    public void close() {
        reader.shutdownNow();
        local.close();
    }
}

package io.failoverkit.failover.redis;

import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Position;
import io.failoverkit.failover.topology.ReplicationHistory;
import io.failoverkit.failover.topology.InstanceState.Role;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.topology.Topology;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.Map;

/**
 * How failoverkit reads and changes Redis servers (orchestrator's "inst" side): observe replication state, promote,
 * re-point, fence. Each call opens its own short connection with the given timeout, so a frozen server costs one
 * timeout, never a stuck manager. Nothing here decides anything.
 */
public final class RedisServers implements Servers {
    /**
     * A replica whose master sent nothing for this long has lost its master even if the TCP link still looks up: a
     * frozen (SIGSTOP) master keeps its connections open, and Redis itself only drops the link after repl-timeout
     * (60 s by default). failoverkit sets repl-ping-replica-period to 1 s on masters it manages, so a live master is
     * never silent for 3 s.
     */
    public static final int SILENT_SECONDS = 3;
    /** repl-ping-replica-period on managed masters (Redis's default is 10 s). */
    static final int PING_PERIOD_SECONDS = 1;
    private static final long GUARD_RECHECK_NANOS = 10_000_000_000L;

    private final JedisClientConfig config;
    private final UnaryOperator<String> route;
    private final int maxLagSeconds;
    private final Map<String, Guard> guarded = new ConcurrentHashMap<>();

    private record Guard(int minReplicas, long checkedAtNanos) {}

    /** Issue 9, hole 4: released by {@link RestartWatch} when the guarded master answers again after its connection dropped. */
    private final Semaphore wake = new Semaphore(0);
    private RestartWatch restartWatch;

    public RedisServers(int timeoutMillis, String password) {
        this(timeoutMillis, password, ClusterDefinition.Fencing.DEFAULT.maxLagSeconds(), UnaryOperator.identity());
    }

    /**
     * @param maxLagSeconds min-replicas-max-lag set on masters (0: failoverkit leaves min-replicas-* alone)
     * @param route         maps a member's address to the address this manager dials (identity but in drills that put
     *                      a fault proxy between the manager and one server; replicas still use the real address)
     */
    public RedisServers(int timeoutMillis, String password, int maxLagSeconds, UnaryOperator<String> route) {
        DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder().connectionTimeoutMillis(timeoutMillis).socketTimeoutMillis(timeoutMillis)
                .clientName("failoverkit");
        if (password != null) b.password(password);
        this.config = b.build();
        this.route = route;
        this.maxLagSeconds = maxLagSeconds;
    }

    private Jedis connect(String member) {
        String address = route.apply(member);
        int colon = address.lastIndexOf(':');
        return new Jedis(new HostAndPort(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))), config);
    }

    public InstanceState observe(String address) {
        try (Jedis j = connect(address)) {
            String runId = parse(j.info("server")).get("run_id");
            Map<String, String> info = parse(j.info("replication"));
            String role = info.getOrDefault("role", "");
            // Issue 9, hole 4: which stream the data set belongs to and which process serves it, on every role, so a
            // master that restarted with less than it had is recognised (decide.Regression).
            ReplicationHistory history = new ReplicationHistory(Long.parseLong(info.getOrDefault("master_repl_offset", "0")),
                    info.get("master_replid"), info.get("master_replid2"),
                    Long.parseLong(info.getOrDefault("second_repl_offset", "-1")) - 1, runId);
            if (role.equals("master")) {
                // A master the manager fenced (see fence) refuses every write: it is not writable, whatever INFO says.
                boolean fenced = fenced(j);
                return new InstanceState(address, true, null, Role.MASTER, !fenced, null, false, history,
                        Integer.parseInt(info.getOrDefault("connected_slaves", "0")), true,
                        (fenced ? "FENCED (min-replicas-to-write " + FENCED_MIN_REPLICAS + ") " : "")
                                + (info.containsKey("min_slaves_good_slaves") ? "good replicas " + info.get("min_slaves_good_slaves") : ""));
            }
            if (role.equals("slave")) {
                String master = info.get("master_host") + ":" + info.get("master_port");
                int lastIo = Integer.parseInt(info.getOrDefault("master_last_io_seconds_ago", "-1"));
                // Up only if the master was heard from recently: a frozen master leaves the link "up" for repl-timeout.
                boolean tcpUp = "up".equals(info.get("master_link_status"));
                boolean linkUp = tcpUp && lastIo >= 0 && lastIo < SILENT_SECONDS;
                // Down since -1 with the link down: it never completed a sync, so it has no data set to promote.
                boolean synced = tcpUp || (!"-1".equals(info.getOrDefault("master_link_down_since_seconds", "-1"))
                        && "0".equals(info.getOrDefault("master_sync_in_progress", "0")));
                // master_repl_offset, not slave_repl_offset: the latter falls to 1 while a full sync is pending, though
                // the replica still holds its whole data set (it is replaced only once the new one has arrived).
                return new InstanceState(address, true, null, Role.REPLICA, false, master, linkUp, history, 0, synced,
                        "link " + info.getOrDefault("master_link_status", "?") + ", last heard " + lastIo + " s ago");
            }
            return new InstanceState(address, true, null, Role.UNKNOWN, false, null, false, Position.Offset.UNKNOWN, 0, false, "");
        } catch (RuntimeException e) {
            return InstanceState.unreachable(address, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        }
    }

    /**
     * REPLICAOF NO ONE: the instance becomes a master and takes writes. It takes writes without a replica until the
     * next {@link #guard} (the manager's next cycle) sees one connected: its replicas are being re-pointed, and a
     * cluster whose only other member is the dead master must still take writes.
     */
    @Override
    public void promote(String address) {
        try (Jedis j = connect(address)) {
            // 0 also clears a fence left on it (a former master fenced, then promoted again).
            if (maxLagSeconds > 0 || FENCED_MIN_REPLICAS.equals(j.configGet("min-replicas-to-write").get("min-replicas-to-write"))) {
                j.configSet("min-replicas-to-write", "0");
            }
            j.replicaofNoOne();
        }
        guarded.remove(address);
    }

    /**
     * Keeps a healthy master unable to acknowledge writes once it is cut off from its replicas: min-replicas-to-write 1
     * with min-replicas-max-lag while it has a replica with a live link (a master frozen, then resumed after a
     * failover, finds no replica acknowledging and refuses writes with NOREPLICAS instead of taking writes that are
     * lost), 0 when it has none (then nothing could fail over to a replica anyway). Also repl-ping-replica-period 1 s,
     * so replicas notice a silent master within {@link #SILENT_SECONDS}. Checked every 10 s, or at once when the
     * number of live replicas crosses zero.
     */
    @Override
    public String guard(Topology topology, String master) {
        watchRestarts(master);
        if (maxLagSeconds <= 0) return null;
        // A live replica as the manager sees it, or as the master itself does: a cut between the manager and the
        // replicas alone must not take the master's own protection away.
        boolean masterSeesOne = topology.get(master).map(m -> m.connectedReplicas() > 0).orElse(false);
        int want = masterSeesOne || topology.replicasOf(master).stream().anyMatch(InstanceState::masterLinkUp) ? 1 : 0;
        Guard g = guarded.get(master);
        long now = System.nanoTime();
        if (g != null && g.minReplicas == want && now - g.checkedAtNanos < GUARD_RECHECK_NANOS) return null;
        List<String> changed = new java.util.ArrayList<>();
        try (Jedis j = connect(master)) {
            setIfDifferent(j, "repl-ping-replica-period", Integer.toString(PING_PERIOD_SECONDS), changed);
            setIfDifferent(j, "min-replicas-max-lag", Integer.toString(maxLagSeconds), changed);
            setIfDifferent(j, "min-replicas-to-write", Integer.toString(want), changed);
        } catch (RuntimeException e) {
            guarded.remove(master);
            return "could not set write fencing on " + master + ": " + e.getMessage();
        }
        guarded.put(master, new Guard(want, now));
        return changed.isEmpty() ? null : master + ": " + String.join(", ", changed)
                + (want == 0 ? " (no live replica: a frozen master could not be fenced by Redis itself)" : "");
    }

    /** Keeps one {@link RestartWatch} on the master the manager guards (the latest one). */
    private synchronized void watchRestarts(String master) {
        RestartWatch w = restartWatch;
        if (w != null && w.address.equals(master) && w.alive()) return;
        if (w != null) w.close();
        restartWatch = new RestartWatch(master, () -> connect(master), wake::release);
    }

    /** Sleeps until the next cycle, or less: the guarded master came back from a restart and must be looked at now. */
    @Override
    public void awaitNextCycle(Duration max) throws InterruptedException {
        if (wake.tryAcquire(max.toNanos(), TimeUnit.NANOSECONDS)) wake.drainPermits();
    }

    /**
     * Issue 9, hole 4: the master came back with a regressed history. REPLICAOF {@code holder} first: from then on it
     * answers its replicas' PSYNC with -NOMASTERLINK (a replica whose own link is down serves no sync), so they keep
     * their data; then CLIENT KILL TYPE replica ends the full syncs it had already accepted (Redis keeps its replicas
     * across REPLICAOF and would still send them its data set once the diskless-sync delay or its BGSAVE is over),
     * and TYPE normal its clients.
     */
    @Override
    public void fenceRegressed(String address, String holder) {
        int colon = holder.lastIndexOf(':');
        try (Jedis j = connect(address)) {
            j.replicaof(holder.substring(0, colon), Integer.parseInt(holder.substring(colon + 1)));
            j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "KILL", "TYPE", "replica");
            j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "KILL", "TYPE", "normal", "SKIPME", "yes");
        }
    }

    @Override
    public synchronized void close() {
        if (restartWatch != null) restartWatch.close();
        restartWatch = null;
    }

    private static void setIfDifferent(Jedis j, String name, String value, List<String> changed) {
        Map<String, String> now = j.configGet(name);
        if (!value.equals(now.get(name))) {
            j.configSet(name, value);
            changed.add(name + " " + now.get(name) + " -> " + value);
        }
    }

    /** REPLICAOF master: the instance becomes (or stays) a read-only replica of {@code master}. */
    @Override
    public void repoint(String address, String master) {
        int colon = master.lastIndexOf(':');
        try (Jedis j = connect(address)) {
            j.replicaof(master.substring(0, colon), Integer.parseInt(master.substring(colon + 1)));
        }
    }

    /**
     * min-replicas-to-write no server can satisfy: a fenced master refuses every write (NOREPLICAS) for as long as it
     * is set, with no time limit (CLIENT PAUSE has one), while its replicas keep replicating from it.
     */
    public static final String FENCED_MIN_REPLICAS = "1000000";
    /** min-replicas-max-lag set by a fence where it was 0, so that the unsatisfiable min-replicas-to-write applies. */
    public static final int FENCE_MAX_LAG_SECONDS = 10;

    /**
     * Fences an old master before anything is promoted: writes refused (unsatisfiable min-replicas-to-write), then its
     * normal clients disconnected so none keeps a connection it wrote through. It stays a master: its replicas, and
     * the candidate, keep replicating from it until the candidate is promoted.
     */
    @Override
    public void fence(String address) {
        try (Jedis j = connect(address)) {
            // Redis applies min-replicas-to-write only while min-replicas-max-lag is not 0 (fencing.maxLagSeconds 0).
            if ("0".equals(j.configGet("min-replicas-max-lag").get("min-replicas-max-lag"))) {
                j.configSet("min-replicas-max-lag", Integer.toString(FENCE_MAX_LAG_SECONDS));
            }
            j.configSet("min-replicas-to-write", FENCED_MIN_REPLICAS);
            j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "KILL", "TYPE", "normal", "SKIPME", "yes");
        }
        guarded.remove(address);
    }

    /**
     * After the new master was promoted: REPLICAOF it (a Redis replica discards what its new master lacks, covered or
     * not), then its paused clients are released and disconnected, so they reconnect and find the new master.
     */
    @Override
    public void demote(String address, String newMaster, boolean covered) {
        repoint(address, newMaster);
        try (Jedis j = connect(address)) {
            j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "UNPAUSE");
            j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "KILL", "TYPE", "normal", "SKIPME", "yes");
        }
        guarded.remove(address);
    }

    /** CLIENT PAUSE ms WRITE: clients' writes wait (they are not refused) while the replicas catch up. */
    @Override
    public void stopWrites(String address, Duration max) {
        try (Jedis j = connect(address)) {
            j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "PAUSE", Long.toString(max.toMillis()), "WRITE");
        }
    }

    /** Undoes {@link #stopWrites} and {@link #fence}: unpaused, and min-replicas-to-write back to what the guard keeps. */
    @Override
    public void resumeWrites(String address) {
        try (Jedis j = connect(address)) {
            if (FENCED_MIN_REPLICAS.equals(j.configGet("min-replicas-to-write").get("min-replicas-to-write"))) {
                j.configSet("min-replicas-to-write", "0");
            }
            j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "UNPAUSE");
        }
        guarded.remove(address); // the next guard() sets min-replicas-to-write from the replicas it sees
    }

    public void unpause(String address) {
        try (Jedis j = connect(address)) {
            j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "UNPAUSE");
        }
    }

    /** Whether the manager's fence is on; a server where CONFIG is renamed away cannot have been fenced by it. */
    private static boolean fenced(Jedis j) {
        try {
            return FENCED_MIN_REPLICAS.equals(j.configGet("min-replicas-to-write").get("min-replicas-to-write"));
        } catch (redis.clients.jedis.exceptions.JedisDataException e) {
            return false;
        }
    }

    static Map<String, String> parse(String info) {
        Map<String, String> out = new HashMap<>();
        for (String line : info.split("\r?\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && !line.startsWith("#")) out.put(line.substring(0, colon), line.substring(colon + 1).strip());
        }
        return out;
    }
}

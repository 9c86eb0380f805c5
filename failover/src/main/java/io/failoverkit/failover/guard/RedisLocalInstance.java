package io.failoverkit.failover.guard;

import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.Protocol;

import java.util.HashMap;
import java.util.Map;

/**
 * A local Redis seen and fenced by the guard. A master is fenced by asking more good replicas than any cluster has
 * ({@code min-replicas-to-write} {@value #FENCE_MIN_REPLICAS}, with a lag window so the rule applies): every write is
 * refused with NOREPLICAS, reads go on, and its clients are disconnected. It is never re-pointed here, not even when
 * the epoch names the new master: that one may not be promoted yet, and pointing the old master at a replica of
 * itself would make a replication loop; the manager demotes it once it can reach it. The manager also lifts the
 * fence when it finds the instance its healthy epoch master (it keeps min-replicas-to-write at 0 or 1 there).
 */
public final class RedisLocalInstance implements Guard.LocalInstance {
    /** The manager's fence value (one fence, whoever sets it: the manager's fence and the guard's are the same state). */
    static final int FENCE_MIN_REPLICAS = Integer.parseInt(io.failoverkit.failover.redis.RedisServers.FENCED_MIN_REPLICAS);
    private final String address;
    private final JedisClientConfig config;

    public RedisLocalInstance(String address, String password, int timeoutMs) {
        this.address = address;
        DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder().connectionTimeoutMillis(timeoutMs)
                .socketTimeoutMillis(timeoutMs).clientName("failoverkit-guard");
        if (password != null) b.password(password);
        this.config = b.build();
    }

    private Jedis connect() {
        int colon = address.lastIndexOf(':');
        return new Jedis(new HostAndPort(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))), config);
    }

    @Override
    public LocalView observe() {
        try (Jedis j = connect()) {
            Map<String, String> info = parse(j.info("replication"));
            String role = info.getOrDefault("role", "?");
            if (role.equals("slave")) return new LocalView(LocalView.State.REPLICA, "of " + info.get("master_host") + ":" + info.get("master_port"));
            if (!role.equals("master")) return new LocalView(LocalView.State.FENCED, "role " + role);
            int toWrite = Integer.parseInt(j.configGet("min-replicas-to-write").getOrDefault("min-replicas-to-write", "0"));
            int maxLag = Integer.parseInt(j.configGet("min-replicas-max-lag").getOrDefault("min-replicas-max-lag", "0"));
            return fenced(toWrite, maxLag) ? new LocalView(LocalView.State.FENCED, "master refusing writes: min-replicas-to-write " + toWrite)
                    : new LocalView(LocalView.State.WRITABLE, "master, min-replicas-to-write " + toWrite + ", max-lag " + maxLag);
        } catch (RuntimeException e) {
            return LocalView.unreachable(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        }
    }

    /** Redis applies min-replicas-to-write only with a non-zero min-replicas-max-lag. */
    static boolean fenced(int minReplicasToWrite, int maxLagSeconds) {
        return minReplicasToWrite >= FENCE_MIN_REPLICAS && maxLagSeconds > 0;
    }

    @Override
    public void fence(String epochMaster, String reason) {
        try (Jedis j = connect()) {
            if ("0".equals(j.configGet("min-replicas-max-lag").get("min-replicas-max-lag"))) j.configSet("min-replicas-max-lag",
                    Integer.toString(io.failoverkit.failover.redis.RedisServers.FENCE_MAX_LAG_SECONDS));
            j.configSet("min-replicas-to-write", Integer.toString(FENCE_MIN_REPLICAS));
            j.sendCommand(Protocol.Command.CLIENT, "KILL", "TYPE", "normal", "SKIPME", "yes");
        }
    }

    private static Map<String, String> parse(String info) {
        Map<String, String> out = new HashMap<>();
        for (String line : info.split("\r?\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && !line.startsWith("#")) out.put(line.substring(0, colon), line.substring(colon + 1).strip());
        }
        return out;
    }
}

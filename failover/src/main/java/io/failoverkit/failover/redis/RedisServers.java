package io.failoverkit.failover.redis;

import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Position;
import io.failoverkit.failover.topology.InstanceState.Role;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * How failoverkit reads and changes Redis servers (orchestrator's "inst" side): observe replication state, promote,
 * re-point, fence. Each call opens its own short connection with the given timeout, so a frozen server costs one
 * timeout, never a stuck manager. Nothing here decides anything.
 */
public final class RedisServers implements Servers {
    private final JedisClientConfig config;

    public RedisServers(int timeoutMillis, String password) {
        DefaultJedisClientConfig.Builder b = DefaultJedisClientConfig.builder().connectionTimeoutMillis(timeoutMillis).socketTimeoutMillis(timeoutMillis)
                .clientName("failoverkit");
        if (password != null) b.password(password);
        this.config = b.build();
    }

    private Jedis connect(String address) {
        int colon = address.lastIndexOf(':');
        return new Jedis(new HostAndPort(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))), config);
    }

    public InstanceState observe(String address) {
        try (Jedis j = connect(address)) {
            Map<String, String> info = parse(j.info("replication"));
            String role = info.getOrDefault("role", "");
            if (role.equals("master")) {
                return new InstanceState(address, true, null, Role.MASTER, true, null, false,
                        new Position.Offset(Long.parseLong(info.getOrDefault("master_repl_offset", "0"))),
                        Integer.parseInt(info.getOrDefault("connected_slaves", "0")), true, "");
            }
            if (role.equals("slave")) {
                String master = info.get("master_host") + ":" + info.get("master_port");
                boolean linkUp = "up".equals(info.get("master_link_status"));
                // Down since -1 with the link down: it never completed a sync, so it has no data set to promote.
                boolean synced = linkUp || (!"-1".equals(info.getOrDefault("master_link_down_since_seconds", "-1"))
                        && "0".equals(info.getOrDefault("master_sync_in_progress", "0")));
                return new InstanceState(address, true, null, Role.REPLICA, false, master, linkUp,
                        new Position.Offset(Long.parseLong(info.getOrDefault("slave_repl_offset", "-1"))), 0, synced, "");
            }
            return new InstanceState(address, true, null, Role.UNKNOWN, false, null, false, Position.Offset.UNKNOWN, 0, false, "");
        } catch (RuntimeException e) {
            return InstanceState.unreachable(address, e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
        }
    }

    /** REPLICAOF NO ONE: the instance becomes a master and takes writes. */
    @Override
    public void promote(String address) {
        try (Jedis j = connect(address)) {
            j.replicaofNoOne();
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
     * Fences an old master: makes it a replica of the new one (read-only from that moment), then disconnects its
     * normal clients so none keeps writing through an old connection.
     */
    @Override
    public void fence(String address, String newMaster) {
        repoint(address, newMaster);
        try (Jedis j = connect(address)) {
            j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "KILL", "TYPE", "normal", "SKIPME", "yes");
        }
    }

    /** CLIENT PAUSE ms WRITE: clients' writes wait (they are not refused) while the replicas catch up. */
    @Override
    public void stopWrites(String address, Duration max) {
        try (Jedis j = connect(address)) {
            j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "PAUSE", Long.toString(max.toMillis()), "WRITE");
        }
    }

    @Override
    public void resumeWrites(String address) { unpause(address); }

    /** The fenced old master's paused clients are released: they were disconnected, and retry on the new master. */
    @Override
    public void afterSwitchover(String oldMaster) { unpause(oldMaster); }

    public void unpause(String address) {
        try (Jedis j = connect(address)) {
            j.sendCommand(redis.clients.jedis.Protocol.Command.CLIENT, "UNPAUSE");
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

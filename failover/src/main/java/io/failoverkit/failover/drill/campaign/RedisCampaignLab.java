package io.failoverkit.failover.drill.campaign;

import io.failoverkit.failover.drill.FaultProxy;
import io.failoverkit.failover.drill.LocalRedisLab;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.redis.RedisServers;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Three local redis-server processes (a master, two replicas; persistence off, the recommended min-replicas
 * config) behind fault proxies: a front proxy per server that the replicas replicate through, and a second one per
 * server that only the manager dials (its route), so either path can be cut alone.
 */
final class RedisCampaignLab implements CampaignLab {
    private final String name;
    private final LocalRedisLab lab;
    private final List<String> members = new ArrayList<>();
    private final Map<String, LocalRedisLab.Server> byMember = new HashMap<>();
    private final Map<String, FaultProxy> front = new HashMap<>(), managerPath = new HashMap<>();
    private final RedisServers direct;
    private final Map<String, Jedis> samplers = new ConcurrentHashMap<>();

    RedisCampaignLab(Path dir, String name) throws Exception {
        this.name = name;
        this.lab = new LocalRedisLab(dir, 2);
        try {
            Map<String, String> toReal = new HashMap<>();
            for (LocalRedisLab.Server s : lab.servers) {
                FaultProxy f = new FaultProxy(s.address()), m = new FaultProxy(s.address());
                members.add(f.address());
                byMember.put(f.address(), s);
                front.put(f.address(), f);
                managerPath.put(f.address(), m);
                toReal.put(f.address(), s.address());
            }
            direct = new RedisServers(500, null, 2, a -> toReal.getOrDefault(a, a));
            for (String r : members.subList(1, 3)) direct.repoint(r, members.get(0));
        } catch (Exception e) {
            close();
            throw e;
        }
    }

    @Override public String kind() { return "redis"; }
    @Override public String name() { return name; }
    @Override public List<String> members() { return members; }
    @Override public String real(String member) { return byMember.get(member).address(); }
    @Override public Servers servers() { return direct; }

    @Override
    public List<String> managerArgs() {
        List<String> routes = members.stream().map(m -> m + "=" + managerPath.get(m).address()).toList();
        return List.of(String.join(",", members), String.join(",", routes));
    }

    @Override public Map<String, String> managerEnv() { return Map.of(); }

    @Override
    public boolean writable(String member) {
        try {
            Jedis j = samplers.computeIfAbsent(member, m -> jedis(real(m), 100));
            String info = j.info("replication");
            if (!info.contains("role:master")) return false;
            // A master with min-replicas-to-write set reports its good replicas and refuses writes (NOREPLICAS) while it
            // has fewer than that: none for the managed value 1, and always for a fence (an unsatisfiable value, set by
            // the manager or a guard, while its replicas may still count as good).
            int at = info.indexOf("min_slaves_good_slaves:");
            if (at < 0) return true;
            int end = info.indexOf('\r', at);
            long good = Long.parseLong(info.substring(at + "min_slaves_good_slaves:".length(), end < 0 ? info.length() : end).strip());
            java.util.Map<String, String> conf = j.configGet("min-replicas-*");
            long toWrite = Long.parseLong(conf.getOrDefault("min-replicas-to-write", "0"));
            long maxLag = Long.parseLong(conf.getOrDefault("min-replicas-max-lag", "0"));
            return toWrite == 0 || maxLag == 0 || good >= toWrite;
        } catch (RuntimeException e) {
            Jedis j = samplers.remove(member);
            if (j != null) try { j.close(); } catch (RuntimeException ignored) { }
            return false;
        }
    }

    static Jedis jedis(String address, int timeoutMs) {
        int colon = address.lastIndexOf(':');
        return new Jedis(new HostAndPort(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1))),
                DefaultJedisClientConfig.builder().connectionTimeoutMillis(timeoutMs).socketTimeoutMillis(timeoutMs).build());
    }

    @Override public void kill(String member) throws Exception { byMember.get(member).kill(); }
    @Override public void freeze(String member) throws Exception { byMember.get(member).freeze(); }
    @Override public void thaw(String member) throws Exception { byMember.get(member).thaw(); }
    @Override public void startEmpty(String member) throws Exception { byMember.get(member).start(null); }
    @Override public void stopSqlThread(String member) { throw new UnsupportedOperationException("redis has no SQL thread"); }
    @Override public void startSqlThread(String member) { throw new UnsupportedOperationException("redis has no SQL thread"); }
    @Override public void cutManager(String member) { managerPath.get(member).partition(); }
    @Override public void cutReplicas(String member) { front.get(member).partition(); }

    @Override
    public void healAll() {
        front.values().forEach(FaultProxy::heal);
        managerPath.values().forEach(FaultProxy::heal);
    }

    @Override
    public boolean revive(String master) throws Exception {
        for (String m : members) {
            LocalRedisLab.Server s = byMember.get(m);
            if (s.running()) s.thaw();
            else if (!m.equals(master)) s.start(master);
        }
        if (!byMember.get(master).running()) return false;
        for (String m : members) {
            if (m.equals(master)) continue;
            var st = direct.observe(m);
            if (st.reachable() && !(st.isReplica() && master.equals(st.masterAddress()))) {
                // Left over from the last run (checked before this restore): set it right as an operator would.
                System.out.println("    restore: " + m + " is " + st.role() + (st.masterAddress() == null ? "" : " of " + st.masterAddress())
                        + ", not a replica of " + master + "; re-pointing it by hand");
                direct.repoint(m, master);
            }
        }
        return true;
    }

    @Override
    public CampaignWriter writer(int dnsPort) {
        return new CampaignWriter(name, dnsPort, this::real, System.nanoTime()) {
            private Jedis jedis;

            @Override void connect(String address) { jedis = jedis(address, 500); }

            @Override
            boolean write(long id) {
                jedis.set("campaign:" + id, Long.toString(id));
                // The acknowledgement failoverkit can keep: a replica confirmed it (Redis replication is asynchronous;
                // min-replicas-to-write bounds how stale a replica may be, not what it holds).
                return jedis.waitReplicas(1, 300) >= 1;
            }

            @Override
            void disconnect() {
                if (jedis != null) try { jedis.close(); } catch (RuntimeException ignored) { }
                jedis = null;
            }
        };
    }

    @Override
    public Set<Long> missing(String member, List<Long> ids) {
        Set<Long> out = new HashSet<>();
        try (Jedis j = jedis(real(member), 5000)) {
            for (int i = 0; i < ids.size(); i += 500) {
                List<Long> chunk = ids.subList(i, Math.min(ids.size(), i + 500));
                List<String> got = j.mget(chunk.stream().map(id -> "campaign:" + id).toArray(String[]::new));
                for (int k = 0; k < chunk.size(); k++) if (got.get(k) == null) out.add(chunk.get(k));
            }
        }
        return out;
    }

    @Override
    public void close() throws Exception {
        samplers.values().forEach(j -> { try { j.close(); } catch (RuntimeException ignored) { } });
        for (FaultProxy p : front.values()) p.close();
        for (FaultProxy p : managerPath.values()) p.close();
        if (direct != null) direct.close();
        lab.close();
    }
}

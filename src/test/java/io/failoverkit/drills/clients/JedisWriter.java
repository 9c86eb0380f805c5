package io.failoverkit.drills.clients;

import io.failoverkit.failover.client.MasterFollowingJedis;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.AbstractTransaction;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.Protocol;
import redis.clients.jedis.Response;

import java.time.Duration;

/**
 * An application on Jedis: a {@link JedisPooled} on {@code master.<service>.service.consul:6379}, resolved by the JVM
 * (libc, resolv.conf, dnsmasq, the agent), INCRing its key every 20 ms in a MULTI with CLIENT INFO (whose laddr says
 * which server took the write). Args: HOST PORT KEY SETTINGS(defaults|tuned|tuned+helper: tuned and MasterFollowingJedis) SECONDS.
 */
public final class JedisWriter {
    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        String key = args[2];
        String settings = args[3];
        long deadline = System.nanoTime() + Duration.ofSeconds(Long.parseLong(args[4])).toNanos();
        ClientOutput out = new ClientOutput();
        JedisPooled jedis;
        if (settings.equals("defaults")) {
            jedis = new JedisPooled(host, port);
        } else {
            ClientOutput.recommendedJvmDnsCache();
            GenericObjectPoolConfig<Connection> pool = new GenericObjectPoolConfig<>();
            pool.setMaxWait(Duration.ofSeconds(1)); // the default waits forever for a free connection
            DefaultJedisClientConfig config = DefaultJedisClientConfig.builder().connectionTimeoutMillis(500).socketTimeoutMillis(1000).build();
            jedis = settings.equals("tuned+helper") ? MasterFollowingJedis.pooled(new HostAndPort(host, port), config, pool)
                    : new JedisPooled(new HostAndPort(host, port), config, pool);
        }
        out.sampleResolution(host);
        while (System.nanoTime() < deadline) {
            try (AbstractTransaction t = jedis.multi()) {
                Response<Long> v = t.incr(key);
                Response<Object> info = t.sendCommand(Protocol.Command.CLIENT, "INFO");
                t.exec();
                out.ack(laddr(info.get()), v.get());
            } catch (RuntimeException e) {
                out.error(e);
            }
            Thread.sleep(20);
        }
        jedis.close();
    }

    static String laddr(Object clientInfo) {
        String text = clientInfo instanceof byte[] b ? new String(b) : String.valueOf(clientInfo);
        for (String field : text.trim().split(" ")) if (field.startsWith("laddr=")) return field.substring(6);
        return "?";
    }
}

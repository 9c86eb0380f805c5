package io.failoverkit.failover.client;

import io.failoverkit.failover.drill.LocalRedisLab;
import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Connection;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisPooled;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** A pooled connection is good while the master's name still resolves to the address it reached; not once the name moved. */
class MasterFollowingJedisTest {
    @TempDir Path dir;

    @Test
    void aConnectionIsHandedOutOnlyWhileTheNameStillResolvesToTheServerItReached() throws Exception {
        try (LocalRedisLab lab = new LocalRedisLab(dir, 0)) {
            int port = lab.servers.get(0).port;
            AtomicReference<InetAddress[]> names = new AtomicReference<>(new InetAddress[] {InetAddress.getByName("127.0.0.1")});
            MasterFollowingJedis.Factory factory = new MasterFollowingJedis.Factory(new HostAndPort("127.0.0.1", port),
                    DefaultJedisClientConfig.builder().build(), host -> {
                        InetAddress[] a = names.get();
                        if (a == null) throw new UnknownHostException(host);
                        return a;
                    });
            PooledObject<Connection> c = factory.makeObject();
            assertThat(factory.validateObject(c)).as("the name still names the server it reached").isTrue();

            names.set(null);
            assertThat(factory.validateObject(c)).as("the name is between masters: keep it, a write will tell").isTrue();

            names.set(new InetAddress[] {InetAddress.getByName("127.0.0.2")});
            assertThat(factory.validateObject(c)).as("the name moved to another server").isFalse();

            names.set(new InetAddress[] {InetAddress.getByName("127.0.0.2"), InetAddress.getByName("127.0.0.1")});
            assertThat(factory.validateObject(c)).as("one of the name's addresses is the one it reached").isTrue();

            factory.destroyObject(c);
            assertThat(factory.validateObject(c)).as("closed").isFalse();
        }
    }

    @Test
    void thePoolWritesThroughTheHelper() throws Exception {
        try (LocalRedisLab lab = new LocalRedisLab(dir, 0, false);
             JedisPooled jedis = MasterFollowingJedis.pooled(new HostAndPort("127.0.0.1", lab.servers.get(0).port),
                     DefaultJedisClientConfig.builder().build(), new GenericObjectPoolConfig<>())) {
            assertThat(jedis.incr("k")).isEqualTo(1);
            assertThat(jedis.incr("k")).isEqualTo(2);
        }
    }
}

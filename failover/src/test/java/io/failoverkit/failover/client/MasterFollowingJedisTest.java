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
            assertThat(factory.validateObject(c)).as("no answer yet: keep it").isTrue();
            factory.refresh();
            assertThat(factory.validateObject(c)).as("the name still names the server it reached").isTrue();

            names.set(null);
            factory.refresh();
            assertThat(factory.validateObject(c)).as("the name is between masters: keep it, a write will tell").isTrue();

            names.set(new InetAddress[] {InetAddress.getByName("127.0.0.2")});
            factory.refresh();
            assertThat(factory.validateObject(c)).as("the name moved to another server").isFalse();

            names.set(new InetAddress[] {InetAddress.getByName("127.0.0.2"), InetAddress.getByName("127.0.0.1")});
            factory.refresh();
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

    /**
     * Review finding: the check resolved the name on the borrowing thread, so a resolver that hung made every Redis call
     * wait for it (2 s per INCR with a resolver failing after 2 s). Now a borrow never waits for DNS: with the resolver
     * frozen the pool goes on writing, and the borrows are counted against the lookups the resolver was asked for.
     */
    @Test
    void aFrozenResolverCostsNoBorrowAnything() throws Exception {
        try (LocalRedisLab lab = new LocalRedisLab(dir, 0, false)) {
            int port = lab.servers.get(0).port;
            java.util.concurrent.CountDownLatch thaw = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.atomic.AtomicInteger lookups = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicBoolean frozen = new java.util.concurrent.atomic.AtomicBoolean();
            MasterFollowingJedis.Factory factory = new MasterFollowingJedis.Factory(new HostAndPort("127.0.0.1", port),
                    DefaultJedisClientConfig.builder().build(), host -> {
                        lookups.incrementAndGet();
                        if (frozen.get()) {
                            try { thaw.await(); } catch (InterruptedException e) { Thread.currentThread().interrupt(); }
                        }
                        return new InetAddress[] {InetAddress.getByName("127.0.0.1")};
                    });
            factory.refreshEvery(java.time.Duration.ofMillis(20));
            GenericObjectPoolConfig<Connection> p = new GenericObjectPoolConfig<>();
            p.setTestOnBorrow(true);
            try (JedisPooled jedis = new JedisPooled(p, factory)) {
                assertThat(jedis.incr("k")).isEqualTo(1);
                frozen.set(true);
                // The refresher is now stuck in a lookup that never returns; the writes do not wait for it.
                java.util.concurrent.Future<Long> writes = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor().submit(() -> {
                    long last = 0;
                    for (int i = 0; i < 200; i++) last = jedis.incr("k");
                    return last;
                });
                assertThat(writes.get(60, java.util.concurrent.TimeUnit.SECONDS)).as("every write went through with the resolver frozen").isEqualTo(201);
                assertThat(lookups.get()).as("the borrows asked the resolver nothing themselves").isLessThan(200);
            } finally {
                thaw.countDown();
                factory.close();
            }
        }
    }
}

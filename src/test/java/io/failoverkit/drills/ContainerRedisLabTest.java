package io.failoverkit.drills;

import io.failoverkit.failover.drill.containers.ContainerRedisLab;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisConnectionException;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The container lab keeps RedisLab's contract: replicas replicate, freeze hangs a server without closing it, thaw
 * resumes it, kill ends it, start brings it back on the same address as a replica.
 */
@ExtendWith(LabUnavailableSkips.class)
class ContainerRedisLabTest {
    @TempDir Path dir;

    @Test
    void freezeHangsThawResumesKillEndsStartReturnsAsReplica() throws Exception {
        try (ContainerRedisLab lab = new ContainerRedisLab(dir, 1)) {
            ContainerRedisLab.Server master = lab.instances().get(0), replica = lab.instances().get(1);
            try (Jedis m = client(master); Jedis r = client(replica)) {
                // The lab starts servers with min-replicas-to-write 1 (RedisLab.RECOMMENDED_CONFIG): the master takes writes
                // once its replica is attached and acknowledging.
                assertThat(within(Duration.ofSeconds(10), () -> {
                    try { return "OK".equals(m.set("lab:key", "written on the master")); }
                    catch (redis.clients.jedis.exceptions.JedisDataException e) { return false; }
                })).as("the master takes a write once its replica is attached").isTrue();
                assertThat(within(Duration.ofSeconds(10), () -> "written on the master".equals(r.get("lab:key")))).as("replicated").isTrue();
            }

            master.freeze();
            try {
                // Jedis greets the server when it connects: a frozen server accepts the connection but never answers.
                assertThatThrownBy(() -> ping(master)).as("frozen server answers").isInstanceOf(JedisConnectionException.class)
                        .hasRootCauseInstanceOf(java.net.SocketTimeoutException.class);
            } finally {
                master.thaw();
            }
            assertThat(ping(master)).isEqualTo("PONG");

            master.kill();
            assertThatThrownBy(() -> ping(master)).as("nothing listens after SIGKILL").isInstanceOf(JedisConnectionException.class)
                    .hasMessageContaining("Failed to connect");

            // The replica takes over (a replica whose master link is down refuses to feed others), and the old master comes
            // back on its address as the new master's replica: it syncs the data from it.
            try (Jedis r = client(replica)) {
                r.replicaofNoOne();
            }
            master.start(replica.address());
            try (Jedis m = client(master)) {
                assertThat(within(Duration.ofSeconds(15), () -> "written on the master".equals(m.get("lab:key")))).as("resynced as a replica").isTrue();
                assertThat(m.info("replication")).contains("role:slave", "master_port:" + replica.port);
            }
        }
    }

    private static String ping(ContainerRedisLab.Server s) {
        try (Jedis j = client(s)) {
            return j.ping();
        }
    }

    private static Jedis client(ContainerRedisLab.Server s) {
        return new Jedis(new HostAndPort("127.0.0.1", s.port), DefaultJedisClientConfig.builder().connectionTimeoutMillis(1000).socketTimeoutMillis(1000).build());
    }

    private static boolean within(Duration max, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (condition.getAsBoolean()) return true;
            } catch (JedisConnectionException notYet) {
                // starting or syncing
            }
            Thread.sleep(100);
        }
        return condition.getAsBoolean();
    }
}

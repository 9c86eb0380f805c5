package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalRedisLab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The seeds' master check, in Java: OK only for a running master that DNS names alone; split brain is CRITICAL. */
class RedisMasterCheckTest {
    @TempDir Path dir;


    private static int check(int redisPort, int dnsPort) {
        return io.failoverkit.checks.Main.commandLine().execute("redis-master", "--port=" + redisPort, "--service=cache", "--dns=127.0.0.1:" + dnsPort);
    }

    @Test
    void exitCodesFollowTheMastersStateAndWhatDnsSays() throws Exception {
        Agent agent = DiscoveryLab.start("check-discovery");
        try (LocalRedisLab lab = new LocalRedisLab(dir, 1)) {
            DiscoveryClient d = new DiscoveryClient("127.0.0.1:" + agent.httpPort());
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).ignoreExceptions()
                    .until(() -> { d.put("ready", "1"); return true; });
            int master = lab.servers.get(0).port;
            int replica = lab.servers.get(1).port;
            int dns = agent.dnsPort();
            assertThat(check(master, dns)).as("master, but DNS names none yet").isEqualTo(1);
            d.register("m", "127.0.0.1", "cache-m", "cache", List.of("master"), master);
            assertThat(check(master, dns)).as("the one true master").isZero();
            assertThat(check(replica, dns)).as("a replica is never OK as master").isEqualTo(2);
            d.register("other", "127.0.0.2", "cache-o", "cache", List.of("master"), master);
            assertThat(check(master, dns)).as("two masters in DNS: split brain").isEqualTo(2);
            assertThat(check(DiscoveryLab.freePort(), dns)).as("not running").isEqualTo(2);
        } finally {
            agent.close();
        }
    }
}

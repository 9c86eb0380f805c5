package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.decide.StoredState;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalProcesses;
import io.failoverkit.failover.drill.LocalRedisLab;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * `failover guard` on the command line against a real discovery node and real Redis servers: the timing relation
 * refused with exit 64, and `--once` as a check: its exit codes, and a Redis master that really refuses writes once
 * the guard fenced it (epoch naming another, discovery unreachable); a replica and the epoch's master left alone.
 */
class GuardCliTest {
    @TempDir Path dir;

    @Test
    void onceFencesARedisMasterTheEpochDoesNotConfirmAndLeavesTheConfirmedOneAlone() throws Exception {
        Agent agent = DiscoveryLab.start("guard-cli-discovery");
        try (LocalRedisLab lab = new LocalRedisLab(dir.resolve("redis"), 1)) {
            String http = "127.0.0.1:" + agent.httpPort();
            String master = lab.addresses().get(0), replica = lab.addresses().get(1);
            Path def = Files.writeString(dir.resolve("g.json"), "{\"name\":\"guard-redis\",\"kind\":\"redis\",\"members\":[\"" + master + "\",\"" + replica + "\"]}");
            String cluster = def.toString();

            FailoverCliTest.Run slow = FailoverCliTest.run("guard", "--cluster", cluster, "--instance", master, "--discovery", http, "--grace-ms", "400", "--once");
            assertThat(slow.exit()).isEqualTo(64);
            assertThat(slow.err()).contains("refusing to guard: the guard could fence only 700 ms after losing contact")
                    .contains("can promote a new master 600 ms after it");
            assertThat(FailoverCliTest.run("guard", "--cluster", cluster, "--instance", "127.0.0.1:1", "--discovery", http, "--once").exit()).isEqualTo(64);

            DiscoveryClient d = new DiscoveryClient(http);
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).ignoreExceptions().until(() -> { d.put("ready", "1"); return true; });
            FailoverCliTest.Run noEpoch = FailoverCliTest.run("guard", "--cluster", cluster, "--instance", master, "--discovery", http, "--once");
            assertThat(noEpoch.exit()).as(noEpoch.out() + noEpoch.err()).isEqualTo(1);
            assertThat(noEpoch.out()).contains("NOEPOCH: no epoch recorded yet");

            EpochStore epochs = new EpochStore(d, "guard-redis");
            assertThat(epochs.bump(epochs.read(), new StoredState(1, master, 0, true), List.of(), "test")).isTrue();
            FailoverCliTest.Run confirmed = FailoverCliTest.run("guard", "--cluster", cluster, "--instance", master, "--discovery", http, "--once");
            assertThat(confirmed.exit()).as(confirmed.out() + confirmed.err()).isZero();
            assertThat(confirmed.out()).contains("guard guard-redis " + master + ": fences within 550 ms of losing contact")
                    .contains("CONFIRMED: epoch 1 names " + master + " master");
            FailoverCliTest.Run onReplica = FailoverCliTest.run("guard", "--cluster", cluster, "--instance", replica, "--discovery", http, "--once");
            assertThat(onReplica.exit()).isZero();
            assertThat(onReplica.out()).contains("REPLICA: " + replica + " is a replica");
            awaitWritable(master);

            // Discovery unreachable (a port nobody listens on): no confirmation within the grace, so the master is fenced.
            String nobody = "127.0.0.1:" + LocalProcesses.freePort();
            FailoverCliTest.Run cutOff = FailoverCliTest.run("guard", "--cluster", cluster, "--instance", master, "--discovery", nobody, "--once");
            assertThat(cutOff.exit()).as(cutOff.out() + cutOff.err()).isEqualTo(2);
            assertThat(cutOff.out()).contains("FENCE: writable and unconfirmed for").contains("longer than the 250 ms grace");
            assertThatThrownBy(() -> write(master)).isInstanceOf(JedisDataException.class).hasMessageContaining("NOREPLICAS");
            FailoverCliTest.Run again = FailoverCliTest.run("guard", "--cluster", cluster, "--instance", master, "--discovery", http, "--once");
            assertThat(again.exit()).as("the guard never un-fences, even when the epoch names it").isEqualTo(2);
            assertThat(again.out()).contains("FENCED: " + master + " takes no writes");
            assertThatThrownBy(() -> write(master)).hasMessageContaining("NOREPLICAS");
        } finally {
            agent.close();
        }
    }

    @Test
    void onceFencesAtOnceWhenTheEpochNamesAnother() throws Exception {
        Agent agent = DiscoveryLab.start("guard-cli-discovery-2");
        try (LocalRedisLab lab = new LocalRedisLab(dir.resolve("redis"), 1)) {
            String http = "127.0.0.1:" + agent.httpPort();
            String master = lab.addresses().get(0), replica = lab.addresses().get(1);
            Path def = Files.writeString(dir.resolve("g.json"), "{\"name\":\"guard-redis\",\"kind\":\"redis\",\"members\":[\"" + master + "\",\"" + replica + "\"]}");
            DiscoveryClient d = new DiscoveryClient(http);
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).ignoreExceptions().until(() -> { d.put("ready", "1"); return true; });
            awaitWritable(master);
            EpochStore epochs = new EpochStore(d, "guard-redis");
            assertThat(epochs.bump(epochs.read(), new StoredState(2, replica, 0, true), List.of(), "test")).isTrue();
            FailoverCliTest.Run r = FailoverCliTest.run("guard", "--cluster", def.toString(), "--instance", master, "--discovery", http, "--once");
            assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(2);
            assertThat(r.out()).contains("FENCE: writable, but epoch 2 names " + replica);
            assertThatThrownBy(() -> write(master)).hasMessageContaining("NOREPLICAS");
            try (Jedis j = jedis(master)) {
                assertThat(j.get("guard-probe")).as("reads go on").isEqualTo("1");
            }
        } finally {
            agent.close();
        }
    }

    /** The lab's masters start with min-replicas-to-write 1: writable once the replica attached. */
    private static void awaitWritable(String master) {
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20)).ignoreExceptions().until(() -> "OK".equals(write(master)));
    }

    private static String write(String address) {
        try (Jedis j = jedis(address)) {
            return j.set("guard-probe", "1");
        }
    }

    private static Jedis jedis(String address) {
        int colon = address.lastIndexOf(':');
        return new Jedis(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)), 2000);
    }
}

package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.Main;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.decide.StoredState;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalRedisLab;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The `failover` command line against a real discovery node and real Redis servers: define, kv:NAME, status, ack, usage errors. */
class FailoverCliTest {
    static Agent discoveryNode;
    static String http;
    @TempDir Path dir;

    @BeforeAll
    static void start() throws Exception {
        discoveryNode = DiscoveryLab.start("cli-discovery");
        http = "127.0.0.1:" + discoveryNode.httpPort();
    }

    @AfterAll
    static void stop() { discoveryNode.close(); }

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        java.io.PrintStream saved = System.out;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(captured, true));
        try {
            int exit = cl.execute(args);
            return new Run(exit, captured + out.toString(), err.toString());
        } finally {
            System.setOut(saved);
        }
    }

    @Test
    void aYamlDefinitionStoredInTheKvDrivesStatusAndAckLiftsTheBlock() throws Exception {
        try (LocalRedisLab lab = new LocalRedisLab(dir.resolve("redis"), 1)) {
            Path yaml = Files.writeString(dir.resolve("cli.yaml"), "name: cli-redis\nkind: redis\nmembers: [" + String.join(", ", lab.addresses()) + "]\n");
            Run define = run("define", "--file", yaml.toString(), "--discovery", http);
            assertThat(define.exit()).as(define.err()).isZero();
            assertThat(new DiscoveryClient(http).get("failover/cli-redis/definition")).isPresent();

            String master = lab.addresses().get(0);
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(15)).until(() ->
                    run("status", "--cluster", "kv:cli-redis", "--discovery", http).out().contains("offset"));
            Run status = run("status", "--cluster", "kv:cli-redis", "--discovery", http);
            assertThat(status.exit()).as(status.err()).isZero();
            assertThat(status.out()).contains("cluster cli-redis (redis)").containsPattern(java.util.regex.Pattern.quote(master) + " +master")
                    .containsPattern(java.util.regex.Pattern.quote(lab.addresses().get(1)) + " +replica");

            // An automatic failover happened a moment ago: the block is on until an operator acknowledges it.
            EpochStore epochs = new EpochStore(new DiscoveryClient(http), "cli-redis");
            assertThat(epochs.bump(epochs.read(), new StoredState(2, master, System.currentTimeMillis(), false), List.of(), "test failover")).isTrue();
            Run ack = run("ack", "--cluster", "kv:cli-redis", "--discovery", http);
            assertThat(ack.exit()).as(ack.err()).isZero();
            assertThat(ack.out()).contains("epoch 2 of cli-redis acknowledged");
            assertThat(epochs.read().state().acknowledged()).isTrue();
            assertThat(epochs.read().state().master()).isEqualTo(master);
            assertThat(new DiscoveryClient(http).get("failover/cli-redis/audit/2-ack")).isPresent();
            assertThat(run("ack", "--cluster", "kv:cli-redis", "--discovery", http).out()).contains("nothing to acknowledge");
        }
    }

    @Test
    void badInputExits64WithTheReason() throws Exception {
        Run unknownKv = run("status", "--cluster", "kv:nope", "--discovery", http);
        assertThat(unknownKv.exit()).isEqualTo(64);
        assertThat(unknownKv.err()).contains("no definition stored for cluster nope");

        Path withPassword = Files.writeString(dir.resolve("pw.json"), "{\"name\":\"p\",\"kind\":\"redis\",\"members\":[\"127.0.0.1:1\",\"127.0.0.1:2\"],\"password\":\"s3cret\"}");
        Run define = run("define", "--file", withPassword.toString(), "--discovery", http);
        assertThat(define.exit()).isEqualTo(64);
        assertThat(define.err()).contains("never holds a password").doesNotContain("s3cret");
        assertThat(new DiscoveryClient(http).get("failover/p/definition")).as("nothing stored").isEmpty();

        assertThat(run("promote").exit()).isEqualTo(64);
        assertThat(run("status", "--cluster", dir.resolve("missing.json").toString()).exit()).isEqualTo(64);
        assertThat(run("frobnicate").exit()).isEqualTo(64);
    }

    @Test
    void statusIsCriticalOnSplitBrainAndOnACatalogThatContradictsTheEpoch() throws Exception {
        try (LocalRedisLab lab = new LocalRedisLab(dir.resolve("redis"), 1)) {
            String master = lab.addresses().get(0), replica = lab.addresses().get(1);
            Path def = Files.writeString(dir.resolve("split.json"), "{\"name\":\"split-redis\",\"kind\":\"redis\",\"members\":[\"" + master + "\",\"" + replica + "\"]}");
            DiscoveryClient d = new DiscoveryClient(http);
            EpochStore epochs = new EpochStore(d, "split-redis");
            assertThat(epochs.bump(epochs.read(), new StoredState(1, master, 0, true), List.of(), "test")).isTrue();
            new io.failoverkit.failover.act.Catalog(d, "split-redis").register(master, List.of(replica));
            Run healthy = run("status", "--cluster", def.toString(), "--discovery", http);
            assertThat(healthy.exit()).as(healthy.out()).isZero();

            new io.failoverkit.failover.act.Catalog(d, "split-redis").register(replica, List.of(master));
            Run contradicts = run("status", "--cluster", def.toString(), "--discovery", http);
            assertThat(contradicts.exit()).isEqualTo(2);
            assertThat(contradicts.out()).contains("CRITICAL: the catalog names [" + replica + "] but epoch 1 names " + master);

            new io.failoverkit.failover.redis.RedisServers(1000, null).promote(replica);
            Run twoMasters = run("status", "--cluster", def.toString(), "--discovery", http);
            assertThat(twoMasters.exit()).isEqualTo(2);
            assertThat(twoMasters.out()).contains("CRITICAL: writable masters");
        }
    }
}

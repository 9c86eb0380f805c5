package io.failoverkit.drills;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalProcesses;
import io.failoverkit.failover.drill.containers.ContainerEngine;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * `failover drill` as an operator runs it, in a process of its own (the failover Main on this class path, as
 * bin/failover runs its jar, with stdout and stderr piped: not a terminal): the Redis SIGKILL drill's report as text
 * and as JSON, no stack trace on either stream, no colour; and CONSUL_HTTP_ADDR / CONSUL_HTTP_TOKEN as every
 * command's default discovery against a real discovery node. Run under flock /tmp/failoverkit-drills.lock.
 */
@ExtendWith(LabUnavailableSkips.class)
class FailoverDrillCommandTest {
    static final Path ROOT = Path.of(System.getProperty("user.dir")).resolve("..").normalize();
    static final Pattern STACK = Pattern.compile("(?m)^\\s+at [\\w.$]+\\(|Exception in thread|^Caused by: ");

    @TempDir Path dir;

    record Run(int exit, String out, String err) {}

    static Run failover(Map<String, String> env, long timeoutSeconds, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()),
                "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), "io.failoverkit.failover.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().remove("NO_COLOR");
        pb.environment().remove("CONSUL_HTTP_ADDR");
        pb.environment().remove("CONSUL_HTTP_TOKEN");
        pb.environment().put("TERM", "xterm-256color"); // so that only "not a terminal" can keep the colours off
        pb.environment().put("FAILOVERKIT_HOME", ROOT.toString());
        pb.environment().putAll(env);
        Path out = Files.createTempFile("failover-out", ".txt"), err = Files.createTempFile("failover-err", ".txt");
        Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError("failover " + String.join(" ", args) + " did not end within " + timeoutSeconds + " s; stdout:\n"
                        + Files.readString(out) + "\nstderr:\n" + Files.readString(err));
            }
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            if (p.isAlive()) p.destroyForcibly();
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    static Path namedLog(String firstLine) {
        Matcher m = Pattern.compile("messages in (\\S+)$").matcher(firstLine);
        assertThat(m.find()).as("the first line names the log file: " + firstLine).isTrue();
        return Path.of(m.group(1));
    }

    @Test
    void theRedisDrillPrintsItsTimelineFiguresAndPassWithNoStackTraceAndNoColourOffATerminal() throws Exception {
        Run r = failover(Map.of(), 600, "drill", "--kind", "redis");
        String all = "stdout:\n" + r.out() + "\nstderr:\n" + r.err();
        assertThat(r.exit()).as(all).isZero();
        List<String> lines = r.out().lines().toList();
        Path log = namedLog(lines.get(0));
        assertThat(log).exists();
        assertThat(lines.get(1)).isEqualTo("drill redis: Redis master SIGKILL under writes, through master.drill-redis.service.consul");
        assertThat(r.out()).containsPattern("(?m)^  timeline \\(kill at [0-9:.]+ UTC; ms after it\\)$")
                .containsPattern("(?m)^ +\\+\\d+  detected +master 127\\.0\\.0\\.1:\\d+ unreachable")
                .containsPattern("(?m)^ +\\+\\d+  promoted +127\\.0\\.0\\.1:\\d+ is master$")
                .containsPattern("(?m)^ +\\+\\d+  dns moved +master\\.drill-redis answers 127\\.0\\.0\\.1:\\d+$")
                .containsPattern("(?m)^  figures$")
                .containsPattern("(?m)^    kill -> first write on the new master +\\d+ ms$")
                .containsPattern("(?m)^    acknowledged writes lost +0$")
                .containsPattern("(?m)^    two writable masters +0 ms$")
                .containsPattern("(?m)^    old master demoted on its return +yes$")
                .containsPattern("(?m)^PASS: failover to 127\\.0\\.0\\.1:\\d+ done");
        assertThat(r.out() + r.err()).as("no stack trace and no colour on a passing run; " + all).doesNotContainPattern(STACK).doesNotContain("\u001b[");
        assertThat(r.err()).as("nothing on stderr of a passing run").isBlank();
        // The noise is in the log, not lost: the manager's lines and the timeline as it happened.
        assertThat(Files.readString(log)).contains("Timeline - [drill-redis] promoted:");
    }

    /**
     * `--lab containers`: the main job's drill with each server in its own container (RedisContainer on the lab image);
     * the same figures and PASS as on processes.
     */
    @Test
    void theDrillsRunInContainersWithLabContainers() throws Exception {
        ContainerEngine.require(ContainerEngine.redisImage());   // skips (LabUnavailable) or fails under CI without an engine or image
        Run r = failover(Map.of(), 600, "drill", "--kind", "redis", "--lab", "containers", "--json");
        String all = "stdout:\n" + r.out() + "\nstderr:\n" + r.err();
        assertThat(r.exit()).as(all).isZero();
        JsonNode d = new ObjectMapper().readTree(r.out().lines().findFirst().orElseThrow());
        assertThat(d.path("drill").asText()).as(all).isEqualTo("redis");
        assertThat(d.path("passed").asBoolean()).as(all).isTrue();
        assertThat(d.toString()).as(all).contains("promoted", "dns moved");
        assertThat(r.err()).as("nothing on stderr of a passing run (Testcontainers' messages are in the drill's log); " + all).isBlank();
    }

    /** `--lab containers` where no Docker engine answers: one clear error line, exit 1, nothing started. */
    @Test
    void labContainersWithoutAnEngineIsAClearError() throws Exception {
        Path socket = dir.resolve("no-engine.sock");
        Run r = failover(Map.of("DOCKER_HOST", "unix://" + socket), 120, "drill", "--lab", "containers");
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.err().strip()).isEqualTo("Error running drills in containers: no Docker engine socket at unix://" + socket
                + " (bin/test starts one: dockerd --bridge=none --iptables=false --ip6tables=false)");
        assertThat(r.out()).as("nothing started").isBlank();
    }

    /** The drill that printed the driver's and the pool's stack traces (a killed primary breaks pooled connections). */
    @Test
    void theMariaDbDrillKeepsTheDriversStackTracesInItsLog() throws Exception {
        Run r = failover(Map.of(), 600, "drill", "--kind", "mysql");
        String all = "stdout:\n" + r.out() + "\nstderr:\n" + r.err();
        assertThat(r.exit()).as(all).isZero();
        assertThat(r.out()).containsPattern("(?m)^drill mysql: MariaDB primary SIGKILL under inserts, semi-sync on, through master\\.drill-mysql\\.service\\.consul$")
                .containsPattern("(?m)^    acknowledged rows lost +0$").containsPattern("(?m)^    two writable primaries +0 ms$")
                .containsPattern("(?m)^    old primary rejoined as a replica +yes$")
                .containsPattern("(?m)^PASS: ").containsPattern("(?m)^RESULT kind=mysql semi_sync=on .* lost=0 .*success=true$");
        assertThat(r.out() + r.err()).as(all).doesNotContainPattern(STACK).doesNotContain("\u001b[");
        assertThat(r.err()).as(all).isBlank();
        assertThat(Files.readString(namedLog(r.out().lines().findFirst().orElseThrow()))).contains("Timeline - [drill-mysql] promoted:");
    }

    @Test
    void theJsonIsOneObjectPerDrillWithItsFiguresTimelineAndPass() throws Exception {
        // CONSUL_HTTP_SSL=true, as an operator's shell set for its own HTTPS discovery node: the drill's own loopback
        // node speaks plain HTTP, and its manager still reaches it (the drill addresses it as http://).
        Run r = failover(Map.of("CONSUL_HTTP_SSL", "true"), 600, "drill", "--kind", "redis", "--json");
        String all = "stdout:\n" + r.out() + "\nstderr:\n" + r.err();
        assertThat(r.exit()).as(all).isZero();
        List<String> lines = r.out().lines().filter(l -> !l.isBlank()).toList();
        assertThat(lines).as("one JSON object per drill and nothing else on stdout; " + all).hasSize(1);
        JsonNode n = new ObjectMapper().readTree(lines.get(0));
        assertThat(n.get("drill").asText()).isEqualTo("redis");
        assertThat(n.get("result").asText()).isEqualTo("PASS");
        assertThat(n.get("passed").asBoolean()).isTrue();
        assertThat(n.get("service").asText()).isEqualTo("master.drill-redis.service.consul");
        assertThat(n.get("killedAt").asText()).isNotBlank();
        JsonNode f = n.get("figures");
        for (String field : List.of("oldMaster", "newMaster", "killToFirstWriteMs", "acknowledged", "lost", "twoWritableMs", "oldMasterDemoted")) {
            assertThat(f.has(field)).as("figures." + field + " in " + lines.get(0)).isTrue();
        }
        assertThat(f.get("killToFirstWriteMs").asLong()).isPositive();
        assertThat(f.get("acknowledged").asLong()).isPositive();
        assertThat(f.get("lost").asLong()).isZero();
        assertThat(f.get("twoWritableMs").asLong()).isZero();
        assertThat(f.get("oldMasterDemoted").asBoolean()).isTrue();
        assertThat(f.get("newMaster").asText()).isNotEqualTo(f.get("oldMaster").asText());
        List<String> steps = new ArrayList<>();
        n.get("timeline").forEach(s -> steps.add(s.get("step").asText()));
        assertThat(steps).contains("detected", "epoch", "promoted", "dns moved");
        n.get("timeline").forEach(s -> assertThat(s.get("afterKillMs").asLong()).isNotNegative());
        assertThat(Path.of(n.get("log").asText())).exists();
        assertThat(r.out() + r.err()).as(all).doesNotContainPattern(STACK).doesNotContain("\u001b[");
    }

    @Test
    void consulHttpAddrAndTokenAreTheDefaultDiscoveryOfTheCommands() throws Exception {
        Agent agent = DiscoveryLab.start("consul-env");
        try {
            String http = "127.0.0.1:" + agent.httpPort();
            String token = "tok-" + Long.toHexString(System.nanoTime());
            Map<String, String> env = Map.of("CONSUL_HTTP_ADDR", "http://" + http + "/", "CONSUL_HTTP_TOKEN", token);
            Path def = Files.writeString(dir.resolve("env-redis.json"), "{\"name\": \"env-redis\", \"kind\": \"redis\", \"members\": [\"127.0.0.1:1\", \"127.0.0.1:2\"]}");

            Run define = failover(env, 120, "define", "--file", def.toString());
            assertThat(define.exit()).as(define.out() + define.err()).isZero();
            assertThat(new DiscoveryClient(http).get("failover/env-redis/definition")).as("stored through CONSUL_HTTP_ADDR").isPresent();
            Run ack = failover(env, 120, "ack", "--cluster", "kv:env-redis");
            assertThat(ack.exit()).as(ack.out() + ack.err()).isZero();
            assertThat(ack.out()).contains("nothing to acknowledge");
            assertThat(define.out() + define.err() + ack.out() + ack.err()).doesNotContain(token);

            // Nobody at CONSUL_HTTP_ADDR: the command fails saying where it looked; --discovery still wins over it.
            String nobody = "127.0.0.1:" + LocalProcesses.freePort();
            Run away = failover(Map.of("CONSUL_HTTP_ADDR", nobody), 120, "ack", "--cluster", "kv:env-redis");
            assertThat(away.exit()).as(away.out() + away.err()).isEqualTo(1);
            assertThat(away.err()).contains(nobody).doesNotContainPattern(STACK);
            Run explicit = failover(Map.of("CONSUL_HTTP_ADDR", nobody), 120, "ack", "--cluster", "kv:env-redis", "--discovery", http);
            assertThat(explicit.exit()).as(explicit.out() + explicit.err()).isZero();

            Run unix = failover(Map.of("CONSUL_HTTP_ADDR", "unix:///var/run/consul.sock"), 120, "ack", "--cluster", "kv:env-redis");
            assertThat(unix.exit()).isEqualTo(64);
            assertThat(unix.err()).contains("unsupported discovery address unix:///var/run/consul.sock").contains("CONSUL_HTTP_ADDR");
        } finally {
            agent.close();
        }
    }
}

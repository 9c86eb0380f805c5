package io.failoverkit.failover.drill;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.act.Timeline;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What `failover drill` prints for one drill, as text and as JSON, and when it colours. */
class DrillResultTest {
    static final long KILL = 1_796_156_105_000L;

    static RedisKillDrill.Report redis(boolean ok) {
        return new RedisKillDrill.Report(ok, ok ? "failover to 127.0.0.1:2 done (epoch 2)" : "no write was acknowledged", "127.0.0.1:1", "127.0.0.1:2",
                KILL, 1189, 300, 320, 0, 0, true,
                List.of(new Timeline.Step("detected", KILL + 900, "master 127.0.0.1:1 unreachable"),
                        new Timeline.Step("dns moved", KILL + 1100, "master.drill-redis answers 127.0.0.1:2")));
    }

    static String text(DrillResult r, boolean colour) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        r.printText(new PrintStream(b, true, StandardCharsets.UTF_8), colour);
        return b.toString(StandardCharsets.UTF_8);
    }

    @Test
    void theTextHasAHeaderTheTimelineAfterTheKillTheFiguresAndPassAtTheStartOfALine() {
        String out = text(DrillResult.of(redis(true), "/tmp/x/drill.log"), false);
        assertThat(out).startsWith("drill redis: Redis master SIGKILL under writes, through master.drill-redis.service.consul\n");
        assertThat(out).containsPattern("\\n +\\+900  detected +master 127\\.0\\.0\\.1:1 unreachable\\n")
                .containsPattern("\\n +\\+1100  dns moved +master\\.drill-redis answers 127\\.0\\.0\\.1:2\\n");
        assertThat(out).containsPattern("kill -> first write on the new master +1189 ms")
                .containsPattern("acknowledged writes lost +0\\n").containsPattern("two writable masters +0 ms")
                .containsPattern("old master demoted on its return +yes");
        assertThat(out).contains("\nPASS: failover to 127.0.0.1:2 done (epoch 2)\n").doesNotContain("\u001b");
        assertThat(out.indexOf("timeline")).isLessThan(out.indexOf("figures"));
    }

    @Test
    void aFailedDrillSaysFailAndColoursOnlyWhenAsked() {
        DrillResult r = DrillResult.of(redis(false), "/tmp/x/drill.log");
        assertThat(text(r, false)).contains("\nFAIL: no write was acknowledged\n");
        assertThat(text(r, true)).contains("\u001b[1;31mFAIL\u001b[0m: no write was acknowledged");
        assertThat(text(DrillResult.error("mysql", "MariaDB primary SIGKILL", "drill-mysql", "the drill could not run: boom", "/l"), false))
                .isEqualTo("drill mysql: MariaDB primary SIGKILL, through master.drill-mysql.service.consul\nFAIL: the drill could not run: boom\n");
    }

    @Test
    void theJsonIsOneObjectOnOneLineWithTheFiguresAndTheTimeline() throws Exception {
        MySqlKillDrill.Report m = new MySqlKillDrill.Report(true, "done", true, "127.0.0.1:1", "127.0.0.1:2", KILL, 935, 75, List.of(), 0,
                true, true, "rejoined", List.of(new Timeline.Step("promoted", KILL + 800, "127.0.0.1:2 is master")));
        String json = DrillResult.of(m, "drill-mysql", "/tmp/x/drill.log").json();
        assertThat(json).doesNotContain("\n").doesNotContain("\u001b");
        JsonNode n = new ObjectMapper().readTree(json);
        assertThat(n.get("drill").asText()).isEqualTo("mysql");
        assertThat(n.get("result").asText()).isEqualTo("PASS");
        assertThat(n.get("passed").asBoolean()).isTrue();
        assertThat(n.get("service").asText()).isEqualTo("master.drill-mysql.service.consul");
        assertThat(n.get("killedAt").asText()).isEqualTo(java.time.Instant.ofEpochMilli(KILL).toString());
        assertThat(n.get("log").asText()).isEqualTo("/tmp/x/drill.log");
        JsonNode f = n.get("figures");
        assertThat(f.get("killToFirstWriteMs").asLong()).isEqualTo(935);
        assertThat(f.get("acknowledged").asLong()).isEqualTo(75);
        assertThat(f.get("lost").asLong()).isZero();
        assertThat(f.get("twoWritableMs").asLong()).isZero();
        assertThat(f.get("semiSync").asBoolean()).isTrue();
        assertThat(f.get("oldMasterRejoined").asBoolean()).isTrue();
        assertThat(n.get("timeline")).hasSize(1);
        assertThat(n.get("timeline").get(0).get("step").asText()).isEqualTo("promoted");
        assertThat(n.get("timeline").get(0).get("afterKillMs").asLong()).isEqualTo(800);
    }

    @Test
    void coloursOnlyOnATerminalWithoutJsonOrNoColor() {
        assertThat(DrillResult.colour(false, true, Map.of())).isTrue();
        assertThat(DrillResult.colour(false, false, Map.of())).as("not a terminal").isFalse();
        assertThat(DrillResult.colour(true, true, Map.of())).as("--json").isFalse();
        assertThat(DrillResult.colour(false, true, Map.of("NO_COLOR", "1"))).as("NO_COLOR").isFalse();
        assertThat(DrillResult.colour(false, true, Map.of("NO_COLOR", ""))).as("NO_COLOR empty counts as unset (no-color.org)").isTrue();
        assertThat(DrillResult.colour(false, true, Map.of("TERM", "dumb"))).isFalse();
    }
}

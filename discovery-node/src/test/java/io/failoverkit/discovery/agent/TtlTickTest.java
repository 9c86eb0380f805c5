package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.config.Definitions;
import io.failoverkit.discovery.state.Json;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** The TTL expiry tick runs only while the agent has TTL checks, and a TTL check still expires. */
class TtlTickTest {
    @Test
    void noTickWithoutTtlChecksAndATtlCheckStillGoesCriticalWhenItsTtlPasses() throws Exception {
        LocalState local = new LocalState();
        try (CheckRunner runner = new CheckRunner(local)) {
            runner.sync();
            assertThat(runner.ttlTickRunning()).isFalse();

            Definitions.CheckDef ttl = Definitions.check(Json.MAPPER.createObjectNode().put("id", "web-ttl").put("name", "web")
                    .put("ttl", "300ms").put("status", "passing"), "", "", 0);
            local.addCheck(ttl, LocalState.Source.API);
            runner.sync();
            assertThat(runner.ttlTickRunning()).isTrue();
            assertThat(waitUntil(() -> "critical".equals(local.check("web-ttl").status()), Duration.ofSeconds(30))).isTrue();

            runner.ttlUpdate(ttl, "passing", "");
            assertThat(local.check("web-ttl").status()).isEqualTo("passing");
            assertThat(waitUntil(() -> "critical".equals(local.check("web-ttl").status()), Duration.ofSeconds(30))).isTrue();

            local.removeCheck("web-ttl");
            runner.sync();
            assertThat(waitUntil(() -> !runner.ttlTickRunning(), Duration.ofSeconds(30))).isTrue();

            // and it starts again for a TTL check added later
            local.addCheck(ttl, LocalState.Source.API);
            runner.sync();
            assertThat(runner.ttlTickRunning()).isTrue();
            assertThat(waitUntil(() -> "critical".equals(local.check("web-ttl").status()), Duration.ofSeconds(30))).isTrue();
        }
    }

    private static boolean waitUntil(BooleanSupplier done, Duration max) throws InterruptedException {
        long end = System.nanoTime() + max.toNanos();
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > end) return false;
            Thread.sleep(20);
        }
        return true;
    }
}

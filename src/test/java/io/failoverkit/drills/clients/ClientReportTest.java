package io.failoverkit.drills.clients;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** How a client's output lines become its row: kill-to-first-write, lost and stale writes, and the layer that held the time. */
class ClientReportTest {
    @TempDir Path dir;

    static final ClientReport.Lab LAB = new ClientReport.Lab(10_000, "127.0.0.11:6379", "127.0.0.12:6379", 11_000, 11_200, true,
            11_050, 11_060, 0, "ok");

    @Test
    void aCounterClientThatFollowedTheFailover() throws Exception {
        Path out = dir.resolve("c.out");
        Files.write(out, List.of(
                "DNS 9000 127.0.0.11",
                "ACK 9980 127.0.0.11:6379 41",
                "ACK 9990 127.0.0.11:6379 42", // the old master counted to 42 ...
                "ERR 10020 JedisConnectionException: Unexpected end of stream.",
                "DNS 11070 127.0.0.12",
                "ACK 11100 127.0.0.12:6379 42")); // ... the new one had 41: one acknowledged write lost
        ClientReport.Row r = ClientReport.clientRow(LAB, "jedis tuned", out, null);
        assertThat(r.acksBeforeKill()).isEqualTo(2);
        assertThat(r.killToFirstWrite()).isEqualTo(1100);
        assertThat(r.lost()).isEqualTo(1);
        assertThat(r.oldAfterPromotion()).isZero();
        assertThat(r.resolvedNewAfter()).isEqualTo(1070);
        assertThat(r.heldBy()).isEqualTo("failover (agent DNS) 1050 ms");
        assertThat(r.errorsAfterKill()).contains("+20ms JedisConnectionException");
    }

    @Test
    void aClientStuckOnTheOldMasterIsReportedWithWhatHeldIt() throws Exception {
        Path out = dir.resolve("c.out");
        Files.write(out, List.of(
                "ACK 9990 127.0.0.11:6379 7",
                "ACK 11300 127.0.0.11:6379 1", // the returning old master acknowledged a write after the promotion
                "DNS 38000 127.0.0.12"));
        ClientReport.Row r = ClientReport.clientRow(LAB, "jedis defaults", out, null);
        assertThat(r.killToFirstWrite()).isEqualTo(-1);
        assertThat(r.oldAfterPromotion()).isEqualTo(1);
        assertThat(r.heldBy()).startsWith("pool/client (resolved the new master after 28000 ms");
    }

    @Test
    void rowsAreLostWhenTheNewPrimaryLacksThemAndTheReportReadsBackAsWritten() throws Exception {
        Path out = dir.resolve("c.out");
        Files.write(out, List.of("ACK 9990 127.0.0.11:6379 1000000001", "ACK 9995 127.0.0.11:6379 1000000002", "ACK 12500 127.0.0.12:6379 1000000005"));
        ClientReport.Row r = ClientReport.clientRow(LAB, "hikari tuned", out, seq -> seq != 1000000002L);
        assertThat(r.lost()).isEqualTo(1);
        assertThat(r.heldBy()).isEqualTo("pool/client reconnect 1440 ms");

        ClientReport.write(dir.resolve("report.tsv"), LAB, List.of(r));
        ClientReport.Read back = ClientReport.read(dir.resolve("report.tsv"));
        assertThat(back.lab()).isEqualTo(LAB);
        assertThat(back.rows()).containsExactly(r);
    }
}

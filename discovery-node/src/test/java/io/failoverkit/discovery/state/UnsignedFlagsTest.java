package io.failoverkit.discovery.state;

import io.failoverkit.discovery.testing.DevAgent;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** KV Flags are Go uint64s, as Consul's: its semaphore flag (0xe0f69a2baa414de0) uses the top bit and must come back as written. */
class UnsignedFlagsTest {
    private static final long SEMAPHORE_FLAG = 0xe0f69a2baa414de0L;

    @Test
    void aTopBitFlagSurvivesARaftSnapshotAndIsWrittenUnsigned() throws Exception {
        StateStore store = new StateStore(Runnable::run);
        store.apply(1, new Command.KvPut("pool/.lock", "{}".getBytes(StandardCharsets.UTF_8), SEMAPHORE_FLAG, null, null, null, null));
        ByteArrayOutputStream img = new ByteArrayOutputStream();
        store.writeSnapshot(img);
        assertThat(img.toString(StandardCharsets.UTF_8)).contains("16210313421097356768").doesNotContain("-2236430652612194848");
        StateStore back = new StateStore(Runnable::run);
        back.loadSnapshot(new ByteArrayInputStream(img.toByteArray()));
        assertThat(back.kvGet("pool/.lock").value().flags()).isEqualTo(SEMAPHORE_FLAG);
        // An image written before flags were unsigned (a negative long) still loads.
        String old = img.toString(StandardCharsets.UTF_8).replace("16210313421097356768", Long.toString(SEMAPHORE_FLAG));
        StateStore older = new StateStore(Runnable::run);
        older.loadSnapshot(new ByteArrayInputStream(old.getBytes(StandardCharsets.UTF_8)));
        assertThat(older.kvGet("pool/.lock").value().flags()).isEqualTo(SEMAPHORE_FLAG);
    }

    @Test
    void theHttpApiTakesAndReturnsTheWholeUint64Range() throws Exception {
        try (DevAgent a = DevAgent.start("flags-1")) {
            assertThat(a.http.put("/v1/kv/f/max?flags=18446744073709551615", "x").status()).isEqualTo(200);
            assertThat(a.http.get("/v1/kv/f/max").json().get(0).get("Flags").asText()).isEqualTo("18446744073709551615");
            assertThat(a.http.put("/v1/kv/f/sem?flags=16210313421097356768", "x").status()).isEqualTo(200);
            assertThat(a.http.get("/v1/kv/f/?recurse").body()).contains("\"Flags\":16210313421097356768");
            assertThat(a.http.put("/v1/kv/f/over?flags=18446744073709551616", "x").status()).isEqualTo(400);
            assertThat(a.http.put("/v1/kv/f/neg?flags=-1", "x").status()).isEqualTo(400);
            assertThat(a.http.get("/v1/kv/f/over").status()).isEqualTo(404);
            // The transaction API too.
            String txn = "[{\"KV\":{\"Verb\":\"set\",\"Key\":\"f/txn\",\"Value\":\"eA==\",\"Flags\":16210313421097356768}}]";
            assertThat(a.http.put("/v1/txn", txn).status()).isEqualTo(200);
            assertThat(a.http.get("/v1/kv/f/txn").json().get(0).get("Flags").asText()).isEqualTo("16210313421097356768");
            assertThat(a.http.put("/v1/txn", txn.replace("16210313421097356768", "18446744073709551616")).status()).isEqualTo(400);
        }
    }
}

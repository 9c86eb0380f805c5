package io.failoverkit.failover.watch;

import io.failoverkit.failover.topology.SemiSync;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The KV record of who can acknowledge commits: its JSON, and rewriting only on a change of facts. */
class SemiSyncRecorderTest {
    @Test
    void theRecordRoundTripsThroughItsJsonAndOnlyFactsCount() throws Exception {
        SemiSync s = new SemiSync("127.0.0.1:3307", true, false, List.of("127.0.0.1:3308", "127.0.0.1:3309"), 1234);
        String json = SemiSyncRecorder.toJson(s);
        assertThat(json).isEqualTo("{\"master\":\"127.0.0.1:3307\",\"masterSemiSyncEnabled\":true,\"masterSemiSyncOn\":false,"
                + "\"ackers\":[\"127.0.0.1:3308\",\"127.0.0.1:3309\"],\"updatedAtMillis\":1234}");
        assertThat(SemiSyncRecorder.fromJson(json)).isEqualTo(s);
        assertThat(s.sameFacts(new SemiSync(s.master(), true, false, s.ackers(), 99))).isTrue();
        assertThat(s.sameFacts(new SemiSync(s.master(), true, true, s.ackers(), 1234))).as("fell back, or back on").isFalse();
        assertThat(SemiSyncRecorder.key("foo-db")).isEqualTo("failover/foo-db/semisync");
    }
}

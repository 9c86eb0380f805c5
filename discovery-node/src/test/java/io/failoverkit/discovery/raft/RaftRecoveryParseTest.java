package io.failoverkit.discovery.raft;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** peers.json in Consul's v3 format, and the faults that make the agent refuse it. */
class RaftRecoveryParseTest {
    @TempDir Path dir;

    private Path file(String json) throws Exception {
        Path f = dir.resolve("peers.json");
        Files.writeString(f, json);
        return f;
    }

    @Test
    void consulsV3FormatIsRead() throws Exception {
        var entries = RaftRecovery.parse(file("""
                [
                  {"id": "adf4238a-882b-9ddc-4a9d-5b6758e4159e", "address": "10.1.0.1:8300", "non_voter": false},
                  {"id": "s2", "address": "127.0.0.1:8302"}
                ]"""));
        assertThat(entries).containsExactly(new RaftRecovery.Entry("adf4238a-882b-9ddc-4a9d-5b6758e4159e", "10.1.0.1:8300"),
                new RaftRecovery.Entry("s2", "127.0.0.1:8302"));
    }

    @Test
    void malformedFilesAreRefusedWithTheReason() throws Exception {
        assertThatThrownBy(() -> RaftRecovery.parse(file("[{\"id\": \"a\", \"address\": "))).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> RaftRecovery.parse(file("{}"))).hasMessageContaining("non-empty JSON array");
        assertThatThrownBy(() -> RaftRecovery.parse(file("[]"))).hasMessageContaining("non-empty JSON array");
        assertThatThrownBy(() -> RaftRecovery.parse(file("[\"10.1.0.1:8300\"]"))).hasMessageContaining("v1 format");
        assertThatThrownBy(() -> RaftRecovery.parse(file("[{\"address\": \"10.1.0.1:8300\"}]"))).hasMessageContaining("\"id\"");
        assertThatThrownBy(() -> RaftRecovery.parse(file("[{\"id\": \"a\", \"address\": \"10.1.0.1\"}]"))).hasMessageContaining("not HOST:PORT");
        assertThatThrownBy(() -> RaftRecovery.parse(file("[{\"id\": \"a\", \"address\": \"10.1.0.1:99999\"}]"))).hasMessageContaining("not HOST:PORT");
        assertThatThrownBy(() -> RaftRecovery.parse(file("[{\"id\": \"a\", \"address\": \"h:1\"}, {\"id\": \"a\", \"address\": \"h:2\"}]")))
                .hasMessageContaining("listed twice");
        assertThatThrownBy(() -> RaftRecovery.parse(file("[{\"id\": \"a\", \"address\": \"h:1\", \"non_voter\": true}]")))
                .hasMessageContaining("non-voter");
        assertThatThrownBy(() -> RaftRecovery.parse(file("[{\"id\": \"a\", \"addr\": \"h:1\"}]"))).hasMessageContaining("unknown field \"addr\"");
    }
}

package io.failoverkit.discovery.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Consul's raft_snapshot_threshold and raft_snapshot_interval in a config file: defaults, values, bad values. */
class RaftSnapshotSettingsTest {
    @TempDir Path dir;

    private AgentConfig load(String json) throws Exception {
        Path f = dir.resolve("c" + System.nanoTime() + ".json");
        Files.writeString(f, json);
        AgentConfig cfg = new AgentConfig();
        cfg.dev = true;
        cfg.configFiles.add(f);
        cfg.applyFiles(java.util.Set.of());
        return cfg;
    }

    @Test
    void defaultsAreConsulsAndBothAreRead() throws Exception {
        AgentConfig d = load("{}");
        assertThat(d.raftSnapshotThreshold).isEqualTo(16384);
        assertThat(d.raftSnapshotInterval).isEqualTo(Duration.ofSeconds(30));
        AgentConfig c = load("{\"raft_snapshot_threshold\": 8192, \"raft_snapshot_interval\": \"5s\"}");
        assertThat(c.raftSnapshotThreshold).isEqualTo(8192);
        assertThat(c.raftSnapshotInterval).isEqualTo(Duration.ofSeconds(5));
        assertThat(load("{\"raft_snapshot_interval\": \"0s\"}").raftSnapshotInterval).isZero();
    }

    @Test
    void aBadIntervalIsRefusedWithTheSettingsName() {
        assertThatThrownBy(() -> load("{\"raft_snapshot_interval\": \"soon\"}")).hasMessageContaining("raft_snapshot_interval");
        assertThatThrownBy(() -> load("{\"raft_snapshot_interval\": \"-5s\"}")).hasMessageContaining("raft_snapshot_interval");
    }
}

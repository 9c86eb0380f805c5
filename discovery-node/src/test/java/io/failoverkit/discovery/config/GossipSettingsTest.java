package io.failoverkit.discovery.config;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** -node-meta validated as Consul validates it. */
class GossipSettingsTest {
    @Test
    void nodeMetaFlagIsKeyColonValue() {
        assertThat(NodeMeta.parseFlag("rack:r1")).isEqualTo(Map.entry("rack", "r1"));
        assertThat(NodeMeta.parseFlag("url:http://x:1")).isEqualTo(Map.entry("url", "http://x:1"));
        assertThat(NodeMeta.parseFlag("flag")).isEqualTo(Map.entry("flag", ""));
    }

    @Test
    void nodeMetaLimitsAreConsuls() {
        assertThatThrownBy(() -> NodeMeta.parseFlag(":v")).hasMessageContaining("Key cannot be blank");
        assertThatThrownBy(() -> NodeMeta.parseFlag("a.b:v")).hasMessageContaining("invalid characters");
        assertThatThrownBy(() -> NodeMeta.parseFlag("k".repeat(129) + ":v")).hasMessageContaining("too long (limit: 128");
        assertThatThrownBy(() -> NodeMeta.parseFlag("consul-x:v")).hasMessageContaining("reserved");
        assertThatThrownBy(() -> NodeMeta.parseFlag("k:" + "v".repeat(513))).hasMessageContaining("Value is too long (limit: 512");
        assertThat(NodeMeta.parseFlag("k".repeat(128) + ":" + "v".repeat(512)).getKey()).hasSize(128);
        Map<String, String> many = new LinkedHashMap<>();
        for (int i = 0; i < 65; i++) many.put("k" + i, "v");
        assertThatThrownBy(() -> NodeMeta.validate(many)).hasMessageContaining("more than 64");
        many.remove("k64");
        NodeMeta.validate(many);
    }

    @Test
    void theConfigFileTakesEncryptNodeMetaEventHandlersAndRetryIntervalAndFlagsWin(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        String key = io.failoverkit.discovery.cluster.GossipKeys.generate();
        java.nio.file.Path f = dir.resolve("a.json");
        java.nio.file.Files.writeString(f, "{\"encrypt\": \"" + key + "\", \"node_meta\": {\"rack\": \"r2\"}, "
                + "\"event_handlers\": [\"user:deploy=./deploy.sh\"], \"retry_interval\": \"3s\"}");
        AgentConfig cfg = new AgentConfig();
        cfg.dev = true;
        cfg.configFiles.add(f);
        cfg.applyFiles(java.util.Set.of());
        cfg.validate();
        assertThat(cfg.encrypt).isEqualTo(key);
        assertThat(cfg.nodeMeta).containsEntry("rack", "r2");
        assertThat(cfg.eventHandlers).containsExactly("user:deploy=./deploy.sh");
        assertThat(cfg.retryInterval).isEqualTo(java.time.Duration.ofSeconds(3));

        AgentConfig flags = new AgentConfig();
        flags.dev = true;
        flags.configFiles.add(f);
        flags.encrypt = "other";
        flags.nodeMeta.put("rack", "r9");
        flags.applyFiles(java.util.Set.of("encrypt", "node-meta"));
        assertThat(flags.encrypt).isEqualTo("other");
        assertThat(flags.nodeMeta).containsEntry("rack", "r9");
        assertThatThrownBy(flags::validate).hasMessageContaining("-encrypt");

        java.nio.file.Files.writeString(f, "{\"node_meta\": {\"consul-x\": \"1\"}}");
        AgentConfig bad = new AgentConfig();
        bad.dev = true;
        bad.configFiles.add(f);
        bad.applyFiles(java.util.Set.of());
        assertThatThrownBy(bad::validate).hasMessageContaining("reserved");
    }
}

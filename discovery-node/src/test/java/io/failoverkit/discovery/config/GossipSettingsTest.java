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
}

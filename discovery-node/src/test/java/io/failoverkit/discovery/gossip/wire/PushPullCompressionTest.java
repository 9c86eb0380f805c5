package io.failoverkit.discovery.gossip.wire;

import io.failoverkit.discovery.gossip.serf.SerfMessages;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A push-pull stream as the agent sends it (GossipStack's options: LZW compression on, as memberlist's
 * EnableCompression, which Serf turns on): framed as a compress message, smaller than the plain body by a real margin
 * for a pool of agents carrying their Consul-like tags, and decoded back to the same state.
 */
class PushPullCompressionTest {
    static PushPull pool(int n) {
        List<PushPull.NodeEntry> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Map<String, String> tags = new LinkedHashMap<>();
            tags.put("role", i == 0 ? "consul" : "node");
            tags.put("dc", "dc1");
            tags.put("id", UUID.nameUUIDFromBytes(new byte[]{(byte) i}).toString());
            tags.put("port", Integer.toString(21000 + i));
            tags.put("http_port", Integer.toString(22000 + i));
            tags.put("build", "0.1.0");
            tags.put("vsn", "2");
            nodes.add(new PushPull.NodeEntry("f" + (i + 1), new byte[]{127, 0, 0, 1}, 20000 + i,
                    SerfMessages.encodeTags(tags), 1 + i % 3, NodeState.ALIVE, new byte[]{1, 5, 2, 2, 5, 5}));
        }
        return new PushPull(false, nodes, new byte[0]);
    }

    @Test
    void pushPullStreamsAreCompressedAndSmaller() {
        Codec.Options compressed = new Codec.Options("", null, true, false);
        for (int n : new int[]{10, 30}) {
            PushPull state = pool(n);
            byte[] body = Codec.pushPullBody(state);
            byte[] plain = Codec.encodeStream(body, Codec.Options.PLAIN, true);
            byte[] sent = Codec.encodeStream(body, compressed, true);
            System.out.printf("push-pull of %d agents: %d bytes plain, %d compressed (%.0f%%)%n", n, plain.length, sent.length,
                    100.0 * sent.length / plain.length);
            assertThat(sent[0]).as("framed as a compress message").isEqualTo((byte) Codec.COMPRESS);
            assertThat(sent.length).as("N=%d: compression saves at least a quarter", n).isLessThan(plain.length * 3 / 4);
            Codec.Inbound back = Codec.decodeStream(sent, compressed, true);
            assertThat(back).isInstanceOf(Codec.Inbound.State.class);
            PushPull got = ((Codec.Inbound.State) back).pushPull();
            assertThat(got.nodes()).hasSize(n);
            for (int i = 0; i < n; i++) {
                assertThat(got.nodes().get(i).name()).isEqualTo(state.nodes().get(i).name());
                assertThat(got.nodes().get(i).meta()).isEqualTo(state.nodes().get(i).meta());
            }
        }
    }
}

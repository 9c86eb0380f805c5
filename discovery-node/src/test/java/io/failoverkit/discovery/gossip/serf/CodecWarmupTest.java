package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.Keyring;
import org.junit.jupiter.api.Test;

import java.util.Base64;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class CodecWarmupTest {
    private static final Map<String, String> TAGS = Map.of("role", "node", "dc", "dc1", "id", "7bf1e167-1592-4897-8d99-d939ca7b4c19");

    /**
     * The warm-up decodes what it encoded, every round, with each transport framing the agent may use: the checksum
     * counts what came back (nodes, Serf state entries, tags, messages), so a round that lost a message or failed to
     * decode one would change it; and it is the same whatever the framing.
     */
    @Test
    void everyRoundDecodesWhatItEncodedWithEachFraming() {
        long plain = CodecWarmup.run(new Codec.Options("", null, false, false), 32, 4, TAGS);
        long lzw = CodecWarmup.run(new Codec.Options("", null, true, false), 32, 4, TAGS);
        long crc = CodecWarmup.run(new Codec.Options("", null, true, true), 32, 4, TAGS);
        byte[] key = new byte[32];
        for (int i = 0; i < key.length; i++) key[i] = (byte) i;
        long sealed = CodecWarmup.run(new Codec.Options("", Keyring.ofBase64(Base64.getEncoder().encodeToString(key)), true, false), 32, 4, TAGS);
        long labelled = CodecWarmup.run(new Codec.Options("dc1", null, true, false), 32, 4, TAGS);
        assertThat(plain).isPositive();
        assertThat(lzw).isEqualTo(plain);
        assertThat(crc).isEqualTo(plain);
        assertThat(sealed).isEqualTo(plain);
        assertThat(labelled).isEqualTo(plain);
        // twice the rounds, twice the sum: each round decodes the same
        assertThat(CodecWarmup.run(new Codec.Options("", null, true, false), 32, 8, TAGS)).isEqualTo(2 * plain);
    }
}

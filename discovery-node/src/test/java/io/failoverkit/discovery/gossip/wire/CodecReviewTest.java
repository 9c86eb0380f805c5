package io.failoverkit.discovery.gossip.wire;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Paths an adversarial review walked in the packet decoder: each test failed before its fix. */
class CodecReviewTest {

    /**
     * One UDP packet (at most 64 KiB) must not make the receiving thread decompress without bound: the limit on what
     * a packet decompresses to holds for the packet as a whole, not per compress frame. Otherwise a compound of
     * compress frames, each just under the limit, turns 64 KiB into tens of megabytes (and nesting compound inside
     * compress inside compound, into gigabytes) of work and allocation on the thread that reads every packet.
     */
    @Test
    void aPacketDecompressesToAtMostTheLimitInTotal() {
        byte[] userMsg = new byte[Codec.MAX_PACKET_DECOMPRESSED - 64];
        userMsg[0] = (byte) Codec.USER;
        byte[] frame = Codec.compress(userMsg);
        List<byte[]> parts = new ArrayList<>();
        int size = 2;
        while (parts.size() < 255 && size + 2 + frame.length <= 65_000) {
            parts.add(frame);
            size += 2 + frame.length;
        }
        byte[] packet = Codec.compound(parts);
        assertThat(packet.length).isLessThanOrEqualTo(65_536);
        assertThat(parts.size()).as("the bomb has teeth").isGreaterThan(10);

        long[] delivered = {0};
        int dropped = Codec.decodePacket(packet, packet.length, Codec.Options.PLAIN, m -> {
            if (m instanceof Message.User u) delivered[0] += u.payload().length + 1;
        });
        assertThat(delivered[0]).as("decompressed bytes delivered from one packet").isLessThanOrEqualTo(Codec.MAX_PACKET_DECOMPRESSED);
        assertThat(dropped).as("the frames beyond the budget are dropped and counted").isEqualTo(parts.size() - 1);
    }
}

package io.failoverkit.discovery.gossip.wire;

import com.code_intelligence.jazzer.junit.FuzzTest;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing of the packet and stream decoders (Jazzer). Under plain {@code mvn test} it replays the
 * seed corpus in src/test/resources (PacketDecoderFuzzTestInputs): memberlist packets of every message, compound,
 * compressed, CRC, labelled and sealed ones, push-pull and user streams, and broken variants. With JAZZER_FUZZ=1 it
 * fuzzes for a bounded time. Invariants: the only exception that escapes is {@link WireException} (no other
 * exception, no OOM, no stack overflow), and whatever decodes re-encodes to a fixed point.
 */
class PacketDecoderFuzzTest {
    /** The key the sealed seeds were made with (all bytes 7, AES-128). */
    static final byte[] KEY = filled(16, (byte) 7);
    static final List<Codec.Options> OPTIONS = List.of(
            Codec.Options.PLAIN,
            new Codec.Options("dc1", null, true, true),
            new Codec.Options("", Keyring.of(KEY), true, false));

    static byte[] filled(int n, byte b) {
        byte[] k = new byte[n];
        java.util.Arrays.fill(k, b);
        return k;
    }

    @FuzzTest(maxDuration = "60s")
    void onlyWireExceptionEscapes(byte[] input) {
        for (Codec.Options o : OPTIONS) {
            List<Message> got = new ArrayList<>();
            try {
                Codec.decodePacket(input, input.length, o, got::add);
            } catch (WireException expected) {
                // dropped and counted by the transport
            }
            for (Message m : got) {
                byte[] once = Codec.encode(m);
                assertThat(Codec.encode(Codec.decode(once))).isEqualTo(once);
            }
            for (boolean accepted : new boolean[] {true, false}) {
                try {
                    Codec.Inbound in = Codec.decodeStream(input, o, accepted);
                    if (in instanceof Codec.Inbound.State s) {
                        byte[] once = Codec.pushPullBody(s.pushPull());
                        var again = (Codec.Inbound.State) Codec.decodeStream(once, Codec.Options.PLAIN, false);
                        assertThat(Codec.pushPullBody(again.pushPull())).isEqualTo(once);
                    }
                } catch (WireException expected) {
                    // dropped and counted by the transport
                }
            }
        }
    }
}

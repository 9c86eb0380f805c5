package io.failoverkit.discovery.gossip.wire;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CodecTest {
    static final byte[] IP4 = {127, 0, 0, 1};
    static final byte[] IP6 = {0x20, 0x01, 0x0d, (byte) 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static final byte[] VSN = {1, 5, 2, 2, 5, 5};

    static List<Message> everyMessage() {
        return List.of(
                new Message.Ping(1, "n1", new byte[0], 0, ""),
                new Message.Ping(0xffffffffL, "n1", IP4, 7946, "me"),
                new Message.IndirectPing(7, IP6, 65535, "target", true, IP4, 7000, "me"),
                new Message.IndirectPing(8, IP4, 1, "t", false, new byte[0], 0, ""),
                new Message.Ack(9, new byte[0]),
                new Message.Ack(10, new byte[] {1, 2, 3}),
                new Message.Nack(11),
                new Message.Err("boom"),
                new Message.Suspect(12, "n2", "n1"),
                new Message.Alive(13, "n3", IP4, 7946, new byte[] {(byte) 0xff, (byte) 0x80}, VSN),
                new Message.Alive(14, "n4", IP6, 7946, new byte[0], VSN),
                new Message.Dead(15, "n5", "n5"),
                new Message.User(new byte[] {0, 1, 2}),
                new Message.User(new byte[0]));
    }

    /** Records hold byte[]; compare them by their encoding, which is a function of every field. */
    static void assertSame(Message a, Message b) {
        assertThat(b.getClass()).isEqualTo(a.getClass());
        assertThat(Codec.encode(b)).as(a.toString()).isEqualTo(Codec.encode(a));
    }

    @Test
    void everyMessageRoundTrips() {
        for (Message m : everyMessage()) {
            byte[] b = Codec.encode(m);
            assertSame(m, Codec.decode(b));
            assertThat(Codec.sizeOf(m)).isEqualTo(b.length + 2);
        }
    }

    @Test
    void bytesAreMemberlists() {
        // ping{SeqNo:1, Node:"n1"} with the omitempty source fields left out: type 0, fixmap 2
        assertThat(HexFormat.of().formatHex(Codec.encode(new Message.Ping(1, "n1", new byte[0], 0, ""))))
                .isEqualTo("00" + "82" + "a55365714e6f" + "01" + "a44e6f6465" + "a26e31");
        // ackResp{SeqNo:300, Payload:nil}
        assertThat(HexFormat.of().formatHex(Codec.encode(new Message.Ack(300, new byte[0]))))
                .isEqualTo("02" + "82" + "a55365714e6f" + "cd012c" + "a75061796c6f6164" + "c0");
        // user message in a packet: type byte then the raw payload
        assertThat(Codec.encode(new Message.User(new byte[] {5, 6}))).containsExactly(8, 5, 6);
        // alive: Vsn is a []uint8, i.e. a raw byte string
        byte[] alive = Codec.encode(new Message.Alive(1, "a", IP4, 7946, new byte[0], VSN));
        assertThat(HexFormat.of().formatHex(alive)).endsWith("a356736e" + "a6010502020505");
    }

    @Test
    void compoundCrcCompressionLabelAndEncryptionRoundTrip() {
        List<Message> all = everyMessage();
        Keyring ring = Keyring.of(new byte[32]);
        for (var o : List.of(Codec.Options.PLAIN, new Codec.Options("", null, true, true),
                new Codec.Options("dc1", null, true, false), new Codec.Options("", ring, false, true),
                new Codec.Options("lbl", ring, true, true))) {
            List<Message> got = Codec.decodePacket(Codec.encodePacket(all, o), o);
            assertThat(got).hasSize(all.size());
            for (int i = 0; i < all.size(); i++) assertSame(all.get(i), got.get(i));
            List<Message> one = Codec.decodePacket(Codec.encodePacket(List.of(all.get(1)), o), o);
            assertSame(all.get(1), one.get(0));
        }
    }

    @Test
    void compoundWithATruncatedOrBadPartDeliversTheRest() {
        byte[] good = Codec.encode(new Message.Nack(1));
        byte[] bad = {PING_BYTE, (byte) 0xc1};
        byte[] packet = Codec.compound(List.of(good, bad, good));
        List<Message> got = new ArrayList<>();
        assertThat(Codec.decodePacket(packet, packet.length, Codec.Options.PLAIN, got::add)).isEqualTo(1);
        assertThat(got).hasSize(2);
        // cut short: the last part is dropped too, the first still delivered
        got.clear();
        assertThat(Codec.decodePacket(packet, packet.length - 1, Codec.Options.PLAIN, got::add)).isEqualTo(2);
        assertThat(got).hasSize(1);
    }

    static final byte PING_BYTE = 0;

    @Test
    void badPacketsThrowWireException() {
        Keyring ring = Keyring.of(new byte[16]);
        var enc = new Codec.Options("", ring, false, false);
        byte[] plainPing = Codec.encodePacket(List.of(new Message.Nack(5)), Codec.Options.PLAIN);
        // encryption configured: a plaintext packet is refused
        assertThatThrownBy(() -> Codec.decodePacket(plainPing, enc)).isInstanceOf(WireException.class);
        // another key: refused
        byte[] other = Codec.encodePacket(List.of(new Message.Nack(5)), new Codec.Options("", Keyring.of(new byte[24]), false, false));
        assertThatThrownBy(() -> Codec.decodePacket(other, enc)).isInstanceOf(WireException.class);
        // bad crc
        byte[] crc = Codec.withCrc(Codec.encode(new Message.Nack(5)));
        crc[crc.length - 1] ^= 1;
        assertThatThrownBy(() -> Codec.decodePacket(crc, Codec.Options.PLAIN)).isInstanceOf(WireException.class);
        // label mismatch either way
        byte[] labelled = Codec.encodePacket(List.of(new Message.Nack(5)), new Codec.Options("a", null, false, false));
        assertThatThrownBy(() -> Codec.decodePacket(labelled, Codec.Options.PLAIN)).isInstanceOf(WireException.class);
        assertThatThrownBy(() -> Codec.decodePacket(plainPing, new Codec.Options("a", null, false, false))).isInstanceOf(WireException.class);
        // unknown types, empty, framing types as messages, nested compress bombs
        for (String h : List.of("", "0e80", "0a00", "0c00", "07", "07020001", "f4", "f400", "f405ab", "09c0", "0980", "06")) {
            assertThatThrownBy(() -> Codec.decodePacket(HexFormat.of().parseHex(h), Codec.Options.PLAIN)).as(h).isInstanceOf(WireException.class);
        }
        // a compress frame that claims more than the packet limit
        byte[] big = Codec.compress(new byte[Codec.MAX_PACKET_DECOMPRESSED + 10]);
        assertThat(big.length).isLessThan(20_000);
        assertThatThrownBy(() -> Codec.decodePacket(big, Codec.Options.PLAIN)).isInstanceOf(WireException.class).hasMessageContaining("more than");
    }

    @Test
    void lzwMatchesGoVectors() {
        // Worked by hand from Go's compress/lzw (LSB, litWidth 8): clear(256), codes, eof(257), 9-bit LSB-first.
        // "" -> 256,257; "a" -> 256,97,257; "aaa" -> 256,97,258,257
        assertThat(HexFormat.of().formatHex(Lzw.encode(new byte[0]))).isEqualTo("000302");
        assertThat(HexFormat.of().formatHex(Lzw.encode("a".getBytes()))).isEqualTo("00c30404");
        assertThat(HexFormat.of().formatHex(Lzw.encode("aaa".getBytes()))).isEqualTo("00c3080c08");
        assertThat(Lzw.decode(HexFormat.of().parseHex("00c3080c08"), 100)).isEqualTo("aaa".getBytes());
        assertThat(Lzw.decode(HexFormat.of().parseHex("000302"), 100)).isEmpty();
        // no clear code first is fine for Go's reader too: 97, eof
        assertThat(Lzw.decode(new byte[] {97, 2, 2}, 100)).isEqualTo("a".getBytes());
        // missing end code, invalid code
        assertThatThrownBy(() -> Lzw.decode(HexFormat.of().parseHex("00c3"), 100)).isInstanceOf(WireException.class);
        assertThatThrownBy(() -> Lzw.decode(new byte[] {(byte) 0xff, (byte) 0xff}, 100)).isInstanceOf(WireException.class);
    }

    @Test
    void lzwRoundTripsThroughWidthGrowthAndTableResets() {
        SplittableRandom r = new SplittableRandom(42);
        for (int size : new int[] {1, 2, 100, 5_000, 70_000, 300_000}) {
            for (int alphabet : new int[] {2, 16, 256}) {
                byte[] in = new byte[size];
                for (int i = 0; i < size; i++) in[i] = (byte) r.nextInt(alphabet);
                assertThat(Lzw.decode(Lzw.encode(in), size)).as(size + "/" + alphabet).isEqualTo(in);
            }
        }
        byte[] text = "memberlist gossip ".repeat(2000).getBytes(StandardCharsets.UTF_8);
        assertThat(Lzw.encode(text).length).isLessThan(text.length / 10);
        assertThat(Lzw.decode(Lzw.encode(text), text.length)).isEqualTo(text);
    }

    @Test
    void pushPullStreamsRoundTrip() {
        var nodes = List.of(
                new PushPull.NodeEntry("a", IP4, 7946, new byte[] {(byte) 0xff, (byte) 0x80}, 3, NodeState.ALIVE, VSN),
                new PushPull.NodeEntry("b", IP6, 1, new byte[0], 0, NodeState.LEFT, VSN));
        PushPull pp = new PushPull(true, nodes, "serf-state".getBytes());
        Keyring ring = Keyring.of(new byte[32]);
        for (var o : List.of(Codec.Options.PLAIN, new Codec.Options("", null, true, false),
                new Codec.Options("x", ring, true, false), new Codec.Options("", ring, false, false))) {
            byte[] s = Codec.encodeStream(Codec.pushPullBody(pp), o, true);
            var in = (Codec.Inbound.State) Codec.decodeStream(s, o, true);
            assertThat(in.pushPull().join()).isTrue();
            assertThat(in.pushPull().userState()).isEqualTo("serf-state".getBytes());
            assertThat(in.pushPull().nodes()).hasSize(2);
            assertThat(in.pushPull().nodes().get(1).state()).isEqualTo(NodeState.LEFT);
            assertThat(in.pushPull().nodes().get(1).addr()).isEqualTo(IP6);
            assertThat(in.pushPull().nodes().get(0).meta()).containsExactly(0xff, 0x80);
            // the reply side reads without a label header
            byte[] reply = Codec.encodeStream(Codec.pushPullBody(pp), o, false);
            assertThat(Codec.decodeStream(reply, o, false)).isInstanceOf(Codec.Inbound.State.class);
            for (Message m : everyMessage()) {
                var msg = (Codec.Inbound.Msg) Codec.decodeStream(Codec.encodeStream(Codec.streamBody(m), o, true), o, true);
                assertSame(m, msg.message());
            }
        }
    }

    @Test
    void badStreamsThrowWireException() {
        byte[] s = Codec.encodeStream(Codec.pushPullBody(new PushPull(false, List.of(), new byte[100])), Codec.Options.PLAIN, true);
        for (int cut = 0; cut < s.length; cut++) {
            byte[] part = java.util.Arrays.copyOf(s, cut);
            assertThatThrownBy(() -> Codec.decodeStream(part, Codec.Options.PLAIN, true)).isInstanceOf(WireException.class);
        }
        // lying sizes
        for (String h : List.of("0a7fffffff", "06" + "83a54e6f646573ce7fffffff", "0681a74e6f646573ff",
                "08" + "81aa557365724d73674c656ece7fffffff", "0d81a54572726f72c3")) {
            assertThatThrownBy(() -> Codec.decodeStream(HexFormat.of().parseHex(h), new Codec.Options("", Keyring.of(new byte[16]), false, false), true))
                    .as(h).isInstanceOf(WireException.class);
            assertThatThrownBy(() -> Codec.decodeStream(HexFormat.of().parseHex(h), Codec.Options.PLAIN, true))
                    .as(h).isInstanceOf(WireException.class);
        }
    }
}

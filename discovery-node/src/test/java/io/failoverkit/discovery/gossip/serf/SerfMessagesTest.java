package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.serf.SerfMessages.EventsAt;
import io.failoverkit.discovery.gossip.serf.SerfMessages.Join;
import io.failoverkit.discovery.gossip.serf.SerfMessages.Leave;
import io.failoverkit.discovery.gossip.serf.SerfMessages.MalformedException;
import io.failoverkit.discovery.gossip.serf.SerfMessages.NamedPayload;
import io.failoverkit.discovery.gossip.serf.SerfMessages.PushPull;
import io.failoverkit.discovery.gossip.serf.SerfMessages.Unknown;
import io.failoverkit.discovery.gossip.serf.SerfMessages.UserEvent;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Serf's messages against bytes written out by hand from serf/messages.go's structs and go-msgpack's rules (a map
 * of the Go field names in declaration order; strings and []byte as msgpack raw, fixraw up to 31 bytes then raw16,
 * never str8; the smallest unsigned integer; nil for a nil slice or pointer).
 */
class SerfMessagesTest {
    private static byte[] hex(String s) { return HexFormat.of().parseHex(s.replace(" ", "")); }

    /** msgpack fixraw of an ASCII string. */
    private static String raw(String s) {
        return String.format("%02x", 0xa0 | s.length()) + HexFormat.of().formatHex(s.getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void joinIsTypeOneThenAMapOfLTimeAndNode() throws Exception {
        byte[] serf = hex("01 82" + raw("LTime") + "05" + raw("Node") + raw("a"));
        assertThat(SerfMessages.encode(new Join(5, "a"))).isEqualTo(serf);
        assertThat(SerfMessages.decode(serf)).isEqualTo(new Join(5, "a"));
    }

    @Test
    void leaveCarriesPruneAndAWiderLTime() throws Exception {
        // LTime 300 is a uint16 (0xcd), Prune false is 0xc2
        byte[] serf = hex("00 83" + raw("LTime") + "cd012c" + raw("Node") + raw("node-1") + raw("Prune") + "c2");
        assertThat(SerfMessages.encode(new Leave(300, "node-1", false))).isEqualTo(serf);
        assertThat(SerfMessages.decode(serf)).isEqualTo(new Leave(300, "node-1", false));
        Leave pruned = (Leave) SerfMessages.decode(SerfMessages.encode(new Leave(1L << 40, "x", true)));
        assertThat(pruned).isEqualTo(new Leave(1L << 40, "x", true));
    }

    @Test
    void userEventWithPayloadAndCoalesceFlag() throws Exception {
        byte[] serf = hex("03 84" + raw("LTime") + "01" + raw("Name") + raw("deploy") + raw("Payload") + raw("v1")
                + raw("CC") + "c3");
        UserEvent e = new UserEvent(1, "deploy", "v1".getBytes(StandardCharsets.UTF_8), true);
        assertThat(SerfMessages.encode(e)).isEqualTo(serf);
        assertThat(SerfMessages.decode(serf)).isEqualTo(e);
    }

    @Test
    void stringsOf32BytesAndMoreUseRaw16NeverStr8() throws Exception {
        String name = "n".repeat(40);
        byte[] b = SerfMessages.encode(new Join(0, name));
        // 01 82 | a5 LTime 00 | a4 Node | da 00 28 ...
        int at = 1 + 1 + 6 + 1 + 5;
        assertThat(b[at] & 0xFF).isEqualTo(0xda);
        assertThat(b[at + 1]).isEqualTo((byte) 0);
        assertThat(b[at + 2]).isEqualTo((byte) 40);
        assertThat(((Join) SerfMessages.decode(b)).node()).isEqualTo(name);
    }

    @Test
    void lamportTimesAreUint64AllTheWay() throws Exception {
        long max = -1L; // 2^64 - 1 as Go holds it
        byte[] b = SerfMessages.encode(new Join(max, "a"));
        assertThat(HexFormat.of().formatHex(b)).contains("cfffffffffffffffff");
        assertThat(((Join) SerfMessages.decode(b)).ltime()).isEqualTo(max);
    }

    @Test
    void goWritesNilForAnEmptyPayloadAndBinIsAcceptedToo() throws Exception {
        byte[] nilPayload = hex("03 84" + raw("LTime") + "02" + raw("Name") + raw("x") + raw("Payload") + "c0" + raw("CC") + "c2");
        assertThat(SerfMessages.decode(nilPayload)).isEqualTo(new UserEvent(2, "x", new byte[0], false));
        // a newer go-msgpack (WriteExt) writes []byte as bin8
        byte[] bin = hex("03 83" + raw("LTime") + "02" + raw("Name") + raw("x") + raw("Payload") + "c4 02 6869");
        assertThat(((UserEvent) SerfMessages.decode(bin)).payload()).isEqualTo("hi".getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void fieldsInAnyOrderUnknownOnesSkipped() throws Exception {
        byte[] b = hex("01 83" + raw("Node") + raw("b") + raw("Extra") + "93010203" + raw("LTime") + "07");
        assertThat(SerfMessages.decode(b)).isEqualTo(new Join(7, "b"));
    }

    /** Serf sends its whole event ring, 512 slots, the empty ones nil; and a nil LeftMembers. */
    @Test
    void pushPullAsSerfWritesIt() throws Exception {
        String events = "dc 0003 c0"                                     // array16 of 3: nil,
                + "82" + raw("LTime") + "06" + raw("Events")            // {LTime 6, Events:
                + "91 82" + raw("Name") + raw("deploy") + raw("Payload") + "c0" // [{deploy, nil}]}
                + "c0";                                                  // nil
        byte[] serf = hex("02 86" + raw("LTime") + "09"
                + raw("StatusLTimes") + "82" + raw("a") + "03" + raw("b") + "cc80"
                + raw("LeftMembers") + "c0"
                + raw("EventLTime") + "07"
                + raw("Events") + events
                + raw("QueryLTime") + "01");
        PushPull pp = (PushPull) SerfMessages.decode(serf);
        assertThat(pp.ltime()).isEqualTo(9);
        assertThat(pp.statusLTimes()).isEqualTo(Map.of("a", 3L, "b", 128L));
        assertThat(pp.leftMembers()).isEmpty();
        assertThat(pp.eventLTime()).isEqualTo(7);
        assertThat(pp.events()).containsExactly(new EventsAt(6, List.of(new NamedPayload("deploy", new byte[0]))));
        assertThat(pp.queryLTime()).isEqualTo(1);
    }

    @Test
    void pushPullRoundTrip() throws Exception {
        PushPull pp = new PushPull(12, Map.of("a", 1L, "b", 11L), List.of("b"), 40,
                List.of(new EventsAt(38, List.of(new NamedPayload("x", new byte[]{1, 2}), new NamedPayload("y", new byte[0]))),
                        new EventsAt(39, List.of(new NamedPayload("x", new byte[]{3})))), 2);
        PushPull back = (PushPull) SerfMessages.decode(SerfMessages.encode(pp));
        assertThat(back).isEqualTo(pp);
    }

    @Test
    void tagsAreMagicByteThenAStringMap() {
        byte[] serf = hex("ff 82" + raw("dc") + raw("east") + raw("role") + raw("web"));
        assertThat(SerfMessages.encodeTags(Map.of("role", "web", "dc", "east"))).isEqualTo(serf);
        assertThat(SerfMessages.decodeTags(serf)).isEqualTo(Map.of("role", "web", "dc", "east"));
        assertThat(SerfMessages.decodeTags(hex("ff 80"))).isEmpty();
    }

    @Test
    void legacyMetaIsTheRole() {
        assertThat(SerfMessages.decodeTags("db".getBytes(StandardCharsets.UTF_8))).isEqualTo(Map.of("role", "db"));
        assertThat(SerfMessages.decodeTags(new byte[0])).isEqualTo(Map.of("role", ""));
    }

    @Test
    void brokenTagsGiveNoTagsNotAnException() {
        assertThat(SerfMessages.decodeTags(hex("ff 82" + raw("a")))).isEmpty();
        assertThat(SerfMessages.decodeTags(hex("ff ffff"))).isEmpty();
        assertThat(SerfMessages.decodeTags(hex("ff dfffffffff"))).isEmpty();
    }

    @Test
    void otherSerfTypesAreUnknownNotErrors() throws Exception {
        for (int t = 4; t <= 9; t++) assertThat(SerfMessages.decode(new byte[]{(byte) t, (byte) 0x80})).isEqualTo(new Unknown(t));
        assertThat(SerfMessages.decode(new byte[]{(byte) 200})).isEqualTo(new Unknown(200));
    }

    @Test
    void malformedMessagesAreRefused() {
        byte[] join = SerfMessages.encode(new Join(5, "abc"));
        for (int cut = 0; cut < join.length; cut++) {
            byte[] t = java.util.Arrays.copyOf(join, cut);
            assertThatThrownBy(() -> SerfMessages.decode(t)).isInstanceOf(MalformedException.class);
        }
        // LTime as a string, a map claiming 2^32-1 entries, a raw32 claiming 4 GB, not a map at all
        assertThatThrownBy(() -> SerfMessages.decode(hex("01 81" + raw("LTime") + raw("x")))).isInstanceOf(MalformedException.class);
        assertThatThrownBy(() -> SerfMessages.decode(hex("02 df ffffffff"))).isInstanceOf(MalformedException.class);
        assertThatThrownBy(() -> SerfMessages.decode(hex("03 81 dbffffffff"))).isInstanceOf(MalformedException.class);
        assertThatThrownBy(() -> SerfMessages.decode(hex("01 93 010203"))).isInstanceOf(MalformedException.class);
        assertThatThrownBy(() -> SerfMessages.decode(hex("01 82" + raw("LTime") + "05" + raw("Node") + raw("a") + "00")))
                .isInstanceOf(MalformedException.class);
        // deep nesting
        ByteArrayOutputStream deep = new ByteArrayOutputStream();
        deep.write(2);
        for (int i = 0; i < 100; i++) deep.write(0x91);
        deep.write(0xc0);
        assertThatThrownBy(() -> SerfMessages.decode(deep.toByteArray())).isInstanceOf(MalformedException.class);
    }

    @Test
    void randomBytesNeverThrowAnythingElse() {
        Random r = new Random(10);
        byte[][] seeds = {
                SerfMessages.encode(new Join(5, "abc")),
                SerfMessages.encode(new UserEvent(9, "deploy", new byte[]{1, 2, 3}, true)),
                SerfMessages.encode(new PushPull(3, Map.of("a", 2L), List.of("a"), 4,
                        List.of(new EventsAt(3, List.of(new NamedPayload("e", new byte[]{7})))), 1))};
        for (int i = 0; i < 20_000; i++) {
            byte[] b = seeds[i % seeds.length].clone();
            int flips = 1 + r.nextInt(4);
            for (int f = 0; f < flips; f++) b[r.nextInt(b.length)] = (byte) r.nextInt(256);
            if (r.nextBoolean()) b = java.util.Arrays.copyOf(b, r.nextInt(b.length + 1));
            try {
                SerfMessages.decode(b);
            } catch (MalformedException expected) {
                // refused: fine
            }
            SerfMessages.decodeTags(b);
        }
    }
}

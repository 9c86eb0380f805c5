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
 * Serf's messages against bytes captured from Debian's serf agent (0.8.2-dev build, the interop target: tcpdump on
 * loopback between two agents, a user event fired, a third agent joining; memberlist's LZW and compound framing
 * taken off) and bytes written out by hand from serf/messages.go's structs and that go-msgpack's rules (a map of
 * the Go field names sorted by name; strings and []byte as msgpack raw, fixraw up to 31 bytes then raw16, never
 * str8; the smallest unsigned integer; nil for a nil slice or pointer).
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
        byte[] serf = hex("03 84" + raw("CC") + "c3" + raw("LTime") + "01" + raw("Name") + raw("deploy") + raw("Payload") + raw("v1"));
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
    void fieldsInAnyOrderUnknownOnesSkippedTrailingBytesIgnored() throws Exception {
        byte[] b = hex("01 83" + raw("Node") + raw("b") + raw("Extra") + "93010203" + raw("LTime") + "07");
        assertThat(SerfMessages.decode(b)).isEqualTo(new Join(7, "b"));
        // go-msgpack decodes one value and leaves the rest: so does this
        assertThat(SerfMessages.decode(hex("01 82" + raw("LTime") + "05" + raw("Node") + raw("a") + "00"))).isEqualTo(new Join(5, "a"));
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
        // a negative LTime (int8) is not a Lamport time
        assertThatThrownBy(() -> SerfMessages.decode(hex("01 81" + raw("LTime") + "ff"))).isInstanceOf(MalformedException.class);
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

    // ---- captured from stock serf (see the class comment)

    /** The user event "deploy" with payload "v1", coalescing on (serf event deploy v1), as gossiped. */
    private static final String SERF_USER_EVENT = "0384a24343c3a54c54696d6501a44e616d65a66465706c6f79a75061796c6f6164a27631";
    /** capb's join intent after serf join. */
    private static final String SERF_JOIN = "0182a54c54696d6501a44e6f6465a463617062";
    /** capb's leave intent on serf leave. */
    private static final String SERF_LEAVE = "0083a54c54696d6502a44e6f6465a463617062a55072756e65c2";
    /**
     * capa's push-pull state to a third agent joining after two events: the 512-slot event ring with slot 1 (deploy
     * v1) and slot 2 (restart, nil payload) filled; 509 nil slots written as NILS.
     */
    private static final String SERF_PUSH_PULL = "0286aa4576656e744c54696d6503a64576656e7473dc0200c0"
            + "82a64576656e74739182a44e616d65a66465706c6f79a75061796c6f6164a27631a54c54696d6501"
            + "82a64576656e74739182a44e616d65a772657374617274a75061796c6f6164c0a54c54696d6502"
            + "NILS"
            + "a54c54696d6502ab4c6566744d656d6265727390aa51756572794c54696d6501ac5374617475734c54696d657382a46361706100a46361706201";
    /** Node meta of capa (-tag role=web -tag dc=east), in Go's map order. */
    private static final String SERF_META = "ff82a4726f6c65a3776562a26463a465617374";

    @Test
    void capturedUserEventJoinAndLeaveDecodeAndReencodeByteForByte() throws Exception {
        UserEvent e = new UserEvent(1, "deploy", "v1".getBytes(StandardCharsets.UTF_8), true);
        assertThat(SerfMessages.decode(hex(SERF_USER_EVENT))).isEqualTo(e);
        assertThat(SerfMessages.encode(e)).isEqualTo(hex(SERF_USER_EVENT));
        assertThat(SerfMessages.decode(hex(SERF_JOIN))).isEqualTo(new Join(1, "capb"));
        assertThat(SerfMessages.encode(new Join(1, "capb"))).isEqualTo(hex(SERF_JOIN));
        assertThat(SerfMessages.decode(hex(SERF_LEAVE))).isEqualTo(new Leave(2, "capb", false));
        assertThat(SerfMessages.encode(new Leave(2, "capb", false))).isEqualTo(hex(SERF_LEAVE));
    }

    @Test
    void capturedPushPullDecodesWithItsEvents() throws Exception {
        byte[] serf = hex(SERF_PUSH_PULL.replace("NILS", "c0".repeat(509)));
        assertThat(serf).hasSize(671);
        PushPull pp = (PushPull) SerfMessages.decode(serf);
        assertThat(pp.ltime()).isEqualTo(2);
        assertThat(pp.eventLTime()).isEqualTo(3);
        assertThat(pp.queryLTime()).isEqualTo(1);
        assertThat(pp.statusLTimes()).isEqualTo(Map.of("capa", 0L, "capb", 1L));
        assertThat(pp.leftMembers()).isEmpty();
        assertThat(pp.events()).containsExactly(
                new EventsAt(1, List.of(new NamedPayload("deploy", "v1".getBytes(StandardCharsets.UTF_8)))),
                new EventsAt(2, List.of(new NamedPayload("restart", new byte[0]))));
        // ours leaves the empty slots out: same content, far fewer bytes
        byte[] ours = SerfMessages.encode(pp);
        assertThat(SerfMessages.decode(ours)).isEqualTo(pp);
        assertThat(ours.length).isLessThan(200);
    }

    @Test
    void capturedMetaDecodesToTheTags() {
        assertThat(SerfMessages.decodeTags(hex(SERF_META))).isEqualTo(Map.of("role", "web", "dc", "east"));
    }
}

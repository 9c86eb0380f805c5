package io.failoverkit.discovery.gossip.wire;

import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GoMsgpackTest {
    private static String hex(byte[] b) { return HexFormat.of().formatHex(b); }
    private static byte[] unhex(String s) { return HexFormat.of().parseHex(s); }

    @Test
    void writesGoMsgpackForms() {
        // raw strings: fixraw below 32, raw16 (0xda) from 32 (no str8 0xd9), bytes the same
        assertThat(hex(GoMsgpack.writer().str("ab").toByteArray())).isEqualTo("a26162");
        byte[] s40 = GoMsgpack.writer().str("x".repeat(40)).toByteArray();
        assertThat(hex(s40).substring(0, 6)).isEqualTo("da0028");
        assertThat(hex(GoMsgpack.writer().bytes(new byte[] {1, 2}).toByteArray())).isEqualTo("a20102");
        assertThat(hex(GoMsgpack.writer().bytes((byte[]) null).toByteArray())).isEqualTo("c0");
        // unsigned: fixint, uint8, uint16, uint32, uint64
        assertThat(hex(GoMsgpack.writer().uint(5).uint(200).uint(7946).uint(70000).uint(-1).toByteArray()))
                .isEqualTo("05" + "ccc8" + "cd1f0a" + "ce00011170" + "cfffffffffffffffff");
        // signed as go-msgpack: positive above 127 is int16/int32, negative fixint, int8
        assertThat(hex(GoMsgpack.writer().sint(3).sint(200).sint(100000).sint(-1).sint(-100).toByteArray()))
                .isEqualTo("03" + "d100c8" + "d2000186a0" + "ff" + "d09c");
        assertThat(hex(GoMsgpack.writer().map(2).str("Name", "n").uint("Port", 7946).toByteArray()))
                .isEqualTo("82" + "a44e616d65" + "a16e" + "a4506f7274" + "cd1f0a");
    }

    @Test
    void roundTripsAStruct() {
        byte[] b = GoMsgpack.writer().map(7)
                .str("Name", "node-1").bytes("Addr", new byte[] {127, 0, 0, 1}).uint("Port", 7946)
                .bool("Join", true).sint("State", 2).stringMap("Tags", Map.of("role", "db"))
                .bytesList("Filters", List.of(new byte[] {9}, new byte[0]))
                .toByteArray();
        GoMsgpack.Map m = GoMsgpack.decodeMap(b);
        assertThat(m.str("Name")).isEqualTo("node-1");
        assertThat(m.bytes("Addr")).containsExactly(127, 0, 0, 1);
        assertThat(m.uint16("Port")).isEqualTo(7946);
        assertThat(m.bool("Join")).isTrue();
        assertThat(m.int32("State")).isEqualTo(2);
        assertThat(m.stringMap("Tags")).containsEntry("role", "db");
        assertThat(m.bytesList("Filters")).hasSize(2);
        // missing fields are Go's zero values
        assertThat(m.str("Missing")).isEmpty();
        assertThat(m.uint32("Missing")).isZero();
        assertThat(m.map("Missing").size()).isZero();
    }

    @Test
    void readsNewSpecFormsAndSkipsUnknown() {
        // str8 (0xd9) and bin8 (0xc4) accepted as strings/bytes; uint32 form for a small number; unknown key with a nested value
        byte[] b = unhex("84" + "a44e616d65" + "d9026869" + "a441646472" + "c4020a0b" + "a4506f7274" + "ce00000005"
                + "a3587878" + "92" + "81a161c0" + "c3");
        GoMsgpack.Map m = GoMsgpack.decodeMap(b);
        assertThat(m.str("Name")).isEqualTo("hi");
        assertThat(m.bytes("Addr")).containsExactly(10, 11);
        assertThat(m.uint16("Port")).isEqualTo(5);
    }

    @Test
    void wrongTypesAndBadInputThrowWireException() {
        GoMsgpack.Map m = GoMsgpack.decodeMap(GoMsgpack.writer().map(2).str("Name", "x").uint("Port", 70000).toByteArray());
        assertThatThrownBy(() -> m.uint32("Name")).isInstanceOf(WireException.class).hasMessageContaining("Name");
        assertThatThrownBy(() -> m.uint16("Port")).isInstanceOf(WireException.class).hasMessageContaining("out of range");
        assertThatThrownBy(() -> m.bytes("Port")).isInstanceOf(WireException.class);
        // truncated, lying lengths, huge map header, not a map, deep nesting
        for (String h : List.of("", "82a4", "dbffffffff", "dfffffffff", "ddffffff00", "a3", "c1", "05")) {
            assertThatThrownBy(() -> GoMsgpack.decodeMap(unhex(h))).as(h).isInstanceOf(WireException.class);
        }
        assertThatThrownBy(() -> GoMsgpack.decodeMap(unhex("91".repeat(100) + "c0"))).isInstanceOf(WireException.class);
        assertThat(GoMsgpack.decodeMap(unhex("c0")).size()).isZero();
    }
}

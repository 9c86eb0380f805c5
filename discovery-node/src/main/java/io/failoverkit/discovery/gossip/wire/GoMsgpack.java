package io.failoverkit.discovery.gossip.wire;

import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePackException;
import org.msgpack.core.MessageUnpacker;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * MessagePack as HashiCorp's go-msgpack writes and reads it with a default {@code MsgpackHandle} (memberlist's and
 * Serf's codec): a Go struct is a map keyed by its field names; strings and {@code []byte} are both written as the old
 * spec's raw type (fixraw 0xa0.., raw16 0xda, raw32 0xdb; never str8 0xd9 nor bin, as WriteExt is off); unsigned Go
 * integers take the smallest unsigned form, signed ones the smallest signed form (a positive int above 127 is int16,
 * int32 or int64); a nil slice is nil.
 *
 * <p>Writing: {@code byte[] b = GoMsgpack.writer().map(3).str("Name", n).bytes("Addr", a).uint("Port", p).toByteArray();}
 * A map's field count must match the fields written after it (as in Go, all fields of a struct are written).
 *
 * <p>Reading: {@code GoMsgpack.Map m = GoMsgpack.reader(b).readMap(); m.str("Name"); m.uint16("Port");} The reader
 * takes str or bin for strings and bytes, any integer width, skips unknown keys (they are simply not asked for), and
 * reads nil or a missing field as Go's zero value (empty string, empty bytes, 0, false, empty map/list). A value of the
 * wrong type, a truncated or malformed input, or a length larger than what remains throws {@link WireException};
 * nothing else escapes and nothing is allocated beyond the input's size.
 */
public final class GoMsgpack {
    private static final MessagePack.PackerConfig PACKER = new MessagePack.PackerConfig().withStr8FormatSupport(false);
    private static final int MAX_DEPTH = 64;
    private static final int CHUNK = 64 * 1024;

    private GoMsgpack() {}

    public static Writer writer() {
        return new Writer();
    }

    public static Reader reader(byte[] buf) {
        return reader(buf, 0, buf.length);
    }

    public static Reader reader(byte[] buf, int off, int len) {
        if (off < 0 || len < 0 || off + len > buf.length) throw new WireException("bad buffer range");
        return new Reader(MessagePack.newDefaultUnpacker(buf, off, len), len);
    }

    /** A reader over a stream that reads at most {@code limit} bytes from it (lengths are bounded by what remains of it). */
    public static Reader reader(InputStream in, long limit) {
        return new Reader(MessagePack.newDefaultUnpacker(in), limit);
    }

    /** Decodes one map (a Go struct) from {@code buf}; trailing bytes are ignored, as go-msgpack's decoder does. */
    public static Map decodeMap(byte[] buf) {
        return reader(buf).readMap();
    }

    // ------------------------------------------------------------------------------------------------ writer

    /** Writes go-msgpack's encoding. Field methods ({@code str(key, v)}) write the key then the value. */
    public static final class Writer {
        private final MessageBufferPacker p = PACKER.newBufferPacker();

        private Writer() {}

        /** A map header (a Go struct with {@code fields} fields, or a Go map with that many entries). */
        public Writer map(int fields) {
            try { p.packMapHeader(fields); } catch (IOException e) { throw new AssertionError(e); }
            return this;
        }

        public Writer array(int size) {
            try { p.packArrayHeader(size); } catch (IOException e) { throw new AssertionError(e); }
            return this;
        }

        /** A bare raw string (a map key, an element). */
        public Writer str(String s) {
            return raw(s.getBytes(StandardCharsets.UTF_8));
        }

        /** A bare {@code []byte}; null is written as nil, as Go writes a nil slice. */
        public Writer bytes(byte[] b) {
            return b == null ? nil() : raw(b);
        }

        /** An unsigned Go integer (uint8..uint64); {@code v} is taken as unsigned 64 bits. */
        public Writer uint(long v) {
            try {
                if (v >= 0) {
                    p.packLong(v); // msgpack-core picks fixint, uint8, uint16, uint32, uint64: Go's EncodeUint
                } else {
                    byte[] b = new byte[9];
                    b[0] = (byte) 0xcf;
                    for (int i = 0; i < 8; i++) b[1 + i] = (byte) (v >>> (56 - 8 * i));
                    p.writePayload(b);
                }
            } catch (IOException e) { throw new AssertionError(e); }
            return this;
        }

        /** A signed Go integer (int, int8..int64), in go-msgpack's form: positive above 127 is int16/int32/int64. */
        public Writer sint(long v) {
            try {
                if (v >= -32 && v <= 127) {
                    p.writePayload(new byte[] {(byte) v});
                } else if (v >= Byte.MIN_VALUE && v < 0) {
                    p.writePayload(new byte[] {(byte) 0xd0, (byte) v});
                } else if (v >= Short.MIN_VALUE && v <= Short.MAX_VALUE) {
                    p.writePayload(new byte[] {(byte) 0xd1, (byte) (v >> 8), (byte) v});
                } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
                    p.writePayload(new byte[] {(byte) 0xd2, (byte) (v >> 24), (byte) (v >> 16), (byte) (v >> 8), (byte) v});
                } else {
                    byte[] b = new byte[9];
                    b[0] = (byte) 0xd3;
                    for (int i = 0; i < 8; i++) b[1 + i] = (byte) (v >>> (56 - 8 * i));
                    p.writePayload(b);
                }
            } catch (IOException e) { throw new AssertionError(e); }
            return this;
        }

        public Writer bool(boolean v) {
            try { p.packBoolean(v); } catch (IOException e) { throw new AssertionError(e); }
            return this;
        }

        /** A Go float64. */
        public Writer float64(double v) {
            try { p.packDouble(v); } catch (IOException e) { throw new AssertionError(e); }
            return this;
        }

        public Writer nil() {
            try { p.packNil(); } catch (IOException e) { throw new AssertionError(e); }
            return this;
        }

        /** Bytes already encoded (a nested value encoded by another writer). */
        public Writer encoded(byte[] msgpack) {
            try { p.writePayload(msgpack); } catch (IOException e) { throw new AssertionError(e); }
            return this;
        }

        // struct fields: key then value

        public Writer str(String key, String v) { return str(key).str(v); }

        public Writer bytes(String key, byte[] v) { return str(key).bytes(v); }

        public Writer uint(String key, long v) { return str(key).uint(v); }

        public Writer sint(String key, long v) { return str(key).sint(v); }

        public Writer bool(String key, boolean v) { return str(key).bool(v); }

        public Writer float64(String key, double v) { return str(key).float64(v); }

        /** A {@code map[string]string} field. */
        public Writer stringMap(String key, java.util.Map<String, String> m) {
            str(key);
            if (m == null) return nil();
            map(m.size());
            for (var e : m.entrySet()) str(e.getKey()).str(e.getValue());
            return this;
        }

        /** A {@code []string} field. */
        public Writer strings(String key, List<String> list) {
            str(key);
            if (list == null) return nil();
            array(list.size());
            for (String s : list) str(s);
            return this;
        }

        /** A {@code [][]byte} field. */
        public Writer bytesList(String key, List<byte[]> list) {
            str(key);
            if (list == null) return nil();
            array(list.size());
            for (byte[] b : list) bytes(b);
            return this;
        }

        /** The key of a field whose value the caller writes next (a nested struct, a list). */
        public Writer key(String key) { return str(key); }

        public int size() {
            return (int) p.getBufferSize();
        }

        public byte[] toByteArray() {
            return p.toByteArray();
        }

        private Writer raw(byte[] b) {
            try {
                p.packRawStringHeader(b.length); // fixraw, raw16, raw32 (str8 disabled): go-msgpack's legacy raw
                p.writePayload(b);
            } catch (IOException e) { throw new AssertionError(e); }
            return this;
        }
    }

    // ------------------------------------------------------------------------------------------------ reader

    /** An opaque msgpack extension value (never written by go-msgpack without WriteExt; kept so getters can refuse it). */
    public record Ext(int type, int length) {}

    /**
     * Reads go-msgpack values one after the other. Values are returned as: null (nil), Boolean, Long (any integer
     * that fits; a uint64 above Long.MAX_VALUE as BigInteger), Double, byte[] (str or bin), List, {@link Map}, Ext.
     */
    public static final class Reader {
        private final MessageUnpacker u;
        private final long limit;

        private Reader(MessageUnpacker u, long limit) {
            this.u = u;
            this.limit = limit;
        }

        /** Bytes consumed so far. */
        public long position() {
            return u.getTotalReadBytes();
        }

        /** Bytes left before the limit (for a byte array, before its end). */
        public long remaining() {
            return limit - u.getTotalReadBytes();
        }

        public boolean hasNext() {
            try {
                return remaining() > 0 && u.hasNext();
            } catch (IOException | MessagePackException e) {
                return false;
            }
        }

        /** One map (a Go struct); nil reads as an empty map. */
        public Map readMap() {
            Object v = readValue();
            if (v == null) return Map.EMPTY;
            if (v instanceof Map m) return m;
            throw new WireException("expected a map, found " + typeName(v));
        }

        /** One value of any type. */
        public Object readValue() {
            try {
                return value(0);
            } catch (WireException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new WireException("malformed msgpack: " + e.getMessage(), e);
            } catch (StackOverflowError | OutOfMemoryError e) {
                throw new WireException("msgpack too deep or too large", e);
            }
        }

        /** One raw byte (a framing type byte between msgpack values). */
        public int readByte() {
            return readBytes(1)[0] & 0xff;
        }

        /** {@code n} raw bytes (a payload after msgpack values); fails if fewer remain. */
        public byte[] readBytes(long n) {
            try {
                return payload(n);
            } catch (WireException e) {
                throw e;
            } catch (IOException | RuntimeException e) {
                throw new WireException("truncated: " + e.getMessage(), e);
            }
        }

        private Object value(int depth) throws IOException {
            if (depth > MAX_DEPTH) throw new WireException("msgpack nested deeper than " + MAX_DEPTH);
            if (remaining() <= 0) throw new WireException("truncated msgpack");
            MessageFormat f = u.getNextFormat();
            switch (f.getValueType()) {
                case NIL -> {
                    u.unpackNil();
                    return null;
                }
                case BOOLEAN -> {
                    return u.unpackBoolean();
                }
                case INTEGER -> {
                    if (f == MessageFormat.UINT64) {
                        BigInteger b = u.unpackBigInteger();
                        return b.bitLength() < 64 ? (Object) b.longValue() : b;
                    }
                    return u.unpackLong();
                }
                case FLOAT -> {
                    return u.unpackDouble();
                }
                case STRING -> {
                    return payload(u.unpackRawStringHeader());
                }
                case BINARY -> {
                    return payload(u.unpackBinaryHeader());
                }
                case ARRAY -> {
                    int n = u.unpackArrayHeader();
                    if (n < 0 || n > remaining()) throw new WireException("array of " + n + " longer than the input");
                    List<Object> list = new ArrayList<>(Math.min(n, 1024));
                    for (int i = 0; i < n; i++) list.add(value(depth + 1));
                    return Collections.unmodifiableList(list);
                }
                case MAP -> {
                    int n = u.unpackMapHeader();
                    if (n < 0 || n > remaining() / 2) throw new WireException("map of " + n + " longer than the input");
                    LinkedHashMap<String, Object> m = new LinkedHashMap<>(Math.min(n, 64) * 2);
                    for (int i = 0; i < n; i++) {
                        Object k = value(depth + 1);
                        Object v = value(depth + 1);
                        m.put(keyString(k), v);
                    }
                    return new Map(m);
                }
                case EXTENSION -> {
                    var h = u.unpackExtensionTypeHeader();
                    payload(h.getLength());
                    return new Ext(h.getType(), h.getLength());
                }
                default -> throw new WireException("invalid msgpack type byte");
            }
        }

        private byte[] payload(long n) throws IOException {
            if (n < 0 || n > remaining()) throw new WireException("length " + n + " exceeds the " + remaining() + " bytes left");
            if (n <= CHUNK) return u.readPayload((int) n);
            // large: grow with what actually arrives, so a lying length on a stream allocates no more than was sent
            byte[] out = new byte[CHUNK];
            int have = 0;
            while (have < n) {
                int step = (int) Math.min(CHUNK, n - have);
                if (out.length < have + step) out = Arrays.copyOf(out, (int) Math.min(n, Math.max(have + step, 2L * out.length)));
                u.readPayload(out, have, step);
                have += step;
            }
            return out.length == n ? out : Arrays.copyOf(out, have);
        }

        private static String keyString(Object k) {
            if (k instanceof byte[] b) return new String(b, StandardCharsets.UTF_8);
            return String.valueOf(k);
        }
    }

    static String typeName(Object v) {
        if (v == null) return "nil";
        if (v instanceof byte[]) return "string/bytes";
        if (v instanceof Long || v instanceof BigInteger) return "integer";
        if (v instanceof Boolean) return "bool";
        if (v instanceof Double) return "float";
        if (v instanceof List) return "array";
        if (v instanceof Map) return "map";
        return "extension";
    }

    // ------------------------------------------------------------------------------------------------ map view

    /**
     * A decoded map (a Go struct or a Go map with string keys). Getters read a field as a Go type; a missing field
     * or nil is Go's zero value; a value of the wrong type or out of the Go type's range throws {@link WireException}.
     */
    public static final class Map {
        static final Map EMPTY = new Map(new LinkedHashMap<>());

        private final java.util.Map<String, Object> values;

        Map(java.util.Map<String, Object> values) {
            this.values = Collections.unmodifiableMap(values);
        }

        public boolean has(String key) {
            return values.get(key) != null;
        }

        public Set<String> keys() {
            return values.keySet();
        }

        /** The raw decoded value (see {@link Reader}), null if missing or nil. */
        public Object get(String key) {
            return values.get(key);
        }

        public int size() {
            return values.size();
        }

        public String str(String key) {
            return new String(bytes(key), StandardCharsets.UTF_8);
        }

        public byte[] bytes(String key) {
            Object v = values.get(key);
            if (v == null) return new byte[0];
            if (v instanceof byte[] b) return b;
            throw wrong(key, "string/bytes", v);
        }

        public boolean bool(String key) {
            Object v = values.get(key);
            if (v == null) return false;
            if (v instanceof Boolean b) return b;
            throw wrong(key, "bool", v);
        }

        /** A uint64 as its 64 bits (values above Long.MAX_VALUE come back negative, as Java has no uint64). */
        public long uint64(String key) {
            Object v = values.get(key);
            if (v == null) return 0;
            if (v instanceof Long l) {
                if (l < 0) throw new WireException("field " + key + ": negative value " + l + " for an unsigned integer");
                return l;
            }
            if (v instanceof BigInteger b) return b.longValue();
            throw wrong(key, "integer", v);
        }

        public long uint32(String key) {
            return unsigned(key, 0xffffffffL);
        }

        public int uint16(String key) {
            return (int) unsigned(key, 0xffff);
        }

        public int uint8(String key) {
            return (int) unsigned(key, 0xff);
        }

        public long int64(String key) {
            Object v = values.get(key);
            if (v == null) return 0;
            if (v instanceof Long l) return l;
            throw wrong(key, "int64", v);
        }

        public int int32(String key) {
            long l = int64(key);
            if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) throw new WireException("field " + key + ": " + l + " out of int32 range");
            return (int) l;
        }

        public double float64(String key) {
            Object v = values.get(key);
            if (v == null) return 0;
            if (v instanceof Double d) return d;
            if (v instanceof Long l) return l;
            throw wrong(key, "float", v);
        }

        /** A nested struct or map; missing or nil is an empty map. */
        public Map map(String key) {
            Object v = values.get(key);
            if (v == null) return EMPTY;
            if (v instanceof Map m) return m;
            throw wrong(key, "map", v);
        }

        public List<Object> list(String key) {
            Object v = values.get(key);
            if (v == null) return List.of();
            if (v instanceof List<?> l) {
                @SuppressWarnings("unchecked") List<Object> lo = (List<Object>) l;
                return lo;
            }
            throw wrong(key, "array", v);
        }

        /** A {@code [][]byte}. */
        public List<byte[]> bytesList(String key) {
            List<byte[]> out = new ArrayList<>();
            for (Object o : list(key)) {
                if (o == null) out.add(new byte[0]);
                else if (o instanceof byte[] b) out.add(b);
                else throw wrong(key + "[]", "string/bytes", o);
            }
            return out;
        }

        /** A {@code []string}. */
        public List<String> strings(String key) {
            List<String> out = new ArrayList<>();
            for (byte[] b : bytesList(key)) out.add(new String(b, StandardCharsets.UTF_8));
            return out;
        }

        /** A {@code map[string]string}. */
        public java.util.Map<String, String> stringMap(String key) {
            Map m = map(key);
            java.util.Map<String, String> out = new LinkedHashMap<>();
            for (String k : m.keys()) out.put(k, m.str(k));
            return out;
        }

        private long unsigned(String key, long max) {
            Object v = values.get(key);
            if (v == null) return 0;
            if (v instanceof Long l) {
                if (l < 0 || l > max) throw new WireException("field " + key + ": " + l + " out of range 0.." + max);
                return l;
            }
            if (v instanceof BigInteger) throw new WireException("field " + key + ": " + v + " out of range 0.." + max);
            throw wrong(key, "integer", v);
        }

        private static WireException wrong(String key, String expected, Object v) {
            return new WireException("field " + key + ": expected " + expected + ", found " + typeName(v));
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("{");
            for (var e : values.entrySet()) {
                if (sb.length() > 1) sb.append(", ");
                Object v = e.getValue();
                sb.append(e.getKey()).append('=').append(v instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : v);
            }
            return sb.append('}').toString();
        }
    }
}

package io.failoverkit.discovery.gossip.serf;

import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePacker;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.core.buffer.ArrayBufferOutput;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Serf's gossip messages (serf/messages.go) and their bytes: one type byte, then the message struct as go-msgpack
 * writes it (a map keyed by the Go field names, in declaration order; strings and byte slices as msgpack "raw" with
 * no str8 header; unsigned integers in their smallest form). Decoding is lenient the way go-msgpack is (str or bin
 * for strings and bytes, nil for an empty value, unknown keys skipped, any integer width) and strict about
 * structure: a truncated or malformed message, or one that claims more elements than it has bytes, is refused
 * with a {@link MalformedException}, never an unchecked exception.
 *
 * <p>Only the four types Serf's membership and user events need are modelled; queries, query responses, key
 * requests and relays (types 4..9 and anything newer) decode to {@link Unknown}, which the caller counts and ignores.
 */
public final class SerfMessages {
    private SerfMessages() {}

    /** Serf's messageType bytes. */
    public static final int LEAVE = 0, JOIN = 1, PUSH_PULL = 2, USER_EVENT = 3;

    /** Nesting deeper than this is not a Serf message (Serf's deepest is push-pull: map, list, map, list, map). */
    private static final int MAX_DEPTH = 8;

    public sealed interface SerfMessage {}

    /** messageLeave: {@code node} intends to leave (or is forced out) as of {@code ltime}; prune erases it at once. */
    public record Leave(long ltime, String node, boolean prune) implements SerfMessage {}

    /** messageJoin: associates {@code node} with a Lamport time (sent after a join, or to refute a stale leave). */
    public record Join(long ltime, String node) implements SerfMessage {}

    /** messageUserEvent. {@code coalesce} is Serf's CC flag. */
    public record UserEvent(long ltime, String name, byte[] payload, boolean coalesce) implements SerfMessage {
        public UserEvent {
            payload = payload == null ? new byte[0] : payload;
        }

        @Override public boolean equals(Object o) {
            return o instanceof UserEvent u && u.ltime == ltime && u.coalesce == coalesce && u.name.equals(name)
                    && Arrays.equals(u.payload, payload);
        }

        @Override public int hashCode() { return Objects.hash(ltime, name, Arrays.hashCode(payload), coalesce); }

        @Override public String toString() { return "UserEvent[ltime=" + ltime + ", name=" + name + ", payload=" + payload.length + "B, cc=" + coalesce + "]"; }
    }

    /** One user event as kept in the event buffer (Serf's userEvent: name and payload). */
    public record NamedPayload(String name, byte[] payload) {
        public NamedPayload {
            payload = payload == null ? new byte[0] : payload;
        }

        @Override public boolean equals(Object o) {
            return o instanceof NamedPayload p && p.name.equals(name) && Arrays.equals(p.payload, payload);
        }

        @Override public int hashCode() { return 31 * name.hashCode() + Arrays.hashCode(payload); }

        @Override public String toString() { return "NamedPayload[" + name + ", " + payload.length + "B]"; }
    }

    /** The user events seen at one event time (Serf's userEvents). */
    public record EventsAt(long ltime, List<NamedPayload> events) {
        public EventsAt {
            events = List.copyOf(events);
        }
    }

    /**
     * messagePushPull: Serf's user state in a memberlist push-pull. {@code statusLTimes} maps every known member to
     * the Lamport time of its last join or leave intent; {@code leftMembers} are those that left.
     */
    public record PushPull(long ltime, Map<String, Long> statusLTimes, List<String> leftMembers, long eventLTime,
                           List<EventsAt> events, long queryLTime) implements SerfMessage {
        public PushPull {
            statusLTimes = Collections.unmodifiableMap(new TreeMap<>(statusLTimes));
            leftMembers = List.copyOf(leftMembers);
            events = List.copyOf(events);
        }
    }

    /** A message of a type this node does not handle (queries, key management, relays, future types). */
    public record Unknown(int type) implements SerfMessage {}

    /** The bytes were not a well-formed Serf message. */
    public static final class MalformedException extends Exception {
        public MalformedException(String message) { super(message); }
        public MalformedException(String message, Throwable cause) { super(message, cause); }
    }

    // ---------------------------------------------------------------- encoding

    public static byte[] encode(SerfMessage message) {
        try {
            Writer w = new Writer();
            switch (message) {
                case Leave m -> {
                    w.type(LEAVE).map(3);
                    w.key("LTime").uint(m.ltime());
                    w.key("Node").str(m.node());
                    w.key("Prune").bool(m.prune());
                }
                case Join m -> {
                    w.type(JOIN).map(2);
                    w.key("LTime").uint(m.ltime());
                    w.key("Node").str(m.node());
                }
                case UserEvent m -> {
                    w.type(USER_EVENT).map(4);
                    w.key("LTime").uint(m.ltime());
                    w.key("Name").str(m.name());
                    w.key("Payload").bytes(m.payload());
                    w.key("CC").bool(m.coalesce());
                }
                case PushPull m -> {
                    w.type(PUSH_PULL).map(6);
                    w.key("LTime").uint(m.ltime());
                    w.key("StatusLTimes").map(m.statusLTimes().size());
                    for (var e : m.statusLTimes().entrySet()) w.str(e.getKey()).uint(e.getValue());
                    w.key("LeftMembers").array(m.leftMembers().size());
                    for (String n : m.leftMembers()) w.str(n);
                    w.key("EventLTime").uint(m.eventLTime());
                    w.key("Events").array(m.events().size());
                    for (EventsAt at : m.events()) {
                        w.map(2).key("LTime").uint(at.ltime());
                        w.key("Events").array(at.events().size());
                        for (NamedPayload p : at.events()) {
                            w.map(2).key("Name").str(p.name());
                            w.key("Payload").bytes(p.payload());
                        }
                    }
                    w.key("QueryLTime").uint(m.queryLTime());
                }
                case Unknown u -> throw new IllegalArgumentException("cannot encode a message of unknown type " + u.type());
            }
            return w.bytes();
        } catch (IOException e) {
            throw new IllegalStateException("in-memory msgpack write failed", e);
        }
    }

    /**
     * Serf's tags as node meta: the magic byte 0xFF then a go-msgpack map[string]string (keys sorted, so equal tag
     * sets give equal bytes).
     */
    public static byte[] encodeTags(Map<String, String> tags) {
        try {
            Writer w = new Writer();
            w.type(0xFF).map(tags.size());
            for (var e : new TreeMap<>(tags).entrySet()) w.str(e.getKey()).str(e.getValue());
            return w.bytes();
        } catch (IOException e) {
            throw new IllegalStateException("in-memory msgpack write failed", e);
        }
    }

    /**
     * Node meta back to tags, as Serf's decodeTags: meta not starting with 0xFF is a pre-tags node's role
     * ({"role": meta}); a tag map that does not decode gives no tags (Serf logs and goes on), never an exception.
     */
    public static Map<String, String> decodeTags(byte[] meta) {
        Map<String, String> tags = new TreeMap<>();
        if (meta == null || meta.length == 0 || (meta[0] & 0xFF) != 0xFF) {
            tags.put("role", meta == null ? "" : new String(meta, StandardCharsets.UTF_8));
            return Collections.unmodifiableMap(tags);
        }
        try (Reader r = new Reader(meta, 1)) {
            Object v = r.value(0);
            if (v instanceof Map<?, ?> m) {
                for (var e : m.entrySet()) {
                    if (e.getValue() instanceof byte[] b) tags.put((String) e.getKey(), utf8(b));
                    else if (e.getValue() == null) tags.put((String) e.getKey(), "");
                }
            }
        } catch (MalformedException | IOException | RuntimeException e) {
            // keep what decoded; Serf does the same
        }
        return Collections.unmodifiableMap(tags);
    }

    // ---------------------------------------------------------------- decoding

    /** Decodes one Serf message (type byte included). */
    public static SerfMessage decode(byte[] buf) throws MalformedException {
        if (buf == null || buf.length == 0) throw new MalformedException("empty serf message");
        int type = buf[0] & 0xFF;
        if (type > USER_EVENT) return new Unknown(type);
        Map<String, Object> m;
        try (Reader r = new Reader(buf, 1)) {
            Object v = r.value(0);
            if (!(v instanceof Map<?, ?>)) throw new MalformedException("serf message type " + type + " is not a map");
            if (r.hasMore()) throw new MalformedException("trailing bytes after serf message type " + type);
            @SuppressWarnings("unchecked") Map<String, Object> mm = (Map<String, Object>) v;
            m = mm;
        } catch (IOException | RuntimeException e) {
            throw new MalformedException("undecodable serf message type " + type + ": " + e.getMessage(), e);
        }
        return switch (type) {
            case LEAVE -> new Leave(uint(m, "LTime"), str(m, "Node"), bool(m, "Prune"));
            case JOIN -> new Join(uint(m, "LTime"), str(m, "Node"));
            case USER_EVENT -> new UserEvent(uint(m, "LTime"), str(m, "Name"), bytes(m, "Payload"), bool(m, "CC"));
            default -> pushPull(m);
        };
    }

    private static PushPull pushPull(Map<String, Object> m) throws MalformedException {
        Map<String, Long> status = new LinkedHashMap<>();
        Object st = m.get("StatusLTimes");
        if (st != null) {
            if (!(st instanceof Map<?, ?> sm)) throw new MalformedException("StatusLTimes is not a map");
            for (var e : sm.entrySet()) {
                if (!(e.getValue() instanceof Long l)) throw new MalformedException("StatusLTimes value is not an integer");
                status.put((String) e.getKey(), l);
            }
        }
        List<String> left = new ArrayList<>();
        for (Object o : list(m, "LeftMembers")) {
            if (o == null) continue;
            if (!(o instanceof byte[] b)) throw new MalformedException("LeftMembers entry is not a string");
            left.add(utf8(b));
        }
        List<EventsAt> events = new ArrayList<>();
        for (Object o : list(m, "Events")) {
            if (o == null) continue; // Serf sends its whole ring, empty slots as nil
            if (!(o instanceof Map<?, ?> raw)) throw new MalformedException("Events entry is not a map");
            @SuppressWarnings("unchecked") Map<String, Object> at = (Map<String, Object>) raw;
            List<NamedPayload> named = new ArrayList<>();
            for (Object e : list(at, "Events")) {
                if (e == null) continue;
                if (!(e instanceof Map<?, ?> er)) throw new MalformedException("user event entry is not a map");
                @SuppressWarnings("unchecked") Map<String, Object> em = (Map<String, Object>) er;
                named.add(new NamedPayload(str(em, "Name"), bytes(em, "Payload")));
            }
            events.add(new EventsAt(uint(at, "LTime"), named));
        }
        return new PushPull(uint(m, "LTime"), status, left, uint(m, "EventLTime"), events, uint(m, "QueryLTime"));
    }

    private static long uint(Map<String, Object> m, String key) throws MalformedException {
        Object v = m.get(key);
        if (v == null) return 0;
        if (v instanceof Long l) return l;
        throw new MalformedException(key + " is not an integer");
    }

    private static boolean bool(Map<String, Object> m, String key) throws MalformedException {
        Object v = m.get(key);
        if (v == null) return false;
        if (v instanceof Boolean b) return b;
        throw new MalformedException(key + " is not a bool");
    }

    private static String str(Map<String, Object> m, String key) throws MalformedException {
        return utf8(bytes(m, key));
    }

    private static byte[] bytes(Map<String, Object> m, String key) throws MalformedException {
        Object v = m.get(key);
        if (v == null) return new byte[0];
        if (v instanceof byte[] b) return b;
        throw new MalformedException(key + " is not a string");
    }

    private static List<?> list(Map<String, Object> m, String key) throws MalformedException {
        Object v = m.get(key);
        if (v == null) return List.of();
        if (v instanceof List<?> l) return l;
        throw new MalformedException(key + " is not a list");
    }

    private static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    // ---------------------------------------------------------------- go-msgpack conventions over msgpack-core

    /** Writes as go-msgpack's MsgpackHandle (WriteExt off): raw strings with no str8, uint64 as unsigned. */
    private static final class Writer {
        private final ArrayBufferOutput out = new ArrayBufferOutput(64);
        private final MessagePacker p = new MessagePack.PackerConfig().withStr8FormatSupport(false).newPacker(out);

        Writer type(int t) throws IOException {
            p.writePayload(new byte[]{(byte) t});
            return this;
        }

        Writer map(int n) throws IOException { p.packMapHeader(n); return this; }

        Writer array(int n) throws IOException { p.packArrayHeader(n); return this; }

        Writer key(String k) throws IOException { return str(k); }

        Writer str(String s) throws IOException { return bytes(s.getBytes(StandardCharsets.UTF_8)); }

        Writer bytes(byte[] b) throws IOException {
            p.packRawStringHeader(b.length);
            p.writePayload(b);
            return this;
        }

        Writer uint(long v) throws IOException {
            if (v >= 0) p.packLong(v);
            else p.packBigInteger(new BigInteger(Long.toUnsignedString(v)));
            return this;
        }

        Writer bool(boolean b) throws IOException { p.packBoolean(b); return this; }

        byte[] bytes() throws IOException {
            p.flush();
            return out.toByteArray();
        }
    }

    /**
     * A bounded generic reader: maps (string keys) to {@link LinkedHashMap}, arrays to lists, str/bin to byte[],
     * integers to Long (uint64 by its bits), bools, nil to null. Every length is checked against the bytes left, so a
     * header claiming 2^32 elements fails instead of allocating.
     */
    private static final class Reader implements AutoCloseable {
        private final MessageUnpacker u;
        private final int length;

        Reader(byte[] buf, int offset) {
            this.u = MessagePack.newDefaultUnpacker(buf, offset, buf.length - offset);
            this.length = buf.length - offset;
        }

        boolean hasMore() throws IOException { return u.hasNext(); }

        private long left() { return length - u.getTotalReadBytes(); }

        Object value(int depth) throws IOException, MalformedException {
            if (depth > MAX_DEPTH) throw new MalformedException("nested too deep");
            if (!u.hasNext()) throw new MalformedException("truncated");
            MessageFormat f = u.getNextFormat();
            switch (f.getValueType()) {
                case NIL -> { u.unpackNil(); return null; }
                case BOOLEAN -> { return u.unpackBoolean(); }
                case INTEGER -> {
                    if (f == MessageFormat.UINT64) return u.unpackBigInteger().longValue();
                    return u.unpackLong();
                }
                case STRING -> { return payload(u.unpackRawStringHeader()); }
                case BINARY -> { return payload(u.unpackBinaryHeader()); }
                case ARRAY -> {
                    int n = u.unpackArrayHeader();
                    if (n < 0 || n > left()) throw new MalformedException("array of " + n + " with " + left() + " bytes left");
                    List<Object> l = new ArrayList<>(n);
                    for (int i = 0; i < n; i++) l.add(value(depth + 1));
                    return l;
                }
                case MAP -> {
                    int n = u.unpackMapHeader();
                    if (n < 0 || 2L * n > left()) throw new MalformedException("map of " + n + " with " + left() + " bytes left");
                    Map<String, Object> m = new LinkedHashMap<>();
                    for (int i = 0; i < n; i++) {
                        Object k = value(depth + 1);
                        if (!(k instanceof byte[] kb)) throw new MalformedException("map key is not a string");
                        m.put(utf8(kb), value(depth + 1));
                    }
                    return m;
                }
                default -> throw new MalformedException("unexpected msgpack " + f);
            }
        }

        private byte[] payload(int n) throws IOException, MalformedException {
            if (n < 0 || n > left()) throw new MalformedException("string of " + n + " with " + left() + " bytes left");
            return u.readPayload(n);
        }

        @Override public void close() throws IOException { u.close(); }
    }
}

package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.wire.GoMsgpack;

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
 * Serf's gossip messages (serf/messages.go) and their bytes: one type byte, then the message struct as the
 * go-msgpack of Serf 0.8/0.9 writes it (a map keyed by the Go field names, sorted by name, as captured from
 * Debian's serf agent; strings and byte slices as msgpack "raw" with no str8 header; unsigned integers in their
 * smallest form). Decoding is lenient the way go-msgpack is (str or bin
 * for strings and bytes, nil for an empty value, unknown keys skipped, any integer width) and strict about
 * structure: a truncated or malformed message, or one that claims more elements than it has bytes, is refused
 * with a {@link MalformedException}, never an unchecked exception. The msgpack itself is {@link GoMsgpack}'s.
 *
 * <p>Only the four types Serf's membership and user events need are modelled; queries, query responses, key
 * requests and relays (types 4..9 and anything newer) decode to {@link Unknown}, which the caller counts and ignores.
 */
public final class SerfMessages {
    private SerfMessages() {}

    /** Serf's messageType bytes. */
    public static final int LEAVE = 0, JOIN = 1, PUSH_PULL = 2, USER_EVENT = 3;

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
        GoMsgpack.Writer w = GoMsgpack.writer();
        switch (message) {
            case Leave m -> w.encoded(new byte[]{LEAVE}).map(3)
                    .uint("LTime", m.ltime())
                    .str("Node", m.node())
                    .bool("Prune", m.prune());
            case Join m -> w.encoded(new byte[]{JOIN}).map(2)
                    .uint("LTime", m.ltime())
                    .str("Node", m.node());
            case UserEvent m -> w.encoded(new byte[]{USER_EVENT}).map(4)
                    .bool("CC", m.coalesce())
                    .uint("LTime", m.ltime())
                    .str("Name", m.name())
                    .bytes("Payload", m.payload());
            case PushPull m -> {
                w.encoded(new byte[]{PUSH_PULL}).map(6);
                w.uint("EventLTime", m.eventLTime());
                w.key("Events").array(m.events().size());
                for (EventsAt at : m.events()) {
                    w.map(2).key("Events").array(at.events().size());
                    for (NamedPayload p : at.events()) w.map(2).str("Name", p.name()).bytes("Payload", p.payload());
                    w.uint("LTime", at.ltime());
                }
                w.uint("LTime", m.ltime());
                w.strings("LeftMembers", m.leftMembers());
                w.uint("QueryLTime", m.queryLTime());
                w.key("StatusLTimes").map(m.statusLTimes().size());
                for (var e : m.statusLTimes().entrySet()) w.str(e.getKey()).uint(e.getValue());
            }
            case Unknown u -> throw new IllegalArgumentException("cannot encode a message of unknown type " + u.type());
        }
        return w.toByteArray();
    }

    /**
     * Serf's tags as node meta: the magic byte 0xFF then a go-msgpack map[string]string (keys sorted, so equal tag
     * sets give equal bytes).
     */
    public static byte[] encodeTags(Map<String, String> tags) {
        GoMsgpack.Writer w = GoMsgpack.writer().encoded(new byte[]{(byte) 0xFF}).map(tags.size());
        for (var e : new TreeMap<>(tags).entrySet()) w.str(e.getKey()).str(e.getValue());
        return w.toByteArray();
    }

    /**
     * Node meta back to tags, as Serf's decodeTags: meta not starting with 0xFF is a pre-tags node's role
     * ({"role": meta}); a tag map that does not decode gives no tags (Serf logs and goes on), never an exception;
     * a value that is not a string is skipped.
     */
    public static Map<String, String> decodeTags(byte[] meta) {
        Map<String, String> tags = new TreeMap<>();
        if (meta == null || meta.length == 0 || (meta[0] & 0xFF) != 0xFF) {
            tags.put("role", meta == null ? "" : new String(meta, StandardCharsets.UTF_8));
            return Collections.unmodifiableMap(tags);
        }
        try {
            GoMsgpack.Map m = GoMsgpack.reader(meta, 1, meta.length - 1).readMap();
            for (String k : m.keys()) {
                Object v = m.get(k);
                if (v == null || v instanceof byte[]) tags.put(k, m.str(k));
            }
        } catch (RuntimeException e) { // WireException, or anything a hostile input provokes
            return Map.of();
        }
        return Collections.unmodifiableMap(tags);
    }

    // ---------------------------------------------------------------- decoding

    /** Decodes one Serf message (type byte included); bytes after the message are ignored, as Go's decoder does. */
    public static SerfMessage decode(byte[] buf) throws MalformedException {
        if (buf == null || buf.length == 0) throw new MalformedException("empty serf message");
        int type = buf[0] & 0xFF;
        if (type > USER_EVENT) return new Unknown(type);
        try {
            GoMsgpack.Reader r = GoMsgpack.reader(buf, 1, buf.length - 1);
            Object v = r.readValue();
            if (!(v instanceof GoMsgpack.Map m)) throw new MalformedException("serf message type " + type + " is not a map");
            return switch (type) {
                case LEAVE -> new Leave(m.uint64("LTime"), m.str("Node"), m.bool("Prune"));
                case JOIN -> new Join(m.uint64("LTime"), m.str("Node"));
                case USER_EVENT -> new UserEvent(m.uint64("LTime"), m.str("Name"), m.bytes("Payload"), m.bool("CC"));
                default -> pushPull(m);
            };
        } catch (RuntimeException e) { // WireException, or anything a hostile input provokes
            throw new MalformedException("undecodable serf message type " + type + ": " + e.getMessage(), e);
        }
    }

    private static PushPull pushPull(GoMsgpack.Map m) throws MalformedException {
        Map<String, Long> status = new LinkedHashMap<>();
        GoMsgpack.Map st = m.map("StatusLTimes");
        for (String k : st.keys()) status.put(k, st.uint64(k));
        List<EventsAt> events = new ArrayList<>();
        for (Object o : m.list("Events")) {
            if (o == null) continue; // Serf sends its whole ring, empty slots as nil
            if (!(o instanceof GoMsgpack.Map at)) throw new MalformedException("Events entry is not a map");
            List<NamedPayload> named = new ArrayList<>();
            for (Object e : at.list("Events")) {
                if (e == null) continue;
                if (!(e instanceof GoMsgpack.Map em)) throw new MalformedException("user event entry is not a map");
                named.add(new NamedPayload(em.str("Name"), em.bytes("Payload")));
            }
            events.add(new EventsAt(at.uint64("LTime"), named));
        }
        return new PushPull(m.uint64("LTime"), status, m.strings("LeftMembers"), m.uint64("EventLTime"), events,
                m.uint64("QueryLTime"));
    }
}

package io.failoverkit.discovery.cluster;

import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ValueType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.function.Supplier;

/**
 * User events as Consul carries them over Serf: the Serf user event is named {@code consul:event:<name>} and its
 * payload is a msgpack map (Consul's UserEvent: ID, n, p, nf, sf, tf, v) saying which nodes should act on it. An
 * agent keeps the last {@link #BUFFER} events that passed its filters for /v1/event/list, whose index is a hash of
 * the newest event's ID (not monotonic: a blocking query waits while the index equals the one it was given).
 *
 * <p>A Serf user event without the prefix (a stock {@code serf event deploy x}) is taken as it is: every agent
 * acts on it, named as Serf named it.
 */
public final class UserEvents {
    /** Consul's prefix for the Serf user events that carry its events. */
    public static final String PREFIX = "consul:event:";
    /** Consul keeps the last 256 events. */
    public static final int BUFFER = 256;
    /** The user event version Consul writes and understands. */
    public static final int VERSION = 1;

    /** Consul's UserEvent, as /v1/event/fire returns it and /v1/event/list lists it. */
    public record Event(String id, String name, byte[] payload, String nodeFilter, String serviceFilter, String tagFilter, int version, long ltime) {
        public Event withLtime(long t) { return new Event(id, name, payload, nodeFilter, serviceFilter, tagFilter, version, t); }
    }

    /** A local service as the filters see it. */
    public record LocalService(String name, List<String> tags) {}

    private final String nodeName;
    private final Supplier<Collection<LocalService>> services;
    private final Event[] ring = new Event[BUFFER];
    private int next;
    private int count;
    private final List<CompletableFuture<Void>> waiters = new CopyOnWriteArrayList<>();

    public UserEvents(String nodeName, Supplier<Collection<LocalService>> services) {
        this.nodeName = nodeName;
        this.services = services;
    }

    /** Checks a fire request as Consul does; the message says what is wrong. */
    public static void validate(String name, String nodeFilter, String serviceFilter, String tagFilter) {
        if (name == null || name.isEmpty()) throw new IllegalArgumentException("User event missing name");
        if (!empty(tagFilter) && empty(serviceFilter)) throw new IllegalArgumentException("Cannot provide tag filter without service filter");
        compile("node", nodeFilter);
        compile("service", serviceFilter);
        compile("tag", tagFilter);
    }

    private static Pattern compile(String what, String re) {
        if (empty(re)) return null;
        try {
            return Pattern.compile(re);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("Invalid " + what + " filter: " + e.getDescription());
        }
    }

    private static boolean empty(String s) { return s == null || s.isEmpty(); }

    /** A new event to fire: a fresh ID, version 1, LTime 0 (the Lamport time is set where it is received). */
    public static Event newEvent(String name, byte[] payload, String nodeFilter, String serviceFilter, String tagFilter) {
        validate(name, nodeFilter, serviceFilter, tagFilter);
        return new Event(UUID.randomUUID().toString(), name, payload == null || payload.length == 0 ? null : payload.clone(),
                nullToEmpty(nodeFilter), nullToEmpty(serviceFilter), nullToEmpty(tagFilter), VERSION, 0);
    }

    private static String nullToEmpty(String s) { return s == null ? "" : s; }

    /** The Serf user event name that carries {@code e}. */
    public static String serfName(Event e) { return PREFIX + e.name(); }

    /** Consul's msgpack encoding of the event (the Serf user event's payload). */
    public static byte[] encode(Event e) {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            int fields = 3 + (e.payload() == null ? 0 : 1) + (e.nodeFilter().isEmpty() ? 0 : 1) + (e.serviceFilter().isEmpty() ? 0 : 1)
                    + (e.tagFilter().isEmpty() ? 0 : 1);
            p.packMapHeader(fields);
            str(p, "ID"); str(p, e.id());
            str(p, "n"); str(p, e.name());
            if (e.payload() != null) { str(p, "p"); p.packRawStringHeader(e.payload().length); p.writePayload(e.payload()); }
            if (!e.nodeFilter().isEmpty()) { str(p, "nf"); str(p, e.nodeFilter()); }
            if (!e.serviceFilter().isEmpty()) { str(p, "sf"); str(p, e.serviceFilter()); }
            if (!e.tagFilter().isEmpty()) { str(p, "tf"); str(p, e.tagFilter()); }
            str(p, "v"); p.packInt(e.version());
            return p.toByteArray();
        } catch (IOException ex) {
            throw new IllegalStateException("encoding a user event cannot fail in memory", ex);
        }
    }

    private static void str(MessageBufferPacker p, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        p.packRawStringHeader(b.length);
        p.writePayload(b);
    }

    /** Decodes Consul's envelope; empty when the bytes are not one (never throws on bad input). */
    public static Optional<Event> decode(byte[] data, long ltime) {
        if (data == null || data.length == 0 || data.length > 64 * 1024) return Optional.empty();
        try (MessageUnpacker u = MessagePack.newDefaultUnpacker(data)) {
            if (u.getNextFormat().getValueType() != ValueType.MAP) return Optional.empty();
            int n = u.unpackMapHeader();
            String id = null, name = null, nf = "", sf = "", tf = "";
            byte[] payload = null;
            int version = 0;
            for (int i = 0; i < n; i++) {
                if (u.getNextFormat().getValueType() != ValueType.STRING) { u.skipValue(); u.skipValue(); continue; }
                String key = u.unpackString();
                MessageFormat f = u.getNextFormat();
                switch (key) {
                    case "ID" -> id = text(u, f);
                    case "n", "Name" -> name = text(u, f);
                    case "p", "Payload" -> payload = bytes(u, f);
                    case "nf", "NodeFilter" -> nf = orEmpty(text(u, f));
                    case "sf", "ServiceFilter" -> sf = orEmpty(text(u, f));
                    case "tf", "TagFilter" -> tf = orEmpty(text(u, f));
                    case "v", "Version" -> {
                        if (f.getValueType() == ValueType.INTEGER) version = (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, u.unpackLong()));
                        else u.skipValue();
                    }
                    default -> u.skipValue();
                }
            }
            if (name == null || name.isEmpty()) return Optional.empty();
            if (id == null) id = "";
            return Optional.of(new Event(id, name, payload, nf, sf, tf, version, ltime));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static String orEmpty(String s) { return s == null ? "" : s; }

    private static String text(MessageUnpacker u, MessageFormat f) throws IOException {
        return switch (f.getValueType()) {
            case STRING -> u.unpackString();
            case BINARY -> new String(u.readPayload(u.unpackBinaryHeader()), StandardCharsets.UTF_8);
            case NIL -> { u.unpackNil(); yield null; }
            default -> { u.skipValue(); yield null; }
        };
    }

    private static byte[] bytes(MessageUnpacker u, MessageFormat f) throws IOException {
        return switch (f.getValueType()) {
            case STRING -> u.readPayload(u.unpackRawStringHeader());
            case BINARY -> u.readPayload(u.unpackBinaryHeader());
            case NIL -> { u.unpackNil(); yield null; }
            default -> { u.skipValue(); yield null; }
        };
    }

    /**
     * A Serf user event arrived: returns the event this agent acts on (and lists), or empty when the filters say it
     * is for other nodes or the envelope is unreadable. A plain Serf event (no Consul prefix) is for every node.
     */
    public Optional<Event> receive(String serfName, byte[] serfPayload, long ltime) {
        Event e;
        if (serfName.startsWith(PREFIX)) {
            Optional<Event> d = decode(serfPayload, ltime);
            if (d.isEmpty()) return Optional.empty();
            e = d.get();
        } else {
            e = new Event(UUID.nameUUIDFromBytes((ltime + ":" + serfName).getBytes(StandardCharsets.UTF_8)).toString(), serfName,
                    serfPayload == null || serfPayload.length == 0 ? null : serfPayload.clone(), "", "", "", VERSION, ltime);
        }
        if (!accepts(e)) return Optional.empty();
        ingest(e);
        return Optional.of(e);
    }

    /**
     * Consul's shouldProcessUserEvent: the node filter matches this node, the service (and tag) filter a local service.
     * Filters come from whoever fired the event, and Java's regexes backtrack (Consul's RE2 does not): each match is
     * given a budget of character reads, and a filter that spends it selects nothing here (a crafted "(\\w|\\w)*!"
     * would otherwise hold the event thread of every agent for hours).
     */
    boolean accepts(Event e) {
        try {
            Pattern node = compile("node", e.nodeFilter());
            if (node != null && !find(node, nodeName)) return false;
            Pattern svc = compile("service", e.serviceFilter());
            if (svc == null) return true;
            Pattern tag = compile("tag", e.tagFilter());
            for (LocalService s : services.get()) {
                if (!find(svc, s.name())) continue;
                if (tag == null) return true;
                for (String t : s.tags()) if (find(tag, t)) return true;
            }
            return false;
        } catch (IllegalArgumentException bad) {
            return false; // a filter we cannot compile selects nothing here, as Consul logs and skips it
        } catch (RegexBudget.Spent spent) {
            org.slf4j.LoggerFactory.getLogger(UserEvents.class).warn("user event {}: a filter took too long to match and selects nothing here", e.name());
            return false;
        }
    }

    /** Character reads one filter match may make (a sane filter on a name needs a few hundred). */
    static final int REGEX_BUDGET = 1_000_000;

    private static boolean find(Pattern p, String s) {
        return p.matcher(new RegexBudget(s, REGEX_BUDGET)).find();
    }

    /** A string whose characters may be read {@code budget} times in all, then {@link Spent} is thrown. */
    private static final class RegexBudget implements CharSequence {
        static final class Spent extends RuntimeException {
            Spent() { super("regex budget spent", null, false, false); }
        }

        private final String s;
        private int left;

        RegexBudget(String s, int budget) {
            this.s = s;
            this.left = budget;
        }

        @Override public int length() { return s.length(); }

        @Override public char charAt(int i) {
            if (--left < 0) throw new Spent();
            return s.charAt(i);
        }

        @Override public CharSequence subSequence(int a, int b) { return s.subSequence(a, b); }

        @Override public String toString() { return s; }
    }

    private void ingest(Event e) {
        synchronized (ring) {
            ring[next] = e;
            next = (next + 1) % BUFFER;
            count = Math.min(count + 1, BUFFER);
        }
        for (CompletableFuture<Void> w : waiters) {
            waiters.remove(w);
            w.complete(null);
        }
    }

    /** The buffered events, oldest first. */
    public List<Event> list() {
        synchronized (ring) {
            List<Event> out = new ArrayList<>(count);
            int start = (next - count + BUFFER) % BUFFER;
            for (int i = 0; i < count; i++) out.add(ring[(start + i) % BUFFER]);
            return out;
        }
    }

    /** Completes at the next event ingested (for a blocking /v1/event/list). */
    public CompletableFuture<Void> nextEvent() {
        CompletableFuture<Void> f = new CompletableFuture<>();
        waiters.add(f);
        f.whenComplete((x, err) -> waiters.remove(f));
        return f;
    }

    /** Consul's X-Consul-Index for an event list: a hash of the last event's ID, 1 when there is none. */
    public static long index(List<Event> events) {
        if (events.isEmpty()) return 1;
        return uuidToLong(events.get(events.size() - 1).id());
    }

    /** Consul's uuidToUint64: the first 16 hex digits XOR the last 16 (0 when the ID is no UUID). */
    static long uuidToLong(String uuid) {
        if (uuid == null || uuid.length() != 36) return 0;
        try {
            long low = Long.parseUnsignedLong(uuid.substring(0, 8) + uuid.substring(9, 13) + uuid.substring(14, 18), 16);
            long high = Long.parseUnsignedLong(uuid.substring(19, 23) + uuid.substring(24, 36), 16);
            return low ^ high;
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}

package io.failoverkit.discovery.gossip.wire;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.CRC32;

/**
 * memberlist's wire format (net.go, util.go, security.go, label.go), byte for byte.
 *
 * <p>A message is its type byte followed by the go-msgpack map of memberlist's struct (fields in Go's order, the
 * {@code omitempty} source fields of ping and indirect ping left out when empty), except a user message in a packet,
 * which is the type byte followed by the raw payload. Framing around messages:
 * <ul>
 *   <li>compound (7): count byte, count big-endian uint16 lengths, the messages; a part cut short ends the list.</li>
 *   <li>compress (9): the go-msgpack map {@code {Algo: 0, Buf: lzw}} of the framed payload ({@link Lzw}).</li>
 *   <li>hasCrc (12): big-endian CRC-32 (IEEE) of what follows, checked on receipt (outermost layer only, as Go).</li>
 *   <li>encryption (packets): the whole packet sealed ({@link Crypto}), the label as additional data.</li>
 *   <li>label (244): {@code [244][len][label]} in front of a packet, or once at the start of a dialed stream.</li>
 * </ul>
 * Streams: {@code [10][uint32 length][sealed]} when encrypted (the five header bytes plus the label as additional
 * data), inside it an optional compress frame, inside that the message: push-pull is {@code [6]}, the header map
 * {@code {Nodes, UserStateLen, Join}}, Nodes pushNodeState maps and the raw user state; a user message is {@code [8]},
 * {@code {UserMsgLen}} and the raw payload; others are as in packets.
 *
 * <p>Every decoder throws {@link WireException} on bad input and nothing else; lengths are bounded by what remains.
 */
public final class Codec {
    public static final int PING = 0, INDIRECT_PING = 1, ACK = 2, SUSPECT = 3, ALIVE = 4, DEAD = 5, PUSH_PULL = 6,
            COMPOUND = 7, USER = 8, COMPRESS = 9, ENCRYPT = 10, NACK = 11, HAS_CRC = 12, ERR = 13, HAS_LABEL = 244;

    /** memberlist's limits. */
    public static final int MAX_PUSH_STATE_BYTES = 20 * 1024 * 1024;
    public static final int MAX_PUSH_STATE_NODES = 1024 * 1024;
    public static final int MAX_USER_MSG_BYTES = 20 * 1024 * 1024;
    public static final int MAX_STREAM_DECOMPRESSED = 2 * MAX_PUSH_STATE_BYTES;
    /**
     * A packet carries at most 64 KiB; what it decompresses to, all its compress frames together, is bounded well above
     * anything a sender packs.
     */
    public static final int MAX_PACKET_DECOMPRESSED = 1024 * 1024;
    public static final int MAX_LABEL = 255;
    /** memberlist's compoundOverhead: the per-part length in a compound message. */
    public static final int COMPOUND_PART_OVERHEAD = 2;
    public static final int COMPOUND_HEADER_OVERHEAD = 2;
    /** The encryption version this side sends (memberlist at protocol 2 and above). */
    public static final int ENCRYPTION_VERSION = 1;

    private static final int MAX_NESTING = 4;

    private Codec() {}

    /**
     * How a node frames what it sends and accepts: its label (empty for none), its keyring (null or empty for no
     * encryption; when set everything sent is sealed and anything not sealed by a known key is refused), whether it
     * compresses (memberlist's EnableCompression: packets only when smaller, streams always) and adds a CRC to packets.
     */
    public record Options(String label, Keyring keyring, boolean compress, boolean crc) {
        public static final Options PLAIN = new Options("", null, false, false);

        public Options {
            label = label == null ? "" : label;
            if (label.getBytes(StandardCharsets.UTF_8).length > MAX_LABEL) throw new IllegalArgumentException("label longer than 255 bytes");
        }

        public boolean encrypted() {
            return keyring != null && !keyring.isEmpty();
        }

        byte[] labelBytes() {
            return label.getBytes(StandardCharsets.UTF_8);
        }
    }

    /**
     * A bound on the push-pull node entries that the streams of one transport decode and hold at once: a stream
     * reserves its header's node count before decoding any entry (refused when it does not fit) and its owner
     * releases it once done with the state. Nearly empty entries compress to almost nothing, so without it a few
     * kilobytes per stream would hold hundreds of megabytes.
     */
    public static final class NodeBudget {
        private final java.util.concurrent.atomic.AtomicLong left;

        public NodeBudget(long max) {
            left = new java.util.concurrent.atomic.AtomicLong(max);
        }

        static NodeBudget unlimited() {
            return new NodeBudget(Long.MAX_VALUE / 2);
        }

        boolean reserve(long n) {
            while (true) {
                long cur = left.get();
                if (cur < n) return false;
                if (left.compareAndSet(cur, cur - n)) return true;
            }
        }

        public void release(long n) {
            left.addAndGet(n);
        }

        /** Entries that may still be reserved. */
        public long available() {
            return left.get();
        }
    }

    /** What a stream carried: one message, or a push-pull state. */
    public sealed interface Inbound {
        record Msg(Message message) implements Inbound {}

        record State(PushPull pushPull) implements Inbound {}
    }

    // ============================================================================================ single messages

    /** One message as it goes in a packet (or a compound part): type byte + body. */
    public static byte[] encode(Message message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(64);
        switch (message) {
            case Message.User u -> {
                out.write(USER);
                out.writeBytes(u.payload());
                return out.toByteArray();
            }
            case Message.Ping p -> {
                out.write(PING);
                boolean sa = p.sourceAddr().length > 0, sp = p.sourcePort() != 0, sn = !p.sourceNode().isEmpty();
                var w = GoMsgpack.writer().map(2 + (sa ? 1 : 0) + (sp ? 1 : 0) + (sn ? 1 : 0))
                        .uint("SeqNo", p.seqNo()).str("Node", p.node());
                if (sa) w.bytes("SourceAddr", p.sourceAddr());
                if (sp) w.uint("SourcePort", p.sourcePort());
                if (sn) w.str("SourceNode", p.sourceNode());
                out.writeBytes(w.toByteArray());
            }
            case Message.IndirectPing p -> {
                out.write(INDIRECT_PING);
                boolean sa = p.sourceAddr().length > 0, sp = p.sourcePort() != 0, sn = !p.sourceNode().isEmpty();
                var w = GoMsgpack.writer().map(5 + (sa ? 1 : 0) + (sp ? 1 : 0) + (sn ? 1 : 0))
                        .uint("SeqNo", p.seqNo()).bytes("Target", p.target()).uint("Port", p.port())
                        .str("Node", p.node()).bool("Nack", p.nack());
                if (sa) w.bytes("SourceAddr", p.sourceAddr());
                if (sp) w.uint("SourcePort", p.sourcePort());
                if (sn) w.str("SourceNode", p.sourceNode());
                out.writeBytes(w.toByteArray());
            }
            case Message.Ack a -> {
                out.write(ACK);
                out.writeBytes(GoMsgpack.writer().map(2).uint("SeqNo", a.seqNo())
                        .bytes("Payload", a.payload().length == 0 ? null : a.payload()).toByteArray());
            }
            case Message.Nack n -> {
                out.write(NACK);
                out.writeBytes(GoMsgpack.writer().map(1).uint("SeqNo", n.seqNo()).toByteArray());
            }
            case Message.Err e -> {
                out.write(ERR);
                out.writeBytes(GoMsgpack.writer().map(1).str("Error", e.error()).toByteArray());
            }
            case Message.Suspect s -> {
                out.write(SUSPECT);
                out.writeBytes(GoMsgpack.writer().map(3).uint("Incarnation", s.incarnation()).str("Node", s.node())
                        .str("From", s.from()).toByteArray());
            }
            case Message.Alive a -> {
                out.write(ALIVE);
                out.writeBytes(GoMsgpack.writer().map(6).uint("Incarnation", a.incarnation()).str("Node", a.node())
                        .bytes("Addr", a.addr()).uint("Port", a.port()).bytes("Meta", a.meta().length == 0 ? null : a.meta())
                        .bytes("Vsn", a.vsn()).toByteArray());
            }
            case Message.Dead d -> {
                out.write(DEAD);
                out.writeBytes(GoMsgpack.writer().map(3).uint("Incarnation", d.incarnation()).str("Node", d.node())
                        .str("From", d.from()).toByteArray());
            }
        }
        return out.toByteArray();
    }

    /** The encoded size of a message in a compound packet (its bytes plus its length field). */
    public static int sizeOf(Message message) {
        return encode(message).length + COMPOUND_PART_OVERHEAD;
    }

    /** One message (type byte + body); framing types are refused here. */
    public static Message decode(byte[] buf) {
        return decode(buf, 0, buf.length);
    }

    public static Message decode(byte[] buf, int off, int len) {
        if (len < 1) throw new WireException("missing message type byte");
        int type = buf[off] & 0xff;
        if (type == USER) return new Message.User(Arrays.copyOfRange(buf, off + 1, off + len));
        if (!isPlainType(type)) throw new WireException("message type " + type + " is not a single message");
        return body(type, GoMsgpack.reader(buf, off + 1, len - 1).readMap());
    }

    private static boolean isPlainType(int type) {
        return switch (type) {
            case PING, INDIRECT_PING, ACK, SUSPECT, ALIVE, DEAD, NACK, ERR -> true;
            default -> false;
        };
    }

    private static Message body(int type, GoMsgpack.Map m) {
        return switch (type) {
            case PING -> new Message.Ping(m.uint32("SeqNo"), m.str("Node"), addr(m.bytes("SourceAddr")),
                    m.uint16("SourcePort"), m.str("SourceNode"));
            case INDIRECT_PING -> new Message.IndirectPing(m.uint32("SeqNo"), addr(m.bytes("Target")), m.uint16("Port"),
                    m.str("Node"), m.bool("Nack"), addr(m.bytes("SourceAddr")), m.uint16("SourcePort"), m.str("SourceNode"));
            case ACK -> new Message.Ack(m.uint32("SeqNo"), m.bytes("Payload"));
            case NACK -> new Message.Nack(m.uint32("SeqNo"));
            case ERR -> new Message.Err(m.str("Error"));
            case SUSPECT -> new Message.Suspect(m.uint32("Incarnation"), m.str("Node"), m.str("From"));
            case ALIVE -> new Message.Alive(m.uint32("Incarnation"), m.str("Node"), addr(m.bytes("Addr")), m.uint16("Port"),
                    m.bytes("Meta"), uint8s(m, "Vsn"));
            case DEAD -> new Message.Dead(m.uint32("Incarnation"), m.str("Node"), m.str("From"));
            default -> throw new WireException("message type " + type + " is not a single message");
        };
    }

    /** An address as Go's net.IP may send it: an IPv4-mapped 16-byte form is returned as its 4 bytes. */
    private static byte[] addr(byte[] a) {
        if (a.length == 16) {
            for (int i = 0; i < 10; i++) if (a[i] != 0) return a;
            if (a[10] == (byte) 0xff && a[11] == (byte) 0xff) return Arrays.copyOfRange(a, 12, 16);
        }
        return a;
    }

    /** A Go {@code []uint8}: raw bytes as go-msgpack writes it, or an array of small integers. */
    private static byte[] uint8s(GoMsgpack.Map m, String key) {
        Object v = m.get(key);
        if (v instanceof List<?> list) {
            byte[] out = new byte[list.size()];
            for (int i = 0; i < out.length; i++) {
                if (!(list.get(i) instanceof Long l) || l < 0 || l > 255) throw new WireException("field " + key + ": not a []uint8");
                out[i] = (byte) (long) l;
            }
            return out;
        }
        return m.bytes(key);
    }

    // ============================================================================================ packet framing

    /** memberlist's compound message; at most 255 parts, each at most 65535 bytes. */
    public static byte[] compound(List<byte[]> parts) {
        if (parts.size() > 255) throw new IllegalArgumentException("a compound message holds at most 255 parts");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(COMPOUND);
        out.write(parts.size());
        for (byte[] p : parts) {
            if (p.length > 0xffff) throw new IllegalArgumentException("a compound part is at most 65535 bytes");
            out.write(p.length >> 8);
            out.write(p.length);
        }
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    /** {@code [9]} + {@code {Algo: 0, Buf: lzw(payload)}}. */
    public static byte[] compress(byte[] payload) {
        byte[] map = GoMsgpack.writer().map(2).uint("Algo", 0).bytes("Buf", Lzw.encode(payload)).toByteArray();
        byte[] out = new byte[1 + map.length];
        out[0] = COMPRESS;
        System.arraycopy(map, 0, out, 1, map.length);
        return out;
    }

    private static byte[] decompressMap(GoMsgpack.Map m, int maxOut) {
        long algo = m.uint64("Algo");
        if (algo != 0) throw new WireException("cannot decompress unknown algorithm " + algo);
        return Lzw.decode(m.bytes("Buf"), maxOut);
    }

    /** {@code [12][crc32 big-endian]} + msg. */
    public static byte[] withCrc(byte[] msg) {
        CRC32 crc = new CRC32();
        crc.update(msg);
        long c = crc.getValue();
        byte[] out = new byte[5 + msg.length];
        out[0] = HAS_CRC;
        out[1] = (byte) (c >> 24);
        out[2] = (byte) (c >> 16);
        out[3] = (byte) (c >> 8);
        out[4] = (byte) c;
        System.arraycopy(msg, 0, out, 5, msg.length);
        return out;
    }

    /** {@code [244][len][label]} + buf, or buf when the label is empty. */
    public static byte[] withLabel(byte[] buf, String label) {
        if (label == null || label.isEmpty()) return buf;
        byte[] l = label.getBytes(StandardCharsets.UTF_8);
        if (l.length > MAX_LABEL) throw new IllegalArgumentException("label longer than 255 bytes");
        byte[] out = new byte[2 + l.length + buf.length];
        out[0] = (byte) HAS_LABEL;
        out[1] = (byte) l.length;
        System.arraycopy(l, 0, out, 2, l.length);
        System.arraycopy(buf, 0, out, 2 + l.length, buf.length);
        return out;
    }

    /** The bytes a packet takes beyond its messages with these options (for the piggyback budget). */
    public static int packetOverhead(Options o) {
        int n = COMPOUND_HEADER_OVERHEAD;
        if (!o.label().isEmpty()) n += 2 + o.labelBytes().length;
        if (o.encrypted()) n += Crypto.overhead(ENCRYPTION_VERSION);
        if (o.crc()) n += 5;
        return n;
    }

    /** One packet carrying {@code messages} (a compound when more than one), framed as {@code o} says. */
    public static byte[] encodePacket(List<Message> messages, Options o) {
        if (messages.isEmpty()) throw new IllegalArgumentException("no messages");
        byte[] msg;
        if (messages.size() == 1) {
            msg = encode(messages.get(0));
        } else {
            List<byte[]> parts = new ArrayList<>(messages.size());
            for (Message m : messages) parts.add(encode(m));
            msg = compound(parts);
        }
        if (o.compress()) {
            byte[] c = compress(msg);
            if (c.length < msg.length) msg = c;
        }
        if (o.crc()) msg = withCrc(msg);
        if (o.encrypted()) msg = Crypto.encrypt(ENCRYPTION_VERSION, o.keyring().primary(), msg, o.labelBytes());
        return withLabel(msg, o.label());
    }

    /**
     * Decodes a received packet, handing each message to {@code sink}. A packet that fails as a whole (label,
     * decryption, checksum, framing) throws; a bad part of a compound is counted and its siblings still delivered.
     *
     * @return the number of parts dropped (undecodable or cut short)
     */
    public static int decodePacket(byte[] buf, int len, Options o, Consumer<Message> sink) {
        if (len < 0 || len > buf.length) throw new WireException("bad length");
        int off = 0;
        if (len > 0 && (buf[0] & 0xff) == HAS_LABEL) {
            if (len < 2) throw new WireException("label header cut short");
            int size = buf[1] & 0xff;
            if (size < 1) throw new WireException("empty label header");
            if (len < 2 + size) throw new WireException("label cut short");
            String label = new String(buf, 2, size, StandardCharsets.UTF_8);
            if (!label.equals(o.label())) throw new WireException("packet label '" + label + "' is not ours");
            off = 2 + size;
        } else if (!o.label().isEmpty()) {
            throw new WireException("packet carries no label, ours is '" + o.label() + "'");
        }
        byte[] plain;
        int pOff, pLen;
        if (o.encrypted()) {
            plain = Crypto.decrypt(o.keyring().keys(), Arrays.copyOfRange(buf, off, len), o.labelBytes());
            pOff = 0;
            pLen = plain.length;
        } else {
            plain = buf;
            pOff = off;
            pLen = len - off;
        }
        if (pLen >= 5 && (plain[pOff] & 0xff) == HAS_CRC) {
            CRC32 crc = new CRC32();
            crc.update(plain, pOff + 5, pLen - 5);
            long expected = ((plain[pOff + 1] & 0xffL) << 24) | ((plain[pOff + 2] & 0xffL) << 16)
                    | ((plain[pOff + 3] & 0xffL) << 8) | (plain[pOff + 4] & 0xffL);
            if (crc.getValue() != expected) throw new WireException("packet checksum mismatch");
            pOff += 5;
            pLen -= 5;
        }
        int[] dropped = {0};
        int[] budget = {MAX_PACKET_DECOMPRESSED};
        command(plain, pOff, pLen, sink, dropped, budget, 0, true);
        return dropped[0];
    }

    /** Decodes a packet strictly: every part must decode. */
    public static List<Message> decodePacket(byte[] buf, Options o) {
        List<Message> out = new ArrayList<>();
        int dropped = decodePacket(buf, buf.length, o, out::add);
        if (dropped > 0) throw new WireException(dropped + " part(s) of the packet could not be decoded");
        return out;
    }

    /** {@code budget}: what the whole packet may still decompress to (every compress frame in it draws on it). */
    private static void command(byte[] buf, int off, int len, Consumer<Message> sink, int[] dropped, int[] budget, int depth, boolean top) {
        if (depth > MAX_NESTING) throw new WireException("framing nested deeper than " + MAX_NESTING);
        if (len < 1) throw new WireException("missing message type byte");
        int type = buf[off] & 0xff;
        switch (type) {
            case COMPOUND -> {
                if (len < 2) throw new WireException("missing compound length byte");
                int n = buf[off + 1] & 0xff;
                int p = off + 2;
                int end = off + len;
                if (end - p < n * 2) throw new WireException("compound length list cut short");
                int[] lengths = new int[n];
                for (int i = 0; i < n; i++) lengths[i] = ((buf[p + 2 * i] & 0xff) << 8) | (buf[p + 2 * i + 1] & 0xff);
                p += n * 2;
                for (int i = 0; i < n; i++) {
                    if (end - p < lengths[i]) {
                        dropped[0] += n - i;
                        return;
                    }
                    try {
                        command(buf, p, lengths[i], sink, dropped, budget, depth + 1, false);
                    } catch (WireException e) {
                        dropped[0]++;
                    }
                    p += lengths[i];
                }
            }
            case COMPRESS -> {
                byte[] plain = decompressMap(GoMsgpack.reader(buf, off + 1, len - 1).readMap(), budget[0]);
                budget[0] -= plain.length;
                command(plain, 0, plain.length, sink, dropped, budget, depth + 1, false);
            }
            default -> sink.accept(decode(buf, off, len));
        }
    }

    // ============================================================================================ streams

    /** A message's body on a stream: a user message as {@code [8]{UserMsgLen}payload}, others as in packets. */
    public static byte[] streamBody(Message message) {
        if (message instanceof Message.User u) {
            byte[] h = GoMsgpack.writer().map(1).sint("UserMsgLen", u.payload().length).toByteArray();
            byte[] out = new byte[1 + h.length + u.payload().length];
            out[0] = USER;
            System.arraycopy(h, 0, out, 1, h.length);
            System.arraycopy(u.payload(), 0, out, 1 + h.length, u.payload().length);
            return out;
        }
        return encode(message);
    }

    /** A push-pull state's body: {@code [6]}, header, nodes, user state. */
    public static byte[] pushPullBody(PushPull state) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.write(PUSH_PULL);
        out.writeBytes(GoMsgpack.writer().map(3).sint("Nodes", state.nodes().size())
                .sint("UserStateLen", state.userState().length).bool("Join", state.join()).toByteArray());
        for (PushPull.NodeEntry n : state.nodes()) {
            out.writeBytes(GoMsgpack.writer().map(7).str("Name", n.name()).bytes("Addr", n.addr()).uint("Port", n.port())
                    .bytes("Meta", n.meta().length == 0 ? null : n.meta()).uint("Incarnation", n.incarnation())
                    .sint("State", n.state().code).bytes("Vsn", n.vsn()).toByteArray());
        }
        out.writeBytes(state.userState());
        return out.toByteArray();
    }

    /**
     * Frames a stream body for sending: compressed when {@code o} compresses, sealed when it encrypts, with the
     * label header in front when this side dialed the stream ({@code dialer}) and has a label.
     */
    public static byte[] encodeStream(byte[] body, Options o, boolean dialer) {
        byte[] msg = o.compress() ? compress(body) : body;
        if (o.encrypted()) {
            int encLen = Crypto.encryptedLength(ENCRYPTION_VERSION, msg.length);
            byte[] header = {ENCRYPT, (byte) (encLen >>> 24), (byte) (encLen >>> 16), (byte) (encLen >>> 8), (byte) encLen};
            byte[] sealed = Crypto.encrypt(ENCRYPTION_VERSION, o.keyring().primary(), msg, concat(header, o.labelBytes()));
            msg = concat(header, sealed);
        }
        if (dialer && !o.label().isEmpty()) {
            byte[] l = o.labelBytes();
            byte[] h = new byte[2 + l.length];
            h[0] = (byte) HAS_LABEL;
            h[1] = (byte) l.length;
            System.arraycopy(l, 0, h, 2, l.length);
            msg = concat(h, msg);
        }
        return msg;
    }

    /**
     * Reads one message or push-pull state from a stream. {@code accepted} is true on the side that accepted the
     * connection (it reads the dialer's label header, if any, first). Bad data (including a message cut short) is a
     * {@link WireException}; a failing connection, or one closed before sending anything, an {@link IOException}.
     */
    public static Inbound readStream(InputStream in, Options o, boolean accepted) throws IOException {
        return readStream(in, o, accepted, NodeBudget.unlimited());
    }

    /**
     * As {@link #readStream(InputStream, Options, boolean)}; a push-pull state's entries are reserved from
     * {@code budget} (the caller releases {@code nodes().size()} when done with it).
     */
    public static Inbound readStream(InputStream in, Options o, boolean accepted, NodeBudget budget) throws IOException {
        int type = in.read();
        if (type < 0) throw new java.io.EOFException("stream closed before a message"); // a refusal, not bad data
        if (accepted) {
            String label = "";
            if (type == HAS_LABEL) {
                int size = readByte(in);
                if (size < 1) throw new WireException("empty label header");
                label = new String(readFully(in, size), StandardCharsets.UTF_8);
                type = readByte(in);
            }
            if (!label.equals(o.label())) throw new WireException("stream label '" + label + "' is not ours");
        }
        if (type == ENCRYPT) {
            if (!o.encrypted()) throw new WireException("remote state is encrypted and encryption is not configured");
            byte[] header = new byte[5];
            header[0] = ENCRYPT;
            byte[] len = readFully(in, 4);
            System.arraycopy(len, 0, header, 1, 4);
            long n = ((len[0] & 0xffL) << 24) | ((len[1] & 0xffL) << 16) | ((len[2] & 0xffL) << 8) | (len[3] & 0xffL);
            if (n > MAX_PUSH_STATE_BYTES) throw new WireException("remote state of " + n + " bytes is larger than the limit");
            byte[] sealed = readFully(in, (int) n);
            byte[] plain = Crypto.decrypt(o.keyring().keys(), sealed, concat(header, o.labelBytes()));
            if (plain.length < 1) throw new WireException("empty decrypted stream");
            return plainStream(plain[0] & 0xff, GoMsgpack.reader(plain, 1, plain.length - 1), 0, budget);
        }
        if (o.encrypted()) throw new WireException("encryption is configured but the remote stream is not encrypted");
        return plainStream(type, GoMsgpack.reader(in, MAX_STREAM_DECOMPRESSED), 0, budget);
    }

    /** Decodes a stream held whole in memory (tests, fuzzing). */
    public static Inbound decodeStream(byte[] buf, Options o, boolean accepted) {
        try {
            return readStream(new java.io.ByteArrayInputStream(buf), o, accepted);
        } catch (IOException e) {
            throw new WireException("stream: " + e.getMessage(), e);
        }
    }

    private static Inbound plainStream(int type, GoMsgpack.Reader r, int depth, NodeBudget budget) {
        switch (type) {
            case COMPRESS -> {
                if (depth > 0) throw new WireException("compressed stream inside a compressed stream");
                byte[] plain = decompressMap(r.readMap(), MAX_STREAM_DECOMPRESSED);
                if (plain.length == 0) throw new WireException("decompressed message is empty");
                return plainStream(plain[0] & 0xff, GoMsgpack.reader(plain, 1, plain.length - 1), depth + 1, budget);
            }
            case PUSH_PULL -> {
                return new Inbound.State(readPushPull(r, budget));
            }
            case USER -> {
                GoMsgpack.Map h = r.readMap();
                long n = h.int64("UserMsgLen");
                if (n < 0 || n > MAX_USER_MSG_BYTES) throw new WireException("user message length " + n + " exceeds the limit");
                return new Inbound.Msg(new Message.User(r.readBytes(n)));
            }
            default -> {
                if (!isPlainType(type)) throw new WireException("stream message type " + type + " not supported");
                return new Inbound.Msg(body(type, r.readMap()));
            }
        }
    }

    private static PushPull readPushPull(GoMsgpack.Reader r, NodeBudget budget) {
        GoMsgpack.Map h = r.readMap();
        long nodes = h.int64("Nodes");
        if (nodes < 0 || nodes > MAX_PUSH_STATE_NODES) throw new WireException("number of nodes " + nodes + " exceeds the limit");
        if (!budget.reserve(nodes))
            throw new WireException("push-pull of " + nodes + " nodes refused: only " + budget.available() + " more may be held at once");
        try {
            return readPushPullNodes(r, h, nodes);
        } catch (RuntimeException e) {
            budget.release(nodes);
            throw e;
        }
    }

    private static PushPull readPushPullNodes(GoMsgpack.Reader r, GoMsgpack.Map h, long nodes) {
        List<PushPull.NodeEntry> list = new ArrayList<>((int) Math.min(nodes, 256));
        for (int i = 0; i < nodes; i++) {
            GoMsgpack.Map m = r.readMap();
            long state = m.int64("State");
            NodeState s = switch ((int) Math.max(-1, Math.min(state, 99))) {
                case 0 -> NodeState.ALIVE;
                case 1 -> NodeState.SUSPECT;
                case 2 -> NodeState.DEAD;
                case 3 -> NodeState.LEFT;
                default -> throw new WireException("unknown node state " + state);
            };
            list.add(new PushPull.NodeEntry(m.str("Name"), addr(m.bytes("Addr")), m.uint16("Port"), m.bytes("Meta"),
                    m.uint32("Incarnation"), s, uint8s(m, "Vsn")));
        }
        long userLen = h.int64("UserStateLen");
        if (userLen < 0 || userLen > MAX_PUSH_STATE_BYTES) throw new WireException("user state length " + userLen + " exceeds the limit");
        byte[] user = userLen == 0 ? new byte[0] : r.readBytes(userLen);
        return new PushPull(h.bool("Join"), List.copyOf(list), user);
    }

    private static int readByte(InputStream in) throws IOException {
        int b = in.read();
        if (b < 0) throw new WireException("stream ended");
        return b;
    }

    private static byte[] readFully(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n); // grows with what arrives, so a lying length allocates no more than was sent
        if (b.length != n) throw new WireException("stream ended after " + b.length + " of " + n + " bytes");
        return b;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

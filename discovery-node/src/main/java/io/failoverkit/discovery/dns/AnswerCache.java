package io.failoverkit.discovery.dns;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The fast path of the DNS interface: the wire answer to a plain query, cached per catalog generation and reused
 * with only the query's id, RD bit and question copied in, and the answer records rotated (as Consul shuffles them).
 * The cached answers are the bytes the dnsjava path produced for the first query of that shape: nothing is encoded
 * here, so the fast path cannot answer anything the full path would not.
 *
 * <p>Only the common shape is taken: one question of plain labels (no compression pointer) under our domain, no
 * answer or authority records, at most an EDNS0 OPT record (version 0) without options other than a well-formed
 * COOKIE, and nothing after it. Anything else, and every answer that is truncated, not NOERROR/NXDOMAIN, or whose
 * records could not be rotated safely, goes through the full path each time.
 */
final class AnswerCache {
    /**
     * Cached answers per generation, and their bytes in all; when either is reached, the cache starts over (clients
     * may ask for any number of names, with any EDNS0 size).
     */
    static final int MAX_ENTRIES = 16_384;
    static final long MAX_BYTES = 8L << 20;
    private static final int TYPE_A = 1, TYPE_TXT = 16, TYPE_AAAA = 28, TYPE_SRV = 33, TYPE_OPT = 41, TYPE_SOA = 6;

    /** One cached answer: the full wire bytes (with the first asker's question), and where its answer records lie. */
    record Template(byte[] wire, int questionEnd, int[] answers, boolean rotate) {
        int length() { return wire.length; }
    }

    /**
     * The cache key: the question name lower-cased (ASCII), type, class, answer size limit, and whether EDNS0 was
     * used and with the DO bit.
     */
    static final class Key {
        byte[] bytes;
        int length;
        int hash;

        Key(int capacity) { bytes = new byte[capacity]; }

        private Key(byte[] bytes, int hash) { this.bytes = bytes; this.length = bytes.length; this.hash = hash; }

        Key copy() { return new Key(Arrays.copyOf(bytes, length), hash); }

        @Override public int hashCode() { return hash; }

        @Override public boolean equals(Object o) {
            return o instanceof Key k && k.hash == hash && Arrays.equals(bytes, 0, length, k.bytes, 0, k.length);
        }
    }

    private record Generation(long id, ConcurrentHashMap<Key, Template> answers, java.util.concurrent.atomic.AtomicLong bytes) {
        Generation(long id) { this(id, new ConcurrentHashMap<>(), new java.util.concurrent.atomic.AtomicLong()); }
    }

    /** What {@link #parse} found out about a query. */
    static final class Query {
        final Key key = new Key(255 + 7);
        int questionEnd;
        /** The generation read before the lookup, and the cached answer found (null: none). */
        long generation;
        Template template;
    }

    private final byte[] domainWire;  // lower case
    private volatile Generation current = new Generation(Long.MIN_VALUE);
    private final ThreadLocal<Query> queries = ThreadLocal.withInitial(Query::new);

    /** {@code domainWire}: our domain in wire form (labels, ending with the root label). */
    AnswerCache(byte[] domainWire) {
        this.domainWire = lower(domainWire.clone(), domainWire.length);
    }

    /** The parsed query (this thread's, reused) when it has the shape the cache takes, else null. */
    Query parse(byte[] q, int len, boolean tcp) {
        if (len < 17) return null;
        if ((q[2] & 0xF8) != 0) return null;                 // QR clear, opcode QUERY
        if (u16(q, 4) != 1 || u16(q, 6) != 0 || u16(q, 8) != 0) return null;
        int arcount = u16(q, 10);
        if (arcount > 1) return null;
        int p = 12;
        int lastLabel = -1;
        while (true) {
            if (p >= len) return null;
            int l = q[p] & 0xFF;
            if (l == 0) break;
            if (l > 63) return null;                           // pointer or extended label type
            if (p + 1 + l - 12 + 1 > 255) return null;        // a name is at most 255 bytes
            lastLabel = p;
            p += 1 + l;
        }
        if (lastLabel < 0) return null;                        // the root itself
        int nameEnd = p + 1;
        if (nameEnd + 4 > len) return null;
        int type = u16(q, nameEnd);
        int klass = u16(q, nameEnd + 2);
        p = nameEnd + 4;
        boolean opt = false;
        boolean dnssecOk = false;
        int payload = 0;
        if (arcount == 1) {
            if (p + 11 > len || q[p] != 0 || u16(q, p + 1) != TYPE_OPT) return null;
            if (q[p + 5] != 0 || q[p + 6] != 0) return null;  // an extended rcode or EDNS version: the full path says
            opt = true;
            dnssecOk = (q[p + 7] & 0x80) != 0;                 // DO is copied into the answer: part of the key
            payload = u16(q, p + 3);
            int rdlen = u16(q, p + 9);
            p += 11;
            if (p + rdlen != len) return null;
            while (p < len) {                                  // options: only a well-formed COOKIE
                if (p + 4 > len) return null;
                int code = u16(q, p);
                int olen = u16(q, p + 2);
                p += 4;
                if (code != 10 || p + olen > len || !(olen == 8 || (olen >= 16 && olen <= 40))) return null;
                p += olen;
            }
        }
        if (p != len) return null;
        // under our domain: the name ends with it, at a label boundary
        int nameLen = nameEnd - 12;
        int domainStart = nameEnd - domainWire.length;
        if (nameLen < domainWire.length) return null;
        if (domainStart != 12 && !labelBoundary(q, domainStart)) return null;
        for (int i = 0; i < domainWire.length; i++) if (lower(q[domainStart + i]) != domainWire[i]) return null;
        Query parsed = queries.get();
        Key k = parsed.key;
        byte[] b = k.bytes;
        for (int i = 0; i < nameLen; i++) b[i] = lower(q[12 + i]);
        int limit = tcp ? DnsResolver.MAX_TCP : !opt ? 512 : Math.max(512, Math.min(payload, DnsResolver.MAX_UDP));
        int n = nameLen;
        b[n++] = (byte) (type >> 8);
        b[n++] = (byte) type;
        b[n++] = (byte) (klass >> 8);
        b[n++] = (byte) klass;
        b[n++] = (byte) (limit >> 8);
        b[n++] = (byte) limit;
        b[n++] = (byte) (!opt ? 0 : dnssecOk ? 2 : 1);
        k.length = n;
        int h = 1;
        for (int i = 0; i < n; i++) h = 31 * h + b[i];
        k.hash = h;
        parsed.questionEnd = nameEnd + 4;
        return parsed;
    }

    /** Whether {@code at} is where a label starts in the question name at 12. */
    private static boolean labelBoundary(byte[] q, int at) {
        int p = 12;
        while (p < at) p += 1 + (q[p] & 0xFF);
        return p == at;
    }

    /** The cached answer for {@code query} in catalog generation {@code generation}, or null. */
    Template get(long generation, Query query) {
        Generation g = current;
        if (g.id() != generation) return null;
        return g.answers().get(query.key);
    }

    /**
     * Remembers {@code wire}, the full path's answer to {@code query} (made after {@code query.generation} was read),
     * when it may be reused; returns whether it was taken.
     */
    boolean put(Query query, byte[] queryBytes, byte[] wire) {
        long generation = query.generation;
        Template t = template(queryBytes, query.questionEnd, wire);
        if (t == null) return false;
        Generation g = current;
        if (g.id() != generation) {
            if (g.id() > generation && g.id() != Long.MIN_VALUE) return false; // a newer generation is already cached
            g = new Generation(generation);
            current = g;
        }
        if (g.answers().size() >= MAX_ENTRIES || g.bytes().addAndGet(wire.length + 64) > MAX_BYTES) {
            g = new Generation(generation);
            g.bytes().set(wire.length + 64);
            current = g;
        }
        g.answers().put(query.key.copy(), t);
        return true;
    }

    /** The template made of the full path's answer, or null when it may not be reused. */
    static Template template(byte[] query, int questionEnd, byte[] a) {
        if (a.length < questionEnd || a.length < 12) return null;
        if ((a[2] & 0x80) == 0 || (a[2] & 0x02) != 0) return null;   // QR set, TC clear
        int rcode = a[3] & 0x0F;
        if (rcode != 0 && rcode != 3) return null;
        if (a[0] != query[0] || a[1] != query[1]) return null;
        if (u16(a, 4) != 1) return null;
        if (!Arrays.equals(a, 12, questionEnd, query, 12, questionEnd)) return null;  // the same question, as asked
        int an = u16(a, 6);
        int[] bounds = new int[an + 1];
        int p = questionEnd;
        boolean rotate = an > 1;
        for (int i = 0; i < an; i++) {
            bounds[i] = p;
            if (p + 2 > a.length) return null;
            boolean ownerIsQuestion = (a[p] & 0xFF) == 0xC0 && a[p + 1] == 12;
            p = skipName(a, p);
            if (p < 0 || p + 10 > a.length) return null;
            int type = u16(a, p);
            p += 10 + u16(a, p + 8);
            if (p > a.length) return null;
            // rotated records must not hold names others point into: owner = the question, rdata without names
            // that compress (A, AAAA; SRV targets are never compressed, RFC 2782)
            if (!ownerIsQuestion || !(type == TYPE_A || type == TYPE_AAAA || type == TYPE_SRV)) rotate = false;
        }
        bounds[an] = p;
        if (an > 1 && !rotate) {
            // several records that may not be rotated: reuse as they are only when their order is fixed (TXT)
            for (int i = 0; i < an; i++) {
                int q = skipName(a, bounds[i]);
                if (u16(a, q) != TYPE_TXT) return null;
            }
        }
        int rest = u16(a, 8) + u16(a, 10);
        int ansStart = bounds[0], ansEnd = bounds[an];
        for (int i = 0; i < rest; i++) {
            if (rotate && pointsInto(a, p, ansStart, ansEnd)) return null;
            p = skipName(a, p);
            if (p < 0 || p + 10 > a.length) return null;
            int type = u16(a, p);
            if (rotate && !(type == TYPE_A || type == TYPE_AAAA || type == TYPE_OPT || type == TYPE_SOA)) return null;
            p += 10 + u16(a, p + 8);
            if (p > a.length) return null;
        }
        if (p != a.length) return null;
        return new Template(a, questionEnd, bounds, rotate);
    }

    /** Whether a name at {@code p} (labels then maybe a pointer) points anywhere in [from, to). */
    private static boolean pointsInto(byte[] a, int p, int from, int to) {
        while (p < a.length) {
            int l = a[p] & 0xFF;
            if (l == 0) return false;
            if ((l & 0xC0) == 0xC0) {
                if (p + 1 >= a.length) return true;
                int target = ((l & 0x3F) << 8) | (a[p + 1] & 0xFF);
                return target >= from && target < to;
            }
            p += 1 + l;
        }
        return true;
    }

    /** The offset after the name at {@code p}, or -1. */
    private static int skipName(byte[] a, int p) {
        while (p < a.length) {
            int l = a[p] & 0xFF;
            if (l == 0) return p + 1;
            if ((l & 0xC0) == 0xC0) return p + 2 <= a.length ? p + 2 : -1;
            if ((l & 0xC0) != 0) return -1;
            p += 1 + l;
        }
        return -1;
    }

    /** Writes the answer to {@code q} made of {@code t} into {@code out}, from its position. */
    static void write(Template t, byte[] q, ByteBuffer out) {
        byte[] w = t.wire();
        out.put(q[0]).put(q[1]);
        out.put((byte) ((w[2] & ~0x01) | (q[2] & 0x01)));     // RD echoed
        out.put(w, 3, 9);
        out.put(q, 12, t.questionEnd() - 12);
        int[] b = t.answers();
        int an = b.length - 1;
        if (t.rotate()) {
            int r = ThreadLocalRandom.current().nextInt(an);
            out.put(w, b[r], b[an] - b[r]);
            out.put(w, b[0], b[r] - b[0]);
        } else {
            out.put(w, b[0], b[an] - b[0]);
        }
        out.put(w, b[an], w.length - b[an]);
    }

    private static int u16(byte[] b, int i) {
        return ((b[i] & 0xFF) << 8) | (b[i + 1] & 0xFF);
    }

    private static byte lower(byte c) {
        return c >= 'A' && c <= 'Z' ? (byte) (c + 32) : c;
    }

    private static byte[] lower(byte[] b, int n) {
        for (int i = 0; i < n; i++) b[i] = lower(b[i]);
        return b;
    }
}

package io.failoverkit.failover.topology;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A MySQL or MariaDB GTID position as a set of transactions, so that {@link #covers} is "superset of".
 * <ul>
 * <li>MySQL: {@code uuid[:tag]:1-5:7-9,uuid2:1-3} ({@code gtid_executed}); every listed interval is a set of
 * transactions of that source.</li>
 * <li>MariaDB: {@code domain-server-seq,...} ({@code gtid_current_pos}), one GTID per replication domain. With
 * {@code gtid_strict_mode} sequence numbers only grow within a domain and a position holds every transaction of the
 * domain up to it, so it is the interval {@code 1-seq} of that domain; the server id is kept for display only.</li>
 * </ul>
 * {@link #rank} is the number of transactions. {@code blocker} is a reason, found when observing, why this data set
 * must not be promoted (errant transactions, GTID off); null when none.
 */
public final class GtidSet implements Position {
    public enum Flavor { MYSQL, MARIADB }

    private final Flavor flavor;
    /** Source (uuid[:tag], or "domain N") to sorted, disjoint, non-adjacent intervals [start, end]. */
    private final Map<String, List<long[]>> intervals;
    /** MariaDB only: domain to the server id of its last GTID, for {@link #text}. */
    private final Map<String, Long> serverIds;
    private final String blocker;

    private GtidSet(Flavor flavor, Map<String, List<long[]>> intervals, Map<String, Long> serverIds, String blocker) {
        this.flavor = flavor;
        this.intervals = intervals;
        this.serverIds = serverIds;
        this.blocker = blocker;
    }

    public Flavor flavor() { return flavor; }

    /** The same set, marked as not promotable for {@code reason} (null clears it). */
    public GtidSet withBlocker(String reason) { return new GtidSet(flavor, intervals, serverIds, reason); }

    @Override
    public String blocker() { return blocker; }

    /** Parses MySQL's gtid_executed / Retrieved_Gtid_Set text (newlines allowed, as the server prints it). */
    public static GtidSet parseMySql(String text) {
        Map<String, List<long[]>> out = new TreeMap<>();
        if (text != null) {
            for (String part : text.replace("\n", "").replace("\r", "").split(",")) {
                String p = part.strip();
                if (p.isEmpty()) continue;
                String[] f = p.split(":");
                if (f.length < 2) throw new IllegalArgumentException("bad GTID set element \"" + p + "\": expected uuid:interval");
                String uuid = f[0].toLowerCase();
                if (!uuid.matches("[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")) {
                    throw new IllegalArgumentException("bad GTID source uuid \"" + f[0] + "\"");
                }
                String tag = null;
                for (int i = 1; i < f.length; i++) {
                    String iv = f[i].strip();
                    if (iv.matches("[A-Za-z_][A-Za-z0-9_]{0,31}")) { tag = iv.toLowerCase(); continue; } // MySQL 8.3+ tagged GTIDs
                    String key = tag == null ? uuid : uuid + ":" + tag;
                    long start, end;
                    int dash = iv.indexOf('-');
                    try {
                        start = Long.parseLong(dash < 0 ? iv : iv.substring(0, dash));
                        end = dash < 0 ? start : Long.parseLong(iv.substring(dash + 1));
                    } catch (NumberFormatException e) {
                        throw new IllegalArgumentException("bad GTID interval \"" + iv + "\" in \"" + p + "\"");
                    }
                    if (start < 1 || end < start) throw new IllegalArgumentException("bad GTID interval \"" + iv + "\" in \"" + p + "\"");
                    add(out.computeIfAbsent(key, k -> new ArrayList<>()), start, end);
                }
            }
        }
        return new GtidSet(Flavor.MYSQL, out, Map.of(), null);
    }

    /** Parses MariaDB's gtid_current_pos / gtid_slave_pos / gtid_binlog_pos / Gtid_IO_Pos text. */
    public static GtidSet parseMariaDb(String text) {
        Map<String, List<long[]>> out = new TreeMap<>();
        Map<String, Long> servers = new TreeMap<>();
        if (text != null) {
            for (String part : text.split(",")) {
                String p = part.strip();
                if (p.isEmpty()) continue;
                String[] f = p.split("-");
                if (f.length != 3) throw new IllegalArgumentException("bad MariaDB GTID \"" + p + "\": expected domain-server-sequence");
                long domain, server, seq;
                try {
                    domain = Long.parseLong(f[0]);
                    server = Long.parseLong(f[1]);
                    seq = Long.parseLong(f[2]);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("bad MariaDB GTID \"" + p + "\": expected domain-server-sequence");
                }
                String key = "domain " + domain;
                if (out.containsKey(key)) throw new IllegalArgumentException("MariaDB GTID position lists domain " + domain + " twice: \"" + text + "\"");
                List<long[]> l = new ArrayList<>();
                if (seq > 0) l.add(new long[]{1, seq});
                out.put(key, l);
                servers.put(key, server);
            }
        }
        return new GtidSet(Flavor.MARIADB, out, servers, null);
    }

    private static void add(List<long[]> list, long start, long end) {
        list.add(new long[]{start, end});
        list.sort((a, b) -> Long.compare(a[0], b[0]));
        List<long[]> merged = new ArrayList<>();
        for (long[] iv : list) {
            if (!merged.isEmpty() && iv[0] <= merged.get(merged.size() - 1)[1] + 1) {
                long[] last = merged.get(merged.size() - 1);
                last[1] = Math.max(last[1], iv[1]);
            } else {
                merged.add(new long[]{iv[0], iv[1]});
            }
        }
        list.clear();
        list.addAll(merged);
    }

    /** True when the set holds no transaction at all. */
    public boolean isEmpty() { return intervals.values().stream().allMatch(List::isEmpty); }

    @Override
    public long rank() {
        long n = 0;
        for (List<long[]> l : intervals.values()) for (long[] iv : l) n += iv[1] - iv[0] + 1;
        return n;
    }

    /** Superset of: every transaction of {@code other} is in this set. Sets of different flavors never cover each other. */
    @Override
    public boolean covers(Position other) {
        if (!(other instanceof GtidSet o) || o.flavor != flavor) return false;
        return o.minus(this).isEmpty();
    }

    /** The transactions of this set that {@code other} lacks (errant transactions, what a rejoin would diverge by). */
    public GtidSet minus(GtidSet other) {
        Map<String, List<long[]>> out = new TreeMap<>();
        for (Map.Entry<String, List<long[]>> e : intervals.entrySet()) {
            List<long[]> theirs = other.intervals.getOrDefault(e.getKey(), List.of());
            List<long[]> left = new ArrayList<>();
            for (long[] iv : e.getValue()) {
                long s = iv[0];
                for (long[] t : theirs) {
                    if (t[1] < s || t[0] > iv[1]) continue;
                    if (t[0] > s) left.add(new long[]{s, t[0] - 1});
                    s = t[1] + 1;
                    if (s > iv[1]) break;
                }
                if (s <= iv[1]) left.add(new long[]{s, iv[1]});
            }
            if (!left.isEmpty()) out.put(e.getKey(), left);
        }
        return new GtidSet(flavor, out, serverIds, null);
    }

    /**
     * Every transaction of either set (a replica's executed set with what it received but did not apply). MariaDB:
     * per domain the higher sequence, with that GTID's server id. Sets of different flavors cannot be joined.
     */
    public GtidSet union(GtidSet other) {
        if (other.flavor != flavor) throw new IllegalArgumentException("cannot join a " + flavor + " GTID set with a " + other.flavor + " one");
        Map<String, List<long[]>> out = new TreeMap<>();
        Map<String, Long> servers = new TreeMap<>(serverIds);
        for (GtidSet g : List.of(this, other)) {
            g.intervals.forEach((k, v) -> { List<long[]> l = out.computeIfAbsent(k, x -> new ArrayList<>()); for (long[] iv : v) add(l, iv[0], iv[1]); });
        }
        if (flavor == Flavor.MARIADB) {
            other.serverIds.forEach((k, id) -> {
                long mine = last(intervals.get(k)), theirs = last(other.intervals.get(k));
                if (theirs > mine || !servers.containsKey(k)) servers.put(k, id);
            });
        }
        return new GtidSet(flavor, out, servers, blocker);
    }

    private static long last(List<long[]> l) { return l == null || l.isEmpty() ? 0 : l.get(l.size() - 1)[1]; }

    /** The transactions of this set whose source is {@code source} (a MySQL server_uuid), for errant-transaction checks. */
    public GtidSet onlySource(String source) {
        Map<String, List<long[]>> out = new TreeMap<>();
        String s = source.toLowerCase();
        intervals.forEach((k, v) -> { if (k.equals(s) || k.startsWith(s + ":")) out.put(k, v); });
        return new GtidSet(flavor, out, serverIds, null);
    }

    /** The highest sequence number per MariaDB domain (domain number to sequence). */
    public Map<Long, Long> mariaDbSequences() {
        Map<Long, Long> out = new TreeMap<>();
        intervals.forEach((k, v) -> out.put(Long.parseLong(k.substring("domain ".length())), v.isEmpty() ? 0 : v.get(v.size() - 1)[1]));
        return Collections.unmodifiableMap(out);
    }

    /** The set in the server's own syntax. */
    public String gtidText() {
        List<String> parts = new ArrayList<>();
        for (Map.Entry<String, List<long[]>> e : intervals.entrySet()) {
            if (flavor == Flavor.MARIADB) {
                List<long[]> l = e.getValue();
                parts.add(e.getKey().substring("domain ".length()) + "-" + serverIds.getOrDefault(e.getKey(), 0L) + "-" + (l.isEmpty() ? 0 : l.get(l.size() - 1)[1]));
            } else {
                if (e.getValue().isEmpty()) continue;
                StringBuilder b = new StringBuilder(e.getKey());
                for (long[] iv : e.getValue()) b.append(':').append(iv[0]).append(iv[0] == iv[1] ? "" : "-" + iv[1]);
                parts.add(b.toString());
            }
        }
        return String.join(",", parts);
    }

    @Override
    @com.fasterxml.jackson.annotation.JsonValue
    public String text() { return "gtid " + (isEmpty() ? "(empty)" : gtidText()); }

    @Override
    public String toString() { return text(); }

    @Override
    public boolean equals(Object o) {
        return o instanceof GtidSet g && g.flavor == flavor && covers(g) && g.covers(this);
    }

    @Override
    public int hashCode() { return (int) rank(); }
}

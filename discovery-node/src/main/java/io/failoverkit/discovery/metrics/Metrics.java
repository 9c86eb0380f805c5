package io.failoverkit.discovery.metrics;

import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.DoubleSupplier;

/**
 * One agent's telemetry, named as Consul names it (go-metrics keys such as {@code consul.raft.commitTime}): counters
 * and samples recorded where things happen, gauges read when asked. Served by /v1/agent/metrics in Consul's JSON
 * (Gauges, Points, Counters, Samples) and in Prometheus' text format. Unlike go-metrics' in-memory sink, which reports
 * the last 10-second interval, counters and samples here are totals since the agent started (a scraper computes
 * rates from them; Rate in the JSON is per second over that whole time).
 */
public final class Metrics {
    /** A metric's name and labels (sorted, so that equal label sets are one key). */
    private record Key(String name, Map<String, String> labels) {
        static Key of(String name, Map<String, String> labels) {
            return new Key(name, labels == null || labels.isEmpty() ? Map.of() : new TreeMap<>(labels));
        }
    }

    /** Count, sum, min, max and the sum of squares: what Consul's JSON reports of a counter or a sample. */
    private static final class Stat {
        long count;
        double sum, min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY, sumSq;

        synchronized void add(double v) {
            count++;
            sum += v;
            sumSq += v * v;
            if (v < min) min = v;
            if (v > max) max = v;
        }

        synchronized Map<String, Object> json(Key k, double seconds) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Name", k.name);
            m.put("Count", count);
            m.put("Rate", seconds > 0 ? sum / seconds : 0);
            m.put("Sum", sum);
            m.put("Min", count == 0 ? 0 : min);
            m.put("Max", count == 0 ? 0 : max);
            double mean = count == 0 ? 0 : sum / count;
            m.put("Mean", mean);
            m.put("Stddev", count < 2 ? 0 : Math.sqrt(Math.max(0, (sumSq - count * mean * mean) / (count - 1))));
            m.put("Labels", k.labels);
            return m;
        }

        synchronized double[] countAndSum() { return new double[]{count, sum}; }
    }

    private static final DateTimeFormatter GO_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss Z 'UTC'", Locale.ROOT);

    private final long startNanos = System.nanoTime();
    private final Map<Key, Stat> counters = new ConcurrentHashMap<>();
    private final Map<Key, Stat> samples = new ConcurrentHashMap<>();
    private final Map<Key, DoubleSupplier> gauges = new ConcurrentHashMap<>();
    private final Map<Key, java.util.concurrent.atomic.LongAdder> adders = new ConcurrentHashMap<>();

    /**
     * A counter of single events for hot paths (a DNS query): the caller keeps the handle and increments it without
     * a lookup or a lock. Reported as a counter whose every increment was 1.
     */
    public java.util.concurrent.atomic.LongAdder eventCounter(String name, Map<String, String> labels) {
        return adders.computeIfAbsent(Key.of(name, labels), k -> new java.util.concurrent.atomic.LongAdder());
    }

    /** Adds {@code by} to a counter (go-metrics' IncrCounter). */
    public void incr(String name, Map<String, String> labels, double by) {
        counters.computeIfAbsent(Key.of(name, labels), k -> new Stat()).add(by);
    }

    public void incr(String name) { incr(name, Map.of(), 1); }

    /** Records one observation, e.g. a duration in milliseconds (go-metrics' AddSample / MeasureSince). */
    public void sample(String name, Map<String, String> labels, double value) {
        samples.computeIfAbsent(Key.of(name, labels), k -> new Stat()).add(value);
    }

    public void sinceMillis(String name, Map<String, String> labels, long startNanos) {
        sample(name, labels, (System.nanoTime() - startNanos) / 1e6);
    }

    /** A gauge read when the metrics are asked for (the value now, not a stored one). */
    public void gauge(String name, Map<String, String> labels, DoubleSupplier value) {
        gauges.put(Key.of(name, labels), value);
    }

    /** A counter's total so far (0 if never incremented): for tests and the bench scripts. */
    public double counterSum(String name, Map<String, String> labels) {
        Key k = Key.of(name, labels);
        Stat s = counters.get(k);
        java.util.concurrent.atomic.LongAdder a = adders.get(k);
        return (s == null ? 0 : s.countAndSum()[1]) + (a == null ? 0 : a.sum());
    }

    /** Consul's /v1/agent/metrics JSON. */
    public Map<String, Object> json() {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("Timestamp", ZonedDateTime.now(ZoneOffset.UTC).withNano(0).format(GO_TIME));
        List<Map<String, Object>> g = new ArrayList<>();
        sorted(gauges.keySet()).forEach(k -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Name", k.name);
            m.put("Value", read(gauges.get(k)));
            m.put("Labels", k.labels);
            g.add(m);
        });
        out.put("Gauges", g);
        out.put("Points", List.of());
        List<Map<String, Object>> c = new ArrayList<>(sorted(counters.keySet()).stream().map(k -> counters.get(k).json(k, seconds)).toList());
        for (Key k : sorted(adders.keySet())) {
            Stat ones = new Stat();
            long n = adders.get(k).sum();
            synchronized (ones) {
                ones.count = n;
                ones.sum = n;
                ones.sumSq = n;
                ones.min = 1;
                ones.max = 1;
            }
            c.add(ones.json(k, seconds));
        }
        out.put("Counters", c);
        out.put("Samples", sorted(samples.keySet()).stream().map(k -> samples.get(k).json(k, seconds)).toList());
        return out;
    }

    /**
     * Prometheus' text exposition format, as Consul's prometheus sink names things: dots become underscores
     * ({@code consul_raft_commitTime}); a counter is {@code <name>} (its total), a sample a summary with
     * {@code _sum} and {@code _count} (milliseconds, as Consul's).
     */
    public String prometheus() {
        StringBuilder out = new StringBuilder();
        Map<String, List<Key>> byName = new TreeMap<>();
        gauges.keySet().forEach(k -> byName.computeIfAbsent("g" + promName(k.name), x -> new ArrayList<>()).add(k));
        counters.keySet().forEach(k -> byName.computeIfAbsent("c" + promName(k.name), x -> new ArrayList<>()).add(k));
        adders.keySet().forEach(k -> byName.computeIfAbsent("c" + promName(k.name), x -> new ArrayList<>()).add(k));
        samples.keySet().forEach(k -> byName.computeIfAbsent("s" + promName(k.name), x -> new ArrayList<>()).add(k));
        byName.forEach((typed, keys) -> {
            String name = typed.substring(1);
            switch (typed.charAt(0)) {
                case 'g' -> {
                    out.append("# HELP ").append(name).append(' ').append(keys.get(0).name).append('\n');
                    out.append("# TYPE ").append(name).append(" gauge\n");
                    for (Key k : sorted(keys)) out.append(name).append(labels(k.labels)).append(' ').append(num(read(gauges.get(k)))).append('\n');
                }
                case 'c' -> {
                    out.append("# HELP ").append(name).append(' ').append(keys.get(0).name).append('\n');
                    out.append("# TYPE ").append(name).append(" counter\n");
                    for (Key k : sorted(keys)) {
                        Stat st = counters.get(k);
                        double v = st != null ? st.countAndSum()[1] : adders.get(k).sum();
                        out.append(name).append(labels(k.labels)).append(' ').append(num(v)).append('\n');
                    }
                }
                default -> {
                    out.append("# HELP ").append(name).append(' ').append(keys.get(0).name).append('\n');
                    out.append("# TYPE ").append(name).append(" summary\n");
                    for (Key k : sorted(keys)) {
                        double[] cs = samples.get(k).countAndSum();
                        out.append(name).append("_sum").append(labels(k.labels)).append(' ').append(num(cs[1])).append('\n');
                        out.append(name).append("_count").append(labels(k.labels)).append(' ').append(num(cs[0])).append('\n');
                    }
                }
            }
        });
        return out.toString();
    }

    private static List<Key> sorted(java.util.Collection<Key> keys) {
        return keys.stream().sorted(Comparator.comparing((Key k) -> k.name).thenComparing(k -> k.labels.toString())).toList();
    }

    private static double read(DoubleSupplier s) {
        try {
            return s.getAsDouble();
        } catch (RuntimeException e) {
            return Double.NaN; // a gauge whose source is gone (e.g. shut down) must not fail the whole answer
        }
    }

    static String promName(String name) {
        StringBuilder b = new StringBuilder(name.length());
        for (char c : name.toCharArray()) b.append(Character.isLetterOrDigit(c) && c < 128 || c == '_' || c == ':' ? c : '_');
        return b.toString();
    }

    private static String labels(Map<String, String> labels) {
        if (labels.isEmpty()) return "";
        StringBuilder b = new StringBuilder("{");
        labels.forEach((k, v) -> {
            if (b.length() > 1) b.append(',');
            b.append(promName(k)).append("=\"").append(v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n")).append('"');
        });
        return b.append('}').toString();
    }

    private static String num(double v) {
        if (Double.isNaN(v)) return "NaN";
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        return Double.toString(v);
    }
}

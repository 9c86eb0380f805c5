package io.failoverkit.discovery.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Go-style durations as Consul writes them: "10s", "1m30s", "500ms", "1h"; a bare number is seconds. */
public final class Durations {
    private static final Pattern PART = Pattern.compile("(\\d+(?:\\.\\d+)?)(ns|us|µs|ms|s|m|h)");

    private Durations() {}

    public static Duration parse(String text) {
        if (text == null) throw new IllegalArgumentException("missing duration");
        String s = text.trim();
        if (s.isEmpty()) throw new IllegalArgumentException("empty duration");
        if (s.matches("\\d+")) return Duration.ofSeconds(Long.parseLong(s));
        Matcher m = PART.matcher(s);
        long nanos = 0;
        int at = 0;
        while (m.find()) {
            if (m.start() != at) throw new IllegalArgumentException("invalid duration \"" + text + "\"");
            double n = Double.parseDouble(m.group(1));
            nanos += (long) (n * switch (m.group(2)) {
                case "ns" -> 1L;
                case "us", "µs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                default -> 3_600_000_000_000L;
            });
            at = m.end();
        }
        if (at != s.length() || at == 0) throw new IllegalArgumentException("invalid duration \"" + text + "\" (use e.g. 10s, 500ms, 1m)");
        return Duration.ofNanos(nanos);
    }

    /** Go's formatting for the durations we print (TTL "30s", "1m0s"). */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 1000 != 0) return ms + "ms";
        long s = ms / 1000;
        if (s < 60) return s + "s";
        long m = s / 60;
        if (m < 60) return m + "m" + (s % 60) + "s";
        return (m / 60) + "h" + (m % 60) + "m" + (s % 60) + "s";
    }
}

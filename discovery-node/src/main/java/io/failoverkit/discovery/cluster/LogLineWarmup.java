package io.failoverkit.discovery.cluster;

import org.slf4j.helpers.MessageFormatter;

import java.net.InetSocketAddress;
import java.text.SimpleDateFormat;
import java.util.Date;

/**
 * Formats, at start and in memory, what a member-join log line is made of (Serf's INFO line for each member an agent
 * learns, as serf logs them): the timestamp in the pattern the agent gives slf4j-simple (Main: to the millisecond
 * with the zone offset, a {@link SimpleDateFormat}) and the message through slf4j's formatter. Nothing is written.
 *
 * <p>Why: an agent logs a few lines before its first join, so a join of 30 members formatted its 29 lines with
 * cold code (JFR, bench/gossip.sh at N=30, session 8: the member-join line, slf4j-simple's date formatting and its
 * println, was ~13% of the gossip thread's samples); the JIT compiles the same JDK methods for any instance with the
 * same pattern. The println is not warmed (that would write).
 */
final class LogLineWarmup {
    /** Enough calls for C1 to compile the formatting (its threshold is a few hundred calls). */
    static final int ROUNDS = 300;

    private LogLineWarmup() {}

    /** Formats {@code rounds} lines' parts; returns their total length (0 when slf4j-simple shows no timestamps). */
    static int run(int rounds) {
        String pattern = System.getProperty("org.slf4j.simpleLogger.dateTimeFormat");
        SimpleDateFormat dates = null;
        if ("true".equals(System.getProperty("org.slf4j.simpleLogger.showDateTime")) && pattern != null) {
            try {
                dates = new SimpleDateFormat(pattern);
            } catch (IllegalArgumentException e) {
                dates = null; // slf4j-simple falls back to elapsed milliseconds: nothing to warm
            }
        }
        InetSocketAddress address = InetSocketAddress.createUnresolved("warmup", 8301);
        long now = System.currentTimeMillis();
        int length = 0;
        for (int i = 0; i < rounds; i++) {
            if (dates != null) length += dates.format(new Date(now + i)).length();
            length += MessageFormatter.basicArrayFormat("serf {}: member-join {} {}", new Object[]{"warmup", "warmup-" + i, address}).length();
        }
        return length;
    }
}

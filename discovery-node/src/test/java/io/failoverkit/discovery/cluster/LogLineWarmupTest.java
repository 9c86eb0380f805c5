package io.failoverkit.discovery.cluster;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class LogLineWarmupTest {
    private static final String SHOW = "org.slf4j.simpleLogger.showDateTime";
    private static final String FORMAT = "org.slf4j.simpleLogger.dateTimeFormat";

    @Test
    void formatsTheTimestampInTheAgentsPatternWhenTimestampsAreShown() {
        String show = System.getProperty(SHOW), format = System.getProperty(FORMAT);
        try {
            System.clearProperty(SHOW);
            int withoutDates = LogLineWarmup.run(10);
            System.setProperty(SHOW, "true");
            System.setProperty(FORMAT, "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"); // Main's
            int withDates = LogLineWarmup.run(10);
            assertThat(withoutDates).isPositive();
            assertThat(withDates - withoutDates).isGreaterThanOrEqualTo(10 * "2026-12-02T10:00:00.000Z".length());
            System.setProperty(FORMAT, "not a pattern ''' q");
            assertThat(LogLineWarmup.run(10)).isEqualTo(withoutDates); // slf4j-simple ignores a bad pattern too
        } finally {
            restore(SHOW, show);
            restore(FORMAT, format);
        }
    }

    private static void restore(String key, String value) {
        if (value == null) System.clearProperty(key);
        else System.setProperty(key, value);
    }
}

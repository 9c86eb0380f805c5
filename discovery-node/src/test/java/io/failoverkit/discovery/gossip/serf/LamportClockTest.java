package io.failoverkit.discovery.gossip.serf;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class LamportClockTest {
    @Test
    void incrementsAndWitnessesAsSerf() {
        LamportClock c = new LamportClock();
        assertThat(c.time()).isZero();
        assertThat(c.increment()).isEqualTo(1);
        c.witness(41);
        assertThat(c.time()).isEqualTo(42);   // past what was seen
        c.witness(41);
        assertThat(c.time()).isEqualTo(42);   // an older time changes nothing
        c.witness(42);
        assertThat(c.time()).isEqualTo(43);   // the same time moves past it
        c.witness(3);
        assertThat(c.time()).isEqualTo(43);
    }

    @Test
    void timesCompareUnsignedAsGo() {
        LamportClock c = new LamportClock(Long.MAX_VALUE - 1);
        c.witness(Long.MAX_VALUE);
        assertThat(c.time()).isEqualTo(Long.MIN_VALUE);     // 2^63 as a uint64
        c.witness(5);
        assertThat(c.time()).isEqualTo(Long.MIN_VALUE);     // 5 is older than 2^63
    }

    @Test
    void aTimeFarAheadIsImplausibleAndIgnored() {
        LamportClock c = new LamportClock();
        c.witness(10);
        assertThat(c.plausible(10 + LamportClock.MAX_AHEAD)).isTrue();
        assertThat(c.plausible(12 + LamportClock.MAX_AHEAD)).isFalse();
        c.witness(Long.MAX_VALUE);
        assertThat(c.time()).isEqualTo(11);                 // a forged 2^63 - 1 moves nothing
        LamportClock top = new LamportClock(-2L);           // 2^64 - 2
        top.witness(-1L);
        assertThat(top.time()).isEqualTo(-2L);              // never wraps to 0
    }

    @Test
    void concurrentWitnessesKeepTheMaximum() throws Exception {
        LamportClock c = new LamportClock();
        Thread[] ts = new Thread[4];
        for (int t = 0; t < ts.length; t++) {
            int base = t;
            ts[t] = new Thread(() -> {
                for (int i = 0; i < 10_000; i++) c.witness(i * 4L + base);
            });
            ts[t].start();
        }
        for (Thread t : ts) t.join();
        assertThat(c.time()).isEqualTo(9_999 * 4L + 3 + 1);
    }
}

package io.failoverkit.discovery.gossip.swim;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

class TransmitLimitedQueueTest {
    private record Msg(String text, int size) {}

    private static void q(TransmitLimitedQueue<Msg> queue, String key, Msg m, Runnable done) {
        queue.queue(m, key, m.size(), done);
    }

    @Test
    void retransmitLimitGrowsWithLog10OfTheNodeCount() {
        assertThat(TransmitLimitedQueue.retransmitLimit(4, 1)).isEqualTo(4);
        assertThat(TransmitLimitedQueue.retransmitLimit(4, 9)).isEqualTo(4);
        assertThat(TransmitLimitedQueue.retransmitLimit(4, 10)).isEqualTo(8);
        assertThat(TransmitLimitedQueue.retransmitLimit(4, 99)).isEqualTo(8);
        assertThat(TransmitLimitedQueue.retransmitLimit(4, 100)).isEqualTo(12);
        assertThat(TransmitLimitedQueue.retransmitLimit(6, 50)).isEqualTo(12);
        assertThat(TransmitLimitedQueue.retransmitLimit(6, 1000)).isEqualTo(24);
    }

    @Test
    void fewestTransmissionsFirstThenLargestThenNewest() {
        TransmitLimitedQueue<Msg> queue = new TransmitLimitedQueue<>(4, () -> 10);
        Msg a = new Msg("a", 10), b = new Msg("b", 30), c = new Msg("c", 20), d = new Msg("d", 20);
        q(queue, "a", a, null);
        q(queue, "b", b, null);
        q(queue, "c", c, null);
        q(queue, "d", d, null);
        assertThat(queue.get(2, 1000)).containsExactly(b, d, c, a);
        Msg e = new Msg("e", 5);
        q(queue, "e", e, null);
        assertThat(queue.get(2, 1000)).as("e has been sent fewer times").containsExactly(e, b, d, c, a);
    }

    @Test
    void takesWhatFitsTheBudgetCountingTheOverheadOfEach() {
        TransmitLimitedQueue<Msg> queue = new TransmitLimitedQueue<>(4, () -> 10);
        Msg big = new Msg("big", 30), mid = new Msg("mid", 20), small = new Msg("small", 10);
        q(queue, null, big, null);
        q(queue, null, mid, null);
        q(queue, null, small, null);
        // 50 bytes: big (30 + 2) leaves 18, of which 2 framing: mid (20) does not fit, small (10) does
        assertThat(queue.get(2, 50)).containsExactly(big, small);
        // next packet: mid has been sent least; then of the once-sent, big does not fit in what is left, small does
        assertThat(queue.get(2, 50)).containsExactly(mid, small);
        assertThat(queue.get(2, 5)).as("nothing fits").isEmpty();
        assertThat(queue.size()).isEqualTo(3);
    }

    @Test
    void aNewerMessageUnderTheSameKeyReplacesTheOlder() {
        TransmitLimitedQueue<Msg> queue = new TransmitLimitedQueue<>(4, () -> 10);
        AtomicInteger finished = new AtomicInteger();
        Msg suspect = new Msg("suspect n1", 20), alive = new Msg("alive n1", 25), other = new Msg("alive n2", 25);
        q(queue, "n1", suspect, finished::incrementAndGet);
        q(queue, "n2", other, null);
        q(queue, "n1", alive, null);
        assertThat(finished).as("the replaced one is finished").hasValue(1);
        assertThat(queue.size()).isEqualTo(2);
        assertThat(queue.get(2, 1000)).containsExactlyInAnyOrder(alive, other);
        // unkeyed messages never replace each other
        q(queue, null, new Msg("x", 1), null);
        q(queue, null, new Msg("x", 1), null);
        assertThat(queue.size()).isEqualTo(4);
    }

    @Test
    void aMessageLeavesAfterItsRetransmitLimit() {
        AtomicInteger nodes = new AtomicInteger(5); // limit 4 x ceil(log10(6)) = 4
        TransmitLimitedQueue<Msg> queue = new TransmitLimitedQueue<>(4, nodes::get);
        AtomicInteger finished = new AtomicInteger();
        Msg m = new Msg("m", 10);
        q(queue, "k", m, finished::incrementAndGet);
        List<Msg> sent = new ArrayList<>();
        for (int i = 0; i < 10; i++) sent.addAll(queue.get(2, 100));
        assertThat(sent).hasSize(4);
        assertThat(finished).hasValue(1);
        assertThat(queue.isEmpty()).isTrue();

        nodes.set(50); // the limit follows the pool's size: 8
        q(queue, "k", m, null);
        sent.clear();
        for (int i = 0; i < 20; i++) sent.addAll(queue.get(2, 100));
        assertThat(sent).hasSize(8);
    }

    @Test
    void pruneDropsTheMostTransmittedAndResetFinishesAll() {
        TransmitLimitedQueue<Msg> queue = new TransmitLimitedQueue<>(4, () -> 1000);
        AtomicInteger finished = new AtomicInteger();
        Msg old = new Msg("old", 10);
        q(queue, "old", old, finished::incrementAndGet);
        queue.get(2, 100);
        Msg fresh = new Msg("fresh", 10);
        q(queue, "fresh", fresh, finished::incrementAndGet);
        queue.prune(1);
        assertThat(finished).hasValue(1);
        assertThat(queue.get(2, 100)).containsExactly(fresh);
        queue.reset();
        assertThat(finished).hasValue(2);
        assertThat(queue.isEmpty()).isTrue();
    }
}

package io.failoverkit.discovery.gossip.swim;

import io.failoverkit.discovery.gossip.transport.RealScheduler;
import io.failoverkit.discovery.gossip.transport.UdpTcpTransport;
import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.NodeState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Memberlist over the real UDP/TCP transport on loopback, one RealScheduler thread per node. */
class SwimLoopbackTest {
    private final List<RealScheduler> schedulers = new ArrayList<>();
    private final List<Memberlist> lists = new ArrayList<>();

    @AfterEach
    void stop() {
        lists.forEach(Memberlist::shutdown);
        schedulers.forEach(RealScheduler::shutdown);
    }

    private Memberlist node(int i) throws Exception {
        RealScheduler s = new RealScheduler("n" + i);
        UdpTcpTransport t = new UdpTcpTransport(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), Codec.Options.PLAIN);
        Memberlist m = Memberlist.create(SwimConfig.agent("n" + i), t, s, null, null);
        schedulers.add(s);
        lists.add(m);
        m.start();
        return m;
    }

    @Test
    void fiveNodesJoinDetectAKilledOneAndSeeALeavingOneLeft() throws Exception {
        for (int i = 0; i < 5; i++) node(i);
        await().atMost(Duration.ofSeconds(30)).until(() -> lists.stream().allMatch(m -> m.localNode() != null));
        InetSocketAddress seed = lists.get(0).localNode().address();
        for (int i = 1; i < 5; i++) {
            // every address, itself included: itself never counts
            Integer answered = lists.get(i).join(List.of(seed, lists.get(i).localNode().address()))
                    .get(30, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(answered).isEqualTo(1);
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> lists.stream().allMatch(m -> m.numAlive() == 5));

        // SIGKILL-like: node 4's thread and sockets go away without a word
        lists.get(4).shutdown();
        schedulers.get(4).shutdown();
        await().atMost(Duration.ofSeconds(60)).until(() -> lists.subList(0, 4).stream()
                .allMatch(m -> m.member("n4") != null && m.member("n4").state() == NodeState.DEAD));

        lists.get(3).leave(Duration.ofSeconds(5)).get(30, java.util.concurrent.TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(60)).until(() -> lists.subList(0, 3).stream()
                .allMatch(m -> m.member("n3") != null && m.member("n3").state() == NodeState.LEFT));
        assertThat(lists.subList(0, 3)).allMatch(m -> m.numAlive() == 3);
        assertThat(lists).allMatch(m -> m.taskFailures() == 0);
        assertThat(schedulers).allMatch(s -> s.failedTasks() == 0);
    }
}

package io.failoverkit.discovery.gossip.transport;

import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.Keyring;
import io.failoverkit.discovery.gossip.wire.Message;
import io.failoverkit.discovery.gossip.wire.NodeState;
import io.failoverkit.discovery.gossip.wire.PushPull;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

class UdpTcpTransportTest {
    static final byte[] VSN = {1, 5, 2, 2, 5, 5};
    static final Duration WAIT = Duration.ofSeconds(30);
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (AutoCloseable c : open) c.close();
    }

    /** Records everything; answers push-pulls with one node named after it and pings addressed to it. */
    static final class Recorder implements Transport.Inbox {
        final String name;
        final ConcurrentLinkedQueue<Message> packets = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<Message> streams = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<PushPull> pushPulls = new ConcurrentLinkedQueue<>();

        Recorder(String name) {
            this.name = name;
        }

        PushPull state() {
            return new PushPull(false, List.of(new PushPull.NodeEntry(name, new byte[] {127, 0, 0, 1}, 1, new byte[0], 3,
                    NodeState.ALIVE, VSN)), name.getBytes());
        }

        @Override
        public void packet(InetSocketAddress from, Message message) {
            packets.add(message);
        }

        @Override
        public CompletableFuture<PushPull> pushPull(InetSocketAddress from, PushPull remote) {
            pushPulls.add(remote);
            return CompletableFuture.completedFuture(state());
        }

        @Override
        public void stream(InetSocketAddress from, Message message) {
            streams.add(message);
        }

        @Override
        public CompletableFuture<Message.Ack> streamPing(InetSocketAddress from, Message.Ping ping) {
            if (!ping.node().equals(name)) return null;
            return CompletableFuture.completedFuture(new Message.Ack(ping.seqNo(), new byte[] {9}));
        }
    }

    UdpTcpTransport transport(Codec.Options o, Recorder r) throws IOException {
        UdpTcpTransport t = new UdpTcpTransport(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), o);
        open.add(t);
        t.start(r);
        return t;
    }

    @Test
    void packetsAndStreamsRoundTripPlainAndEncrypted() throws Exception {
        Keyring ring = Keyring.of(new byte[32]);
        for (Codec.Options o : List.of(Codec.Options.PLAIN, new Codec.Options("lbl", ring, true, true))) {
            Recorder ra = new Recorder("a"), rb = new Recorder("b");
            UdpTcpTransport a = transport(o, ra), b = transport(o, rb);
            assertThat(a.advertise().getPort()).isEqualTo(a.port());

            a.sendPacket(b.advertise(), List.of(new Message.Ping(1, "b", new byte[] {127, 0, 0, 1}, a.port(), "a"),
                    new Message.Suspect(2, "x", "a"), new Message.User("hi".getBytes())));
            await().atMost(WAIT).until(() -> rb.packets.size() == 3);
            assertThat(rb.packets).extracting(m -> m.getClass().getSimpleName()).containsExactly("Ping", "Suspect", "User");

            PushPull got = a.pushPull(b.advertise(), ra.state(), Duration.ofSeconds(10)).get(30, TimeUnit.SECONDS);
            assertThat(got.nodes().get(0).name()).isEqualTo("b");
            assertThat(got.userState()).isEqualTo("b".getBytes());
            assertThat(rb.pushPulls).hasSize(1);
            assertThat(rb.pushPulls.peek().userState()).isEqualTo("a".getBytes());

            Message.Ack ack = a.pingStream(b.advertise(), new Message.Ping(77, "b", new byte[0], 0, "a"), Duration.ofSeconds(10))
                    .get(30, TimeUnit.SECONDS);
            assertThat(ack.seqNo()).isEqualTo(77);
            assertThat(ack.payload()).containsExactly(9);
            // a ping for another node gets no ack: the stream is closed, the future fails
            assertThatThrownBy(() -> a.pingStream(b.advertise(), new Message.Ping(78, "zz", new byte[0], 0, "a"), Duration.ofSeconds(10))
                    .get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);

            byte[] big = new byte[200_000];
            new SplittableRandom(1).nextBytes(big);
            a.sendStream(b.advertise(), new Message.User(big), Duration.ofSeconds(10)).get(30, TimeUnit.SECONDS);
            a.sendStream(b.advertise(), new Message.Dead(4, "x", "a"), Duration.ofSeconds(10)).get(30, TimeUnit.SECONDS);
            await().atMost(WAIT).until(() -> rb.streams.size() == 2);
            // the two streams run concurrently: either may land first
            assertThat(rb.streams.stream().filter(m -> m instanceof Message.User).map(m -> ((Message.User) m).payload()))
                    .singleElement().isEqualTo(big);
            assertThat(rb.streams).hasAtLeastOneElementOfType(Message.Dead.class);
            assertThat(a.droppedPackets()).isZero();
            assertThat(b.droppedPackets()).isZero();
        }
    }

    @Test
    void wrongKeyAndPlaintextAreDroppedAndCounted() throws Exception {
        Recorder rb = new Recorder("b");
        UdpTcpTransport b = transport(new Codec.Options("", Keyring.of(new byte[16]), false, false), rb);
        UdpTcpTransport wrong = transport(new Codec.Options("", Keyring.of(new byte[24]), false, false), new Recorder("w"));
        UdpTcpTransport plain = transport(Codec.Options.PLAIN, new Recorder("p"));
        wrong.sendPacket(b.advertise(), List.of(new Message.Nack(1)));
        plain.sendPacket(b.advertise(), List.of(new Message.Nack(2)));
        await().atMost(WAIT).until(() -> b.droppedPackets() == 2);
        assertThatThrownBy(() -> wrong.pushPull(b.advertise(), rb.state(), Duration.ofSeconds(10)).get(30, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class);
        assertThatThrownBy(() -> plain.pushPull(b.advertise(), rb.state(), Duration.ofSeconds(10)).get(30, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class);
        await().atMost(WAIT).until(() -> b.droppedPackets() == 4);
        assertThat(rb.packets).isEmpty();
        assertThat(rb.pushPulls).isEmpty();
    }

    @Test
    void aFloodOfGarbageIsCountedAndTheTransportGoesOn() throws Exception {
        Recorder rb = new Recorder("b");
        UdpTcpTransport b = transport(Codec.Options.PLAIN, rb);
        SplittableRandom r = new SplittableRandom(3);
        int n = 500;
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            for (int i = 0; i < n; i++) {
                byte[] g = new byte[1 + r.nextInt(1400)];
                r.nextBytes(g);
                g[0] = (byte) (14 + r.nextInt(230)); // no message type: always undecodable
                s.send(new DatagramPacket(g, g.length, b.advertise()));
                if (i % 50 == 0) Thread.sleep(5); // let the receiver keep up (UDP may drop, which is fine)
            }
            // and a packet that is legal
            byte[] ok = Codec.encodePacket(List.of(new Message.Nack(5)), Codec.Options.PLAIN);
            await().atMost(WAIT).untilAsserted(() -> {
                s.send(new DatagramPacket(ok, ok.length, b.advertise()));
                assertThat(rb.packets).isNotEmpty();
            });
        }
        assertThat(b.droppedPackets()).isPositive().isLessThanOrEqualTo(n);
        assertThat(rb.packets).allMatch(m -> m instanceof Message.Nack);
        // garbage streams, a lying length, an abandoned stream: dropped, and push-pull still works
        long before = b.droppedPackets();
        for (byte[] g : List.of(new byte[] {6, (byte) 0xc1}, new byte[] {(byte) 0xf4, 0}, new byte[] {8, (byte) 0x81},
                new byte[] {6, (byte) 0x81, (byte) 0xa5, 'N', 'o', 'd', 'e', 's', (byte) 0xce, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff})) {
            try (Socket s = new Socket()) {
                s.connect(b.advertise(), 5000);
                s.getOutputStream().write(g);
                s.shutdownOutput();
                s.getInputStream().readAllBytes();
            }
        }
        await().atMost(WAIT).until(() -> b.droppedPackets() >= before + 4);
        Recorder ra = new Recorder("a");
        UdpTcpTransport a = transport(Codec.Options.PLAIN, ra);
        assertThat(a.pushPull(b.advertise(), ra.state(), Duration.ofSeconds(10)).get(30, TimeUnit.SECONDS).nodes()).hasSize(1);
    }

    @Test
    void streamsFailOnTheirDeadlineWhenThePeerSaysNothing() throws Exception {
        UdpTcpTransport a = transport(Codec.Options.PLAIN, new Recorder("a"));
        try (ServerSocket silent = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            List<Socket> accepted = new ArrayList<>();
            Thread.ofVirtual().start(() -> {
                try {
                    while (true) accepted.add(silent.accept());
                } catch (IOException ignored) {
                    // closed
                }
            });
            InetSocketAddress to = new InetSocketAddress(InetAddress.getLoopbackAddress(), silent.getLocalPort());
            CompletableFuture<PushPull> pp = a.pushPull(to, new Recorder("a").state(), Duration.ofMillis(300));
            CompletableFuture<Message.Ack> ping = a.pingStream(to, new Message.Ping(1, "x", new byte[0], 0, "a"), Duration.ofMillis(300));
            assertThatThrownBy(() -> pp.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
            assertThatThrownBy(() -> ping.get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
            for (Socket s : accepted) s.close();
        }
        // nothing listening at all
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        assertThatThrownBy(() -> a.pushPull(new InetSocketAddress(InetAddress.getLoopbackAddress(), closedPort),
                new Recorder("a").state(), Duration.ofSeconds(5)).get(30, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class);
    }

    @Test
    void packetLimitLeavesRoomForFraming() throws IOException {
        UdpTcpTransport plain = transport(Codec.Options.PLAIN, new Recorder("a"));
        UdpTcpTransport sealed = transport(new Codec.Options("", Keyring.of(new byte[32]), true, false), new Recorder("b"));
        assertThat(plain.packetLimit()).isEqualTo(1400 - 2);
        assertThat(sealed.packetLimit()).isEqualTo(1400 - 2 - 29);
        // a packet filled to the limit stays within UDPBufferSize once framed
        List<Message> fill = new ArrayList<>();
        int used = 0;
        Message m = new Message.Suspect(1, "node-xyz", "node-abc");
        while (used + sealed.sizeOf(m) <= sealed.packetLimit()) {
            fill.add(m);
            used += sealed.sizeOf(m);
        }
        assertThat(Codec.encodePacket(fill, new Codec.Options("", Keyring.of(new byte[32]), false, false)).length).isLessThanOrEqualTo(1400);
        assertThat(Arrays.asList(plain.sizeOf(m), Codec.encode(m).length + 2)).containsOnly(plain.sizeOf(m));
    }
}

package io.failoverkit.discovery.gossip.transport;

import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.GoMsgpack;
import io.failoverkit.discovery.gossip.wire.Message;
import io.failoverkit.discovery.gossip.wire.PushPull;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Paths an adversarial review walked in the real transport: each test failed before its fix. */
class TransportReviewTest {

    /**
     * A push-pull whose node entries are nearly empty maps compresses to almost nothing: 50 KB on the wire decode to
     * a million entries, about 156 MB of heap, and 128 such streams may be served at once. What all inbound streams
     * hold decoded at one time is bounded ({@link UdpTcpTransport#MAX_PUSH_PULL_NODES_IN_FLIGHT}); a stream that would
     * pass it is refused and counted, never decoded.
     */
    @Test
    void pushPullNodesHeldAtOnceByInboundStreamsAreBounded() throws Exception {
        int perStream = UdpTcpTransport.MAX_PUSH_PULL_NODES_IN_FLIGHT / 2 + 1; // two of them pass the bound
        AtomicLong held = new AtomicLong(), maxHeld = new AtomicLong();
        AtomicInteger delivered = new AtomicInteger();
        CompletableFuture<PushPull> never = new CompletableFuture<>(); // the merge "takes" until the test ends
        UdpTcpTransport t = new UdpTcpTransport(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                null, Codec.Options.PLAIN, Duration.ofSeconds(20));
        try {
            t.start(new Transport.Inbox() {
                @Override public void packet(InetSocketAddress from, Message message) {}
                @Override public CompletableFuture<PushPull> pushPull(InetSocketAddress from, PushPull remote) {
                    maxHeld.accumulateAndGet(held.addAndGet(remote.nodes().size()), Math::max);
                    delivered.incrementAndGet();
                    return never;
                }
                @Override public void stream(InetSocketAddress from, Message message) {}
                @Override public CompletableFuture<Message.Ack> streamPing(InetSocketAddress from, Message.Ping ping) {
                    return CompletableFuture.completedFuture(null);
                }
            });
            byte[] bomb = bomb(perStream);
            assertThat(bomb.length).as("compressed on the wire").isLessThan(50_000);
            List<Socket> sockets = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                Socket s = new Socket(t.advertise().getAddress(), t.advertise().getPort());
                sockets.add(s);
                OutputStream out = s.getOutputStream();
                out.write(bomb);
                out.flush();
                int before = i;
                await().atMost(Duration.ofSeconds(60)).until(() -> delivered.get() + t.droppedPackets() > before);
            }
            assertThat(maxHeld.get()).as("push-pull nodes held at once").isLessThanOrEqualTo(UdpTcpTransport.MAX_PUSH_PULL_NODES_IN_FLIGHT);
            assertThat(delivered.get()).isEqualTo(1);
            assertThat(t.droppedPackets()).isEqualTo(1);
            for (Socket s : sockets) s.close();
        } finally {
            never.complete(null);
            t.close();
        }
    }

    /** A push-pull of {@code n} entries holding only a one-letter name, compressed as memberlist compresses streams. */
    static byte[] bomb(int n) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.write(Codec.PUSH_PULL);
        body.writeBytes(GoMsgpack.writer().map(3).sint("Nodes", n).sint("UserStateLen", 0).bool("Join", false).toByteArray());
        byte[] entry = GoMsgpack.writer().map(1).str("Name", "a").toByteArray();
        for (int i = 0; i < n; i++) body.writeBytes(entry);
        return Codec.encodeStream(body.toByteArray(), new Codec.Options("", null, true, false), true);
    }
}

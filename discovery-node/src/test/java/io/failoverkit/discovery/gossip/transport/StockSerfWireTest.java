package io.failoverkit.discovery.gossip.transport;

import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.Crypto;
import io.failoverkit.discovery.gossip.wire.GoMsgpack;
import io.failoverkit.discovery.gossip.wire.Keyring;
import io.failoverkit.discovery.gossip.wire.Lzw;
import io.failoverkit.discovery.gossip.wire.Message;
import io.failoverkit.discovery.gossip.wire.NodeState;
import io.failoverkit.discovery.gossip.wire.PushPull;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import java.io.File;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The proof that our bytes are memberlist's: a stock {@code serf agent} (/usr/bin/serf) and our {@link UdpTcpTransport}
 * talk. We ping it over UDP (plain, LZW-compressed, with a CRC, as a compound; sealed with version 1 and version 0
 * when encrypted) and get its acks; ping it over TCP; push-pull with join=true carrying our node, decode its reply
 * (its node and its Serf user state, compressed by serf's LZW), and then {@code serf members} lists our node alive with
 * our tags, because a tiny inbox answers serf's probes. Run under {@code flock /tmp/failoverkit-drills.lock}.
 */
@EnabledIf("serfInstalled")
class StockSerfWireTest {
    static final byte[] VSN = {1, 5, 2, 2, 5, 5};
    static final String ME = "fk1";
    static final Duration WAIT = Duration.ofSeconds(30);

    private Process serf;
    private UdpTcpTransport transport;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    static boolean serfInstalled() {
        return new File("/usr/bin/serf").canExecute();
    }

    @AfterEach
    void stop() throws Exception {
        if (transport != null) transport.close();
        for (AutoCloseable c : closeables) c.close();
        if (serf != null) {
            long pid = serf.pid();
            serf.destroy(); // SIGTERM to that PID
            if (!serf.waitFor(10, TimeUnit.SECONDS)) serf.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        }
    }

    @Test
    void plainSerfUnderstandsUsAndWeUnderstandIt() throws Exception {
        exchangeWithSerf(null);
    }

    @Test
    void encryptedSerfUnderstandsUsAndWeUnderstandIt() throws Exception {
        String key = run("/usr/bin/serf", "keygen").trim();
        exchangeWithSerf(key);
    }

    private void exchangeWithSerf(String key) throws Exception {
        int port = FreePorts.next();
        int rpc = FreePorts.next();
        Path log = Files.createTempFile("serf-s1-", ".log");
        Path events = Files.createTempFile("serf-s1-events-", ".txt");
        Path handler = Files.createTempFile("serf-s1-handler-", ".sh");
        Files.writeString(handler, "#!/bin/sh\nprintf '%s:%s\\n' \"$SERF_USER_EVENT\" \"$(cat)\" >> " + events + "\n");
        handler.toFile().setExecutable(true);
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/serf", "agent", "-node", "s1", "-bind", "127.0.0.1:" + port,
                "-rpc-addr", "127.0.0.1:" + rpc, "-log-level", "debug", "-event-handler", "user=" + handler));
        if (key != null) cmd.addAll(List.of("-encrypt", key));
        serf = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        InetSocketAddress serfAddr = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        await().atMost(WAIT).ignoreExceptions().until(() -> {
            try (Socket s = new Socket()) {
                s.connect(serfAddr, 500);
                return true;
            }
        });

        Keyring ring = key == null ? null : Keyring.ofBase64(key);
        Codec.Options opts = new Codec.Options("", ring, true, false);
        transport = new UdpTcpTransport(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), opts);
        byte[] myAddr = transport.advertise().getAddress().getAddress();
        int myPort = transport.port();
        byte[] meta = serfTags(Map.of("role", "failoverkit"));
        PushPull.NodeEntry me = new PushPull.NodeEntry(ME, myAddr, myPort, meta, 1, NodeState.ALIVE, VSN);
        AckingInbox inbox = new AckingInbox(transport, me);
        transport.start(inbox);

        // 1. a UDP ping, as the transport frames it: serf acks with the same sequence number
        transport.sendPacket(serfAddr, List.of(ping(42, myAddr, myPort)));
        awaitAck(inbox, 42);

        // 1b. a ping without SourceAddr, SourcePort and SourceNode (what our probes send when the transport sends
        //     from its advertised address): serf acks it to the packet's source
        assertThat(transport.sendsFromAdvertised()).isTrue();
        transport.sendPacket(serfAddr, List.of(new Message.Ping(41, "s1", new byte[0], 0, "")));
        awaitAck(inbox, 41);

        // 2. framings serf must undo: LZW compression (our encoder), a CRC, a compound of two pings;
        //    when encrypted also a version-0 (PKCS7-padded) sealed packet
        try (DatagramSocket raw = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            sendRaw(raw, serfAddr, seal(Codec.compress(Codec.encode(ping(43, myAddr, myPort))), ring, 1));
            awaitAck(inbox, 43);
            sendRaw(raw, serfAddr, seal(Codec.withCrc(Codec.encode(ping(44, myAddr, myPort))), ring, 1));
            awaitAck(inbox, 44);
            sendRaw(raw, serfAddr, seal(Codec.compound(List.of(Codec.encode(ping(45, myAddr, myPort)),
                    Codec.encode(ping(46, myAddr, myPort)))), ring, 1));
            awaitAck(inbox, 45);
            awaitAck(inbox, 46);
            if (ring != null) {
                sendRaw(raw, serfAddr, seal(Codec.encode(ping(47, myAddr, myPort)), ring, 0));
                awaitAck(inbox, 47);
            }
        }

        // 3. a ping over TCP
        Message.Ack tcpAck = transport.pingStream(serfAddr, ping(48, myAddr, myPort), Duration.ofSeconds(10)).get(30, TimeUnit.SECONDS);
        assertThat(tcpAck.seqNo()).isEqualTo(48);

        // 3b. memberlist user messages carry Serf's messages: a Serf user event (type 3) in a packet and over a stream
        //     runs serf's handler with its payload
        transport.sendPacket(serfAddr, List.of(new Message.User(serfUserEvent(1, "wire-packet", "hello-packet"))));
        transport.sendStream(serfAddr, new Message.User(serfUserEvent(2, "wire-stream", "hello-stream")), Duration.ofSeconds(10))
                .get(30, TimeUnit.SECONDS);
        await().atMost(WAIT).untilAsserted(() -> assertThat(Files.readString(events))
                .contains("wire-packet:hello-packet").contains("wire-stream:hello-stream"));

        // 4a. serf joins us: it dials our TCP port with its (compressed, maybe sealed) push-pull, we answer with ours
        String rpcAddr = "127.0.0.1:" + rpc;
        assertThat(run("/usr/bin/serf", "join", "-rpc-addr", rpcAddr, "127.0.0.1:" + myPort)).contains("Successfully joined");
        PushPull fromSerf = inbox.pushPulls.poll(30, TimeUnit.SECONDS);
        assertThat(fromSerf).isNotNull();
        assertThat(fromSerf.join()).isTrue();
        assertThat(fromSerf.nodes()).extracting(PushPull.NodeEntry::name).contains("s1");
        assertThat(fromSerf.userState()).isNotEmpty();
        assertThat(fromSerf.userState()[0]).isEqualTo((byte) 2);

        // 4. push-pull with join: serf's reply names s1 and carries Serf's user state (a messagePushPull, type 2)
        PushPull reply = transport.pushPull(serfAddr, new PushPull(true, List.of(me), new byte[0]), Duration.ofSeconds(10))
                .get(30, TimeUnit.SECONDS);
        PushPull.NodeEntry s1 = reply.nodes().stream().filter(n -> n.name().equals("s1")).findFirst().orElseThrow();
        assertThat(s1.state()).isEqualTo(NodeState.ALIVE);
        assertThat(s1.port()).isEqualTo(port);
        assertThat(s1.addr()).containsExactly(127, 0, 0, 1);
        assertThat(s1.vsn()).hasSize(6);
        assertThat(s1.meta()).isNotEmpty();
        assertThat(s1.meta()[0] & 0xff).as("Serf's tag encoding: 0xFF then a map").isEqualTo(0xff);
        assertThat(GoMsgpack.reader(s1.meta(), 1, s1.meta().length - 1).readMap().keys()).isNotNull();
        assertThat(reply.userState()).isNotEmpty();
        assertThat(reply.userState()[0]).as("Serf's messagePushPull type").isEqualTo((byte) 2);
        GoMsgpack.Map serfState = GoMsgpack.reader(reply.userState(), 1, reply.userState().length - 1).readMap();
        assertThat(serfState.keys()).contains("LTime", "StatusLTimes");

        // 5. serf now lists us, alive, with our tags: it probes us and the inbox acks
        await().atMost(WAIT).pollInterval(Duration.ofMillis(300)).untilAsserted(() ->
                assertThat(run("/usr/bin/serf", "members", "-rpc-addr", rpcAddr, "-status", "alive", "-name", "^" + ME + "$"))
                        .contains(ME).contains("role=failoverkit").contains("127.0.0.1:" + myPort));
        await().atMost(WAIT).until(() -> inbox.probesFromSerf > 0);
        // serf gossips the user events on to its new member, us, piggybacked in its packets
        await().atMost(WAIT).until(() -> inbox.serfMessages.stream().anyMatch(b -> b.length > 0 && b[0] == 3
                && new String(b, StandardCharsets.UTF_8).contains("wire-stream")));

        // 6. a push-pull over a raw socket with 400 more nodes, so that serf's reply is long: it comes compressed by Go's
        //    compress/lzw (serf compresses streams), through every code width and past a table reset (>4095 codes).
        //    Done last: serf then probes 400 more nodes and rarely us.
        List<PushPull.NodeEntry> many = new ArrayList<>(List.of(me));
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(7);
        for (int i = 0; i < 400; i++) {
            String v = Long.toString(rnd.nextLong(), 36);
            many.add(new PushPull.NodeEntry("fake-" + i + "-" + v, myAddr, 1 + i, serfTags(Map.of("k", v + v)), 1, NodeState.ALIVE, VSN));
        }
        // our own stream is compressed by our encoder (Options.compress) through a table reset too: serf must decode it
        assertThat(Lzw.encode(Codec.pushPullBody(new PushPull(false, many, new byte[0]))).length * 8 / 12)
                .as("codes in our compressed push-pull").isGreaterThan(4200);
        // memberlist replies with its state before merging ours: the second exchange brings the 400 back
        rawPushPull(serfAddr, new PushPull(false, many, new byte[0]), opts);
        byte[] raw = rawPushPull(serfAddr, new PushPull(false, List.of(me), new byte[0]), opts);
        byte[] inner = raw;
        if (ring != null) {
            assertThat(raw[0]).as("sealed stream").isEqualTo((byte) Codec.ENCRYPT);
            inner = Crypto.decrypt(ring.list(), java.util.Arrays.copyOfRange(raw, 5, raw.length), java.util.Arrays.copyOf(raw, 5));
        }
        assertThat(inner[0]).as("serf compresses its push-pull").isEqualTo((byte) Codec.COMPRESS);
        byte[] lzw = GoMsgpack.reader(inner, 1, inner.length - 1).readMap().bytes("Buf");
        assertThat(lzw.length * 8 / 12).as("enough codes to pass a table reset").isGreaterThan(4200);
        PushPull big = ((Codec.Inbound.State) Codec.decodeStream(raw, opts, false)).pushPull();
        assertThat(big.nodes().stream().map(PushPull.NodeEntry::name).toList())
                .contains("s1", ME).containsAll(many.stream().map(PushPull.NodeEntry::name).toList());

        // nothing serf sent us was dropped as undecodable, and serf complained about nothing we sent
        assertThat(transport.droppedPackets()).as("dropped; serf log: " + log).isZero();
        List<String> complaints = Files.readAllLines(log).stream()
                .filter(l -> l.contains("[ERR]") || l.contains("[WARN]"))
                .filter(l -> l.matches("(?i).*(decode|decompress|checksum|decrypt|not supported|invalid|remote state|failed to receive|label).*"))
                .toList();
        assertThat(complaints).as("serf log " + log).isEmpty();
        Files.deleteIfExists(log);
        Files.deleteIfExists(events);
        Files.deleteIfExists(handler);
    }

    /** Serf's messageUserEvent {LTime, Name, Payload, CC} behind its type byte 3. */
    static byte[] serfUserEvent(long ltime, String name, String payload) {
        byte[] m = GoMsgpack.writer().map(4).uint("LTime", ltime).str("Name", name)
                .bytes("Payload", payload.getBytes(StandardCharsets.UTF_8)).bool("CC", false).toByteArray();
        byte[] out = new byte[m.length + 1];
        out[0] = 3;
        System.arraycopy(m, 0, out, 1, m.length);
        return out;
    }

    /** Sends a push-pull and reads serf's whole reply, raw (serf closes the stream after replying). */
    static byte[] rawPushPull(InetSocketAddress to, PushPull state, Codec.Options opts) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(to, 5000);
            s.setSoTimeout(30_000);
            s.getOutputStream().write(Codec.encodeStream(Codec.pushPullBody(state), opts, true));
            s.getOutputStream().flush();
            return s.getInputStream().readAllBytes();
        }
    }

    static Message.Ping ping(long seq, byte[] addr, int port) {
        return new Message.Ping(seq, "s1", addr, port, ME);
    }

    static byte[] seal(byte[] msg, Keyring ring, int version) {
        return ring == null ? msg : Crypto.encrypt(version, ring.primary(), msg, new byte[0]);
    }

    static void sendRaw(DatagramSocket s, InetSocketAddress to, byte[] b) throws IOException {
        s.send(new DatagramPacket(b, b.length, to));
    }

    static void awaitAck(AckingInbox inbox, long seq) {
        await().atMost(WAIT).until(() -> inbox.acks.contains(seq));
    }

    /** Serf's tag encoding (encodeTags): 0xFF, then a go-msgpack map[string]string. */
    static byte[] serfTags(Map<String, String> tags) {
        GoMsgpack.Writer w = GoMsgpack.writer().map(tags.size());
        tags.forEach((k, v) -> w.str(k).str(v));
        byte[] m = w.toByteArray();
        byte[] out = new byte[m.length + 1];
        out[0] = (byte) 0xff;
        System.arraycopy(m, 0, out, 1, m.length);
        return out;
    }

    static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        p.waitFor(30, TimeUnit.SECONDS);
        return new String(out, StandardCharsets.UTF_8);
    }

    /** Acks pings addressed to us (over UDP and TCP), answers push-pulls with our node, records acks. */
    static final class AckingInbox implements Transport.Inbox {
        final UdpTcpTransport transport;
        final PushPull.NodeEntry me;
        final BlockingQueue<Long> acks = new LinkedBlockingQueue<>();
        final BlockingQueue<byte[]> serfMessages = new LinkedBlockingQueue<>();
        final BlockingQueue<PushPull> pushPulls = new LinkedBlockingQueue<>();
        volatile int probesFromSerf;

        AckingInbox(UdpTcpTransport transport, PushPull.NodeEntry me) {
            this.transport = transport;
            this.me = me;
        }

        @Override
        public void packet(InetSocketAddress from, Message message) {
            switch (message) {
                case Message.Ack a -> acks.add(a.seqNo());
                case Message.User u -> serfMessages.add(u.payload());
                case Message.Ping p when p.node().equals(ME) || p.node().isEmpty() -> {
                    probesFromSerf++;
                    InetSocketAddress to = from;
                    if (p.sourceAddr().length > 0 && p.sourcePort() > 0) {
                        try {
                            to = new InetSocketAddress(InetAddress.getByAddress(p.sourceAddr()), p.sourcePort());
                        } catch (IOException e) {
                            return;
                        }
                    }
                    transport.sendPacket(to, List.of(new Message.Ack(p.seqNo(), new byte[0])));
                }
                default -> { }
            }
        }

        @Override
        public CompletableFuture<PushPull> pushPull(InetSocketAddress from, PushPull remote) {
            pushPulls.add(remote);
            return CompletableFuture.completedFuture(new PushPull(false, List.of(me), new byte[0]));
        }

        @Override
        public void stream(InetSocketAddress from, Message message) {}

        @Override
        public CompletableFuture<Message.Ack> streamPing(InetSocketAddress from, Message.Ping ping) {
            if (!ping.node().equals(ME) && !ping.node().isEmpty()) return null;
            probesFromSerf++;
            return CompletableFuture.completedFuture(new Message.Ack(ping.seqNo(), new byte[0]));
        }
    }
}

package io.failoverkit.discovery.cluster;

import io.failoverkit.discovery.gossip.serf.CodecWarmup;
import io.failoverkit.discovery.gossip.serf.GossipWarmup;
import io.failoverkit.discovery.gossip.serf.JoinWarmup;
import io.failoverkit.discovery.gossip.serf.Serf;
import io.failoverkit.discovery.gossip.serf.SerfConfig;
import io.failoverkit.discovery.gossip.serf.SerfEvent;
import io.failoverkit.discovery.gossip.swim.SwimConfig;
import io.failoverkit.discovery.gossip.transport.RealScheduler;
import io.failoverkit.discovery.gossip.transport.UdpTcpTransport;
import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.Keyring;
import io.failoverkit.discovery.gossip.wire.Message;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The real gossip stack: UDP and TCP on -bind:-serf-lan-port (memberlist's framing, LZW compression as memberlist's
 * LAN default, AES-GCM with the keyring when there are keys), the node's scheduler thread, Serf over SWIM with the
 * agent's timings ({@link SwimConfig#agent}) and Serf's defaults.
 */
final class GossipStack implements Membership.Stack {
    private static final Logger LOG = LoggerFactory.getLogger(GossipStack.class);
    private final UdpTcpTransport transport;
    private final RealScheduler scheduler;
    private final Keyring keyring;
    private final Serf serf;

    private GossipStack(UdpTcpTransport transport, RealScheduler scheduler, Keyring keyring, Serf serf) {
        this.transport = transport;
        this.scheduler = scheduler;
        this.keyring = keyring;
        this.serf = serf;
    }

    static Membership.Stack start(Membership.Settings s, Consumer<SerfEvent> events) throws IOException {
        Keyring keyring = null;
        if (!s.keys().isEmpty()) {
            keyring = new Keyring();
            for (byte[] k : s.keys()) keyring.install(k); // the first installed is the primary
        }
        InetAddress bind = InetAddress.getByName(s.bindAddr());
        InetAddress advertise = bind.isAnyLocalAddress() ? InetAddress.getLoopbackAddress() : null;
        UdpTcpTransport transport;
        Codec.Options options = new Codec.Options("", keyring, true, false);
        try {
            transport = new UdpTcpTransport(new InetSocketAddress(bind, s.port()), advertise, options,
                    java.time.Duration.ofSeconds(10));
        } catch (IOException e) {
            throw new IOException("cannot bind the LAN gossip port " + s.bindAddr() + ":" + s.port() + " (UDP and TCP): " + e.getMessage(), e);
        }
        RealScheduler scheduler = new RealScheduler(s.nodeName());
        try {
            SerfConfig config = SerfConfig.defaults(SwimConfig.agent(s.nodeName()), s.tags());
            Serf serf = Serf.create(config, transport, scheduler, events);
            if (!"false".equals(System.getProperty(WARMUP_PROPERTY))) warmUp(s.nodeName(), options, transport, s.tags(), config);
            return new GossipStack(transport, scheduler, keyring, serf);
        } catch (RuntimeException e) {
            scheduler.shutdown();
            transport.close();
            throw new IOException("gossip could not start: " + e.getMessage(), e);
        }
    }

    /** System property: "false" skips the start-up warm-up (to measure what it saves, bench/gossip.sh). */
    static final String WARMUP_PROPERTY = "failoverkit.gossip.warmup";
    /** System property: the warm-up's passes at most ({@link GossipWarmup#DEFAULT_PASSES}; 1: one pass, as before). */
    static final String WARMUP_PASSES_PROPERTY = "failoverkit.gossip.warmup.passes";

    /**
     * Runs the join's code paths once the stack is up, on a background thread, so that the JVM has loaded and
     * compiled them before a join needs them: the codec in memory ({@link CodecWarmup}, a 32-member pool with this
     * node's tags), the membership state machines on a simulated 6-node pool with this agent's settings
     * ({@link JoinWarmup}, silent, in memory), both repeated until C1 has compiled them ({@link GossipWarmup}: a dozen
     * passes, ~50-100 ms of CPU after the first), the log lines' formatting ({@link LogLineWarmup}, nothing written),
     * then three TCP pings of this node by itself (connect, stream framing, accept, the ack), which touch nothing but
     * this node's own listener. Measured in bench/gossip.sh (docs in the script).
     */
    private static void warmUp(String name, Codec.Options options, UdpTcpTransport transport, java.util.Map<String, String> tags, SerfConfig config) {
        Thread t = new Thread(() -> {
            long start = System.nanoTime();
            try {
                ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
                LongSupplier clock = cpu.isCurrentThreadCpuTimeSupported() ? cpu::getCurrentThreadCpuTime : System::nanoTime;
                GossipWarmup.Result r = GossipWarmup.run(options, tags, config,
                        Integer.getInteger(WARMUP_PASSES_PROPERTY, GossipWarmup.DEFAULT_PASSES), GossipWarmup.DEFAULT_BUDGET, clock);
                LogLineWarmup.run(LogLineWarmup.ROUNDS);
                LOG.debug("gossip warm-up: {} passes, {} ms of CPU", r.passes(), r.cpuNanos() / 1_000_000);
                InetSocketAddress self = transport.advertise();
                for (int i = 0; i < 3; i++) {
                    Message.Ping ping = new Message.Ping(0x7fff0000L + i, name, self.getAddress().getAddress(), self.getPort(), name);
                    transport.pingStream(self, ping, java.time.Duration.ofSeconds(2)).get(3, java.util.concurrent.TimeUnit.SECONDS);
                }
                LOG.debug("gossip warm-up done in {} ms", (System.nanoTime() - start) / 1_000_000);
            } catch (Exception | LinkageError e) {
                LOG.debug("gossip warm-up stopped: {}", e.toString());
            }
        }, "gossip-warmup-" + name);
        t.setDaemon(true);
        t.start();
    }

    @Override public Serf serf() { return serf; }

    @Override public List<byte[]> keys() { return keyring == null ? List.of() : keyring.list(); }

    @Override public void installKey(byte[] key) { keyring().install(key); }

    @Override public void useKey(byte[] key) { keyring().use(key); }

    @Override public void removeKey(byte[] key) { keyring().remove(key); }

    private Keyring keyring() {
        if (keyring == null) throw new IllegalArgumentException("Gossip encryption is not enabled on this agent (start it with -encrypt)");
        return keyring;
    }

    @Override public long droppedPackets() { return transport.droppedPackets(); }

    @Override
    public void close() {
        try {
            serf.shutdown();
        } finally {
            scheduler.shutdown();
            transport.close();
        }
    }
}

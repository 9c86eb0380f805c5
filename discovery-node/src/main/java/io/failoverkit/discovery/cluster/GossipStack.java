package io.failoverkit.discovery.cluster;

import io.failoverkit.discovery.gossip.serf.Serf;
import io.failoverkit.discovery.gossip.serf.SerfConfig;
import io.failoverkit.discovery.gossip.serf.SerfEvent;
import io.failoverkit.discovery.gossip.swim.SwimConfig;
import io.failoverkit.discovery.gossip.transport.RealScheduler;
import io.failoverkit.discovery.gossip.transport.UdpTcpTransport;
import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.Keyring;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.function.Consumer;

/**
 * The real gossip stack: UDP and TCP on -bind:-serf-lan-port (memberlist's framing, LZW compression as memberlist's
 * LAN default, AES-GCM with the keyring when there are keys), the node's scheduler thread, Serf over SWIM with the
 * agent's timings ({@link SwimConfig#agent}) and Serf's defaults.
 */
final class GossipStack implements Membership.Stack {
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
        try {
            transport = new UdpTcpTransport(new InetSocketAddress(bind, s.port()), advertise, new Codec.Options("", keyring, true, false),
                    java.time.Duration.ofSeconds(10));
        } catch (IOException e) {
            throw new IOException("cannot bind the LAN gossip port " + s.bindAddr() + ":" + s.port() + " (UDP and TCP): " + e.getMessage(), e);
        }
        RealScheduler scheduler = new RealScheduler(s.nodeName());
        try {
            SerfConfig config = SerfConfig.defaults(SwimConfig.agent(s.nodeName()), s.tags());
            Serf serf = Serf.create(config, transport, scheduler, events);
            return new GossipStack(transport, scheduler, keyring, serf);
        } catch (RuntimeException e) {
            scheduler.shutdown();
            transport.close();
            throw new IOException("gossip could not start: " + e.getMessage(), e);
        }
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

package io.failoverkit.discovery.gossip.transport;

import io.failoverkit.discovery.gossip.wire.Message;
import io.failoverkit.discovery.gossip.wire.PushPull;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * How gossip messages move between nodes: unreliable packets (UDP) and reliable streams (TCP), as memberlist's
 * transport. The implementation owns encoding, compound packing, CRC, compression and encryption; the SWIM layer
 * hands it and gets back decoded {@link Message}s. Two implementations: the real one on UDP/TCP sockets, and a
 * simulated network (seeded loss, delay, partitions, paused nodes) on a virtual clock.
 *
 * <p>Nothing here blocks the caller: stream operations complete their futures on another thread (real) or at a
 * later virtual time (simulated). Callers hop back onto their {@link Scheduler} before touching state.
 */
public interface Transport extends AutoCloseable {
    /** The address other nodes reach this one on (advertised in alive messages). */
    InetSocketAddress advertise();

    /**
     * True when every packet this node sends leaves from its advertised address and port, so that a receiver that
     * acks to a packet's source address reaches it: a ping may then leave out memberlist's SourceAddr, SourcePort and
     * SourceNode (memberlist acks to the packet's source when they are absent, as it did before they existed).
     * False, the safe answer, when that is not known (a wildcard bind, an advertise address other than the bound one).
     */
    default boolean sendsFromAdvertised() {
        return false;
    }

    /** Starts delivering what arrives to {@code inbox}. Called once. */
    void start(Inbox inbox);

    /** Sends the messages in one packet (a compound message when more than one), best effort: no error if lost. */
    void sendPacket(InetSocketAddress to, List<Message> messages);

    /** The packet payload budget piggybacked broadcasts must fit in (memberlist: UDPBufferSize 1400 less overhead). */
    int packetLimit();

    /** The encoded size of one message, as it would take in a compound packet (for the piggyback budget). */
    int sizeOf(Message message);

    /** Push-pull over a stream: sends {@code local}, returns the remote side's state. Fails on timeout or bad data. */
    CompletableFuture<PushPull> pushPull(InetSocketAddress to, PushPull local, Duration timeout);

    /** A ping over a stream (memberlist's TCP fallback probe); completes with the ack, fails on timeout. */
    CompletableFuture<Message.Ack> pingStream(InetSocketAddress to, Message.Ping ping, Duration timeout);

    /** One message over a stream, no reply (memberlist's reliable send: user messages, a dead/leave to the node). */
    CompletableFuture<Void> sendStream(InetSocketAddress to, Message message, Duration timeout);

    /** Packets dropped as undecodable, truncated, oversized, replayed or wrongly encrypted since start. */
    long droppedPackets();

    @Override
    void close();

    /** Where arrivals go. Called on transport threads (real) or the scheduler (simulated): implementations hop. */
    interface Inbox {
        /** One message of a packet (each part of a compound is delivered separately). */
        void packet(InetSocketAddress from, Message message);

        /** A remote push-pull arrived: merge it, and complete with this node's state to send back. */
        CompletableFuture<PushPull> pushPull(InetSocketAddress from, PushPull remote);

        /** A message that came over a stream (not a ping: pings over streams are answered by {@code ackForStreamPing}). */
        void stream(InetSocketAddress from, Message message);

        /** A ping that came over a stream: the ack to write back, or null when the ping was not for this node. */
        CompletableFuture<Message.Ack> streamPing(InetSocketAddress from, Message.Ping ping);
    }
}

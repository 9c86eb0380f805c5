package io.failoverkit.discovery.gossip.wire;

/**
 * memberlist's messages, one record each, with memberlist's field meaning (net.go). Unsigned Go integers are held in
 * wider Java types: uint32 seqNo/incarnation as {@code long}, uint16 port as {@code int}. Byte arrays are never null
 * (empty when absent). Addresses are raw IPv4 (4 bytes) or IPv6 (16 bytes).
 *
 * <p>Type bytes: ping 0, indirectPing 1, ackResp 2, suspect 3, alive 4, dead 5, pushPull 6, compound 7, user 8,
 * compress 9, encrypt 10, nackResp 11, hasCrc 12, err 13. Compound, compress, encrypt and hasCrc are framing, handled
 * by the codec, and have no record here; pushPull is a stream exchange ({@link PushPull}).
 */
public sealed interface Message {
    /** Direct probe. {@code node} is the name of the node the sender believes it is probing (checked by the receiver). */
    record Ping(long seqNo, String node, byte[] sourceAddr, int sourcePort, String sourceNode) implements Message {}

    /** Asks the receiver to probe {@code target:port} ({@code node}) and relay the ack; {@code nack} asks for a nack on timeout. */
    record IndirectPing(long seqNo, byte[] target, int port, String node, boolean nack,
                        byte[] sourceAddr, int sourcePort, String sourceNode) implements Message {}

    record Ack(long seqNo, byte[] payload) implements Message {}

    record Nack(long seqNo) implements Message {}

    record Err(String error) implements Message {}

    record Suspect(long incarnation, String node, String from) implements Message {}

    /** {@code vsn}: [protocol min, max, current, delegate min, max, current]. */
    record Alive(long incarnation, String node, byte[] addr, int port, byte[] meta, byte[] vsn) implements Message {}

    record Dead(long incarnation, String node, String from) implements Message {}

    /** A delegate's (Serf's) message carried by memberlist; the payload's first byte is Serf's message type. */
    record User(byte[] payload) implements Message {}
}

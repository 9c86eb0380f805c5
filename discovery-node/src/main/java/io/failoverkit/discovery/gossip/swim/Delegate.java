package io.failoverkit.discovery.gossip.swim;

import java.util.List;

/**
 * What the layer above (Serf) plugs into SWIM, as memberlist's Delegate. Called on the SWIM scheduler thread:
 * implementations must be quick and must not block.
 */
public interface Delegate {
    /** This node's meta (Serf's encoded tags), at most {@code limit} bytes. */
    byte[] nodeMeta(int limit);

    /** A user message arrived (memberlist userMsg payload). */
    void notifyMsg(byte[] message);

    /** Broadcasts to piggyback: each at most {@code limit} bytes in total, {@code overhead} bytes framing per message. */
    List<byte[]> broadcasts(int overhead, int limit);

    /** The user state to send in a push-pull. */
    byte[] localState(boolean join);

    /** The remote side's user state from a push-pull. */
    void mergeRemoteState(byte[] state, boolean join);
}

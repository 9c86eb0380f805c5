package io.failoverkit.discovery.gossip.wire;

import java.util.List;

/**
 * One side of memberlist's push-pull state exchange (over a stream): the header's Join flag, every node this side
 * knows (pushNodeState), and the delegate's (Serf's) user state, empty when none.
 */
public record PushPull(boolean join, List<NodeEntry> nodes, byte[] userState) {
    /** memberlist's pushNodeState. */
    public record NodeEntry(String name, byte[] addr, int port, byte[] meta, long incarnation, NodeState state, byte[] vsn) {}
}

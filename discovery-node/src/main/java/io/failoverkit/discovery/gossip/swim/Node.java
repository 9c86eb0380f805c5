package io.failoverkit.discovery.gossip.swim;

import io.failoverkit.discovery.gossip.wire.NodeState;

import java.net.InetSocketAddress;

/**
 * A member as the SWIM layer sees it (memberlist's Node plus its state). {@code vsn} is memberlist's version
 * vector: [protocol min, max, current, delegate min, max, current].
 */
public record Node(String name, InetSocketAddress address, byte[] meta, NodeState state, long incarnation, byte[] vsn) {}

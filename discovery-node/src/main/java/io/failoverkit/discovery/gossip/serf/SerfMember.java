package io.failoverkit.discovery.gossip.serf;

import java.net.InetSocketAddress;
import java.util.Map;

/** A member as Serf reports it. {@code vsn} as memberlist's: [pMin, pMax, pCur, dMin, dMax, dCur]. */
public record SerfMember(String name, InetSocketAddress address, Map<String, String> tags, MemberStatus status, byte[] vsn) {}

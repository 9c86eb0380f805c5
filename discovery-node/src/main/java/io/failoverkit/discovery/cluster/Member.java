package io.failoverkit.discovery.cluster;

import java.util.List;
import java.util.Map;

/**
 * One agent as the gossip pool sees it, in the shape of Consul's /v1/agent/members entry. {@code tags} are the
 * member's Serf tags: for a failoverkit or Consul agent the role ("consul" for servers, "node" for clients),
 * datacenter, server RPC port and HTTP port; a stock serf agent carries whatever tags it was given.
 * {@code protocol} is memberlist's version vector [pMin, pMax, pCur, dMin, dMax, dCur].
 */
public record Member(String name, String addr, int port, Map<String, String> tags, Status status, List<Integer> protocol) {
    /** Serf's member status with Consul's numeric codes. */
    public enum Status {
        NONE(0), ALIVE(1), LEAVING(2), LEFT(3), FAILED(4);
        /** Consul's numeric member status in /v1/agent/members. */
        public final int code;
        Status(int code) { this.code = code; }
        /** Consul's and Serf's lower-case name, as `members` prints it. */
        public String label() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    public static final List<Integer> DEFAULT_PROTOCOL = List.of(1, 5, 2, 2, 5, 5);

    public Member {
        tags = Map.copyOf(tags);
        protocol = protocol == null || protocol.size() != 6 ? DEFAULT_PROTOCOL : List.copyOf(protocol);
    }

    /** A failoverkit or Consul server (Consul's role tag). */
    public boolean isServer() { return "consul".equals(tags.get("role")); }
    /** A failoverkit or Consul agent, server or client; a stock serf agent is neither. */
    public boolean isAgent() { return "consul".equals(tags.get("role")) || "node".equals(tags.get("role")); }
    public String datacenter() { return tags.getOrDefault("dc", "dc1"); }
    public int serverPort() { return intTag("port", 8300); }
    public int httpPort() { return intTag("http_port", 8500); }
    /** The agent's HTTPS API port, -1 when it serves none (failoverkit's tag; Consul gossips no such tag). */
    public int httpsPort() { return intTag("https_port", -1); }
    public int bootstrapExpect() { return intTag("expect", 0); }

    private int intTag(String key, int dflt) {
        try {
            return Integer.parseInt(tags.getOrDefault(key, Integer.toString(dflt)));
        } catch (NumberFormatException e) {
            return dflt; // a peer's tag we cannot read is no reason to fail
        }
    }
}

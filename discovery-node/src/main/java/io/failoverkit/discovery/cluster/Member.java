package io.failoverkit.discovery.cluster;

import java.util.Map;

/**
 * One agent as the cluster sees it. {@code tags} carry the role ("consul" for servers, "node" for clients),
 * datacenter, server RPC port and HTTP port, as Consul's Serf tags do. {@code incarnation} orders what others say
 * about a member: the higher one wins (a restart or a leave raises it).
 */
public record Member(String name, String addr, int port, Map<String, String> tags, Status status, long incarnation) {
    public enum Status {
        ALIVE(1), LEFT(3), FAILED(4);
        /** Consul's numeric member status in /v1/agent/members. */
        public final int code;
        Status(int code) { this.code = code; }
    }

    public boolean isServer() { return "consul".equals(tags.get("role")); }
    public String datacenter() { return tags.getOrDefault("dc", "dc1"); }
    public int serverPort() { return Integer.parseInt(tags.getOrDefault("port", "8300")); }
    public int httpPort() { return Integer.parseInt(tags.getOrDefault("http_port", "8500")); }
    public int bootstrapExpect() { return Integer.parseInt(tags.getOrDefault("expect", "0")); }

    public Member with(Status s, long inc) { return new Member(name, addr, port, tags, s, inc); }
}

package io.failoverkit.discovery.gossip.serf;

/** Serf's MemberStatus with its codes (Consul's /v1/agent/members "Status"). */
public enum MemberStatus {
    NONE(0), ALIVE(1), LEAVING(2), LEFT(3), FAILED(4);

    public final int code;

    MemberStatus(int code) { this.code = code; }

    /** Serf's and Consul's lower-case name ("alive", "failed", ...). */
    public String label() { return name().toLowerCase(java.util.Locale.ROOT); }
}

package io.failoverkit.discovery.gossip.wire;

/** memberlist's NodeStateType, with its wire codes. */
public enum NodeState {
    ALIVE(0), SUSPECT(1), DEAD(2), LEFT(3);

    public final int code;

    NodeState(int code) { this.code = code; }

    public static NodeState of(int code) {
        for (NodeState s : values()) if (s.code == code) return s;
        throw new IllegalArgumentException("unknown node state " + code);
    }
}

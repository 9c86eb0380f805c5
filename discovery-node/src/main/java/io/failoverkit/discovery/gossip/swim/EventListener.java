package io.failoverkit.discovery.gossip.swim;

/** Membership changes as memberlist's EventDelegate reports them: on the SWIM scheduler thread, must not block. */
public interface EventListener {
    /** A node became alive (first seen, or alive again after dead/left). */
    void notifyJoin(Node node);

    /** A node is dead or left ({@code node.state()} says which). */
    void notifyLeave(Node node);

    /** An alive node's meta or address changed. */
    void notifyUpdate(Node node);
}

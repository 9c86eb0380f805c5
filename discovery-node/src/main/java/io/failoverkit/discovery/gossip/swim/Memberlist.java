package io.failoverkit.discovery.gossip.swim;

import io.failoverkit.discovery.gossip.transport.Scheduler;
import io.failoverkit.discovery.gossip.transport.Transport;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * SWIM with Lifeguard, as memberlist: one instance per node. All protocol state is touched only on the node's
 * {@link Scheduler}; the public methods are safe from any thread (they hop onto it, or read a published snapshot).
 *
 * <p>API contract (the {@code serf} layer builds on it):
 * <ul>
 *   <li>{@link #start()} sets this node alive (incarnation 0 or as given) and starts the probe, gossip and push-pull
 *       schedules.</li>
 *   <li>{@link #join} push-pulls (join=true) with every address given, in parallel; an address that turns out to be
 *       this node does not count; completes with the number of other nodes that answered (0 if none).</li>
 *   <li>{@link #members()} a snapshot of every known node, dead and left included until reaped.</li>
 *   <li>{@link #updateNode} re-reads the delegate's meta, raises the incarnation and broadcasts the alive.</li>
 *   <li>{@link #leave} broadcasts this node's death (a leave: dead with from == self) and completes once it was
 *       sent to someone or the timeout passed; probing stops.</li>
 * </ul>
 */
public final class Memberlist {
    private Memberlist() {}

    public static Memberlist create(SwimConfig config, Transport transport, Scheduler scheduler, Delegate delegate, EventListener events) {
        throw new UnsupportedOperationException("swim layer under construction (issue 10)");
    }

    public void start() { throw new UnsupportedOperationException(); }

    public CompletableFuture<Integer> join(List<InetSocketAddress> addresses) { throw new UnsupportedOperationException(); }

    public List<Node> members() { throw new UnsupportedOperationException(); }

    public Node localNode() { throw new UnsupportedOperationException(); }

    /** Alive and suspect nodes, this one included (memberlist's NumMembers). */
    public int numMembers() { throw new UnsupportedOperationException(); }

    /** Lifeguard's local health score: 0 is healthy, up to awarenessMaxMultiplier - 1. */
    public int healthScore() { throw new UnsupportedOperationException(); }

    public CompletableFuture<Void> updateNode(Duration timeout) { throw new UnsupportedOperationException(); }

    public CompletableFuture<Void> leave(Duration timeout) { throw new UnsupportedOperationException(); }

    /** Stops schedules and the transport. */
    public void shutdown() { throw new UnsupportedOperationException(); }
}

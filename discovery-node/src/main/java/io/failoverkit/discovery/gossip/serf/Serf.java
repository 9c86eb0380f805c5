package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.transport.Scheduler;
import io.failoverkit.discovery.gossip.transport.Transport;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Serf's layer over {@code swim}: tags in the node meta (Serf's encoding), Lamport clocks, join/leave intents, user
 * events with deduplication, failed members reconnected then reaped, left ones reaped after the tombstone timeout.
 *
 * <p>API contract (the agent's {@code cluster/Membership} façade builds on it): all methods safe from any thread;
 * events go to the consumer on the gossip scheduler thread (the consumer hands them off, never blocks).
 */
public final class Serf {
    private Serf() {}

    public static Serf create(SerfConfig config, Transport transport, Scheduler scheduler, Consumer<SerfEvent> events) {
        throw new UnsupportedOperationException("serf layer under construction (issue 10)");
    }

    /** Joins through every address given; completes with how many other nodes answered. */
    public CompletableFuture<Integer> join(List<InetSocketAddress> addresses, boolean ignoreOld) { throw new UnsupportedOperationException(); }

    public List<SerfMember> members() { throw new UnsupportedOperationException(); }

    public SerfMember localMember() { throw new UnsupportedOperationException(); }

    /** Replaces this node's tags and gossips the update. */
    public CompletableFuture<Void> setTags(Map<String, String> tags) { throw new UnsupportedOperationException(); }

    /** Fires a user event to the pool. Throws IllegalArgumentException when name + payload exceed the size limit. */
    public void userEvent(String name, byte[] payload, boolean coalesce) { throw new UnsupportedOperationException(); }

    /** Graceful leave: the leave intent, then memberlist's leave; completes when done or timed out. */
    public CompletableFuture<Void> leave() { throw new UnsupportedOperationException(); }

    /** Serf's RemoveFailedNode (force-leave): a failed member is marked left. False when no such failed member. */
    public boolean forceLeave(String node) { throw new UnsupportedOperationException(); }

    public void shutdown() { throw new UnsupportedOperationException(); }
}

package io.failoverkit.discovery.gossip.swim;

import io.failoverkit.discovery.gossip.transport.sim.SimClock;
import io.failoverkit.discovery.gossip.transport.sim.SimNetwork;
import io.failoverkit.discovery.gossip.transport.sim.SimScheduler;
import io.failoverkit.discovery.gossip.wire.NodeState;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/** A simulated pool for the tests: nodes on one {@link SimClock} and {@link SimNetwork}, with what each one saw. */
final class SimPool {
    final SimClock clock = new SimClock();
    final SimNetwork net;
    final List<SimNode> nodes = new ArrayList<>();
    final Map<String, SimNode> byName = new HashMap<>();
    private final SplittableRandom seeds;
    private final Function<String, SwimConfig> config;

    /** Every (observer, node) that the observer declared DEAD (not LEFT), with when. */
    final List<Declared> deaths = new ArrayList<>();
    /** Every LEFT seen. */
    final List<Declared> lefts = new ArrayList<>();
    /** An observer's notifyLeave about a node (suspicions raise no event: tests poll {@link Memberlist#member}). */
    record Declared(long atNanos, String observer, String node, NodeState state) {}

    SimPool(long seed, Function<String, SwimConfig> config) {
        this.seeds = new SplittableRandom(seed);
        this.net = new SimNetwork(clock, seeds.nextLong());
        this.config = config;
    }

    final class SimNode {
        final String name;
        final InetSocketAddress address;
        final SimScheduler scheduler;
        final Memberlist memberlist;
        boolean killed;

        SimNode(String name, InetSocketAddress address, SwimConfig cfg, byte[] meta) {
            this.name = name;
            this.address = address;
            this.scheduler = new SimScheduler(clock, name, seeds.nextLong());
            Delegate d = meta == null ? null : new Delegate() {
                public byte[] nodeMeta(int limit) { return meta; }
                public void notifyMsg(byte[] message) {}
                public List<byte[]> broadcasts(int overhead, int limit) { return List.of(); }
                public byte[] localState(boolean join) { return new byte[0]; }
                public void mergeRemoteState(byte[] state, boolean join) {}
            };
            this.memberlist = Memberlist.create(cfg, net.attach(address, scheduler), scheduler, d, new EventListener() {
                public void notifyJoin(Node node) {}
                public void notifyLeave(Node node) {
                    Declared x = new Declared(clock.nanoTime(), SimNode.this.name, node.name(), node.state());
                    if (node.state() == NodeState.LEFT) lefts.add(x); else deaths.add(x);
                }
                public void notifyUpdate(Node node) {}
            });
        }

        int alive() {
            return memberlist.numAlive();
        }

        NodeState stateOf(String other) {
            Node n = memberlist.member(other);
            return n == null ? null : n.state();
        }

        CompletableFuture<Integer> join(SimNode... others) {
            List<InetSocketAddress> a = new ArrayList<>();
            for (SimNode o : others) a.add(o.address);
            return memberlist.join(a);
        }

        void kill() {
            killed = true;
            net.kill(address);
        }
    }

    static InetSocketAddress address(int i) {
        try {
            return new InetSocketAddress(InetAddress.getByAddress(new byte[]{10, 0, (byte) (i / 250), (byte) (i % 250 + 1)}), 7946);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    SimNode add() {
        return add(config.apply("node-" + nodes.size()), null);
    }

    SimNode add(SwimConfig cfg, byte[] meta) {
        SimNode n = new SimNode(cfg.name(), address(nodes.size()), cfg, meta);
        nodes.add(n);
        byName.put(n.name, n);
        n.memberlist.start();
        return n;
    }

    /** Starts {@code count} nodes, each joining node 0 {@code spacing} after the previous one. */
    void grow(int count, Duration spacing) {
        SimNode first = nodes.isEmpty() ? add() : nodes.get(0);
        while (nodes.size() < count) {
            SimNode n = add();
            n.join(first);
            clock.runFor(spacing);
        }
    }

    List<SimNode> live() {
        List<SimNode> out = new ArrayList<>();
        for (SimNode n : nodes) if (!n.killed) out.add(n);
        return out;
    }

    /** Every live node sees {@code expected} alive. */
    boolean converged(int expected) {
        for (SimNode n : nodes) if (!n.killed && !n.scheduler.isPaused() && n.alive() != expected) return false;
        return true;
    }

    /** Every live node other than {@code node} has it in one of {@code states} (or reaped, when allowed). */
    boolean allSee(String node, Set<NodeState> states) {
        for (SimNode n : nodes) {
            if (n.killed || n.name.equals(node)) continue;
            NodeState st = n.stateOf(node);
            if (st == null || !states.contains(st)) return false;
        }
        return true;
    }

    /** Runs until {@code cond} or {@code max}: the virtual time it took, or -1. */
    long runUntil(java.util.function.BooleanSupplier cond, Duration step, Duration max) {
        long start = clock.nanoTime();
        return clock.runUntil(cond, step, max) ? clock.nanoTime() - start : -1;
    }

    Set<String> deadObservers(String node) {
        Set<String> s = new HashSet<>();
        for (Declared d : deaths) if (d.node().equals(node)) s.add(d.observer());
        return s;
    }
}

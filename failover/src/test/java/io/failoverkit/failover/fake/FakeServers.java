package io.failoverkit.failover.fake;

import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.InstanceState.Role;
import io.failoverkit.failover.topology.Position;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An in-memory model of a replicated cluster for unit tests of the failover core: each instance has a role, a
 * writable flag, the master it replicates from, a link state and an offset; a fenced or paused master takes no
 * writes. Every verb is logged ({@link #calls}) and can be made to fail ({@link #failOn}); after each change the two
 * promises are checked and any breach kept in {@link #violations}: never two instances taking writes, never a
 * replication loop. {@code redisLike}: demote re-points an old master (Redis); otherwise it stays fenced (MySQL).
 */
public final class FakeServers implements Servers {
    public static final class Node {
        public final String address;
        public boolean reachable = true;
        public Role role;
        public boolean writable;
        public String master;
        public boolean linkUp;
        public long offset;
        public boolean fenced;
        public boolean paused;

        Node(String address) { this.address = address; }

        boolean takesWrites() { return reachable && role == Role.MASTER && writable && !fenced && !paused; }
    }

    private final Map<String, Node> nodes = new LinkedHashMap<>();
    private final Map<String, Set<String>> failing = new LinkedHashMap<>();
    private final boolean redisLike;
    public final List<String> calls = new ArrayList<>();
    public final List<String> violations = new ArrayList<>();
    /** Thrown from every method when set: a server library gone mad. */
    public volatile boolean throwEverywhere;
    /** Addresses whose promote takes effect, then throws (the reply lost, a timeout after the change). */
    public final Set<String> promoteFailsAfterEffect = new HashSet<>();
    /** How long a drain takes (a MySQL replica applying a long relay log). */
    public volatile Duration drainTime = Duration.ZERO;
    /** When set, a drain reports this reason not to promote (a MySQL replica that could not apply its relay log in time). */
    public volatile String drainBlocker;
    /** The candidate reaches the master's offset in a switchover only when true. */
    public volatile boolean replicasFollow = true;

    private FakeServers(boolean redisLike) { this.redisLike = redisLike; }

    /** {@code master} writable with offset 1000, each replica replicating from it, link up, at the same offset. */
    public static FakeServers cluster(boolean redisLike, String master, String... replicas) {
        FakeServers f = new FakeServers(redisLike);
        Node m = f.add(master);
        m.role = Role.MASTER;
        m.writable = true;
        m.offset = 1000;
        for (String r : replicas) {
            Node n = f.add(r);
            n.role = Role.REPLICA;
            n.master = master;
            n.linkUp = true;
            n.offset = 1000;
        }
        return f;
    }

    private Node add(String a) {
        Node n = new Node(a);
        nodes.put(a, n);
        return n;
    }

    public synchronized Node node(String a) { return nodes.get(a); }

    /** The master dies: unreachable, and its replicas lose their link. */
    public synchronized void kill(String a) {
        nodes.get(a).reachable = false;
        for (Node n : nodes.values()) if (a.equals(n.master)) n.linkUp = false;
    }

    /** Makes {@code verb} (observe, drain, promote, repoint, fence, demote, stopWrites, resumeWrites) fail on {@code address} ("*": all). */
    public synchronized void failOn(String verb, String address) { failing.computeIfAbsent(verb, v -> new HashSet<>()).add(address); }

    public synchronized void heal(String verb) { failing.remove(verb); }

    private void maybeFail(String verb, String address) {
        if (throwEverywhere) throw new IllegalStateException("fake servers throw from " + verb);
        Set<String> f = failing.get(verb);
        if (f != null && (f.contains(address) || f.contains("*"))) throw new IllegalStateException(verb + " on " + address + " failed (injected)");
    }

    private Node reachable(String verb, String a) {
        maybeFail(verb, a);
        Node n = nodes.get(a);
        if (n == null || !n.reachable) throw new IllegalStateException(verb + " on " + a + ": connection refused");
        calls.add(verb + " " + a);
        return n;
    }

    /** Writes to whoever takes writes; replicas with a live link follow. */
    public synchronized void write(long n) {
        for (Node m : nodes.values()) {
            if (!m.takesWrites()) continue;
            m.offset += n;
            if (replicasFollow) follow();
        }
    }

    private void follow() {
        for (Node r : nodes.values()) {
            Node m = r.master == null ? null : nodes.get(r.master);
            if (r.reachable && r.role == Role.REPLICA && r.linkUp && m != null && m.reachable) r.offset = Math.max(r.offset, m.offset);
        }
    }

    private void checkPromises(String after) {
        long writers = nodes.values().stream().filter(Node::takesWrites).count();
        if (writers > 1) violations.add("two instances take writes after " + after);
        for (Node n : nodes.values()) {
            if (n.role != Role.REPLICA || n.master == null) continue;
            Node m = nodes.get(n.master);
            if (m != null && m.role == Role.REPLICA && n.address.equals(m.master)) {
                violations.add("replication loop " + n.address + " <-> " + m.address + " after " + after);
            }
        }
    }

    @Override
    public synchronized InstanceState observe(String address) {
        maybeFail("observe", address);
        Node n = nodes.get(address);
        if (n == null || !n.reachable) return InstanceState.unreachable(address, "connection refused");
        if (n.role == Role.MASTER) {
            return new InstanceState(address, true, null, Role.MASTER, n.writable && !n.fenced, null, false, new Position.Offset(n.offset),
                    (int) nodes.values().stream().filter(r -> address.equals(r.master) && r.linkUp).count(), true, n.fenced ? "fenced" : "");
        }
        return new InstanceState(address, true, null, Role.REPLICA, false, n.master, n.linkUp, new Position.Offset(n.offset), 0, true, "");
    }

    @Override
    public InstanceState drain(String candidate, Duration max) {
        synchronized (this) {
            maybeFail("drain", candidate);
            calls.add("drain " + candidate);
        }
        long ms = Math.min(drainTime.toMillis(), max.toMillis());
        if (ms > 0) {
            try {
                Thread.sleep(ms);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        synchronized (this) {
            if (replicasFollow) follow();
            InstanceState i = observe(candidate);
            if (drainBlocker == null || !i.reachable()) return i;
            Position blocked = new Blocked(i.position().rank(), drainBlocker);
            return new InstanceState(i.address(), true, null, i.role(), i.writable(), i.masterAddress(), i.masterLinkUp(), blocked,
                    i.connectedReplicas(), i.synced(), i.detail());
        }
    }

    @Override
    public synchronized void promote(String address) {
        Node n = reachable("promote", address);
        n.role = Role.MASTER;
        n.master = null;
        n.linkUp = false;
        n.writable = true;
        n.fenced = false;
        n.paused = false;
        checkPromises("promote " + address);
        if (promoteFailsAfterEffect.contains(address)) throw new IllegalStateException("promote on " + address + ": read timed out (injected, after it took effect)");
    }

    @Override
    public synchronized void repoint(String address, String master) {
        Node n = reachable("repoint", address);
        n.role = Role.REPLICA;
        n.master = master;
        n.writable = false;
        n.fenced = false;
        n.paused = false;
        Node m = nodes.get(master);
        n.linkUp = m != null && m.reachable;
        if (redisLike && n.linkUp) n.offset = m.offset; // a Redis replica takes its master's data set
        if (n.linkUp) follow();
        checkPromises("repoint " + address + " to " + master);
    }

    @Override
    public synchronized void fence(String address) {
        Node n = reachable("fence", address);
        n.fenced = true;
        checkPromises("fence " + address);
    }

    @Override
    public synchronized void demote(String address, String newMaster, boolean covered) {
        reachable("demote", address);
        if (redisLike || covered) {
            calls.remove(calls.size() - 1);
            calls.add("demote " + address);
            repoint(address, newMaster);
            calls.remove(calls.size() - 1);
        }
        checkPromises("demote " + address);
    }

    @Override
    public synchronized void stopWrites(String master, Duration max) {
        reachable("stopWrites", master).paused = true;
        if (replicasFollow) follow();
    }

    @Override
    public synchronized void resumeWrites(String master) {
        Node n = reachable("resumeWrites", master);
        n.paused = false;
        n.fenced = false;
        if (n.role == Role.MASTER) n.writable = true;
        checkPromises("resumeWrites " + master);
    }

    @Override
    public synchronized String guard(io.failoverkit.failover.topology.Topology topology, String master) {
        maybeFail("guard", master);
        return null;
    }

    /** The instances that take writes now. */
    public synchronized List<String> writers() {
        return nodes.values().stream().filter(Node::takesWrites).map(n -> n.address).toList();
    }

    /** An offset the servers found a reason not to promote. */
    private record Blocked(long rank, String blocker) implements Position {
        @Override public boolean covers(Position other) { return other.rank() <= rank; }

        @Override public String text() { return "offset " + rank + " (blocked)"; }
    }
}

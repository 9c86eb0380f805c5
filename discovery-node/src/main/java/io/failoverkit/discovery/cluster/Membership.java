package io.failoverkit.discovery.cluster;

import io.failoverkit.discovery.gossip.serf.MemberStatus;
import io.failoverkit.discovery.gossip.serf.Serf;
import io.failoverkit.discovery.gossip.serf.SerfEvent;
import io.failoverkit.discovery.gossip.serf.SerfMember;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The agent's membership: a thin façade over the gossip stack ({@code gossip/serf/Serf} over SWIM on the LAN port,
 * -serf-lan-port, UDP and TCP). It maps Serf's members to {@link Member}, runs -retry-join (every address given,
 * until another agent answered: joining oneself never counts; the gossip layer keeps the pool whole after that),
 * hands Serf's events to the agent off the gossip thread, and keeps the gossip keyring persisted in the data dir.
 */
public final class Membership implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Membership.class);
    /** Consul's default LAN port, for join addresses given without one. */
    public static final int DEFAULT_PORT = 8301;
    private static final Duration JOIN_TIMEOUT = Duration.ofSeconds(15);
    /** Tags the agent owns; `tags -set/-delete` may not change them. */
    public static final Set<String> RESERVED_TAGS = Set.of("role", "dc", "id", "port", "http_port", "https_port", "build", "expect", "vsn", "segment");

    /** What the agent gives its membership. {@code keys}: the gossip keys, primary first (empty: no encryption). */
    public record Settings(String nodeName, String bindAddr, int port, Map<String, String> tags, List<byte[]> keys, Path keyringFile,
                           List<String> retryJoin, Duration retryInterval) {}

    /** The gossip stack under the façade: Serf plus the pieces Membership reaches for (keys, counters). */
    public interface Stack {
        Serf serf();
        /** The installed keys, primary first (empty when the pool is not encrypted). */
        List<byte[]> keys();
        void installKey(byte[] key);
        void useKey(byte[] key);
        void removeKey(byte[] key);
        long droppedPackets();
        void close();
    }

    /** How the stack is built: the real one by {@link GossipStack}, a test may give its own. */
    public interface StackFactory {
        Stack start(Settings settings, Consumer<SerfEvent> events) throws IOException;
    }

    private final Settings settings;
    private final Stack stack;
    private final Serf serf;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<SerfEvent>> eventListeners = new CopyOnWriteArrayList<>();
    /** Serf's events leave the gossip thread here, in order. */
    private final ExecutorService eventThread = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon().name("membership-events").unstarted(r));
    private final ScheduledExecutorService retryTimer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("retry-join").unstarted(r));
    /** Nodes force-left with ?prune: hidden from members() while they stay left. */
    private final Set<String> pruned = ConcurrentHashMap.newKeySet();
    /** Grows after every change to {@link #pruned} (part of {@link #version()}). */
    private final java.util.concurrent.atomic.AtomicLong prunedChanges = new java.util.concurrent.atomic.AtomicLong();
    private final Map<String, String> baseTags;
    private final Map<String, String> runtimeTags = new LinkedHashMap<>();
    private final Object keyLock = new Object();
    private volatile boolean retryJoined;
    private volatile boolean closed;

    private Membership(Settings settings, StackFactory factory) throws IOException {
        this.settings = settings;
        this.baseTags = Map.copyOf(settings.tags());
        this.stack = factory.start(settings, this::fromGossip);
        this.serf = stack.serf();
        if (!settings.retryJoin().isEmpty()) retryTimer.execute(this::retryJoinAttempt);
    }

    public static Membership start(Settings settings) throws IOException {
        return new Membership(settings, GossipStack::start);
    }

    public static Membership start(Settings settings, StackFactory factory) throws IOException {
        return new Membership(settings, factory);
    }

    private void fromGossip(SerfEvent e) {
        if (closed) return;
        try {
            eventThread.execute(() -> deliver(e));
        } catch (java.util.concurrent.RejectedExecutionException ignored) {
            // shutting down
        }
    }

    private void deliver(SerfEvent e) {
        if (e instanceof SerfEvent.Members m) {
            for (SerfMember sm : m.members()) {
                // Serf logs each member event at INFO already (as Serf's EventMemberJoin lines): one line per member is enough
                LOG.debug("member {} {} ({})", sm.name(), m.kind().serfName.substring("member-".length()), sm.address());
                if (sm.status() != MemberStatus.LEFT && pruned.remove(sm.name())) prunedChanges.incrementAndGet();
            }
        }
        for (Consumer<SerfEvent> l : eventListeners) {
            try { l.accept(e); } catch (RuntimeException ex) { LOG.warn("membership event listener failed", ex); }
        }
        if (e instanceof SerfEvent.Members) {
            for (Runnable l : listeners) {
                try { l.run(); } catch (RuntimeException ex) { LOG.warn("membership listener failed", ex); }
            }
        }
    }

    /** Runs on every join, leave, failure, update or reap (on the membership event thread). */
    public void onChange(Runnable listener) { listeners.add(listener); }

    /** Every Serf event, member and user, in order, on the membership event thread (never the gossip thread). */
    public void onEvent(Consumer<SerfEvent> listener) { eventListeners.add(listener); }

    public Member self() { return toMember(serf.localMember()); }

    /** This node as Serf reports it (what the event handlers give their scripts). */
    public SerfMember localSerfMember() { return serf.localMember(); }

    /**
     * Grows after every change to what {@link #members()} returns (a join, leave, failure, tag or address update, reap,
     * or a force-leave -prune), and only then. Read it BEFORE {@link #members()}: the list is then at least as new as
     * the value, so a view cached under that value (the HTTP API's /v1/agent/members) is never stale.
     */
    public long version() { return serf.membersVersion() + prunedChanges.get(); }

    /** Every member this agent knows, failed and left ones included until reaped; sorted by name. */
    public Collection<Member> members() {
        List<Member> out = new ArrayList<>();
        for (SerfMember m : serf.members()) {
            if (m.status() == MemberStatus.LEFT && pruned.contains(m.name())) continue;
            out.add(toMember(m));
        }
        out.sort(Comparator.comparing(Member::name));
        return out;
    }

    static Member toMember(SerfMember m) {
        List<Integer> vsn = new ArrayList<>(6);
        if (m.vsn() != null && m.vsn().length == 6) for (byte b : m.vsn()) vsn.add(b & 0xff);
        InetSocketAddress a = m.address();
        String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
        return new Member(m.name(), host, a.getPort(), m.tags(), status(m.status()), vsn.size() == 6 ? vsn : null);
    }

    static Member.Status status(MemberStatus s) {
        return switch (s) {
            case ALIVE -> Member.Status.ALIVE;
            case LEAVING -> Member.Status.LEAVING;
            case LEFT -> Member.Status.LEFT;
            case FAILED -> Member.Status.FAILED;
            case NONE -> Member.Status.NONE;
        };
    }

    /**
     * Joins through every address given (host, host:port or [v6]:port), in parallel. Returns how many other agents
     * answered; none is an error (this agent answering itself does not count).
     */
    public int join(List<String> addresses) throws IOException {
        List<InetSocketAddress> targets = new ArrayList<>();
        List<String> unresolved = new ArrayList<>();
        for (String a : addresses) {
            try {
                targets.add(parseAddress(a));
            } catch (IOException e) {
                unresolved.add(e.getMessage());
            }
        }
        if (targets.isEmpty()) throw new IOException("nothing to join: " + String.join("; ", unresolved));
        int n;
        try {
            // ignoreOld, as Consul's JoinLAN: a restarted or new agent must not re-run the pool's past user events
            n = serf.join(targets, true).get(JOIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("join interrupted");
        } catch (ExecutionException e) {
            throw new IOException("join failed: " + (e.getCause() == null ? e : e.getCause()).getMessage(), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("join timed out after " + JOIN_TIMEOUT.toSeconds() + " s");
        }
        if (n == 0) throw new IOException("no other agent answered at " + String.join(", ", addresses) + (unresolved.isEmpty() ? "" : " (" + String.join("; ", unresolved) + ")"));
        return n;
    }

    public int join(String address) throws IOException {
        return join(List.of(address));
    }

    /** "host", "host:port", "[v6]" or "[v6]:port", resolved now. */
    public static InetSocketAddress parseAddress(String address) throws IOException {
        String s = address.strip();
        String host;
        int port = DEFAULT_PORT;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0) throw new IOException("bad address \"" + address + "\": missing ']'");
            host = s.substring(1, close);
            String rest = s.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) throw new IOException("bad address \"" + address + "\"");
                port = port(address, rest.substring(1));
            }
        } else {
            int colon = s.lastIndexOf(':');
            if (colon >= 0 && s.indexOf(':') == colon) {
                host = s.substring(0, colon);
                port = port(address, s.substring(colon + 1));
            } else {
                host = s;
            }
        }
        if (host.isEmpty()) throw new IOException("bad address \"" + address + "\": no host");
        try {
            return new InetSocketAddress(InetAddress.getByName(host), port);
        } catch (UnknownHostException e) {
            throw new IOException("cannot resolve \"" + host + "\"");
        }
    }

    private static int port(String address, String p) throws IOException {
        try {
            int port = Integer.parseInt(p);
            if (port < 1 || port > 65535) throw new NumberFormatException();
            return port;
        } catch (NumberFormatException e) {
            throw new IOException("bad address \"" + address + "\": port must be 1-65535");
        }
    }

    private void retryJoinAttempt() {
        if (closed || retryJoined) return;
        try {
            int n = join(settings.retryJoin());
            retryJoined = true;
            LOG.info("retry-join: joined the pool ({} other agents answered of {})", n, settings.retryJoin());
        } catch (IOException e) {
            LOG.info("retry-join: {}; retrying in {} ms", e.getMessage(), settings.retryInterval().toMillis());
            if (!closed) retryTimer.schedule(this::retryJoinAttempt, settings.retryInterval().toMillis(), TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            LOG.warn("retry-join failed", e);
            if (!closed) retryTimer.schedule(this::retryJoinAttempt, settings.retryInterval().toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** True once -retry-join reached another agent (or there was nothing to retry). */
    public boolean retryJoinDone() { return settings.retryJoin().isEmpty() || retryJoined; }

    /** Graceful leave: the pool marks this agent left. Waits for Serf's leave (bounded by its own timeouts). */
    public void leave() {
        retryJoined = true;
        try {
            serf.leave().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("leave did not complete cleanly: {}", e.getMessage());
        }
    }

    /** What force-leave did. */
    public enum ForceLeave { LEFT, NOT_FOUND, NOT_FAILED }

    /**
     * Serf's RemoveFailedNode: a failed member becomes left at once (and its catalog node is deregistered by the
     * leader). {@code prune} also drops it from this agent's member list.
     */
    public ForceLeave forceLeave(String node, boolean prune) {
        SerfMember m = serf.members().stream().filter(x -> x.name().equals(node)).findFirst().orElse(null);
        if (m == null) return ForceLeave.NOT_FOUND;
        if (m.status() == MemberStatus.LEFT) {
            if (prune) prune(node);
            return ForceLeave.LEFT;
        }
        if (!serf.forceLeave(node)) return ForceLeave.NOT_FAILED;
        if (prune) prune(node);
        return ForceLeave.LEFT;
    }

    private void prune(String node) {
        if (pruned.add(node)) prunedChanges.incrementAndGet(); // after the add: see version()
    }

    /** This agent's run-time tags (`tags -set/-delete`), over the agent's own. Reserved keys are refused. */
    public Map<String, String> updateTags(Map<String, String> set, Collection<String> delete) {
        for (String k : set.keySet()) checkTag(k, set.get(k));
        for (String k : delete) if (RESERVED_TAGS.contains(k)) throw new IllegalArgumentException("tag \"" + k + "\" is the agent's own and cannot be deleted");
        Map<String, String> all;
        // One update at a time, and nothing kept unless Serf took it (a set over the 512-byte meta is refused whole).
        synchronized (runtimeTags) {
            Map<String, String> next = new LinkedHashMap<>(runtimeTags);
            delete.forEach(next::remove);
            next.putAll(set);
            all = new LinkedHashMap<>(baseTags);
            all.putAll(next);
            try {
                serf.setTags(all).get(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while setting tags");
            } catch (ExecutionException e) {
                throw new IllegalArgumentException("the tags could not be set: " + (e.getCause() == null ? e : e.getCause()).getMessage());
            } catch (TimeoutException e) {
                LOG.warn("tag update still being gossiped after 10 s"); // taken by Serf: kept
            }
            runtimeTags.clear();
            runtimeTags.putAll(next);
        }
        return all;
    }

    private static void checkTag(String k, String v) {
        if (k == null || k.isEmpty()) throw new IllegalArgumentException("a tag needs a name");
        if (RESERVED_TAGS.contains(k)) throw new IllegalArgumentException("tag \"" + k + "\" is the agent's own and cannot be set");
        if (k.contains("\0") || (v != null && v.contains("\0"))) throw new IllegalArgumentException("tags may not hold NUL characters");
    }

    /** Fires a Serf user event; IllegalArgumentException (nothing sent) when it exceeds Serf's size limit. */
    public void userEvent(String name, byte[] payload, boolean coalesce) {
        serf.userEvent(name, payload, coalesce);
    }

    /** The installed gossip keys, base64, primary first (empty when the pool is not encrypted). */
    public List<String> keys() {
        return stack.keys().stream().map(GossipKeys::encode).toList();
    }

    public String primaryKey() {
        List<byte[]> k = stack.keys();
        return k.isEmpty() ? null : GossipKeys.encode(k.get(0));
    }

    public boolean encrypted() { return !stack.keys().isEmpty(); }

    public void installKey(String base64) throws IOException {
        byte[] key = GossipKeys.decode(base64);
        synchronized (keyLock) {
            requireEncryption();
            stack.installKey(key);
            persistKeys();
        }
    }

    public void useKey(String base64) throws IOException {
        byte[] key = GossipKeys.decode(base64);
        synchronized (keyLock) {
            requireEncryption();
            if (!keys().contains(GossipKeys.encode(key))) throw new IllegalArgumentException("Requested key is not in the keyring");
            stack.useKey(key);
            persistKeys();
        }
    }

    public void removeKey(String base64) throws IOException {
        byte[] key = GossipKeys.decode(base64);
        synchronized (keyLock) {
            requireEncryption();
            String b64 = GossipKeys.encode(key);
            if (b64.equals(primaryKey())) throw new IllegalArgumentException("Removing the primary key is not allowed");
            if (!keys().contains(b64)) throw new IllegalArgumentException("Requested key is not in the keyring");
            stack.removeKey(key);
            persistKeys();
        }
    }

    private void requireEncryption() {
        if (!encrypted()) throw new IllegalArgumentException("Gossip encryption is not enabled on this agent (start it with -encrypt)");
    }

    private void persistKeys() throws IOException {
        if (settings.keyringFile() != null) GossipKeys.save(settings.keyringFile(), stack.keys());
    }

    /** Packets the transport dropped as malformed, truncated, oversized, replayed or wrongly encrypted. */
    public long droppedPackets() { return stack.droppedPackets(); }

    @Override
    public void close() throws IOException {
        closed = true;
        retryTimer.shutdownNow();
        stack.close();
        eventThread.shutdownNow();
    }
}

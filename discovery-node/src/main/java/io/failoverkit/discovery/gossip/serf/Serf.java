package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.serf.SerfMessages.EventsAt;
import io.failoverkit.discovery.gossip.serf.SerfMessages.Join;
import io.failoverkit.discovery.gossip.serf.SerfMessages.Leave;
import io.failoverkit.discovery.gossip.serf.SerfMessages.MalformedException;
import io.failoverkit.discovery.gossip.serf.SerfMessages.NamedPayload;
import io.failoverkit.discovery.gossip.serf.SerfMessages.PushPull;
import io.failoverkit.discovery.gossip.serf.SerfMessages.SerfMessage;
import io.failoverkit.discovery.gossip.serf.SerfMessages.Unknown;
import io.failoverkit.discovery.gossip.serf.SerfMessages.UserEvent;
import io.failoverkit.discovery.gossip.swim.Delegate;
import io.failoverkit.discovery.gossip.swim.EventListener;
import io.failoverkit.discovery.gossip.swim.Memberlist;
import io.failoverkit.discovery.gossip.swim.Node;
import io.failoverkit.discovery.gossip.transport.Scheduler;
import io.failoverkit.discovery.gossip.transport.Transport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Serf's layer over {@code swim}: tags in the node meta (Serf's encoding), Lamport clocks, join/leave intents, user
 * events with deduplication, failed members reconnected then reaped, left ones reaped after the tombstone timeout.
 *
 * <p>API contract (the agent's {@code cluster/Membership} façade builds on it): all methods safe from any thread;
 * events go to the consumer on the gossip scheduler thread (the consumer hands them off, never blocks).
 *
 * <p>How it works: every piece of state below is touched only by tasks of the node's {@link Scheduler} (the same
 * one memberlist runs on, so the {@link Delegate} and {@link EventListener} callbacks arrive there too). Public
 * methods check what they can at once (sizes, state), then hop onto the scheduler; {@link #members()} reads a
 * concurrent mirror updated on every change. Member status follows Serf: memberlist says a node is gone, and Serf
 * calls it left if that node announced a leave intent first (status LEAVING), failed otherwise.
 */
public final class Serf {
    /** This instance's logger: the class's, or a silent one for the agent's start-up warm-up pool ({@link JoinWarmup}). */
    private final Logger log;

    /** memberlist's MetaMaxSize: encoded tags must fit in the node meta. */
    public static final int META_MAX_SIZE = 512;
    /** Events held back while an ignore-old join has not yet merged a remote state (bounded). */
    private static final int MAX_HELD_EVENTS = 1024;

    /** Serf's own state (SerfState). */
    public enum State { ALIVE, LEAVING, LEFT, SHUTDOWN }

    private enum IntentType { JOIN, LEAVE }

    private record Intent(IntentType type, long ltime, long seenNanos) {}

    /** A member as Serf tracks it (memberState): scheduler thread only. */
    private static final class MemberState {
        final String name;
        InetSocketAddress address;
        Map<String, String> tags = Map.of();
        MemberStatus status = MemberStatus.ALIVE;
        byte[] vsn = new byte[6];
        long statusLTime;
        long leaveNanos;

        MemberState(String name) { this.name = name; }

        SerfMember snapshot() { return new SerfMember(name, address, tags, status, vsn.clone()); }
    }

    private final SerfConfig config;
    private final String name;
    private final Scheduler scheduler;
    private final Consumer<SerfEvent> events;
    private Memberlist memberlist;
    private final Delegate delegate = new SerfDelegate();
    private final EventListener listener = new Listener();

    private final LamportClock clock = new LamportClock();
    private final LamportClock eventClock = new LamportClock();
    private final LamportClock queryClock = new LamportClock();
    private final UserEventBuffer eventBuffer;
    private final BroadcastQueue intents;
    private final BroadcastQueue userEvents;

    // scheduler-thread state
    private final Map<String, MemberState> members = new HashMap<>();
    private final List<MemberState> failedMembers = new ArrayList<>();
    private final List<MemberState> leftMembers = new ArrayList<>();
    private final Map<String, Intent> recentIntents = new HashMap<>();
    private int ignoreOldJoins;
    private boolean joinMerged;
    private final List<UserEvent> heldEvents = new ArrayList<>();

    // shared
    private final ConcurrentHashMap<String, SerfMember> mirror = new ConcurrentHashMap<>();
    /** Grows after every change to the mirror (see {@link #membersVersion()}). */
    private final AtomicLong membersVersion = new AtomicLong();
    private final List<Scheduler.Cancellable> timers = new CopyOnWriteArrayList<>();
    private volatile State state = State.ALIVE;
    private volatile Map<String, String> tags;
    private final AtomicLong malformedMessages = new AtomicLong();
    /** Intents, events and remote states whose Lamport time is implausibly far ahead ({@link LamportClock#plausible}). */
    private final AtomicLong implausibleTimes = new AtomicLong();
    private final AtomicLong ignoredMessages = new AtomicLong();
    private final AtomicLong droppedEvents = new AtomicLong();
    private final AtomicLong consumerErrors = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();

    private Serf(SerfConfig config, Scheduler scheduler, Consumer<SerfEvent> events, Logger log) {
        this.log = log;
        this.config = config;
        this.name = config.swim().name();
        this.scheduler = scheduler;
        this.events = events;
        this.tags = Map.copyOf(config.tags());
        this.eventBuffer = new UserEventBuffer(eventClock, config.eventBuffer());
        int mult = config.swim().retransmitMult();
        this.intents = new BroadcastQueue(members::size, mult);
        this.userEvents = new BroadcastQueue(members::size, mult);
    }

    /**
     * Creates the node and its memberlist, and starts them: the node is alive on its own until {@link #join}.
     * Throws IllegalArgumentException when the configuration is out of range or the tags do not fit the node meta.
     */
    public static Serf create(SerfConfig config, Transport transport, Scheduler scheduler, Consumer<SerfEvent> events) {
        return create(config, transport, scheduler, events, LoggerFactory.getLogger(Serf.class), LoggerFactory.getLogger(Memberlist.class));
    }

    /** As {@link #create(SerfConfig, Transport, Scheduler, Consumer)}, the node logging to {@code log}, its memberlist to {@code memberlistLog}. */
    static Serf create(SerfConfig config, Transport transport, Scheduler scheduler, Consumer<SerfEvent> events, Logger log, Logger memberlistLog) {
        Serf s = prepared(config, scheduler, events, log);
        s.memberlist = Memberlist.create(config.swim(), transport, scheduler, s.delegate, s.listener, memberlistLog);
        s.memberlist.start();
        scheduler.execute(s::ensureSelf);
        s.every(config.reapInterval().toNanos(), s::reap);
        s.every(config.reconnectInterval().toNanos(), s::reconnect);
        s.every(config.queueCheckInterval().toNanos(), s::checkQueues);
        return s;
    }

    /**
     * A Serf with no memberlist under it, for tests of the state machine: the test plays memberlist through
     * {@link #delegate()} and {@link #listener()}. join, leave and setTags need a memberlist and are not for it.
     */
    static Serf detached(SerfConfig config, Scheduler scheduler, Consumer<SerfEvent> events) {
        Serf s = prepared(config, scheduler, events, LoggerFactory.getLogger(Serf.class));
        s.every(config.reapInterval().toNanos(), s::reap);
        s.every(config.reconnectInterval().toNanos(), s::reconnect);
        return s;
    }

    /** A checked node with its clocks at 1, so that a zero time (a message's missing field) never counts as news. */
    private static Serf prepared(SerfConfig config, Scheduler scheduler, Consumer<SerfEvent> events, Logger log) {
        config.check();
        checkTagsFit(config.tags());
        Serf s = new Serf(config, scheduler, events, log);
        s.clock.increment();
        s.eventClock.increment();
        s.queryClock.increment();
        return s;
    }

    Delegate delegate() { return delegate; }

    EventListener listener() { return listener; }

    /** Joins through every address given; completes with how many other nodes answered. */
    public CompletableFuture<Integer> join(List<InetSocketAddress> addresses, boolean ignoreOld) {
        if (state != State.ALIVE)
            return CompletableFuture.failedFuture(new IllegalStateException("serf cannot join after leave or shutdown (state " + state + ")"));
        CompletableFuture<Integer> result = new CompletableFuture<>();
        scheduler.execute(() -> {
            if (ignoreOld) {
                if (ignoreOldJoins++ == 0) joinMerged = false;
            }
            CompletableFuture<Integer> joined;
            try {
                joined = memberlist.join(List.copyOf(addresses));
            } catch (RuntimeException e) {
                joined = CompletableFuture.failedFuture(e);
            }
            joined.whenComplete((n, err) -> scheduler.execute(() -> {
                if (ignoreOld && --ignoreOldJoins == 0) releaseHeldEvents();
                if (err != null) {
                    result.completeExceptionally(err);
                    return;
                }
                if (n != null && n > 0) broadcastJoin(clock.time());
                result.complete(n == null ? 0 : n);
            }));
        });
        return result;
    }

    /** Every member known, this one included, failed and left ones until reaped; sorted by name. */
    public List<SerfMember> members() {
        List<SerfMember> out = new ArrayList<>(mirror.values());
        out.sort(Comparator.comparing(SerfMember::name));
        return out;
    }

    /**
     * A counter that grows after every change to what {@link #members()} returns (a member added, removed, or changed in
     * address, tags, status or versions), never otherwise: a view built from {@link #members()} read AFTER this counter
     * is at least as new as the value read, so a cache keyed by it is never stale.
     */
    public long membersVersion() { return membersVersion.get(); }

    public SerfMember localMember() {
        SerfMember m = mirror.get(name);
        if (m != null) return m;
        Node n = memberlist == null ? null : memberlist.localNode();
        if (n == null) // not started yet
            return new SerfMember(name, null, tags, MemberStatus.ALIVE, config.swim().versions().clone());
        return new SerfMember(n.name(), n.address(), tags, MemberStatus.ALIVE, n.vsn().clone());
    }

    /** This node's own state (alive, leaving, left, shutdown). */
    public State state() { return state; }

    /**
     * Replaces this node's tags and gossips the update (memberlist's updateNode). Throws IllegalArgumentException,
     * and changes nothing, when the encoded tags exceed the {@value #META_MAX_SIZE}-byte node meta limit.
     */
    public CompletableFuture<Void> setTags(Map<String, String> newTags) {
        checkTagsFit(newTags);
        this.tags = Map.copyOf(newTags);
        return memberlist.updateNode(config.broadcastTimeout());
    }

    /** Fires a user event to the pool. Throws IllegalArgumentException when name + payload exceed the size limit. */
    public void userEvent(String eventName, byte[] payload, boolean coalesce) {
        byte[] p = payload == null ? new byte[0] : payload.clone();
        int before = eventName.getBytes(StandardCharsets.UTF_8).length + p.length;
        if (before > config.userEventSizeLimit())
            throw new IllegalArgumentException("user event '" + eventName + "' is " + before
                    + " bytes (name + payload), over the configured limit of " + config.userEventSizeLimit() + " bytes");
        if (before > SerfConfig.USER_EVENT_SANE_LIMIT)
            throw new IllegalArgumentException("user event '" + eventName + "' is " + before
                    + " bytes (name + payload), over Serf's limit of " + SerfConfig.USER_EVENT_SANE_LIMIT + " bytes");
        // the encoded size, with the widest time the event can carry
        int encoded = SerfMessages.encode(new UserEvent(-1L, eventName, p, coalesce)).length;
        if (encoded > config.userEventSizeLimit())
            throw new IllegalArgumentException("user event '" + eventName + "' encodes to " + encoded
                    + " bytes, over the configured limit of " + config.userEventSizeLimit() + " bytes");
        if (state == State.SHUTDOWN) throw new IllegalStateException("serf is shut down");
        scheduler.execute(() -> {
            UserEvent msg = new UserEvent(eventClock.time(), eventName, p, coalesce);
            eventClock.increment();
            handleUserEvent(msg);
            userEvents.queue(SerfMessages.encode(msg), null);
            newsQueued();
        });
    }

    /**
     * A broadcast to hurry was queued (one that starts here, or a user event just learned from the pool): memberlist
     * gossips it soon (its eager gossip, when on).
     */
    private void newsQueued() {
        if (memberlist != null) memberlist.delegateNewsQueued();
    }

    /** Graceful leave: the leave intent, then memberlist's leave; completes when done or timed out. */
    public CompletableFuture<Void> leave() {
        synchronized (this) {
            switch (state) {
                case LEFT -> { return CompletableFuture.completedFuture(null); }
                case LEAVING -> { return CompletableFuture.failedFuture(new IllegalStateException("leave already in progress")); }
                case SHUTDOWN -> { return CompletableFuture.failedFuture(new IllegalStateException("leave called after shutdown")); }
                default -> state = State.LEAVING;
            }
        }
        CompletableFuture<Void> result = new CompletableFuture<>();
        scheduler.execute(() -> {
            Leave msg = new Leave(clock.time(), name, false);
            clock.increment();
            handleLeaveIntent(msg);
            CompletableFuture<Void> intentSent = new CompletableFuture<>();
            if (hasAliveMembers()) {
                intents.queue(SerfMessages.encode(msg), () -> intentSent.complete(null));
                newsQueued();
                timer(config.broadcastTimeout().toNanos(), () -> {
                    if (intentSent.complete(null)) log.warn("serf {}: timed out waiting for the leave intent to go out", name);
                });
            } else {
                intentSent.complete(null);
            }
            intentSent.thenCompose(v -> memberlist.leave(config.broadcastTimeout()))
                    .whenComplete((v, err) -> {
                        if (err != null) log.warn("serf {}: memberlist leave: {}", name, err.toString());
                        // stay up a little so that probes are answered while the leave spreads
                        timer(config.leavePropagateDelay().toNanos(), () -> {
                            synchronized (this) {
                                if (state != State.SHUTDOWN) state = State.LEFT;
                            }
                            result.complete(null);
                        });
                    });
        });
        return result;
    }

    /** Serf's RemoveFailedNode (force-leave): a failed member is marked left. False when no such failed member. */
    public boolean forceLeave(String node) {
        SerfMember m = mirror.get(node);
        if (m == null || m.status() != MemberStatus.FAILED) return false;
        scheduler.execute(() -> {
            Leave msg = new Leave(clock.time(), node, false);
            clock.increment();
            handleLeaveIntent(msg);
            if (hasAliveMembers()) {
                intents.queue(SerfMessages.encode(msg), null);
                newsQueued();
            }
        });
        return true;
    }

    public void shutdown() {
        synchronized (this) {
            if (state == State.SHUTDOWN) return;
            if (state != State.LEFT) log.info("serf {}: shutdown without a leave", name);
            state = State.SHUTDOWN;
        }
        for (Scheduler.Cancellable t : timers) t.cancel();
        timers.clear();
        if (memberlist != null) memberlist.shutdown();
    }

    /**
     * Counters and clocks as Serf's Stats: members, failed, left, member_time, event_time, query_time, and the bad
     * input counted (malformed_messages: undecodable; ignored_messages: types this node does not handle, such as
     * queries; dropped_events: events held back past the bound), reconnect_attempts (joins tried to failed members).
     */
    public Map<String, Long> stats() {
        Map<String, Long> s = new LinkedHashMap<>();
        long failed = 0, left = 0;
        for (SerfMember m : mirror.values()) {
            if (m.status() == MemberStatus.FAILED) failed++;
            else if (m.status() == MemberStatus.LEFT) left++;
        }
        s.put("members", (long) mirror.size());
        s.put("failed", failed);
        s.put("left", left);
        s.put("member_time", clock.time());
        s.put("event_time", eventClock.time());
        s.put("query_time", queryClock.time());
        s.put("malformed_messages", malformedMessages.get());
        s.put("implausible_times", implausibleTimes.get());
        s.put("ignored_messages", ignoredMessages.get());
        s.put("dropped_events", droppedEvents.get());
        s.put("consumer_errors", consumerErrors.get());
        s.put("reconnect_attempts", reconnects.get());
        return s;
    }

    /** The underlying memberlist (for the agent's health score and the like). */
    public Memberlist memberlist() { return memberlist; }

    // ================================================================ scheduler-thread internals

    private static void checkTagsFit(Map<String, String> t) {
        int size = SerfMessages.encodeTags(t).length;
        if (size > META_MAX_SIZE)
            throw new IllegalArgumentException("tags encode to " + size + " bytes, over the node meta limit of "
                    + META_MAX_SIZE + " bytes: " + t.keySet());
    }

    private void every(long periodNanos, Runnable task) {
        timer(periodNanos, new Runnable() {
            @Override public void run() {
                if (state == State.SHUTDOWN) return;
                try {
                    task.run();
                } catch (RuntimeException e) {
                    log.error("serf {}: periodic task failed", name, e);
                }
                timer(periodNanos, this);
            }
        });
    }

    private void timer(long delayNanos, Runnable task) {
        if (state == State.SHUTDOWN) return;
        Scheduler.Cancellable[] self = new Scheduler.Cancellable[1];
        self[0] = scheduler.schedule(delayNanos, () -> {
            timers.remove(self[0]);
            task.run();
        });
        timers.add(self[0]);
    }

    private void emit(SerfEvent e) {
        try {
            events.accept(e);
        } catch (RuntimeException ex) {
            consumerErrors.incrementAndGet();
            log.error("serf {}: event consumer failed on {}", name, e, ex);
        }
    }

    private void publish(MemberState m) {
        SerfMember next = m.snapshot();
        SerfMember prev = mirror.put(m.name, next);
        if (prev == null || !sameView(prev, next)) membersVersion.incrementAndGet(); // after the put: see membersVersion()
    }

    private static boolean sameView(SerfMember a, SerfMember b) {
        return a.status() == b.status() && java.util.Objects.equals(a.address(), b.address()) && a.tags().equals(b.tags())
                && java.util.Arrays.equals(a.vsn(), b.vsn());
    }

    private void ensureSelf() {
        if (members.containsKey(name) || state == State.SHUTDOWN) return;
        Node n = memberlist.localNode();
        if (n != null) handleNodeJoin(n);
    }

    private boolean hasAliveMembers() {
        for (MemberState m : members.values())
            if (!m.name.equals(name) && m.status == MemberStatus.ALIVE) return true;
        return false;
    }

    private void broadcastJoin(long ltime) {
        Join msg = new Join(ltime, name);
        clock.witness(ltime);
        handleJoinIntent(msg);
        intents.queue(SerfMessages.encode(msg), null);
        newsQueued();
    }

    // ---------------------------------------------------------------- memberlist events

    private void handleNodeJoin(Node n) {
        MemberState m = members.get(n.name());
        MemberStatus old;
        if (m == null) {
            old = MemberStatus.NONE;
            m = new MemberState(n.name());
            Intent intent = recentIntents.get(n.name());
            if (intent != null && intent.type == IntentType.JOIN) m.statusLTime = intent.ltime;
            if (intent != null && intent.type == IntentType.LEAVE) {
                m.status = MemberStatus.LEAVING;
                m.statusLTime = intent.ltime;
            }
            members.put(n.name(), m);
        } else {
            old = m.status;
            m.status = MemberStatus.ALIVE;
            m.leaveNanos = 0;
        }
        m.address = n.address();
        m.tags = SerfMessages.decodeTags(n.meta());
        m.vsn = n.vsn() == null ? new byte[6] : n.vsn().clone();
        if (old == MemberStatus.FAILED || old == MemberStatus.LEFT) {
            failedMembers.remove(m);
            leftMembers.remove(m);
        }
        publish(m);
        // memberlist may announce this node itself more than once (start, then a refutation): one join event
        if (n.name().equals(name) && old == MemberStatus.ALIVE) return;
        log.info("serf {}: member-join {} {}", name, m.name, m.address);
        emit(new SerfEvent.Members(SerfEvent.Kind.JOIN, List.of(m.snapshot())));
    }

    private void handleNodeLeave(Node n) {
        MemberState m = members.get(n.name());
        if (m == null) return;
        SerfEvent.Kind kind;
        switch (m.status) {
            case LEAVING -> {
                m.status = MemberStatus.LEFT;
                m.leaveNanos = scheduler.nanoTime();
                leftMembers.add(m);
                kind = SerfEvent.Kind.LEAVE;
            }
            case ALIVE -> {
                m.status = MemberStatus.FAILED;
                m.leaveNanos = scheduler.nanoTime();
                failedMembers.add(m);
                kind = SerfEvent.Kind.FAILED;
            }
            default -> {
                log.debug("serf {}: leave of {} in state {} ignored", name, m.name, m.status);
                return;
            }
        }
        publish(m);
        log.info("serf {}: {} {} {}", name, kind.serfName, m.name, m.address);
        emit(new SerfEvent.Members(kind, List.of(m.snapshot())));
    }

    private void handleNodeUpdate(Node n) {
        MemberState m = members.get(n.name());
        if (m == null) return;
        m.address = n.address();
        m.tags = SerfMessages.decodeTags(n.meta());
        m.vsn = n.vsn() == null ? new byte[6] : n.vsn().clone();
        publish(m);
        log.info("serf {}: member-update {}", name, m.name);
        emit(new SerfEvent.Members(SerfEvent.Kind.UPDATE, List.of(m.snapshot())));
    }

    // ---------------------------------------------------------------- intents and events

    /** True when the intent was news (then it is re-gossiped). */
    /** Drops (and counts) a time too far ahead of {@code c}: garbled, forged or from a broken peer. */
    private boolean implausible(long ltime, LamportClock c, String what) {
        if (c.plausible(ltime)) return false;
        implausibleTimes.incrementAndGet();
        log.debug("serf {}: dropped {} at Lamport time {} (this clock is at {})", name, what, Long.toUnsignedString(ltime), c.time());
        return true;
    }

    private boolean handleLeaveIntent(Leave msg) {
        if (implausible(msg.ltime(), clock, "a leave intent for " + msg.node())) return false;
        clock.witness(msg.ltime());
        MemberState m = members.get(msg.node());
        if (m == null) return upsertIntent(msg.node(), IntentType.LEAVE, msg.ltime());
        if (Long.compareUnsigned(msg.ltime(), m.statusLTime) <= 0) return false;
        if (msg.node().equals(name) && state == State.ALIVE) {
            // someone thinks this node is leaving: refute with a newer join intent
            log.debug("serf {}: refuting an older leave intent", name);
            scheduler.execute(() -> broadcastJoin(clock.time()));
            return false;
        }
        m.statusLTime = msg.ltime();
        switch (m.status) {
            case ALIVE -> {
                m.status = MemberStatus.LEAVING;
                publish(m);
                if (msg.prune()) prune(m);
                return true;
            }
            case FAILED -> {
                m.status = MemberStatus.LEFT;
                failedMembers.remove(m);
                leftMembers.add(m);
                publish(m);
                log.info("serf {}: member-leave (forced) {} {}", name, m.name, m.address);
                emit(new SerfEvent.Members(SerfEvent.Kind.LEAVE, List.of(m.snapshot())));
                if (msg.prune()) prune(m);
                return true;
            }
            case LEAVING, LEFT -> {
                if (msg.prune()) prune(m);
                return true;
            }
            default -> { return false; }
        }
    }

    private void prune(MemberState m) {
        if (m.status == MemberStatus.LEAVING) {
            // let the leave finish first, as Serf does
            timer(config.broadcastTimeout().plus(config.leavePropagateDelay()).toNanos(), () -> {
                if (members.get(m.name) == m) prune(m);
            });
            return;
        }
        leftMembers.remove(m);
        failedMembers.remove(m);
        erase(m);
    }

    private boolean handleJoinIntent(Join msg) {
        if (implausible(msg.ltime(), clock, "a join intent for " + msg.node())) return false;
        clock.witness(msg.ltime());
        MemberState m = members.get(msg.node());
        if (m == null) return upsertIntent(msg.node(), IntentType.JOIN, msg.ltime());
        if (Long.compareUnsigned(msg.ltime(), m.statusLTime) <= 0) return false;
        m.statusLTime = msg.ltime();
        if (m.status == MemberStatus.LEAVING) {
            m.status = MemberStatus.ALIVE;
            publish(m);
        }
        return true;
    }

    private boolean upsertIntent(String node, IntentType type, long ltime) {
        Intent cur = recentIntents.get(node);
        if (cur == null || Long.compareUnsigned(ltime, cur.ltime) > 0) {
            recentIntents.put(node, new Intent(type, ltime, scheduler.nanoTime()));
            return true;
        }
        return false;
    }

    private boolean handleUserEvent(UserEvent msg) {
        if (implausible(msg.ltime(), eventClock, "user event " + msg.name())) return false;
        if (!eventBuffer.offer(msg)) return false;
        emit(new SerfEvent.User(msg.ltime(), msg.name(), msg.payload().clone(), msg.coalesce()));
        return true;
    }

    private void releaseHeldEvents() {
        List<UserEvent> held = new ArrayList<>(heldEvents);
        heldEvents.clear();
        for (UserEvent e : held) {
            if (handleUserEvent(e)) userEvents.queue(SerfMessages.encode(e), null);
        }
    }

    // ---------------------------------------------------------------- periodic

    private void reap() {
        long now = scheduler.nanoTime();
        reap(failedMembers, now, config.reconnectTimeout().toNanos());
        reap(leftMembers, now, config.tombstoneTimeout().toNanos());
        long intentTimeout = config.recentIntentTimeout().toNanos();
        recentIntents.values().removeIf(i -> now - i.seenNanos > intentTimeout);
    }

    private void reap(List<MemberState> list, long now, long timeout) {
        for (Iterator<MemberState> it = list.iterator(); it.hasNext(); ) {
            MemberState m = it.next();
            if (now - m.leaveNanos <= timeout) continue;
            it.remove();
            log.info("serf {}: member-reap {}", name, m.name);
            erase(m);
        }
    }

    private void erase(MemberState m) {
        members.remove(m.name);
        if (mirror.remove(m.name) != null) membersVersion.incrementAndGet();
        emit(new SerfEvent.Members(SerfEvent.Kind.REAP, List.of(m.snapshot())));
    }

    private void reconnect() {
        int failed = failedMembers.size();
        if (failed == 0 || state != State.ALIVE || memberlist == null) return;
        // fewer attempts when few failed among many alive (Serf's throttle)
        float alive = Math.max(1, members.size() - failed - leftMembers.size());
        if (scheduler.random().nextFloat() > failed / alive) return;
        MemberState m = failedMembers.get(scheduler.random().nextInt(failed));
        log.info("serf {}: attempting reconnect to {} {}", name, m.name, m.address);
        reconnects.incrementAndGet();
        try {
            memberlist.join(List.of(m.address)).whenComplete((n, err) -> {
                if (err != null) log.debug("serf {}: reconnect to {} failed: {}", name, m.name, err.toString());
            });
        } catch (RuntimeException e) {
            log.debug("serf {}: reconnect to {} failed: {}", name, m.name, e.toString());
        }
    }

    private void checkQueues() {
        int max = config.maxQueueDepth();
        int dropped = intents.prune(max) + userEvents.prune(max);
        if (dropped > 0) log.warn("serf {}: broadcast queues over {} messages, dropped {}", name, max, dropped);
    }

    // ---------------------------------------------------------------- memberlist's callbacks

    private final class Listener implements EventListener {
        @Override public void notifyJoin(Node node) { handleNodeJoin(node); }

        @Override public void notifyLeave(Node node) { handleNodeLeave(node); }

        @Override public void notifyUpdate(Node node) { handleNodeUpdate(node); }
    }

    private final class SerfDelegate implements Delegate {
        @Override public byte[] nodeMeta(int limit) {
            byte[] meta = SerfMessages.encodeTags(tags);
            if (meta.length > limit) {
                log.error("serf {}: tags encode to {} bytes, over the meta limit of {}; advertising none", name, meta.length, limit);
                return SerfMessages.encodeTags(Map.of());
            }
            return meta;
        }

        @Override public void notifyMsg(byte[] message) {
            if (message == null || message.length == 0) return;
            SerfMessage msg;
            try {
                msg = SerfMessages.decode(message);
            } catch (MalformedException e) {
                malformedMessages.incrementAndGet();
                log.debug("serf {}: dropped a malformed message: {}", name, e.getMessage());
                return;
            }
            try {
                boolean rebroadcast = false;
                BroadcastQueue queue = intents;
                switch (msg) {
                    case Leave l -> rebroadcast = handleLeaveIntent(l);
                    case Join j -> rebroadcast = handleJoinIntent(j);
                    case UserEvent e -> {
                        queue = userEvents;
                        if (ignoreOldJoins > 0 && !joinMerged) {
                            // an ignore-old join is under way and has not learnt the pool's event time yet: hold
                            // the event until it has, so that an old one in flight is not replayed
                            if (heldEvents.size() < MAX_HELD_EVENTS) heldEvents.add(e);
                            else droppedEvents.incrementAndGet();
                        } else {
                            rebroadcast = handleUserEvent(e);
                        }
                    }
                    case PushPull p -> ignoredMessages.incrementAndGet();
                    case Unknown u -> {
                        ignoredMessages.incrementAndGet();
                        log.debug("serf {}: ignored a message of type {}", name, u.type());
                    }
                }
                if (rebroadcast) {
                    queue.queue(message.clone(), null);
                    // a user event is passed on at once (memberlist's eager gossip, when on), not at the next tick
                    if (msg instanceof UserEvent) newsQueued();
                }
            } catch (RuntimeException e) {
                malformedMessages.incrementAndGet();
                log.warn("serf {}: failed to handle {}", name, msg, e);
            }
        }

        @Override public List<byte[]> broadcasts(int overhead, int limit) {
            List<byte[]> out = new ArrayList<>(intents.take(overhead, limit));
            int used = 0;
            for (byte[] b : out) used += overhead + b.length;
            out.addAll(userEvents.take(overhead, limit - used));
            return out;
        }

        @Override public byte[] localState(boolean join) {
            Map<String, Long> status = new HashMap<>();
            for (MemberState m : members.values()) status.put(m.name, m.statusLTime);
            List<String> left = new ArrayList<>();
            for (MemberState m : leftMembers) left.add(m.name);
            return SerfMessages.encode(new PushPull(clock.time(), status, left, eventClock.time(),
                    eventBuffer.recent(), queryClock.time()));
        }

        @Override public void mergeRemoteState(byte[] state, boolean join) {
            if (state == null || state.length == 0) return;
            if ((state[0] & 0xFF) != SerfMessages.PUSH_PULL) {
                malformedMessages.incrementAndGet();
                log.debug("serf {}: remote state has type {}, not push-pull", name, state[0] & 0xFF);
                return;
            }
            PushPull pp;
            try {
                pp = (PushPull) SerfMessages.decode(state);
            } catch (MalformedException e) {
                malformedMessages.incrementAndGet();
                log.debug("serf {}: dropped a malformed remote state: {}", name, e.getMessage());
                return;
            }
            if (implausible(pp.ltime(), clock, "a remote state") || implausible(pp.eventLTime(), eventClock, "a remote state")
                    || implausible(pp.queryLTime(), queryClock, "a remote state")) return;
            // no message with these times was sent yet: witness one less
            if (pp.ltime() != 0) clock.witness(pp.ltime() - 1);
            if (pp.eventLTime() != 0) eventClock.witness(pp.eventLTime() - 1);
            if (pp.queryLTime() != 0) queryClock.witness(pp.queryLTime() - 1);

            // left ones first, one past their last known status time (the leave came after it)
            for (String n : pp.leftMembers()) {
                handleLeaveIntent(new Leave(pp.statusLTimes().getOrDefault(n, 0L) + 1, n, false));
            }
            Set<String> left = new HashSet<>(pp.leftMembers());
            for (var e : pp.statusLTimes().entrySet()) {
                if (left.contains(e.getKey())) continue;
                handleJoinIntent(new Join(e.getValue(), e.getKey()));
            }
            if (join && ignoreOldJoins > 0) {
                eventBuffer.raiseMinTime(pp.eventLTime());
                joinMerged = true;
            }
            for (EventsAt at : pp.events()) {
                for (NamedPayload p : at.events()) handleUserEvent(new UserEvent(at.ltime(), p.name(), p.payload(), false));
            }
            if (joinMerged && !heldEvents.isEmpty()) releaseHeldEvents();
        }
    }
}

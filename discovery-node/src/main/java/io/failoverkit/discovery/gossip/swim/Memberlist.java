package io.failoverkit.discovery.gossip.swim;

import io.failoverkit.discovery.gossip.transport.Scheduler;
import io.failoverkit.discovery.gossip.transport.Transport;
import io.failoverkit.discovery.gossip.wire.Message;
import io.failoverkit.discovery.gossip.wire.NodeState;
import io.failoverkit.discovery.gossip.wire.PushPull;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * SWIM with Lifeguard, as memberlist: one instance per node. All protocol state is touched only on the node's
 * {@link Scheduler}; the public methods are safe from any thread (they hop onto it, or read a published snapshot).
 *
 * <p>API contract (the {@code serf} layer builds on it):
 * <ul>
 *   <li>{@link #start()} sets this node alive (incarnation 1, as memberlist) and starts the probe, gossip and
 *       push-pull schedules.</li>
 *   <li>{@link #join} push-pulls (join=true) with every address given, in parallel; an address that turns out to be
 *       this node does not count; completes with the number of other nodes that answered (0 if none).</li>
 *   <li>{@link #members()} a snapshot of every known node, dead and left included until reaped.</li>
 *   <li>{@link #updateNode} re-reads the delegate's meta, raises the incarnation and broadcasts the alive.</li>
 *   <li>{@link #leave} broadcasts this node's death (a leave: dead with from == self) and completes once it was
 *       sent to someone or the timeout passed; probing stops.</li>
 * </ul>
 *
 * <p>What it does, as memberlist does it (state.go, net.go): a probe every probe interval, round-robin over a
 * shuffled node list; a direct ping (the suspect message rides along when the target is suspected, so it hears it
 * first and can refute); after the probe timeout, indirect pings through {@code indirectChecks} random members (with
 * nacks) and a ping over a stream; no ack by the end of the (awareness-scaled) probe interval makes the target
 * suspect. A suspicion ends in death after its Lifeguard timeout ({@link Suspicion}) unless the node refutes with a
 * higher incarnation. State changes are broadcast through a {@link TransmitLimitedQueue} piggybacked on pings and
 * acks and gossiped to {@code gossipNodes} random nodes (recently dead ones included) every gossip interval. A
 * periodic push-pull with one random alive node repairs what gossip missed.
 *
 * <p>Where it differs from memberlist, and why (each is wire-compatible: a stock memberlist peer sees only
 * messages it knows, at moments it could have seen them):
 * <ul>
 *   <li>A split pool heals by itself. memberlist alone does not once both sides have quiesced (nothing is gossiped
 *       when no broadcast is queued, and push-pull only picks alive nodes), so every {@code gossipToTheDeadTime / 3},
 *       with probability (dead nodes / alive nodes), a node push-pulls with one random dead (not left) node it still
 *       remembers, as Serf's reconnect does; each side then learns it was declared dead and refutes, suspects the
 *       nodes the other side holds dead so that they refute too, and the refutations cross over by gossip to the
 *       dead. Longer splits (the dead reaped on both sides) are Serf's reconnect's business.</li>
 *   <li>A suspicion or death of this node at an incarnation it already refuted, when it arrives, is answered with
 *       the current alive sent straight back to the sender ({@link #answerStale}); memberlist drops it.</li>
 *   <li>A suspicion learned from a push-pull does not confirm a running one (memberlist confirms it in this node's
 *       name, as if it had probed and failed itself).</li>
 *   <li>An alive whose protocol range does not overlap this node's is ignored (logged once per node).</li>
 *   <li>After {@link #leave} the node stops probing and push-pulling (it still answers and gossips).</li>
 *   <li>Beyond 99 nodes a gossip round goes to one more node per decade ({@link #gossipFanout}).</li>
 *   <li>With {@link SwimConfig#eagerGossip} (the agent's), news that starts at this node, and the user events the
 *       delegate relays, are gossiped a few milliseconds later, not at the next tick ({@link #gossipSoon}).</li>
 *   <li>A ping names its source (SourceAddr, SourcePort, SourceNode) only when an ack to the packet's source
 *       might not reach this node ({@link #ping}).</li>
 *   <li>A node that finds its own timers running more than a probe interval late (it was paused: GC, SIGSTOP,
 *       overload) gives no verdict on the probes that end then and holds its suspicion timers back for one shortest
 *       suspicion timeout ({@link #noticeStall}); memberlist declares dead on resume the nodes whose refutations are
 *       still unread in its socket buffer.</li>
 * </ul>
 * With those and agent()'s 6x retransmits, 50 nodes at 10% packet loss for 10 simulated minutes declare no live
 * node dead (none in 30 seeds); with LAN's 4x retransmits, even with the changes above, about two a run did.
 */
public final class Memberlist {
    /** This instance's logger: the class's, or a silent one for the agent's start-up warm-up pool (serf.JoinWarmup). */
    private final Logger log;

    /** memberlist's MetaMaxSize. */
    public static final int META_MAX_SIZE = 512;
    /** Per-message framing in a compound packet (memberlist's compoundOverhead). */
    static final int COMPOUND_OVERHEAD = 2;
    /** A user message's type byte. */
    static final int USER_MSG_OVERHEAD = 1;
    private static final byte[] EMPTY = new byte[0];
    /**
     * A suspicion is held back at most this often by stalls of this node, and at most this many probes in a row end
     * without a verdict (a node slow all the time still decides).
     */
    static final int MAX_SUSPICION_POSTPONES = 3;
    /** Messages waiting for the scheduler at most (memberlist's HandoffQueueDepth); more are dropped and counted. */
    public static final int MAX_PENDING_ARRIVALS = 1024;
    /** How long a queued broadcast waits for others before an eager gossip round ({@link #gossipSoon}). */
    static final long EAGER_GOSSIP_DELAY_NANOS = 5_000_000L;

    private final SwimConfig config;
    private final Transport transport;
    private final Scheduler scheduler;
    private final Delegate delegate;
    private final EventListener events;
    private final String self;
    private final byte[] vsn;

    // --- scheduler-confined state ---
    private final Map<String, NodeEntry> nodeMap = new HashMap<>();
    private final ArrayList<NodeEntry> nodes = new ArrayList<>();
    private final Map<String, Suspicion> suspicions = new HashMap<>();
    private final Map<Long, AckHandler> ackHandlers = new HashMap<>();
    private final TransmitLimitedQueue<Message> broadcasts;
    private final Awareness awareness;
    private final List<Ticker> tickers = new ArrayList<>();
    private final Set<String> incompatibleLogged = new HashSet<>();
    private int probeIndex;
    private long seqNo;
    private long incarnation;
    private Probe probeInFlight;
    private boolean probeTickPending;
    private boolean gossipSoonPending;
    /** True while a packet's message is handled: what it queues is relayed news ({@link #gossipSoon}). */
    private boolean relayingPacket;
    private long lastGossipNanos = Long.MIN_VALUE / 2;
    private boolean started;
    private boolean left;
    private long stallGraceUntil = Long.MIN_VALUE;
    /** Probes in a row left without a verdict because of a stall (at most MAX_SUSPICION_POSTPONES). */
    private int inconclusiveProbes;
    private final List<Runnable> leaveWaiters = new ArrayList<>();

    // --- published for other threads ---
    private volatile boolean shutdown;
    private final ConcurrentHashMap<String, Node> published = new ConcurrentHashMap<>();
    private volatile int numAlive;
    private volatile int numSuspect;
    private final AtomicLong taskFailures = new AtomicLong();
    private final AtomicLong conflicts = new AtomicLong();
    private final AtomicLong malformed = new AtomicLong();
    private final AtomicLong stalls = new AtomicLong();
    private final AtomicLong droppedArrivals = new AtomicLong();

    private Memberlist(SwimConfig config, Transport transport, Scheduler scheduler, Delegate delegate, EventListener events, Logger log) {
        this.log = log;
        this.config = config.check();
        this.transport = transport;
        this.scheduler = scheduler;
        this.delegate = delegate;
        this.events = events;
        this.self = config.name();
        this.vsn = config.versions().clone();
        this.awareness = new Awareness(config.awarenessMaxMultiplier());
        this.broadcasts = new TransmitLimitedQueue<>(config.retransmitMult(), nodes::size);
    }

    /** {@code delegate} and {@code events} may be null. */
    public static Memberlist create(SwimConfig config, Transport transport, Scheduler scheduler, Delegate delegate, EventListener events) {
        return create(config, transport, scheduler, delegate, events, LoggerFactory.getLogger(Memberlist.class));
    }

    /** As {@link #create(SwimConfig, Transport, Scheduler, Delegate, EventListener)}, logging to {@code log}. */
    public static Memberlist create(SwimConfig config, Transport transport, Scheduler scheduler, Delegate delegate, EventListener events, Logger log) {
        return new Memberlist(config, transport, scheduler, delegate, events, log);
    }

    // ------------------------------------------------------------------------------------------------ public API

    public void start() {
        onScheduler(() -> {
            if (started || shutdown) return;
            started = true;
            transport.start(new Inbox());
            InetSocketAddress adv = transport.advertise();
            Message.Alive a = new Message.Alive(nextIncarnation(), self, adv.getAddress().getAddress(), adv.getPort(),
                    localMeta(), vsn.clone());
            aliveNode(a, null, true);
            schedule();
        });
    }

    public CompletableFuture<Integer> join(List<InetSocketAddress> addresses) {
        CompletableFuture<Integer> result = new CompletableFuture<>();
        List<InetSocketAddress> targets = List.copyOf(addresses);
        onSchedulerEvenIfShutdown(() -> {
            if (shutdown) {
                result.complete(0);
                return;
            }
            int[] pending = {0};
            int[] ok = {0};
            Runnable done = () -> {
                if (--pending[0] == 0) result.complete(ok[0]);
            };
            List<InetSocketAddress> remote = new ArrayList<>();
            for (InetSocketAddress a : targets) {
                if (isSelfAddress(a)) {
                    log.debug("{}: join: {} is this node, skipped", self, a);
                } else {
                    remote.add(a);
                }
            }
            if (remote.isEmpty()) {
                result.complete(0);
                return;
            }
            pending[0] = remote.size();
            for (InetSocketAddress a : remote) {
                PushPull local = localState(true);
                transport.pushPull(a, local, config.streamTimeout()).whenComplete((pp, err) -> onSchedulerEvenIfShutdown(() -> {
                    try {
                        if (shutdown) {
                            log.debug("{}: join {}: shut down meanwhile", self, a);
                        } else if (err != null) {
                            log.debug("{}: join {} failed: {}", self, a, err.toString());
                        } else if (onlySelf(pp)) {
                            log.info("{}: join {}: the answer came from this node itself, not counted", self, a);
                        } else if (mergeRemoteState(pp, true, a)) {
                            ok[0]++;
                        }
                    } finally {
                        done.run();
                    }
                }));
            }
        });
        return result;
    }

    /**
     * The delegate (Serf) queued a broadcast to hurry: one that starts at this node (a user event fired here, its own
     * join or leave intent) or a user event it just learned (an event is news for every node that first hears it, and
     * a deploy's last host should not wait a tick per hop): gossiped soon rather than at the next tick, as this
     * layer's own news ({@link #gossipSoon}). Still at most one round per quarter interval, each broadcast still sent
     * only its retransmit limit of times.
     */
    public void delegateNewsQueued() {
        onScheduler(this::gossipSoon);
    }

    public List<Node> members() {
        List<Node> out = new ArrayList<>(published.values());
        out.sort((x, y) -> x.name().compareTo(y.name()));
        return out;
    }

    /** The node called {@code name} as this node knows it, or null. */
    public Node member(String name) {
        return published.get(name);
    }

    public Node localNode() {
        return published.get(self);
    }

    /** Alive and suspect nodes, this one included (memberlist's NumMembers). */
    public int numMembers() {
        return numAlive + numSuspect;
    }

    /** Alive nodes (not suspect), this one included. */
    public int numAlive() {
        return numAlive;
    }

    /** Lifeguard's local health score: 0 is healthy, up to awarenessMaxMultiplier - 1. */
    public int healthScore() {
        return awareness.score();
    }

    /** Scheduler tasks of this memberlist that threw (each was logged). */
    public long taskFailures() {
        return taskFailures.get();
    }

    /** Alive messages refused because another node already holds the name at another address. */
    public long conflicts() {
        return conflicts.get();
    }

    /**
     * Re-reads the delegate's meta, raises the incarnation and broadcasts the alive; completes once the broadcast
     * went out its last time (or nobody else is alive), or after {@code timeout} (logged, not an error).
     */
    public CompletableFuture<Void> updateNode(Duration timeout) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        onSchedulerEvenIfShutdown(() -> {
            NodeEntry me = nodeMap.get(self);
            if (me == null || shutdown || left) {
                result.complete(null);
                return;
            }
            Message.Alive a = new Message.Alive(nextIncarnation(), self, me.addr, me.port, localMeta(), vsn.clone());
            aliveNode(a, () -> result.complete(null), true);
            awaitBroadcast(result, timeout, "update");
        });
        return result;
    }

    public CompletableFuture<Void> leave(Duration timeout) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        onSchedulerEvenIfShutdown(() -> {
            if (left || shutdown) {
                result.complete(null);
                return;
            }
            left = true; // probing, push-pull and reconnect stop; gossip goes on so the leave gets out
            NodeEntry me = nodeMap.get(self);
            if (me == null) {
                result.complete(null);
                return;
            }
            leaveWaiters.add(() -> result.complete(null));
            deadNode(new Message.Dead(me.incarnation, self, self));
            awaitBroadcast(result, timeout, "leave");
        });
        return result;
    }

    /** Stops schedules and the transport (the scheduler itself belongs to the caller). */
    public void shutdown() {
        if (shutdown) return;
        shutdown = true;
        onSchedulerEvenIfShutdown(() -> {
            stopTickers();
            for (AckHandler h : ackHandlers.values()) h.cancel();
            ackHandlers.clear();
            for (Suspicion s : suspicions.values()) s.cancel();
            suspicions.clear();
            if (probeInFlight != null) probeInFlight.cancelTimers();
        });
        try {
            transport.close();
        } catch (RuntimeException e) {
            log.warn("{}: closing the transport failed", self, e);
        }
    }

    // ------------------------------------------------------------------------------------------------ scheduling

    private void onScheduler(Runnable task) {
        scheduler.execute(guard(() -> {
            if (!shutdown) task.run();
        }));
    }

    private void onSchedulerEvenIfShutdown(Runnable task) {
        scheduler.execute(guard(task));
    }

    private Scheduler.Cancellable later(long delayNanos, Runnable task) {
        long due = scheduler.nanoTime() + Math.max(0, delayNanos);
        return scheduler.schedule(delayNanos, guard(() -> {
            if (shutdown) return;
            noticeStall(due);
            task.run();
        }));
    }

    /**
     * A timer due at {@code due} runs more than a probe interval late: this node was not running (a GC pause, SIGSTOP,
     * an overloaded box). Its overdue timers run before it reads what arrived meanwhile (acks, refutations), so for a
     * grace of one shortest suspicion timeout from now its probes that end without an ack suspect no one and its
     * suspicion timers wait instead of declaring death (Lifeguard's idea: a node that was itself slow doubts its view,
     * not the others). The awareness score goes up once per stall.
     */
    private void noticeStall(long due) {
        long now = scheduler.nanoTime();
        long late = now - due;
        if (late <= config.probeInterval().toNanos()) return;
        long grace = suspicionTimeout(config.suspicionMult(), nodes.size(), config.probeInterval().toNanos());
        if (now >= stallGraceUntil) {
            stalls.incrementAndGet();
            awareness.apply(1);
            log.warn("{}: this node did not run for {} ms (paused or overloaded): for {} ms it suspects and declares no one on its own timers",
                    self, late / 1_000_000, grace / 1_000_000);
        }
        stallGraceUntil = Math.max(stallGraceUntil, now + grace);
    }

    private boolean stalled() {
        return scheduler.nanoTime() < stallGraceUntil;
    }

    /** Times this node found its own timers running more than a probe interval late (see {@link #noticeStall}). */
    public long stalls() {
        return stalls.get();
    }

    private Runnable guard(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (Throwable t) {
                taskFailures.incrementAndGet();
                log.warn("{}: gossip task failed", self, t);
            }
        };
    }

    private void awaitBroadcast(CompletableFuture<Void> result, Duration timeout, String what) {
        if (!anyAliveButSelf()) {
            result.complete(null);
            return;
        }
        if (timeout != null && !timeout.isZero() && !timeout.isNegative()) {
            Scheduler.Cancellable t = scheduler.schedule(timeout.toNanos(), () -> {
                if (result.complete(null)) log.info("{}: timed out waiting for the {} broadcast", self, what);
            });
            result.whenComplete((v, e) -> t.cancel());
        }
    }

    private void schedule() {
        long probe = config.probeInterval().toNanos();
        long gossip = config.gossipInterval().toNanos();
        long pushPull = config.pushPullInterval().toNanos();
        if (probe > 0) ticker(() -> probe, this::probeTick);
        if (gossip > 0 && config.gossipNodes() > 0) ticker(() -> gossip, this::gossip);
        if (pushPull > 0) ticker(() -> pushPullScale(pushPull, nodes.size()), this::pushPullTick);
        long reconnect = reconnectInterval();
        if (reconnect > 0) ticker(() -> reconnect, this::reconnect);
    }

    /**
     * A ticker: first tick after a random stagger within one period (as memberlist's triggerFunc), then one every
     * period (the period is re-read at each tick: push-pull's grows with the pool).
     */
    private void ticker(java.util.function.LongSupplier period, Runnable task) {
        Ticker t = new Ticker();
        tickers.add(t);
        Runnable[] tick = new Runnable[1];
        tick[0] = () -> {
            if (t.stopped) return;
            t.next = later(period.getAsLong(), tick[0]);
            task.run();
        };
        t.next = later(Math.floorMod(scheduler.random().nextLong(), period.getAsLong()), tick[0]);
    }

    private void stopTickers() {
        for (Ticker t : tickers) t.cancel();
        tickers.clear();
    }

    private static final class Ticker {
        Scheduler.Cancellable next;
        boolean stopped;

        void cancel() {
            stopped = true;
            if (next != null) next.cancel();
        }
    }

    private long reconnectInterval() {
        return config.gossipToTheDeadTime().toNanos() / 3;
    }

    // ------------------------------------------------------------------------------------------------ probing

    private void probeTick() {
        if (left) return;
        if (probeInFlight != null) {
            probeTickPending = true;
            return;
        }
        probe();
    }

    private void probe() {
        int checked = 0;
        while (true) {
            if (checked >= nodes.size()) return;
            if (probeIndex >= nodes.size()) {
                resetNodes();
                probeIndex = 0;
                checked++;
                continue;
            }
            NodeEntry n = nodes.get(probeIndex++);
            if (n.name.equals(self) || n.deadOrLeft()) {
                checked++;
                continue;
            }
            probeNode(n);
            return;
        }
    }

    private void probeNode(NodeEntry node) {
        long interval = awareness.scale(config.probeInterval().toNanos());
        long timeout = awareness.scale(config.probeTimeout().toNanos());
        Message.Ping ping = ping(nextSeqNo(), node.name);
        Probe p = new Probe(ping, node.name, node.incarnation, node.socketAddress(), node.pmax(), scheduler.nanoTime() + interval);
        probeInFlight = p;
        ackHandlers.put(ping.seqNo(), p);
        if (node.state == NodeState.ALIVE) {
            sendWithPiggyback(p.address, ping);
        } else {
            // the suspected node hears it first, so it can refute
            transport.sendPacket(p.address, List.of(ping, new Message.Suspect(node.incarnation, node.name, self)));
        }
        p.awarenessDelta = -1;
        p.directTimer = later(timeout, () -> indirectProbe(p));
        p.deadlineTimer = later(interval, () -> probeDeadline(p));
    }

    /**
     * A ping of {@code node}. It names this node as its source (memberlist's SourceAddr, SourcePort, SourceNode) only
     * when the ack could not simply go back to the packet's source ({@link Transport#sendsFromAdvertised}): those
     * three fields are about half of a ping's bytes, and a ping goes out twice a second at rest. The receiver,
     * memberlist or ours, acks to the packet's source when they are absent.
     */
    private Message.Ping ping(long seqNo, String node) {
        if (transport.sendsFromAdvertised()) return new Message.Ping(seqNo, node, EMPTY, 0, "");
        InetSocketAddress adv = transport.advertise();
        return new Message.Ping(seqNo, node, adv.getAddress().getAddress(), adv.getPort(), self);
    }

    private void indirectProbe(Probe p) {
        if (p.done) return;
        log.debug("{}: no direct ack from {}", self, p.target);
        List<NodeEntry> peers = kRandomNodes(config.indirectChecks(),
                n -> n.name.equals(self) || n.name.equals(p.target) || n.state != NodeState.ALIVE);
        InetSocketAddress adv = transport.advertise();
        for (NodeEntry peer : peers) {
            boolean nack = peer.pmax() >= 4;
            if (nack) p.expectedNacks++;
            Message.IndirectPing ind = new Message.IndirectPing(p.ping.seqNo(), p.address.getAddress().getAddress(),
                    p.address.getPort(), p.target, nack, adv.getAddress().getAddress(), adv.getPort(), self);
            sendWithPiggyback(peer.socketAddress(), ind);
        }
        if (!config.disableStreamPings() && p.targetPmax >= 3) {
            long left = p.deadline - scheduler.nanoTime();
            if (left > 0) {
                p.fallback = transport.pingStream(p.address, p.ping, Duration.ofNanos(left));
                p.fallback.whenComplete((ack, err) -> onScheduler(() -> {
                    p.fallbackOk = err == null && ack != null && ack.seqNo() == p.ping.seqNo();
                    p.fallbackDone = true;
                    if (p.waitingForFallback) concludeProbe(p);
                }));
            }
        }
    }

    private void probeDeadline(Probe p) {
        if (p.done) return;
        ackHandlers.remove(p.ping.seqNo());
        if (p.fallback != null && !p.fallbackDone) {
            p.waitingForFallback = true;
            return;
        }
        concludeProbe(p);
    }

    private void concludeProbe(Probe p) {
        if (p.done) return;
        if (p.fallbackOk) {
            log.warn("{}: reached {} over a stream but not over packets: the network may be misconfigured", self, p.target);
            finishProbe(p);
            return;
        }
        if (stalled() && inconclusiveProbes < MAX_SUSPICION_POSTPONES) {
            // this node was not running: the ack may be waiting unread; no verdict (the stall raised awareness)
            inconclusiveProbes++;
            log.debug("{}: probe of {} ended while this node was stalled: no verdict", self, p.target);
            p.awarenessDelta = 0;
            finishProbe(p);
            return;
        }
        inconclusiveProbes = 0;
        int delta = 0;
        if (p.expectedNacks > 0) {
            if (p.nacks < p.expectedNacks) delta += p.expectedNacks - p.nacks;
        } else {
            delta += 1;
        }
        p.awarenessDelta = delta;
        log.debug("{}: suspect {}: no ack", self, p.target);
        finishProbe(p);
        suspectNode(new Message.Suspect(p.incarnation, p.target, self));
    }

    private void finishProbe(Probe p) {
        p.done = true;
        p.cancelTimers();
        ackHandlers.remove(p.ping.seqNo());
        awareness.apply(p.awarenessDelta);
        if (probeInFlight == p) {
            probeInFlight = null;
            if (probeTickPending && !left) {
                probeTickPending = false;
                probe();
            }
        }
    }

    private void resetNodes() {
        long now = scheduler.nanoTime();
        long keep = config.gossipToTheDeadTime().toNanos() + config.deadNodeReclaimTime().toNanos();
        List<NodeEntry> kept = new ArrayList<>(nodes.size());
        for (NodeEntry n : nodes) {
            if (n.deadOrLeft() && now - n.stateChange > keep && !n.name.equals(self)) {
                nodeMap.remove(n.name);
                unpublish(n);
                log.debug("{}: reaped {} ({})", self, n.name, n.state);
            } else {
                kept.add(n);
            }
        }
        nodes.clear();
        nodes.addAll(kept);
        Collections.shuffle(nodes, asRandom());
    }

    private java.util.Random asRandom() {
        return new java.util.Random(scheduler.random().nextLong());
    }

    // ------------------------------------------------------------------------------------------------ gossip

    private void gossip() {
        long now = scheduler.nanoTime();
        lastGossipNanos = now;
        long deadTime = config.gossipToTheDeadTime().toNanos();
        List<NodeEntry> targets = kRandomNodes(gossipFanout(config.gossipNodes(), nodes.size()), n -> {
            if (n.name.equals(self)) return true;
            return switch (n.state) {
                case ALIVE, SUSPECT -> false;
                case DEAD -> now - n.stateChange > deadTime;
                case LEFT -> true;
            };
        });
        int limit = transport.packetLimit();
        for (NodeEntry n : targets) {
            List<Message> msgs = getBroadcasts(COMPOUND_OVERHEAD, limit);
            if (msgs.isEmpty()) return;
            transport.sendPacket(n.socketAddress(), msgs);
        }
    }

    private void pushPullTick() {
        if (left) return;
        List<NodeEntry> pick = kRandomNodes(1, n -> n.name.equals(self) || n.state != NodeState.ALIVE);
        if (!pick.isEmpty()) pushPullNode(pick.get(0).socketAddress());
    }

    /** Serf-style reconnect at this layer (see the class comment): heals a split once it ends. */
    private void reconnect() {
        if (left) return;
        int dead = 0;
        for (NodeEntry n : nodes) if (n.state == NodeState.DEAD && !n.name.equals(self)) dead++;
        if (dead == 0) return;
        int alive = Math.max(1, numAlive);
        if (scheduler.random().nextDouble() > (double) dead / alive) return;
        List<NodeEntry> pick = kRandomNodes(1, n -> n.name.equals(self) || n.state != NodeState.DEAD);
        if (!pick.isEmpty()) {
            log.debug("{}: reconnect: push-pull with dead {}", self, pick.get(0).name);
            pushPullNode(pick.get(0).socketAddress());
        }
    }

    private void pushPullNode(InetSocketAddress to) {
        transport.pushPull(to, localState(false), config.streamTimeout()).whenComplete((pp, err) -> onScheduler(() -> {
            if (err != null) {
                log.debug("{}: push-pull with {} failed: {}", self, to, err.toString());
                return;
            }
            mergeRemoteState(pp, false, to);
        }));
    }

    /**
     * How many nodes each gossip round goes to: gossipNodes up to 99 nodes, one more per decade beyond (5 at 1,000
     * with gossipNodes 3). memberlist keeps it fixed; then a broadcast needs log4(N) rounds to spread, and a
     * 1,000-node pool took twice as long as a 30-node one to learn of a join. The bytes do not change (each node
     * still sends each broadcast retransmit-limit times), only how many rounds they are spread over.
     */
    static int gossipFanout(int gossipNodes, int n) {
        return gossipNodes + Math.max(0, (int) Math.ceil(Math.log10(n + 1.0)) - 2);
    }

    static long pushPullScale(long intervalNanos, int n) {
        final int threshold = 32;
        if (n <= threshold) return intervalNanos;
        double mult = Math.ceil(log2(n) - log2(threshold)) + 1.0;
        return (long) mult * intervalNanos;
    }

    private static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }

    /** memberlist's suspicionTimeout: suspicionMult x max(1, log10(max(1, n))) x interval (scale to the ms). */
    static long suspicionTimeout(int suspicionMult, int n, long intervalNanos) {
        double nodeScale = Math.max(1.0, Math.log10(Math.max(1.0, n)));
        return (long) suspicionMult * (long) (nodeScale * 1000) * intervalNanos / 1000;
    }

    // ------------------------------------------------------------------------------------------------ broadcasts

    private void broadcast(String node, Message m, Runnable notify) {
        broadcasts.queue(m, node, transport.sizeOf(m), notify);
        if (!(m instanceof Message.Suspect) && (!relayingPacket || self.equals(node))) gossipSoon();
    }

    /**
     * News goes out at once instead of at the next gossip tick: a gossip round EAGER_GOSSIP_DELAY after a broadcast
     * is queued (gathering what else arrives meanwhile), at most one a quarter gossip interval after the last round.
     * This layer hurries only news that starts here: what this node learned over a stream (a joiner's push-pull),
     * found itself (a suspicion's end) or says about itself (a refutation, a leave), and never a suspicion (it rides
     * the ticks and the probes as memberlist's, so a refutation is never the slower of the two); membership news that
     * came in a gossip packet is passed on at the ticks, as memberlist does, so an epidemic's later hops keep their
     * pace and the pool's size keeps its weight in the time to spread. The delegate hurries its own news and the user
     * events it relays ({@link #delegateNewsQueued}). A round sends whatever is queued, so a hurried round also
     * carries queued relays and suspicions early (SerfPoolSimTest's event storm under loss: no live node failed).
     * A broadcast is still sent only its retransmit limit of times: nothing more at rest, no more messages while
     * something changes; with the tick, at most five rounds per gossip interval.
     */
    private void gossipSoon() {
        if (!config.eagerGossip() || gossipSoonPending || !started || shutdown || config.gossipNodes() < 1) return;
        long earliest = lastGossipNanos + config.gossipInterval().toNanos() / 4;
        long delay = Math.max(EAGER_GOSSIP_DELAY_NANOS, earliest - scheduler.nanoTime());
        gossipSoonPending = true;
        later(delay, () -> {
            gossipSoonPending = false;
            gossip();
        });
    }

    private List<Message> getBroadcasts(int overhead, int limit) {
        List<Message> own = broadcasts.get(overhead, limit);
        if (delegate == null) return own;
        int used = 0;
        for (Message m : own) used += transport.sizeOf(m) + overhead;
        int avail = limit - used;
        if (avail <= overhead + USER_MSG_OVERHEAD) return own;
        List<byte[]> user;
        try {
            user = delegate.broadcasts(overhead + USER_MSG_OVERHEAD, avail);
        } catch (RuntimeException e) {
            log.warn("{}: delegate broadcasts failed", self, e);
            return own;
        }
        if (user == null || user.isEmpty()) return own;
        List<Message> out = new ArrayList<>(own.size() + user.size());
        out.addAll(own);
        for (byte[] b : user) out.add(new Message.User(b));
        return out;
    }

    private void sendWithPiggyback(InetSocketAddress to, Message primary) {
        int avail = transport.packetLimit() - transport.sizeOf(primary) - COMPOUND_OVERHEAD;
        List<Message> extra = avail > 0 ? getBroadcasts(COMPOUND_OVERHEAD, avail) : List.of();
        if (extra.isEmpty()) {
            transport.sendPacket(to, List.of(primary));
        } else {
            List<Message> all = new ArrayList<>(extra.size() + 1);
            all.add(primary);
            all.addAll(extra);
            transport.sendPacket(to, all);
        }
    }

    // ------------------------------------------------------------------------------------------------ handlers

    /** A message whose required fields are missing (the codec should never produce one; dropped and counted). */
    private static boolean malformed(Message m) {
        return switch (m) {
            case Message.Ping p -> p.node() == null || p.sourceAddr() == null;
            case Message.IndirectPing p -> p.node() == null || p.target() == null || p.sourceAddr() == null;
            case Message.Ack a -> false;
            case Message.Nack n -> false;
            case Message.Err e -> false;
            case Message.Suspect s -> s.node() == null || s.node().isEmpty() || s.from() == null;
            case Message.Alive a -> a.node() == null || a.node().isEmpty() || a.addr() == null;
            case Message.Dead d -> d.node() == null || d.node().isEmpty() || d.from() == null;
            case Message.User u -> u.payload() == null;
        };
    }

    /** Messages dropped because a required field was missing. */
    public long malformedMessages() {
        return malformed.get();
    }

    private void handle(InetSocketAddress from, Message m) {
        if (malformed(m)) {
            malformed.incrementAndGet();
            log.debug("{}: dropped a malformed {} from {}", self, m.getClass().getSimpleName(), from);
            return;
        }
        switch (m) {
            case Message.Ping p -> handlePing(from, p);
            case Message.IndirectPing ip -> handleIndirectPing(from, ip);
            case Message.Ack a -> handleAck(a);
            case Message.Nack n -> handleNack(n);
            case Message.Err e -> log.debug("{}: error from {}: {}", self, from, e.error());
            case Message.Suspect s -> {
                if (s.node().equals(self)) answerStale(from, s.incarnation());
                suspectNode(s);
            }
            case Message.Alive a -> {
                if (a.port() == 0) a = new Message.Alive(a.incarnation(), a.node(), a.addr(), transport.advertise().getPort(), a.meta(), a.vsn());
                aliveNode(a, null, false);
            }
            case Message.Dead d -> {
                if (d.node().equals(self)) answerStale(from, d.incarnation());
                deadNode(d);
            }
            case Message.User u -> {
                if (delegate != null) delegate.notifyMsg(u.payload());
            }
        }
    }

    /**
     * A suspicion or death of this node at an incarnation it has already refuted is still going round: the node that
     * sent it (the prober, or a member forwarding it) still holds it and may not have heard the refutation (lost
     * packets). Answer it directly with the current alive, which clears its timer. memberlist drops such stale
     * messages silently; under heavy loss that leaves a member with a suspicion whose refutation it missed, and it
     * declares a live node dead when the suspicion times out.
     */
    private void answerStale(InetSocketAddress from, long incarnation) {
        NodeEntry me = nodeMap.get(self);
        if (me == null || left || incarnation >= me.incarnation || from == null) return;
        transport.sendPacket(from, List.of(new Message.Alive(me.incarnation, self, me.addr, me.port, me.meta, me.vsn)));
    }

    private void handlePing(InetSocketAddress from, Message.Ping p) {
        if (!p.node().isEmpty() && !p.node().equals(self)) {
            log.debug("{}: ping for unexpected node {} from {}", self, p.node(), from);
            return;
        }
        InetSocketAddress to = replyAddress(p.sourceAddr(), p.sourcePort(), from);
        sendWithPiggyback(to, new Message.Ack(p.seqNo(), EMPTY));
    }

    private void handleIndirectPing(InetSocketAddress from, Message.IndirectPing ind) {
        long local = nextSeqNo();
        InetSocketAddress adv = transport.advertise();
        Message.Ping ping = ping(local, ind.node());
        InetSocketAddress requester = replyAddress(ind.sourceAddr(), ind.sourcePort(), from);
        InetSocketAddress target = toAddress(ind.target(), ind.port() == 0 ? adv.getPort() : ind.port());
        if (target == null) return;
        Relay r = new Relay(ind.seqNo(), requester);
        ackHandlers.put(local, r);
        r.timer = later(config.probeTimeout().toNanos(), () -> {
            if (ackHandlers.remove(local) == r && ind.nack()) {
                sendWithPiggyback(requester, new Message.Nack(ind.seqNo()));
            }
        });
        sendWithPiggyback(target, ping);
    }

    private void handleAck(Message.Ack a) {
        AckHandler h = ackHandlers.remove(a.seqNo());
        if (h == null) return;
        switch (h) {
            case Probe p -> {
                inconclusiveProbes = 0;
                if (!p.done) finishProbe(p);
            }
            case Relay r -> {
                r.cancel();
                sendWithPiggyback(r.requester, new Message.Ack(r.seqNo, EMPTY));
            }
        }
    }

    private void handleNack(Message.Nack n) {
        AckHandler h = ackHandlers.get(n.seqNo());
        if (h instanceof Probe p && !p.done) p.nacks++;
    }

    private InetSocketAddress replyAddress(byte[] addr, int port, InetSocketAddress from) {
        if (addr != null && addr.length > 0 && port > 0) {
            InetSocketAddress a = toAddress(addr, port);
            if (a != null) return a;
        }
        return from;
    }

    // ------------------------------------------------------------------------------------------------ state machine

    private void refute(NodeEntry me, long accusedInc) {
        long inc = nextIncarnation();
        if (accusedInc >= inc) {
            incarnation = accusedInc + 1;
            inc = incarnation;
        }
        me.incarnation = inc;
        awareness.apply(1);
        publish(me);
        broadcast(me.name, new Message.Alive(inc, me.name, me.addr, me.port, me.meta, me.vsn), null);
    }

    private void aliveNode(Message.Alive a, Runnable notify, boolean bootstrap) {
        if (left && a.node().equals(self)) return;
        byte[] v = a.vsn() == null ? EMPTY : a.vsn();
        if (v.length >= 3) {
            int pMin = v[0] & 0xff, pMax = v[1] & 0xff;
            if (pMin == 0 || pMax == 0 || pMin > pMax) {
                logIncompatible(a.node(), "its protocol versions are wrong: " + Arrays.toString(v));
                return;
            }
            if (!overlaps(pMin, pMax, vsn[0] & 0xff, vsn[1] & 0xff)
                    || (v.length >= 6 && !overlaps(v[3] & 0xff, v[4] & 0xff, vsn[3] & 0xff, vsn[4] & 0xff))) {
                logIncompatible(a.node(), "its protocol range " + Arrays.toString(v) + " does not overlap ours " + Arrays.toString(vsn));
                return;
            }
        }
        InetSocketAddress addr = toAddress(a.addr(), a.port());
        if (addr == null) {
            log.debug("{}: alive for {} with a bad address, ignored", self, a.node());
            return;
        }
        NodeEntry state = nodeMap.get(a.node());
        boolean updatesNode = false;
        if (state == null) {
            state = new NodeEntry(a.node(), a.addr(), a.port(), a.meta(), v);
            state.state = NodeState.DEAD;
            state.incarnation = -1; // so that an alive at incarnation 0 (never sent by memberlist) still counts
            nodeMap.put(a.node(), state);
            int n = nodes.size();
            int offset = n == 0 ? 0 : scheduler.random().nextInt(n);
            nodes.add(state);
            Collections.swap(nodes, offset, n);
        } else if (!Arrays.equals(state.addr, a.addr()) || state.port != a.port()) {
            long now = scheduler.nanoTime();
            long reclaim = config.deadNodeReclaimTime().toNanos();
            boolean canReclaim = reclaim > 0 && now - state.stateChange > reclaim;
            if (state.state == NodeState.LEFT || (state.state == NodeState.DEAD && canReclaim)) {
                log.info("{}: {} comes back at a new address {} (was {})", self, a.node(), addr, state.socketAddress());
                updatesNode = true;
            } else {
                conflicts.incrementAndGet();
                logIncompatible(a.node() + "@" + addr, "conflicting address for " + a.node() + ": we have "
                        + state.socketAddress() + " (" + state.state + "), it claims " + addr + "; keeping ours");
                return;
            }
        }
        boolean isLocal = state.name.equals(self);
        if (a.incarnation() <= state.incarnation && !isLocal && !updatesNode) return;
        if (a.incarnation() < state.incarnation && isLocal) return;

        Suspicion timer = suspicions.remove(a.node());
        if (timer != null) timer.cancel();

        NodeState oldState = state.state;
        byte[] oldMeta = state.meta;
        if (!bootstrap && isLocal) {
            if (a.incarnation() == state.incarnation && Arrays.equals(a.meta(), state.meta) && Arrays.equals(v, state.vsn)) return;
            refute(state, a.incarnation());
            log.warn("{}: refuting an alive message about this node (incarnation {})", self, a.incarnation());
        } else {
            broadcast(a.node(), a, notify);
            if (v.length >= 6) state.vsn = v;
            state.incarnation = a.incarnation();
            state.meta = a.meta() == null ? EMPTY : a.meta();
            if (!Arrays.equals(state.addr, a.addr()) || state.port != a.port()) {
                state.addr = a.addr();
                state.port = a.port();
                state.socket = null;
            }
            if (state.state != NodeState.ALIVE) {
                state.state = NodeState.ALIVE;
                state.stateChange = scheduler.nanoTime();
            }
        }
        publish(state);
        if (oldState == NodeState.DEAD || oldState == NodeState.LEFT) {
            if (!isLocal || bootstrap) log.debug("{}: {} joined ({})", self, state.name, state.socketAddress());
            notifyJoin(state);
        } else if (!Arrays.equals(oldMeta, state.meta)) {
            notifyUpdate(state);
        }
    }

    private void suspectNode(Message.Suspect s) {
        suspectNode(s, false);
    }

    /**
     * {@code hearsay}: the suspicion comes from a push-pull (the remote holds the node suspect or dead), not from a
     * probe of ours. It starts a suspicion as memberlist does, but it does not count as an independent confirmation
     * of one already running: memberlist confirms it in this node's name, so two members that merely push-pulled with
     * a suspecting one shrink everyone's timer to the minimum as if they had probed and failed themselves.
     */
    private void suspectNode(Message.Suspect s, boolean hearsay) {
        NodeEntry state = nodeMap.get(s.node());
        if (state == null) return;
        if (s.incarnation() < state.incarnation) return;
        Suspicion timer = suspicions.get(s.node());
        if (timer != null) {
            if (hearsay) return;
            if (timer.confirm(s.from())) {
                log.debug("{}: suspicion of {} confirmed by {}", self, s.node(), s.from());
                broadcast(s.node(), s, null);
            }
            return;
        }
        if (state.state != NodeState.ALIVE) return;
        if (state.name.equals(self)) {
            refute(state, s.incarnation());
            log.warn("{}: refuting a suspect message from {}", self, s.from());
            return;
        }
        log.debug("{}: {} suspected by {} (incarnation {})", self, s.node(), s.from(), s.incarnation());
        broadcast(s.node(), s, null);
        state.incarnation = s.incarnation();
        state.state = NodeState.SUSPECT;
        long changeTime = scheduler.nanoTime();
        state.stateChange = changeTime;
        publish(state);

        int k = config.suspicionMult() - 2;
        int n = nodes.size();
        if (n - 2 < k) k = 0;
        long min = suspicionTimeout(config.suspicionMult(), n, config.probeInterval().toNanos());
        long max = config.suspicionMaxTimeoutMult() * min;
        String name = s.node();
        int kk = k;
        Suspicion[] holder = new Suspicion[1];
        holder[0] = new Suspicion(scheduler, s.from(), k, min, max, confirmations -> {
            if (shutdown) return;
            NodeEntry st = nodeMap.get(name);
            if (st == null || st.state != NodeState.SUSPECT || st.stateChange != changeTime) return;
            noticeStall(holder[0].dueAt());
            if (stalled() && holder[0].postponed() < MAX_SUSPICION_POSTPONES) {
                log.info("{}: the suspicion of {} ended while this node was stalled: it waits {} ms more", self, name,
                        (stallGraceUntil - scheduler.nanoTime()) / 1_000_000);
                holder[0].postpone(stallGraceUntil - scheduler.nanoTime());
                return;
            }
            suspicions.remove(name);
            log.info("{}: marking {} failed: suspicion timed out ({} of {} confirmations)", self, name, confirmations, kk);
            deadNode(new Message.Dead(st.incarnation, name, self));
        });
        suspicions.put(name, holder[0]);
    }

    private void deadNode(Message.Dead d) {
        NodeEntry state = nodeMap.get(d.node());
        if (state == null) return;
        if (d.incarnation() < state.incarnation) return;
        Suspicion timer = suspicions.remove(d.node());
        if (timer != null) timer.cancel();
        if (state.deadOrLeft()) return;
        if (state.name.equals(self)) {
            if (!left) {
                refute(state, d.incarnation());
                log.warn("{}: refuting a dead message from {}", self, d.from());
                return;
            }
            broadcast(d.node(), d, this::leaveBroadcastDone);
        } else {
            broadcast(d.node(), d, null);
        }
        state.incarnation = d.incarnation();
        state.state = d.node().equals(d.from()) ? NodeState.LEFT : NodeState.DEAD;
        state.stateChange = scheduler.nanoTime();
        publish(state);
        log.debug("{}: {} is {} (from {})", self, state.name, state.state, d.from());
        notifyLeave(state);
    }

    private void leaveBroadcastDone() {
        List<Runnable> w = new ArrayList<>(leaveWaiters);
        leaveWaiters.clear();
        w.forEach(Runnable::run);
    }

    /**
     * Merges a remote node list as memberlist does (a remote alive is an alive, a remote dead or suspect a suspicion
     * here, a remote left a leave), re-broadcasting every alive it applies, a joiner's included: in a mass join (N - 1
     * nodes joining one at once) the joiners learn each other from the push-pull replies, and if only the node they
     * joined spread that news its transmit-limited queue was the bottleneck and some alives died out before reaching
     * everyone (a member missing on one node for up to a push-pull interval: SwimMassJoinTest). The joiner's own alive
     * may then wait behind the pool's alives in its queue, but the node it joined broadcasts it too, so a join into
     * 1,000 nodes still converges within twice the 30-node time (SwimSimulationTest).
     */
    private void mergeState(List<PushPull.NodeEntry> remote) {
        for (PushPull.NodeEntry r : remote) {
            switch (r.state()) {
                case ALIVE -> aliveNode(new Message.Alive(r.incarnation(), r.name(), r.addr(), r.port(), r.meta(), r.vsn()), null, false);
                case LEFT -> deadNode(new Message.Dead(r.incarnation(), r.name(), r.name()));
                case DEAD, SUSPECT -> suspectNode(new Message.Suspect(r.incarnation(), r.name(), self), true);
            }
        }
    }

    /** Merges a push-pull's remote side; false (logged) when the versions are incompatible. */
    private boolean mergeRemoteState(PushPull remote, boolean join, InetSocketAddress from) {
        if (remote.nodes() == null || remote.nodes().stream().anyMatch(e -> e == null || e.name() == null || e.name().isEmpty() || e.state() == null)) {
            malformed.incrementAndGet();
            log.warn("{}: push-pull from {} with a malformed node list, ignored", self, from);
            return false;
        }
        String err = verifyProtocol(remote.nodes());
        if (err != null) {
            log.warn("{}: push-pull with {} refused: {}", self, from, err);
            return false;
        }
        mergeState(remote.nodes());
        byte[] user = remote.userState();
        if (user != null && user.length > 0 && delegate != null) delegate.mergeRemoteState(user, join);
        return true;
    }

    /** memberlist's verifyProtocol: every node's current version must lie in every alive node's range. */
    private String verifyProtocol(List<PushPull.NodeEntry> remote) {
        int maxPMin = 0, minPMax = 255, maxDMin = 0, minDMax = 255;
        for (PushPull.NodeEntry r : remote) {
            if (r.state() != NodeState.ALIVE || r.vsn() == null || r.vsn().length < 5) continue;
            maxPMin = Math.max(maxPMin, r.vsn()[0] & 0xff);
            minPMax = Math.min(minPMax, r.vsn()[1] & 0xff);
            maxDMin = Math.max(maxDMin, r.vsn()[3] & 0xff);
            minDMax = Math.min(minDMax, r.vsn()[4] & 0xff);
        }
        for (NodeEntry n : nodes) {
            if (n.state != NodeState.ALIVE || n.vsn.length < 5) continue;
            maxPMin = Math.max(maxPMin, n.vsn[0] & 0xff);
            minPMax = Math.min(minPMax, n.vsn[1] & 0xff);
            maxDMin = Math.max(maxDMin, n.vsn[3] & 0xff);
            minDMax = Math.min(minDMax, n.vsn[4] & 0xff);
        }
        for (PushPull.NodeEntry r : remote) {
            byte[] v = r.vsn() == null ? EMPTY : r.vsn();
            int pCur = v.length >= 6 ? v[2] & 0xff : 0, dCur = v.length >= 6 ? v[5] & 0xff : 0;
            if (pCur < maxPMin || pCur > minPMax)
                return "node " + r.name() + "'s protocol version " + pCur + " is outside [" + maxPMin + ", " + minPMax + "]";
            if (dCur < maxDMin || dCur > minDMax)
                return "node " + r.name() + "'s delegate protocol version " + dCur + " is outside [" + maxDMin + ", " + minDMax + "]";
        }
        for (NodeEntry n : nodes) {
            if (n.vsn.length < 6) continue;
            int pCur = n.vsn[2] & 0xff, dCur = n.vsn[5] & 0xff;
            if (pCur < maxPMin || pCur > minPMax)
                return "node " + n.name + "'s protocol version " + pCur + " is outside [" + maxPMin + ", " + minPMax + "]";
            if (dCur < maxDMin || dCur > minDMax)
                return "node " + n.name + "'s delegate protocol version " + dCur + " is outside [" + maxDMin + ", " + minDMax + "]";
        }
        return null;
    }

    private PushPull localState(boolean join) {
        List<PushPull.NodeEntry> out = new ArrayList<>(nodes.size());
        for (NodeEntry n : nodes) {
            out.add(new PushPull.NodeEntry(n.name, n.addr, n.port, n.meta, n.incarnation, n.state, n.vsn));
        }
        byte[] user = EMPTY;
        if (delegate != null) {
            try {
                byte[] u = delegate.localState(join);
                if (u != null) user = u;
            } catch (RuntimeException e) {
                log.warn("{}: delegate localState failed", self, e);
            }
        }
        return new PushPull(join, out, user);
    }

    private boolean onlySelf(PushPull pp) {
        for (PushPull.NodeEntry e : pp.nodes()) if (!e.name().equals(self)) return false;
        return true;
    }

    private boolean isSelfAddress(InetSocketAddress a) {
        InetSocketAddress adv = transport.advertise();
        if (a.equals(adv)) return true;
        return a.getPort() == adv.getPort() && a.getAddress() != null && a.getAddress().isAnyLocalAddress();
    }

    private boolean anyAliveButSelf() {
        for (NodeEntry n : nodes) if (!n.deadOrLeft() && !n.name.equals(self)) return true;
        return false;
    }

    // ------------------------------------------------------------------------------------------------ helpers

    private long nextSeqNo() {
        seqNo = (seqNo + 1) & 0xffffffffL;
        return seqNo;
    }

    private long nextIncarnation() {
        return ++incarnation;
    }

    private byte[] localMeta() {
        if (delegate == null) return EMPTY;
        byte[] meta = delegate.nodeMeta(META_MAX_SIZE);
        if (meta == null) return EMPTY;
        if (meta.length > META_MAX_SIZE) throw new IllegalStateException("node meta is " + meta.length + " bytes, the limit is " + META_MAX_SIZE);
        return meta;
    }

    private static boolean overlaps(int aMin, int aMax, int bMin, int bMax) {
        return aMin <= bMax && bMin <= aMax;
    }

    private void logIncompatible(String key, String why) {
        if (incompatibleLogged.size() > 10_000) incompatibleLogged.clear();
        if (incompatibleLogged.add(key + why)) log.warn("{}: ignoring an alive for {}: {}", self, key, why);
    }

    /** memberlist's kRandomNodes: up to k distinct nodes not excluded, at random. */
    private List<NodeEntry> kRandomNodes(int k, java.util.function.Predicate<NodeEntry> exclude) {
        int n = nodes.size();
        List<NodeEntry> out = new ArrayList<>(k);
        if (n < k * 3) {
            List<NodeEntry> copy = new ArrayList<>(nodes);
            Collections.shuffle(copy, asRandom());
            for (int i = 0; i < n && out.size() < k; i++) {
                NodeEntry s = copy.get(i);
                if (!exclude.test(s)) out.add(s);
            }
            return out;
        }
        outer:
        for (int i = 0; i < 3 * n && out.size() < k; i++) {
            NodeEntry s = nodes.get(scheduler.random().nextInt(n));
            if (exclude.test(s)) continue;
            for (NodeEntry o : out) if (o == s) continue outer;
            out.add(s);
        }
        return out;
    }

    static InetSocketAddress toAddress(byte[] addr, int port) {
        if (addr == null || (addr.length != 4 && addr.length != 16) || port <= 0 || port > 65535) return null;
        try {
            return new InetSocketAddress(InetAddress.getByAddress(addr), port);
        } catch (UnknownHostException e) {
            return null;
        }
    }

    private void publish(NodeEntry e) {
        Node old = e.published;
        Node n = new Node(e.name, e.socketAddress(), e.meta, e.state, e.incarnation, e.vsn);
        e.published = n;
        published.put(e.name, n);
        count(old == null ? null : old.state(), -1);
        count(n.state(), +1);
    }

    private void unpublish(NodeEntry e) {
        published.remove(e.name);
        if (e.published != null) count(e.published.state(), -1);
        e.published = null;
    }

    private void count(NodeState s, int delta) {
        if (s == NodeState.ALIVE) numAlive += delta;
        else if (s == NodeState.SUSPECT) numSuspect += delta;
    }

    private void notifyJoin(NodeEntry e) {
        if (events == null) return;
        try {
            events.notifyJoin(e.published);
        } catch (RuntimeException x) {
            log.warn("{}: event listener failed", self, x);
        }
    }

    private void notifyLeave(NodeEntry e) {
        if (events == null) return;
        try {
            events.notifyLeave(e.published);
        } catch (RuntimeException x) {
            log.warn("{}: event listener failed", self, x);
        }
    }

    private void notifyUpdate(NodeEntry e) {
        if (events == null) return;
        try {
            events.notifyUpdate(e.published);
        } catch (RuntimeException x) {
            log.warn("{}: event listener failed", self, x);
        }
    }

    // ------------------------------------------------------------------------------------------------ types

    /** One node as this one knows it (memberlist's nodeState). */
    private static final class NodeEntry {
        final String name;
        byte[] addr;
        int port;
        byte[] meta;
        byte[] vsn;
        NodeState state;
        long incarnation;
        long stateChange;
        InetSocketAddress socket;
        Node published;

        NodeEntry(String name, byte[] addr, int port, byte[] meta, byte[] vsn) {
            this.name = name;
            this.addr = addr;
            this.port = port;
            this.meta = meta == null ? EMPTY : meta;
            this.vsn = vsn;
        }

        boolean deadOrLeft() {
            return state == NodeState.DEAD || state == NodeState.LEFT;
        }

        int pmax() {
            return vsn.length >= 2 ? vsn[1] & 0xff : 0;
        }

        InetSocketAddress socketAddress() {
            if (socket == null) socket = toAddress(addr, port);
            return socket;
        }
    }

    private sealed interface AckHandler permits Probe, Relay {
        void cancel();
    }

    /** One probe in flight. */
    private static final class Probe implements AckHandler {
        final Message.Ping ping;
        final String target;
        final long incarnation;
        final InetSocketAddress address;
        final int targetPmax;
        final long deadline;
        int awarenessDelta;
        int expectedNacks;
        int nacks;
        boolean done;
        Scheduler.Cancellable directTimer;
        Scheduler.Cancellable deadlineTimer;
        CompletableFuture<Message.Ack> fallback;
        boolean fallbackDone;
        boolean fallbackOk;
        boolean waitingForFallback;

        Probe(Message.Ping ping, String target, long incarnation, InetSocketAddress address, int targetPmax, long deadline) {
            this.ping = ping;
            this.target = target;
            this.incarnation = incarnation;
            this.address = address;
            this.targetPmax = targetPmax;
            this.deadline = deadline;
        }

        void cancelTimers() {
            if (directTimer != null) directTimer.cancel();
            if (deadlineTimer != null) deadlineTimer.cancel();
        }

        @Override
        public void cancel() {
            done = true;
            cancelTimers();
        }
    }

    /** An indirect ping this node makes on another's behalf. */
    private static final class Relay implements AckHandler {
        final long seqNo;
        final InetSocketAddress requester;
        Scheduler.Cancellable timer;

        Relay(long seqNo, InetSocketAddress requester) {
            this.seqNo = seqNo;
            this.requester = requester;
        }

        @Override
        public void cancel() {
            if (timer != null) timer.cancel();
        }
    }

    /** Messages this node dropped because {@link #MAX_PENDING_ARRIVALS} were already waiting for the scheduler. */
    public long droppedArrivals() {
        return droppedArrivals.get();
    }

    /** What the transport delivers; everything hops onto the scheduler. */
    private final class Inbox implements Transport.Inbox {
        /** Arrivals not handled yet: one scheduler task drains them all (a compound packet's parts come together). */
        private final java.util.concurrent.ConcurrentLinkedQueue<Object[]> arrivals = new java.util.concurrent.ConcurrentLinkedQueue<>();
        private final java.util.concurrent.atomic.AtomicInteger pending = new java.util.concurrent.atomic.AtomicInteger();
        private final java.util.concurrent.atomic.AtomicBoolean draining = new java.util.concurrent.atomic.AtomicBoolean();

        @Override
        public void packet(InetSocketAddress from, Message message) {
            if (shutdown || message == null) return;
            if (pending.incrementAndGet() > MAX_PENDING_ARRIVALS) {
                pending.decrementAndGet();
                if (droppedArrivals.incrementAndGet() % 1000 == 1)
                    log.warn("{}: {} messages wait for the gossip thread: dropping ({} so far)", self, MAX_PENDING_ARRIVALS, droppedArrivals.get());
                return;
            }
            arrivals.add(new Object[]{from, message});
            if (draining.compareAndSet(false, true)) onSchedulerEvenIfShutdown(this::drain);
        }

        private void drain() {
            draining.set(false);
            Object[] a;
            while ((a = arrivals.poll()) != null) {
                pending.decrementAndGet();
                if (shutdown) continue;
                Object[] arrival = a;
                relayingPacket = true;
                try {
                    guard(() -> handle((InetSocketAddress) arrival[0], (Message) arrival[1])).run();
                } finally {
                    relayingPacket = false;
                }
            }
        }

        @Override
        public CompletableFuture<PushPull> pushPull(InetSocketAddress from, PushPull remote) {
            CompletableFuture<PushPull> reply = new CompletableFuture<>();
            if (shutdown || remote == null) {
                reply.completeExceptionally(new IllegalStateException("shut down"));
                return reply;
            }
            onScheduler(() -> {
                reply.complete(localState(remote.join()));
                mergeRemoteState(remote, remote.join(), from);
            });
            return reply;
        }

        @Override
        public void stream(InetSocketAddress from, Message message) {
            if (shutdown || message == null) return;
            onScheduler(() -> handle(from, message));
        }

        @Override
        public CompletableFuture<Message.Ack> streamPing(InetSocketAddress from, Message.Ping ping) {
            if (shutdown || ping == null || (ping.node() != null && !ping.node().isEmpty() && !ping.node().equals(self))) {
                return CompletableFuture.completedFuture(null);
            }
            return CompletableFuture.completedFuture(new Message.Ack(ping.seqNo(), EMPTY));
        }
    }
}

package io.failoverkit.discovery.http;

import io.failoverkit.discovery.config.Durations;
import io.failoverkit.discovery.raft.RaftNode;
import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.state.Table;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * What the server-side endpoints share: reads of the local state store with Consul's consistency modes and
 * blocking queries, and writes proposed through Raft.
 */
final class ServerSide {
    static final Duration DEFAULT_WAIT = Duration.ofMinutes(5);
    static final Duration MAX_WAIT = Duration.ofMinutes(10);

    final StateStore store;
    final RaftNode raft;
    final String nodeName;
    final String datacenter;
    private final ScheduledExecutorService timer;
    private final Executor executor;

    private final Forwarder forwarder;
    private final Supplier<java.util.Optional<String>> leaderHttp;
    /**
     * Answers shared among callers that read the same thing at the same state (the watchers one change wakes). 32 MiB:
     * about 130 health answers of a 170-instance service, more than the services one change can touch.
     */
    private final SharedAnswers answers = new SharedAnswers(32L << 20);
    private volatile java.util.concurrent.atomic.LongAdder sharedAnswers = new java.util.concurrent.atomic.LongAdder();
    private volatile java.util.concurrent.atomic.LongAdder renderedAnswers = new java.util.concurrent.atomic.LongAdder();

    ServerSide(StateStore store, RaftNode raft, String nodeName, String datacenter, ScheduledExecutorService timer, Executor executor,
               Forwarder forwarder, Supplier<java.util.Optional<String>> leaderHttp) {
        this.forwarder = forwarder;
        this.leaderHttp = leaderHttp;
        this.store = store;
        this.raft = raft;
        this.nodeName = nodeName;
        this.datacenter = datacenter;
        this.timer = timer;
        this.executor = executor;
    }

    /**
     * Whether this agent's ACLs are off: then no relayed answer depends on a token (relays join only then, see
     * {@link #forwardedToLeader}), and every request shares as {@link io.failoverkit.discovery.acl.Identity#ACL_DISABLED}.
     */
    private volatile java.util.function.BooleanSupplier aclsOff = () -> false;

    void aclsOff(java.util.function.BooleanSupplier aclsOff) { this.aclsOff = java.util.Objects.requireNonNull(aclsOff); }

    /** Counts, in {@code m}, the reads answered with a shared answer and the answers rendered to be shared. */
    void metrics(io.failoverkit.discovery.metrics.Metrics m) {
        sharedAnswers = m.eventCounter("failoverkit.http.answers.shared", java.util.Map.of());
        renderedAnswers = m.eventCounter("failoverkit.http.answers.rendered", java.util.Map.of());
    }

    /**
     * Serves a read: waits for the consistency the caller asked for, runs {@code query}, and, for a blocking query
     * ({@code ?index=N}), parks until the result's index passes N or the wait ends. A parked query holds no thread.
     */
    <T> void read(Call call, Set<Table> tables, String kvPrefix, Supplier<StateStore.Read<T>> query, BiConsumer<Call, StateStore.Read<T>> render) {
        read(call, tables, kvPrefix, null, query, render);
    }

    /** A read of one service's instances (catalog or health): its watch wakes only for that service's changes. */
    <T> void readService(Call call, Set<Table> tables, String service, Supplier<StateStore.Read<T>> query, BiConsumer<Call, StateStore.Read<T>> render) {
        read(call, tables, null, service, query, render);
    }

    private <T> void read(Call call, Set<Table> tables, String kvPrefix, String service, Supplier<StateStore.Read<T>> query,
                          BiConsumer<Call, StateStore.Read<T>> render) {
        long minIndex = call.longParam("index", 0);
        if (minIndex < 0) throw HttpError.badRequest("\"index\" must not be negative");
        Duration wait = DEFAULT_WAIT;
        String w = call.param("wait");
        if (w != null && !w.isEmpty()) {
            try {
                wait = Durations.parse(w);
            } catch (IllegalArgumentException e) {
                throw HttpError.badRequest("query parameter \"wait\": " + e.getMessage());
            }
        }
        if (wait.compareTo(MAX_WAIT) > 0) wait = MAX_WAIT;
        // A blocking query (the route can block, ?index above 0) may join an identical one being relayed (see
        // Forwarder.relay); not with ?consistent (a read barrier is for its own request), nor with ACLs on (the
        // leader authorizes each request as it arrives, a joiner would get the first one's view).
        if (forwardedToLeader(call, null, minIndex > 0 && !call.has("consistent") && aclsOff.getAsBoolean())) return;
        CompletableFuture<Void> ready = readyFor(call);
        // Consul adds up to wait/16 of jitter so that many watchers do not return at once.
        long waitMillis = wait.toMillis() + ThreadLocalRandom.current().nextLong(wait.toMillis() / 16 + 1);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
        ready.whenCompleteAsync((ok, err) -> {
            if (err != null) {
                call.text(500, "No cluster leader (" + rootMessage(err) + ")");
                return;
            }
            attempt(call, tables, kvPrefix, service, minIndex, deadline, query, render);
        }, executor);
    }

    private <T> void attempt(Call call, Set<Table> tables, String kvPrefix, String service, long minIndex, long deadline,
                             Supplier<StateStore.Read<T>> query, BiConsumer<Call, StateStore.Read<T>> render) {
        if (call.answered()) return;
        long before = store.version();
        StateStore.Read<T> r = readOrAnswer(call, query);
        if (r == null) return;
        long at = store.version() == before ? before : -1;
        long left = deadline - System.nanoTime();
        // Consul's rule (blockingquery.Query): answer once the result's index is past the one asked for, so an index
        // from the future (a client that saw another cluster, or a state restored from an older snapshot) blocks
        // until the wait ends; the client then sees an index below its own and resets to 0, as the docs tell it to.
        if (minIndex == 0 || r.index() > minIndex || left <= 0) {
            respond(call, r, at, render);
            return;
        }
        // The timeout may fire before watch() returns (a short wait left): it must not depend on the watch being set.
        AtomicReference<StateStore.Parked> parked = new AtomicReference<>();
        var timeout = timer.schedule(() -> {
            StateStore.Parked p = parked.get();
            if (p != null) p.cancel();
            executor.execute(() -> {
                long lastBefore = store.version();
                StateStore.Read<T> last = readOrAnswer(call, query);
                if (last != null) respond(call, last, store.version() == lastBefore ? lastBefore : -1, render);
            });
        }, left, TimeUnit.NANOSECONDS);
        parked.set(store.watch(tables, kvPrefix, service, r.observedTableIndex(), () -> {
            timeout.cancel(false);
            attempt(call, tables, kvPrefix, service, minIndex, deadline, query, render);
        }));
        if (timeout.isDone()) parked.get().cancel();
    }

    /**
     * The query's result, or null when it failed and the call was answered with why: this runs on a watcher's wake or a
     * timer, where nothing above would answer the call (it would hang until the idle timeout).
     */
    private static <T> StateStore.Read<T> readOrAnswer(Call call, Supplier<StateStore.Read<T>> query) {
        try {
            return query.get();
        } catch (HttpError e) {
            call.text(e.status, e.getMessage());
        } catch (RuntimeException e) {
            failed(call, e);
        }
        return null;
    }

    /** A read that failed unexpectedly: answered 500 with the reason (and logged), never left hanging. */
    private static void failed(Call call, RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(ServerSide.class).warn("{} {} failed: {}", call.method, call.rawPath(), e.toString(), e);
        call.text(500, "read failed: " + rootMessage(e));
    }

    private <T> void respond(Call call, StateStore.Read<T> r, BiConsumer<Call, StateStore.Read<T>> render) {
        respond(call, r, -1, render);
    }

    /**
     * Answers a read taken at the store's state version {@code at} (-1: not known, a change came in between): with
     * the answer another caller's identical read of that state rendered when there is one (see {@link SharedAnswers}),
     * else rendered here (and kept for the next, when it may be shared).
     */
    private <T> void respond(Call call, StateStore.Read<T> r, long at, BiConsumer<Call, StateStore.Read<T>> render) {
        if (call.answered()) return;
        call.header("X-Consul-Index", Long.toString(r.index()));
        call.header("X-Consul-KnownLeader", Boolean.toString(raft.leaderName().isPresent()));
        call.header("X-Consul-LastContact", Long.toString(Math.max(0, raft.lastContactMillis())));
        call.header("X-Consul-Effective-Consistency", effectiveConsistency(call));
        // Keyed by who asks too (see SharedAnswers): an answer filtered for one token is never handed to another. With
        // ACLs on, a request that resolved no identity of its own (still ACL_DISABLED) never shares.
        io.failoverkit.discovery.acl.Identity who = call.identity();
        boolean identified = who != null && (aclsOff.getAsBoolean() ? who == io.failoverkit.discovery.acl.Identity.ACL_DISABLED
                : who != io.failoverkit.discovery.acl.Identity.ACL_DISABLED);
        SharedAnswers.Key key = at >= 0 && identified && call.shareable() ? call.shareKey(at) : null;
        if (key != null) {
            CompletableFuture<SharedAnswers.Answer> shared = answers.claim(key);
            if (shared != null) {
                // Kept, or being rendered for another caller: its answer (or, when it had none to share, our own render).
                if (shared.isDone() && shared.getNow(null) != null) {
                    sharedAnswers.increment();
                    call.replay(shared.getNow(null));
                } else {
                    shared.whenCompleteAsync((a, err) -> {
                        try {
                            if (a != null) {
                                sharedAnswers.increment();
                                call.replay(a);
                            } else {
                                render(call, r, render, null, null);
                            }
                        } catch (Throwable t) {
                            org.slf4j.LoggerFactory.getLogger(ServerSide.class).error("{} {} failed: {}", call.method, call.rawPath(), t.toString(), t);
                            call.text(500, "read failed: " + rootMessage(t));
                        }
                    }, executor);
                }
                return;
            }
        }
        render(call, r, render, key, key == null ? null : call.record());
    }

    /** Renders an answer; with {@code key}, what it sent is recorded and reported to {@link #answers} (always). */
    private <T> void render(Call call, StateStore.Read<T> r, BiConsumer<Call, StateStore.Read<T>> render, SharedAnswers.Key key,
                            Call.Recording recording) {
        try {
            render.accept(call, r);
        } catch (HttpError e) {
            call.text(e.status, e.getMessage());
        } catch (RuntimeException e) {
            failed(call, e);
        } finally {
            if (recording != null) {
                Call.stopRecording();
                SharedAnswers.Answer rendered = recording.answer();
                boolean keep = rendered != null && rendered.status() == 200;
                // Always reported (those waiting for it go on), before anything else that could throw.
                answers.rendered(key, keep ? rendered : null);
                if (keep) renderedAnswers.increment();
            }
        }
    }

    /**
     * A read that is not ?stale is answered by the leader, as Consul does, blocking queries included, so a watcher on a
     * follower wakes as soon as the leader applies a write (a follower learns of commits only with the next heartbeat).
     * True when the call went to the leader; without a known leader it stays here and the read barrier reports it.
     */
    private boolean forwardedToLeader(Call call, byte[] body) {
        return forwardedToLeader(call, body, false);
    }

    private boolean forwardedToLeader(Call call, byte[] body, boolean joinable) {
        boolean stale = call.has("stale");
        if (stale && call.has("consistent")) throw HttpError.badRequest("?stale and ?consistent cannot be used together");
        // A client agent's hop goes on to the leader like any default read; a server's hop never goes further (no loops).
        if (stale || call.forwardedByServer() || raft.isLeader()) return false;
        java.util.Optional<String> leader = leaderHttp.get();
        if (leader.isEmpty()) return false;
        forwarder.forward(call, leader, call.rawPath(), body, "1", joinable);
        return true;
    }

    /** Consul's X-Consul-Effective-Consistency: the mode the read was served in. */
    static String effectiveConsistency(Call call) {
        if (call.has("stale")) return "stale";
        if (call.has("consistent")) return "consistent";
        return "leader";
    }

    /** When this server may answer: at once for ?stale and on the leader by default, after a read barrier otherwise. */
    private CompletableFuture<Void> readyFor(Call call) {
        boolean local = call.has("stale") || (!call.has("consistent") && raft.isLeader());
        return local ? CompletableFuture.completedFuture(null) : raft.readBarrier(timer);
    }

    /**
     * Serves a read that cannot block (a read-only transaction) with the consistency asked for, as {@link #read}
     * does: forwarded to the leader (with its body) unless ?stale, behind a read barrier when ?consistent.
     */
    <T> void readOnce(Call call, byte[] body, Supplier<StateStore.Read<T>> query, BiConsumer<Call, StateStore.Read<T>> render) {
        if (forwardedToLeader(call, body)) return;
        readyFor(call).whenCompleteAsync((ok, err) -> {
            if (err != null) {
                call.text(500, "No cluster leader (" + rootMessage(err) + ")");
                return;
            }
            StateStore.Read<T> r = readOrAnswer(call, query);
            if (r != null) respond(call, r, render);
        }, executor);
    }

    /**
     * For a write that the leader must check before proposing (lock-delay lives in each server's memory): passes the
     * call, with its body, to the leader and returns true, unless this server leads, another server forwarded the
     * call here already, or no leader is known. In those cases this server checks its own lock-delay stamps, which are never
     * earlier than the leader's, and apply refuses what a check could not have seen (see {@link Command.KvPut}).
     */
    boolean forwardToLeader(Call call, byte[] body) {
        // A client agent's hop may go on to the leader; a server's hop never goes further (no forwarding loops).
        if (raft.isLeader() || call.forwardedByServer()) return false;
        java.util.Optional<String> leader = leaderHttp.get();
        if (leader.isEmpty()) return false;
        forwarder.forward(call, leader, call.rawPath(), body);
        return true;
    }

    /** Proposes a write; answers with what apply returned (refusals as their 4xx), or 500 when Raft failed. */
    void write(Call call, Command command, Consumer<ApplyResult> onOk) {
        raft.propose(command).whenComplete((result, err) -> onVirtualThread(() -> answer(call, result, err, onOk)));
    }

    /**
     * Runs {@code task} at once when the caller is a virtual thread (RaftNode completes a write's result on one), else
     * on {@link #executor}: the thread that ends a write at its deadline must not write HTTP answers. One hand-off
     * less per write than always handing off.
     */
    private void onVirtualThread(Runnable task) {
        if (Thread.currentThread().isVirtual()) task.run();
        else executor.execute(task);
    }

    private void answer(Call call, ApplyResult result, Throwable err, Consumer<ApplyResult> onOk) {
        if (err != null && outcomeUnknown(err)) {
            call.text(500, "write outcome unknown: " + rootMessage(err) + OUTCOME_UNKNOWN_ADVICE);
        } else if (err != null && notSent(err)) {
            call.text(500, "write failed: " + rootMessage(err) + " (safe to retry)");
        } else if (err != null) {
            call.text(500, "write failed: " + rootMessage(err) + " (not confirmed: if a retry must not apply it twice, make it a CAS on the key's current ModifyIndex, ?cas=<index>)");
        } else if (!result.isOk()) {
            call.header("X-Consul-Index", Long.toString(result.index()));
            call.text(result.status(), result.error());
        } else {
            call.header("X-Consul-Index", Long.toString(result.index()));
            onOk.accept(result);
        }
    }

    /** A write RaftNode never sent to any server (it waited too long for an entry slot, or the server shut down): safe to retry. */
    static boolean notSent(Throwable err) {
        for (Throwable t = err; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof io.failoverkit.discovery.raft.RaftNode.NotSentException) return true;
        }
        return false;
    }

    /**
     * After an outcome unknown: the entry may still be applied (a retry may even be applied twice, see
     * RaftNode.submitDirect), so a read now proves nothing; the next write guards itself with a CAS instead.
     */
    static final String OUTCOME_UNKNOWN_ADVICE = " (it may still be applied: make the next write a CAS on the key's current ModifyIndex, ?cas=<index>)";

    /**
     * A write that may or may not have been applied: its entry's fate was not learnt before the deadline
     * (RaftNode.OutcomeUnknownException, or propose()'s own TimeoutException). Writes no longer go through Ratis'
     * client, but its failures are still read as unknown wherever they surface (a retry giving up, a request timing
     * out, a window closed by an earlier failure say nothing about an entry an old leader appended).
     */
    static boolean outcomeUnknown(Throwable err) {
        for (Throwable t = err; t != null; t = t.getCause() == t ? null : t.getCause()) {
            // RaftNode's own deadline (RaftNode.WRITE_TIMEOUT_SECONDS) passed with the entry still in flight.
            if (t instanceof io.failoverkit.discovery.raft.RaftNode.OutcomeUnknownException || t instanceof java.util.concurrent.TimeoutException) return true;
            if (t instanceof org.apache.ratis.protocol.exceptions.RaftRetryFailureException
                    || t instanceof org.apache.ratis.protocol.exceptions.TimeoutIOException
                    || t instanceof org.apache.ratis.protocol.exceptions.AlreadyClosedException) return true;
            for (Throwable s : t.getSuppressed()) if (outcomeUnknown(s)) return true;
        }
        return false;
    }

    static String rootMessage(Throwable t) {
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }
}

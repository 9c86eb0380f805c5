package io.failoverkit.discovery.raft;

import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.state.StateStore;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * This server's membership in the Raft group (Apache Ratis over gRPC) and a client into the group.
 * Writes go without Ratis' client to the leader, this server's own Raft server or the leader's over one gRPC
 * stream (see {@link #submitDirect}), each bounded by its caller's deadline; reads are served from the local
 * {@link StateStore}, after a ReadIndex barrier (through Ratis' client) when the caller asks for consistency.
 */
public final class RaftNode implements AutoCloseable {
    /** A voting server: its node name (the Raft peer id) and its server RPC address host:port. */
    public record Peer(String name, String address) {}

    /** How long a write may wait for a leader and a quorum before the caller is told it failed (it may still commit). */
    public static final long WRITE_TIMEOUT_SECONDS = 10;

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RaftNode.class);
    /**
     * How long a replaced client lives on for the requests it still retries (read barriers and configuration changes
     * sent before the failure that replaced it; Ratis retries them 60 times, each attempt up to its 3 s request
     * timeout) before it is closed.
     */
    private static final long RETIRED_CLIENT_CLOSE_SECONDS = 30;

    private final RaftServer server;
    private final RaftGroup group;
    private final RaftPeerId self;
    private final RaftProperties props;
    /** Ratis' parameters: the TLS configuration, when Raft runs over TLS (the client into the group needs it too). */
    private final Parameters params;
    private final String selfAddress;
    /**
     * This server's client into the group. Ratis' ordered async client is unusable for good once one of its requests
     * failed there (its retries ran out while no leader could be reached, or the leader refused the entry): its
     * sliding window then fails every later request with AlreadyClosedException. Such a client is replaced (see
     * {@link #replaceClient}), so a server writes again once the group has a leader again.
     */
    private volatile RaftClient client;
    private final Object clientLock = new Object();
    private boolean closed;                       // guarded by clientLock
    private final java.util.Set<RaftClient> retired = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private volatile io.failoverkit.discovery.metrics.Metrics metrics = new io.failoverkit.discovery.metrics.Metrics();

    /** Where this node reports its entries (consul.raft.apply) and their commit times (consul.raft.commitTime). */
    public void metrics(io.failoverkit.discovery.metrics.Metrics m) { this.metrics = java.util.Objects.requireNonNull(m); }

    private RaftNode(RaftServer server, RaftGroup group, RaftPeerId self, RaftProperties props, Parameters params, String selfAddress) {
        this.params = params;
        this.server = server;
        this.group = group;
        this.self = self;
        this.props = props;
        this.selfAddress = selfAddress;
        this.client = newClient();
    }

    public static RaftGroupId groupIdFor(String datacenter) {
        return RaftGroupId.valueOf(UUID.nameUUIDFromBytes(("failoverkit-discovery:" + datacenter).getBytes(StandardCharsets.UTF_8)));
    }

    static {
        // Ratis ends the JVM (System.exit) when its gRPC server cannot listen or its log or apply thread hits an
        // error. This node may share its JVM with others (the embedded default, drills, tests): Ratis throws instead,
        // start() reports a port it could not take as an IOException, and the agent program decides to exit on a
        // fatal error after the fact (see fatalError()).
        org.apache.ratis.util.ExitUtils.disableSystemExit();
    }

    /** The first fatal error Ratis reported in this JVM (it would have ended the process), or null. */
    public static Throwable fatalError() {
        return org.apache.ratis.util.ExitUtils.getFirstExitException();
    }

    public static RaftNode start(String selfName, String bindHost, int serverPort, File storageDir, List<Peer> peers,
                                 String datacenter, long snapshotThreshold, StateStore store, Consumer<String> onLeaderChange) throws IOException {
        return start(selfName, bindHost, serverPort, storageDir, peers, datacenter, snapshotThreshold, store, onLeaderChange, Mode.MEMBER, null);
    }

    /**
     * How this server takes its seat. MEMBER: {@code peers} is the group (bootstrap, or a restart, where Ratis takes
     * the configuration from its own storage instead). JOINING: this server joins a group that runs already; it
     * starts with an empty configuration, so it never campaigns, until the leader adds it ({@code peers} are the
     * group's servers its client talks to). RECOVERED: a fresh group of {@code peers} seeded with {@code seed}, the
     * state recovered from the old storage after a quorum loss (see {@link RaftRecovery}).
     */
    public enum Mode { MEMBER, JOINING, RECOVERED }

    /** The recovered state's last Raft term and index: the seeded group's log continues after it. */
    public record Seed(long term, long index) {}

    public static RaftNode start(String selfName, String bindHost, int serverPort, File storageDir, List<Peer> peers,
                                 String datacenter, long snapshotThreshold, StateStore store, Consumer<String> onLeaderChange,
                                 Mode mode, Seed seed) throws IOException {
        return start(selfName, bindHost, serverPort, storageDir, peers, datacenter, snapshotThreshold, store, onLeaderChange, mode, seed, null);
    }

    /**
     * As above, with {@code tls} (null: in the clear): the gRPC server, the peers' connections and this server's
     * client into the group all speak TLS with it, mutual when it says so. The key and trust managers it holds are
     * asked at every new handshake, so certificates read again on reload are used by new connections without a
     * restart of this server; a connection open already keeps the session it negotiated.
     */
    public static RaftNode start(String selfName, String bindHost, int serverPort, File storageDir, List<Peer> peers,
                                 String datacenter, long snapshotThreshold, StateStore store, Consumer<String> onLeaderChange,
                                 Mode mode, Seed seed, org.apache.ratis.grpc.GrpcTlsConfig tls) throws IOException {
        return start(selfName, bindHost, serverPort, storageDir, peers, datacenter, snapshotThreshold, java.time.Duration.ZERO,
                store, onLeaderChange, mode, seed, tls);
    }

    /**
     * As above, with {@code snapshotInterval}: each server takes a snapshot of its own at most once per interval
     * (Consul's raft_snapshot_interval; zero: at every turn of the threshold; see {@link SnapshotSchedule}).
     */
    public static RaftNode start(String selfName, String bindHost, int serverPort, File storageDir, List<Peer> peers,
                                 String datacenter, long snapshotThreshold, java.time.Duration snapshotInterval, StateStore store,
                                 Consumer<String> onLeaderChange, Mode mode, Seed seed, org.apache.ratis.grpc.GrpcTlsConfig tls) throws IOException {
        if ((mode == Mode.RECOVERED) != (seed != null)) throw new IllegalArgumentException("a seed comes with RECOVERED and only with it");
        RaftProperties props = new RaftProperties();
        RaftServerConfigKeys.setStorageDir(props, List.of(storageDir));
        GrpcConfigKeys.Server.setHost(props, bindHost);
        GrpcConfigKeys.Server.setPort(props, serverPort);
        // One log index per write (Consul's ModifyIndex), and faster: no metadata entry per commit.
        props.set("raft.server.log.log-metadata.enabled", "false");
        RaftServerConfigKeys.Log.setSegmentSizeMax(props, SizeInBytes.valueOf("8MB"));
        // Acknowledge only what is fsync'd: unsafe-flush and async-flush stay off (the defaults).
        RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(props, true);
        // Every server snapshots once per threshold entries, each at its own turn (staggered), written off the apply
        // thread; Ratis asks every quarter threshold whether the turn has come.
        SnapshotSchedule schedule = SnapshotSchedule.forServer(selfName, peers.stream().map(Peer::name).toList(), snapshotThreshold, snapshotInterval);
        RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(props, schedule.ratisThreshold());
        RaftServerConfigKeys.Snapshot.setRetentionFileNum(props, 2);
        RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(props, true);
        RaftServerConfigKeys.Log.setPurgeGap(props, (int) Math.min(Integer.MAX_VALUE, snapshotThreshold));
        RaftServerConfigKeys.Read.setOption(props, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
        RaftServerConfigKeys.Read.setLeaderLeaseEnabled(props, true);
        RaftServerConfigKeys.Rpc.setTimeoutMin(props, TimeDuration.valueOf(300, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setTimeoutMax(props, TimeDuration.valueOf(600, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(props, TimeDuration.valueOf(300, TimeUnit.MILLISECONDS));
        RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(props, TimeDuration.valueOf(600, TimeUnit.MILLISECONDS));
        RaftClientConfigKeys.Rpc.setRequestTimeout(props, TimeDuration.valueOf(3, TimeUnit.SECONDS));
        RaftClientConfigKeys.Async.setOutstandingRequestsMax(props, 1000);

        List<RaftPeer> raftPeers = peers.stream()
                .sorted(Comparator.comparing(Peer::name))
                .map(p -> RaftPeer.newBuilder().setId(p.name()).setAddress(p.address()).build())
                .toList();
        RaftGroup group = RaftGroup.valueOf(groupIdFor(datacenter), raftPeers);
        RaftPeerId self = RaftPeerId.valueOf(selfName);
        CatalogStateMachine sm = new CatalogStateMachine(store, id -> onLeaderChange.accept(id == null ? null : id.toString()), seed, schedule);
        Parameters params = new Parameters();
        if (tls != null) {
            GrpcConfigKeys.TLS.setConf(params, tls);
            GrpcConfigKeys.Server.setTlsConf(params, tls);
            GrpcConfigKeys.Client.setTlsConf(params, tls);
            GrpcConfigKeys.Admin.setTlsConf(params, tls);
        }
        RaftServer server = RaftServer.newBuilder()
                .setServerId(self)
                .setParameters(params)
                // A joining server starts with no configuration: Ratis then waits, without elections, for the leader.
                .setGroup(mode == Mode.JOINING ? RaftGroup.valueOf(group.getGroupId()) : group)
                .setProperties(props)
                .setStateMachine(sm)
                .setOption(RaftStorage.StartupOption.RECOVER)
                .build();
        try {
            server.start();
        } catch (RuntimeException | IOException e) {
            try { server.close(); } catch (IOException | RuntimeException suppressed) { e.addSuppressed(suppressed); }
            throw new IOException("Raft server on " + bindHost + ":" + serverPort + " did not start (port in use?): " + rootMessage(e), e);
        }
        return new RaftNode(server, group, self, props, params, bindHost + ":" + serverPort);
    }

    /**
     * A new client into the group. It knows the servers of the configuration this server has now (its storage's,
     * after a restart or a membership change) as well as those it was started with; a leader it has not heard of is
     * learnt from NotLeader replies.
     */
    private RaftClient newClient() {
        java.util.Map<RaftPeerId, RaftPeer> known = new java.util.LinkedHashMap<>();
        // The client asks this server first: a joining one is not among the peers it was given.
        known.put(self, RaftPeer.newBuilder().setId(self).setAddress(selfAddress).build());
        try {
            division().getRaftConf().getAllPeers().forEach(p -> known.put(p.getId(), p));
        } catch (IOException | RuntimeException e) {
            // the division is there once start() returned; without it the given peers do
        }
        group.getPeers().forEach(p -> known.putIfAbsent(p.getId(), p));
        return RaftClient.newBuilder()
                .setProperties(props)
                .setRaftGroup(RaftGroup.valueOf(group.getGroupId(), known.values()))
                .setLeaderId(self)
                .setClientRpc(new GrpcFactory(params).newRaftClientRpc(ClientId.randomId(), props))
                // Bounded: rides out an election (a few seconds), then reports the write as failed.
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(60, TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
                .build();
    }

    /**
     * A request on {@code failed} failed inside Ratis' client: from then on its ordered async calls would all fail
     * with AlreadyClosedException. Later writes and reads use a new client; the failed one is closed once the requests
     * it still retries have had their time. Only the first failure of a client replaces it (concurrent failures of the
     * same client find it replaced already).
     */
    private void replaceClient(RaftClient failed, Throwable cause) {
        RaftClient next;
        synchronized (clientLock) {
            if (closed || client != failed) return;
            next = newClient();
            client = next;
            retired.add(failed);
        }
        clientsReplaced.incrementAndGet();
        LOG.warn("Raft client {} replaced by {} after a request failed there: {}", failed.getId(), next.getId(), rootMessage(cause));
        CompletableFuture.delayedExecutor(RETIRED_CLIENT_CLOSE_SECONDS, TimeUnit.SECONDS).execute(() -> closeRetired(failed));
    }

    /** Clients replaced after a failure (tests check the replacement ran). */
    private final java.util.concurrent.atomic.AtomicInteger clientsReplaced = new java.util.concurrent.atomic.AtomicInteger();
    int clientsReplaced() { return clientsReplaced.get(); }

    private void closeRetired(RaftClient c) {
        if (!retired.remove(c)) return;
        try {
            c.close();
        } catch (IOException | RuntimeException e) {
            LOG.debug("closing the replaced Raft client {}: {}", c.getId(), e.toString());
        }
    }

    /** A request's failure as the caller sees it: a request failed because an earlier one closed the client says so. */
    private static Throwable explain(Throwable err) {
        Throwable t = err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err;
        if (t instanceof org.apache.ratis.protocol.exceptions.AlreadyClosedException) {
            // No cause: callers show the root cause's message, which would be the earlier request's failure alone.
            IOException e = new IOException("raft request failed: an earlier request on this server's Raft client failed ("
                    + rootMessage(t) + ") and the client was replaced");
            e.addSuppressed(t);
            return e;
        }
        return err;
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    }

    /** A write waiting for its Raft entry, and when its caller is answered (System.nanoTime; see {@link #propose}). */
    private record Pending(Command command, CompletableFuture<ApplyResult> result, long deadline) {}

    /**
     * Entries in flight at once; writes that arrive meanwhile wait and go together in the next entry (group commit),
     * as etcd's Raft loop puts every proposal that arrived during an append into the next. Each entry costs a fixed
     * amount of CPU across the three servers (Ratis' and gRPC's hand-offs, ~4-5 ms on a 2-core box), so fewer, fuller
     * entries are cheaper: bench/kv.sh (ours only, tput, loaded box, load ~5-9) with 8 / 4 / 2 in flight gave leader
     * c=16 1,031 / 1,324 / 1,495 req/s (CPU per write 1.69 / 1.28 / 1.17 ms), follower c=16 977 / 1,015 / 1,465,
     * leader c=64 2,360 / 2,355 / 4,482 (p99 97 / 96 / 52 ms); c=1 is unchanged (one write, one entry).
     */
    static final int MAX_IN_FLIGHT = 2;
    private static final int MAX_BATCH_COMMANDS = 512;
    /**
     * Raw value bytes that close a batch. Ratis refuses an entry over raft.server.log.appender.buffer.byte-limit (4 MiB),
     * values travel base64-encoded (4/3) in the entry's JSON, and the check runs before each command is added (one more
     * 512 KiB value may follow): 2 MiB keeps the entry under ~3.4 MiB. At 4 MiB, 40 concurrent 512 KiB writes built a
     * 5.6 MB entry that failed, failing all its writes
     * (GroupCommitEntrySizeTest; the failure also closed the Raft client, which is now replaced: RaftClientRecoveryTest).
     */
    private static final int MAX_BATCH_BYTES = 2 << 20;
    private static final com.fasterxml.jackson.core.type.TypeReference<List<ApplyResult>> RESULTS = new com.fasterxml.jackson.core.type.TypeReference<>() {};

    private final java.util.concurrent.ConcurrentLinkedQueue<Pending> queue = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * Proposes a command; completes when it is committed and applied, with what apply returned. Under load,
     * concurrent writes share one Raft entry (one fsync), each keeping its own result; alone, a write goes at once.
     */
    public CompletableFuture<ApplyResult> propose(Command command) {
        if (shutDown) return CompletableFuture.failedFuture(new NotSentException("raft write not sent: this server shut down"));
        Pending p = new Pending(command, new CompletableFuture<>(), System.nanoTime() + TimeUnit.SECONDS.toNanos(WRITE_TIMEOUT_SECONDS));
        queue.add(p);
        drain();
        // Bounded like Consul's RPC hold timeout: an election takes well under this; a lost quorum is reported.
        return deadlines.bound(p.result(), WRITE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private void drain() {
        while (!queue.isEmpty()) {
            int n = inFlight.get();
            if (n >= MAX_IN_FLIGHT) return;
            if (!inFlight.compareAndSet(n, n + 1)) continue;
            List<Pending> batch = new java.util.ArrayList<>();
            long bytes = 0;
            Pending p;
            Pending restore = null;
            while (batch.size() < MAX_BATCH_COMMANDS && bytes < MAX_BATCH_BYTES && (p = queue.poll()) != null) {
                // Its caller was answered already (propose()'s deadline passed while it waited for a slot): not sent.
                if (p.result().isDone()) continue;
                // Too little of its caller's time is left to send it and hear back: not sent, and said so (nothing
                // was appended anywhere: a definite failure, safe to retry). See ENTRY_MIN_SEND_MS.
                long leftMs = (p.deadline() - System.nanoTime()) / 1_000_000;
                if (leftMs < ENTRY_MIN_SEND_MS) {
                    p.result().completeExceptionally(new NotSentException("raft write not sent: it waited "
                            + (WRITE_TIMEOUT_SECONDS * 1000 - leftMs) + " ms for one of the " + MAX_IN_FLIGHT
                            + " entry slots (entries in flight are not being answered: no leader, or overload); nothing was written"));
                    continue;
                }
                // A snapshot restore goes alone in its entry (it may be near the entry size limit), after the batch.
                if (p.command() instanceof Command.Restore) {
                    restore = p;
                    break;
                }
                batch.add(p);
                bytes += 256 + valueBytes(p.command());
            }
            if (restore != null) {
                if (batch.isEmpty()) {
                    batch.add(restore);
                } else {
                    send(batch);
                    inFlight.incrementAndGet();
                    batch = new java.util.ArrayList<>(List.of(restore));
                }
            }
            if (batch.isEmpty()) {
                inFlight.decrementAndGet();
                continue;
            }
            send(batch);
        }
    }

    /** The values a command carries, which dominate its entry's size (the batch limit counts them). */
    private static long valueBytes(Command c) {
        return switch (c) {
            case Command.KvPut put -> put.value() == null ? 0 : put.value().length;
            case Command.Txn txn -> txn.ops().stream().mapToLong(op -> 64 + (op.value() == null ? 0 : op.value().length)).sum();
            case Command.Restore r -> r.state().length;
            default -> 0;
        };
    }

    private void send(List<Pending> batch) {
        // The entry ends before its earliest caller is answered: no attempt of it starts after that answer.
        long deadline = batch.get(0).deadline();
        for (Pending p : batch) if (p.deadline() - deadline < 0) deadline = p.deadline();
        Command entry = batch.size() == 1 ? batch.get(0).command() : new Command.Batch(batch.stream().map(Pending::command).toList());
        CompletableFuture<RaftClientReply> sent;
        try {
            // Encoded straight into the protobuf string: no second copy of the entry.
            var out = org.apache.ratis.thirdparty.com.google.protobuf.ByteString.newOutput(512);
            Json.MAPPER.writeValue(out, entry);
            Message message = Message.valueOf(out.toByteString());
            sent = submitDirect(directRequest(message), directTarget(), deadline - TimeUnit.MILLISECONDS.toNanos(DIRECT_RETRY_MARGIN_MS));
        } catch (IOException | RuntimeException e) {
            // Not sent: nothing was appended anywhere (a definite failure).
            sent = CompletableFuture.failedFuture(e);
        }
        long sentAt = System.nanoTime();
        Object key = new Object();
        inFlightBatches.put(key, batch);
        // Every entry ends within the write deadline, whatever Ratis does with it: its slot among the MAX_IN_FLIGHT
        // is given back even if a reply never comes (one that stayed pending held its slot for ever, and eight such
        // stopped this server's writes until a restart). The direct path reports its own deadline first.
        // On a copy: Ratis' own future is left alone.
        long entryTimeoutMs = Math.max(1, (deadline - sentAt) / 1_000_000 - ENTRY_ANSWER_MARGIN_MS);
        sent = deadlines.bound(sent.copy(), entryTimeoutMs, TimeUnit.MILLISECONDS);
        // Handled on a virtual thread: a direct entry's reply completes on Ratis' apply thread, which must go on
        // applying (not decode results, wake callers and append the next batch). A direct entry's answer comes on one
        // already (attemptDirect's handler): handled there, without a second hand-off (see onVirtualThread).
        sent.whenComplete((reply, err) -> onVirtualThread(() -> {
            try {
                if (err == null) {
                    metrics.incr("consul.raft.apply", APPLY_TAGS, 1);
                    metrics.incr("consul.raft.apply.commands", APPLY_TAGS, batch.size());
                    metrics.sinceMillis("consul.raft.commitTime", APPLY_TAGS, sentAt);
                }
            } catch (RuntimeException e) {
                LOG.warn("raft entry bookkeeping failed: {}", e.toString());
            }
            inFlightBatches.remove(key);
            inFlight.decrementAndGet();
            try {
                List<ApplyResult> results = err == null ? resultsOf(reply) : null;
                Throwable failure = err == null ? null : unwrap(err) instanceof java.util.concurrent.TimeoutException
                        ? new OutcomeUnknownException("raft write outcome unknown: no reply for the entry within "
                                + entryTimeoutMs + " ms; it may still commit", unwrap(err))
                        : explain(err);
                for (int i = 0; i < batch.size(); i++) {
                    if (err != null) batch.get(i).result().completeExceptionally(failure);
                    else batch.get(i).result().complete(results.get(i));
                }
            } catch (RuntimeException e) {
                batch.forEach(p -> p.result().completeExceptionally(e));
            } finally {
                drain();
            }
        }));
    }

    /**
     * Runs {@code task} on the calling thread when it is a virtual thread (one of this node's completions, or an HTTP
     * request's: nothing of Ratis', gRPC's or the write deadlines' sweep waits on it), else hands it to {@link #completions}.
     * Each hand-off costs a wake-up of a carrier thread (a futex call and a context switch): on a 2-core machine
     * shared by three servers those were a measurable part of a lone write's CPU time.
     */
    private void onVirtualThread(Runnable task) {
        if (Thread.currentThread().isVirtual()) {
            task.run();
            return;
        }
        try {
            completions.execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // shut down (close()): failUnanswered() reports the entry's writes
        }
    }

    /** Entries sent and not answered yet (close() reports their writes as outcome unknown). */
    private final java.util.Map<Object, List<Pending>> inFlightBatches = new java.util.concurrent.ConcurrentHashMap<>();
    /*
     * An entry's timings, all counted back from its earliest caller's deadline D (propose() + WRITE_TIMEOUT_SECONDS),
     * so that no attempt of an entry starts after its callers were answered "outcome unknown" (review of s8-raft: a
     * write that waited for a slot kept a retry window counted from when it was sent, and writes sent through Ratis'
     * ordered client were retried up to ~3 min, queued in its sliding window behind a retried head request where no
     * per-request bound can reach them; a caller told "outcome unknown", who then read and wrote again, could have
     * its first write land after the second):
     *   attempts start only before D - DIRECT_RETRY_MARGIN_MS;
     *   one attempt is bounded by that + DIRECT_ATTEMPT_SLACK_MS, the entry's direct path by that + 2 slacks;
     *   the entry's answer comes by D - ENTRY_ANSWER_MARGIN_MS at the latest (outcome unknown), before propose()'s;
     *   an entry with less than ENTRY_MIN_SEND_MS left when a slot frees is not sent at all (a definite failure).
     * Every bound fires up to Deadlines.SWEEP_MS late. Relations (timingsHold()): SWEEP_MS < ENTRY_ANSWER_MARGIN_MS <
     * DIRECT_RETRY_MARGIN_MS - 2 * DIRECT_ATTEMPT_SLACK_MS - SWEEP_MS (the direct path ends an entry with its own, more
     * telling, reason first, and the entry before propose()'s bound) and ENTRY_MIN_SEND_MS > DIRECT_RETRY_MARGIN_MS
     * (an entry sent has time to be tried).
     */
    private static final long DIRECT_RETRY_MARGIN_MS = 1500;
    private static final long ENTRY_ANSWER_MARGIN_MS = 400;
    private static final long ENTRY_MIN_SEND_MS = 2000;
    /** Entries in flight now (tests check every slot is given back). */
    int inFlight() { return inFlight.get(); }

    /** The time bounds of writes, entries and attempts (one sweep for all of them, see {@link Deadlines}). */
    private final Deadlines deadlines = new Deadlines("raft-write-deadlines");

    /** Where entries' replies are handled (see {@link #send}). */
    private final java.util.concurrent.ExecutorService completions = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    private static final java.util.Map<String, String> APPLY_TAGS = java.util.Map.of();

    /**
     * The write could not be confirmed either way: the entry may have been appended by a leader that lost its
     * leadership, and neither it nor any leader since answered for it before the deadline. It may still commit or never;
     * a caller that must not overwrite a later write makes its next write a CAS on the ModifyIndex it read.
     */
    public static final class OutcomeUnknownException extends IOException {
        OutcomeUnknownException(String message, Throwable cause) { super(message, cause); }
    }

    /** The write was never sent to any server (it waited for an entry slot until too little of its time was left): safe to retry. */
    public static final class NotSentException extends IOException {
        public NotSentException(String message) { super(message); }
    }

    /** The identity of the entries this server, while it leads, hands to its own Raft server (see {@link #submitDirect}). */
    private final ClientId directClientId = ClientId.randomId();
    private final java.util.concurrent.atomic.AtomicLong directCallIds = new java.util.concurrent.atomic.AtomicLong();
    /** Sends a direct entry's retry, under its own client id and call id, to another server once leadership moved. */
    private volatile org.apache.ratis.client.RaftClientRpc directRpc;
    private static final long DIRECT_RETRY_SLEEP_MS = 50;
    /**
     * How long one attempt may stay unanswered past the deadline: an attempt whose future never completes (Ratis may
     * leave a retried request pending for ever) then ends the entry as outcome unknown.
     */
    private static final long DIRECT_ATTEMPT_SLACK_MS = 500;
    /** The relations between the entry timings (see DIRECT_RETRY_MARGIN_MS). */
    static boolean timingsHold() {
        // Bounds fire up to Deadlines.SWEEP_MS late (never early): the orders below hold with that lateness.
        return ENTRY_ANSWER_MARGIN_MS > Deadlines.SWEEP_MS
                && ENTRY_ANSWER_MARGIN_MS < DIRECT_RETRY_MARGIN_MS - 2 * DIRECT_ATTEMPT_SLACK_MS - Deadlines.SWEEP_MS
                && ENTRY_MIN_SEND_MS > DIRECT_RETRY_MARGIN_MS && ENTRY_MIN_SEND_MS < WRITE_TIMEOUT_SECONDS * 1000;
    }

    /** Retries sent at once to a leader named in a refusal before they back off (two servers naming each other). */
    private static final int DIRECT_IMMEDIATE_RETRIES = 3;
    private static final long DIRECT_BACKOFF_FIRST_MS = 20;
    private static final long DIRECT_BACKOFF_MAX_MS = 320;
    /**
     * Tests only: when set, an attempt's future comes from here instead of a Raft server (a reply that never comes,
     * refusals naming another leader).
     */
    volatile java.util.function.BiFunction<org.apache.ratis.protocol.RaftClientRequest, RaftPeerId, CompletableFuture<RaftClientReply>> attemptSeam;
    /** Attempts made of direct entries (tests bound the retries of a busy loop). */
    private final java.util.concurrent.atomic.LongAdder directAttempts = new java.util.concurrent.atomic.LongAdder();
    long directAttempts() { return directAttempts.sum(); }
    /** When the last attempt of a direct entry started (System.nanoTime; tests check none starts after its answer). */
    private final java.util.concurrent.atomic.LongAccumulator lastDirectAttempt = new java.util.concurrent.atomic.LongAccumulator(Math::max, Long.MIN_VALUE);
    long lastDirectAttemptNanos() { return lastDirectAttempt.get(); }
    /** Entries sent directly, and retries of them (tests check the retry path ran). */
    private final java.util.concurrent.atomic.LongAdder directEntries = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder directRetries = new java.util.concurrent.atomic.LongAdder();
    long directEntries() { return directEntries.sum(); }
    long directRetries() { return directRetries.sum(); }

    /**
     * Where an entry goes first: this server when it leads (not ready yet, its term's first entry not applied, it
     * answers LeaderNotReady and the entry is tried again shortly), the leader it follows when it knows one, else this
     * server (which names the leader once it learns one; the retries go round the other servers meanwhile, see
     * {@link #onAttempt}). Writes no longer go through Ratis' ordered client while no leader is known: a request
     * queued in its sliding window behind a retried head cannot be bounded by its caller's deadline.
     */
    private RaftPeerId directTarget() {
        try {
            var info = division().getInfo();
            if (info.isLeader()) return self;
            RaftPeerId leader = info.getLeaderId();
            return leader != null ? leader : self;
        } catch (IOException e) {
            return self;
        }
    }

    /**
     * Whether this server is a voter of its current configuration: then, while it knows no leader, it learns the next
     * one from that leader's first heartbeat, and an entry waits on this server alone (asking the others sends to
     * servers that refuse it, and each refusal fails Ratis' whole stream to that server; a frozen one costs its request
     * timeout: review of s9-lead, S1/S2). A server outside it (joining, removed) goes round the servers it knows.
     */
    private boolean votesHere() {
        try {
            return division().getRaftConf().getCurrentPeers().stream().anyMatch(p -> p.getId().equals(self));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Servers named in refusals (see {@link #onAttempt}), known to the direct RPC and the rotation from then on. */
    private final java.util.Map<RaftPeerId, RaftPeer> learnedPeers = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * The server after {@code target} among those this server knows (its configuration's and those it was started
     * with, itself first), round and round: where an entry is tried next while no leader is known, as Ratis' client
     * does.
     */
    private RaftPeerId peerAfter(RaftPeerId target) {
        java.util.LinkedHashSet<RaftPeerId> known = new java.util.LinkedHashSet<>();
        known.add(self);
        try {
            division().getRaftConf().getAllPeers().forEach(p -> known.add(p.getId()));
        } catch (IOException | RuntimeException e) {
            // the division is there once start() returned; without it the given peers do
        }
        group.getPeers().forEach(p -> known.add(p.getId()));
        known.addAll(learnedPeers.keySet());
        List<RaftPeerId> order = List.copyOf(known);
        int i = order.indexOf(target);
        return order.get(i < 0 ? 0 : (i + 1) % order.size());
    }

    /** A direct entry's request: this server's direct client id and the next call id. */
    org.apache.ratis.protocol.RaftClientRequest directRequest(Message message) {
        return org.apache.ratis.protocol.RaftClientRequest.newBuilder()
                .setClientId(directClientId)
                .setServerId(self)
                .setGroupId(group.getGroupId())
                .setCallId(directCallIds.incrementAndGet())
                .setMessage(message)
                .setType(org.apache.ratis.protocol.RaftClientRequest.writeRequestType())
                .build();
    }

    /**
     * On a ready leader, an entry goes straight to this JVM's Raft server instead of through the client's gRPC stream
     * to itself (a loopback round trip: protobuf encoding, HTTP/2 framing and Netty hand-offs per entry, the largest
     * cost of a lone write on a 2-core machine after the fsync). On a follower it goes to the leader over an unordered
     * gRPC stream (one round trip; no sliding window of the ordered client, whose order nothing here relies on: writes
     * in flight together were concurrent HTTP requests).
     * <p>
     * Retries across leader changes as Ratis' own client does them, with the same limit: the entry carries this
     * server's direct client id and a call id of its own, and every retry sends the very same request (same client id
     * and call id) again, to whichever server leads by then (this one included). Every server's retry cache records,
     * when it applies an entry from its log, its client id, call id and reply; a leader answers LeaderNotReady until
     * it has applied every entry of earlier terms, and then answers a retry of an entry it applied with the cached
     * reply instead of appending it again. An entry that never reached the new leader's log is truncated from the old
     * leader's and appended once by the retry. So, among servers that ran on since they applied the entry, a step-down
     * before the append, after it, after the commit or before the reply all end in one application and its real result.
     * <p>
     * Not exactly once in every case: the retry cache is in memory only, and a server records nothing for entries it
     * took in with a snapshot. A server that restarted (it loads its snapshot) or installed a snapshot after it applied
     * the entry has no record of it; a retry that reaches it as leader within the retry window (about 8.5 s) is
     * appended and applied a second time (a CAS is then re-evaluated and refused; a plain PUT overwrites whatever was
     * written in between). Every write takes this path; Ratis' client sends only read barriers and configuration
     * changes. Callers that must not apply twice write with a CAS on the ModifyIndex they read.
     * <p>
     * A write for which no leader answered before the deadline (this server cut off from the others, no quorum), or
     * whose attempt never got an answer, fails with {@link OutcomeUnknownException}: it may still commit.
     * <p>
     * Failures of the state machine itself (StateMachineException) are final, as through the client.
     */
    CompletableFuture<RaftClientReply> submitDirect(org.apache.ratis.protocol.RaftClientRequest request) {
        return submitDirect(request, self, System.nanoTime()
                + TimeUnit.MILLISECONDS.toNanos(WRITE_TIMEOUT_SECONDS * 1000 - DIRECT_RETRY_MARGIN_MS));
    }

    /**
     * As {@link #submitDirect(org.apache.ratis.protocol.RaftClientRequest)}, first to {@code target}; no attempt
     * starts after {@code retryDeadline} (System.nanoTime).
     */
    private CompletableFuture<RaftClientReply> submitDirect(org.apache.ratis.protocol.RaftClientRequest request, RaftPeerId target, long retryDeadline) {
        CompletableFuture<RaftClientReply> done = new CompletableFuture<>();
        directEntries.increment();
        attemptDirect(request, target, retryDeadline, 1, 0, done);
        // The whole entry is bounded too (a retry lost on its way, say): a TimeoutException, which send() reports as
        // outcome unknown; if the entry ends first, its bound is dropped at the next sweep.
        long leftMs = Math.max(0, (retryDeadline - System.nanoTime()) / 1_000_000);
        return deadlines.bound(done, leftMs + 2 * DIRECT_ATTEMPT_SLACK_MS, TimeUnit.MILLISECONDS);
    }

    private void attemptDirect(org.apache.ratis.protocol.RaftClientRequest request, RaftPeerId target, long deadline, int attempt,
                               int immediate, CompletableFuture<RaftClientReply> done) {
        if (done.isDone()) return;
        // A retry that comes late (a loaded box) is not sent past the deadline: the entry ends unknown (an earlier
        // attempt was sent). The first attempt always goes (the caller's time was checked when it was sent).
        if (attempt > 1 && System.nanoTime() - deadline > 0) {
            done.completeExceptionally(new OutcomeUnknownException("raft write outcome unknown: no leader confirmed the entry after "
                    + (attempt - 1) + " attempts; it may still commit", null));
            return;
        }
        directAttempts.increment();
        lastDirectAttempt.accumulate(System.nanoTime());
        CompletableFuture<RaftClientReply> f;
        var seam = attemptSeam;
        try {
            f = seam != null ? seam.apply(request, target) : target.equals(self) ? server.submitClientRequestAsync(request) : directRpc(target).sendRequestAsyncUnordered(
                    org.apache.ratis.protocol.RaftClientRequest.newBuilder()
                            .setClientId(request.getClientId())
                            .setServerId(target)
                            .setGroupId(request.getRaftGroupId())
                            .setCallId(request.getCallId())
                            .setMessage(request.getMessage())
                            .setType(request.getType())
                            .build());
        } catch (IOException | RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        // One attempt is bounded by what is left of the deadline (plus a little): an answer that never comes ends
        // the entry as outcome unknown below instead of holding it (and its in-flight slot) for ever.
        long remainingMs = Math.max(0, (deadline - System.nanoTime()) / 1_000_000);
        // On a copy: the server's future may be its retry cache's entry, which a timeout here must not fail.
        f = deadlines.bound(f.copy(), remainingMs + DIRECT_ATTEMPT_SLACK_MS, TimeUnit.MILLISECONDS);
        // Handled on a virtual thread, never on the thread completing f: that is Ratis' apply thread, a gRPC thread or
        // Ratis' JVM-wide timer, and handleException below may wait seconds for a channel to shut down.
        f.handleAsync((reply, err) -> {
            onAttempt(request, target, deadline, attempt, immediate, done, reply, err);
            return null;
        }, completions).exceptionally(t -> {
            // completions shut down (close()), or the handler itself failed: the entry's fate is unknown.
            done.completeExceptionally(new OutcomeUnknownException("raft write outcome unknown: " + (unwrap(t) instanceof java.util.concurrent.RejectedExecutionException
                    ? "this server shut down while the entry was in flight" : "its reply could not be handled (" + rootMessage(t) + ")"), unwrap(t)));
            return null;
        });
    }

    private void onAttempt(org.apache.ratis.protocol.RaftClientRequest request, RaftPeerId target, long deadline, int attempt,
                           int immediate, CompletableFuture<RaftClientReply> done, RaftClientReply reply, Throwable err) {
        if (done.isDone()) return;
        if (err == null && (reply.isSuccess() || reply.getException() instanceof org.apache.ratis.protocol.exceptions.StateMachineException)) {
            done.complete(reply);
            return;
        }
        Throwable why = err != null ? unwrap(err) : reply.getException();
        if (why == null) why = new IOException("raft write failed without a reason");
        // A connection that failed is reset, off this path: closing it waits for its channel to shut down (up to
        // Ratis' 3 s when the server is frozen). Not after a timeout (a frozen or slow server: the reset would only
        // add that wait, and fail every other entry outstanding there; review of s9-lead, S1).
        if (err != null && !target.equals(self) && !(why instanceof java.util.concurrent.TimeoutException)
                && !(why instanceof org.apache.ratis.protocol.exceptions.TimeoutIOException)) {
            org.apache.ratis.client.RaftClientRpc rpc = directRpc;
            Throwable failed = err;
            if (rpc != null) {
                try {
                    completions.execute(() -> rpc.handleException(target, failed, false));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // shut down: the channels are closed with the RPC
                }
            }
        }
        // Servers a refusal names, which this server's configuration may not have yet (joining, lagging): reachable.
        if (why instanceof org.apache.ratis.protocol.exceptions.NotLeaderException nle && nle.getPeers() != null) {
            nle.getPeers().forEach(p -> learnedPeers.putIfAbsent(p.getId(), p));
        }
        synchronized (clientLock) {
            if (closed) {
                done.completeExceptionally(new OutcomeUnknownException("raft write outcome unknown: this server shut down while the entry was in flight ("
                        + rootMessage(why) + ")", why));
                return;
            }
        }
        if (System.nanoTime() - deadline > 0) {
            done.completeExceptionally(new OutcomeUnknownException("raft write outcome unknown: no leader confirmed the entry after "
                    + attempt + " attempts (last: " + rootMessage(why) + "); it may still commit", why));
            return;
        }
        RaftPeerId next = null;
        if (why instanceof org.apache.ratis.protocol.exceptions.NotLeaderException nle && nle.getSuggestedLeader() != null) {
            next = nle.getSuggestedLeader().getId();
        }
        boolean named = next != null && !next.equals(target);
        if (next == null) next = currentLeaderOr(null);
        if (next == null) next = votesHere() ? self : peerAfter(target);
        // A leader named in the refusal is asked at once, a few times in a row; then (two servers naming each other
        // during an election) with a growing pause; otherwise (no leader yet, not ready, unreachable, the next server
        // round) a pause.
        int streak = named ? immediate + 1 : 0;
        long sleep = !named ? DIRECT_RETRY_SLEEP_MS
                : streak <= DIRECT_IMMEDIATE_RETRIES ? 0
                : Math.min(DIRECT_BACKOFF_MAX_MS, DIRECT_BACKOFF_FIRST_MS << Math.min(10, streak - DIRECT_IMMEDIATE_RETRIES - 1));
        sleep = Math.min(sleep, Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
        if (attempt == 1 || attempt % 20 == 0) {
            LOG.info("raft entry {} retried under the same call id on {} (attempt {}): {}", request.getCallId(), next, attempt + 1, rootMessage(why));
        }
        directRetries.increment();
        RaftPeerId to = next;
        Throwable last = why;
        Runnable retry = () -> attemptDirect(request, to, deadline, attempt + 1, streak, done);
        Runnable submit = () -> {
            try {
                completions.execute(retry);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                done.completeExceptionally(new OutcomeUnknownException("raft write outcome unknown: this server shut down while the entry was in flight ("
                        + rootMessage(last) + ")", last));
            }
        };
        // A delayed retry is handed to completions when its time comes, where a shut-down executor is seen (not by
        // the delayer's thread, which would drop the rejected task silently).
        if (sleep == 0) submit.run();
        else CompletableFuture.delayedExecutor(sleep, TimeUnit.MILLISECONDS).execute(submit);
    }

    private static Throwable unwrap(Throwable err) {
        Throwable t = err;
        while ((t instanceof java.util.concurrent.CompletionException || t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /** The leader this server knows of now, or {@code fallback} when it knows none. */
    private RaftPeerId currentLeaderOr(RaftPeerId fallback) {
        try {
            var info = division().getInfo();
            if (info.isLeader()) return self;
            RaftPeerId id = info.getLeaderId();
            return id != null ? id : fallback;
        } catch (IOException e) {
            return fallback;
        }
    }

    /** The RPC for direct entries' retries on other servers, knowing the servers of the current configuration. */
    private org.apache.ratis.client.RaftClientRpc directRpc(RaftPeerId target) throws IOException {
        org.apache.ratis.client.RaftClientRpc rpc = directRpc;
        if (rpc == null) {
            synchronized (clientLock) {
                if (closed) throw new org.apache.ratis.protocol.exceptions.AlreadyClosedException("raft node closed");
                rpc = directRpc;
                if (rpc == null) directRpc = rpc = new GrpcFactory(params).newRaftClientRpc(directClientId, props);
            }
        }
        try {
            rpc.addRaftPeers(division().getRaftConf().getAllPeers());
        } catch (IOException | RuntimeException e) {
            // no division (removed, shutting down): the peers it was started with and those learnt still are
        }
        rpc.addRaftPeers(group.getPeers());
        rpc.addRaftPeers(learnedPeers.values());
        return rpc;
    }

    static List<ApplyResult> resultsOf(RaftClientReply reply) {
        if (!reply.isSuccess()) {
            throw new IllegalStateException("raft write failed: " + (reply.getException() == null ? "unknown" : reply.getException().getMessage()));
        }
        try {
            return Json.MAPPER.readValue(reply.getMessage().getContent().toByteArray(), RESULTS);
        } catch (IOException e) {
            throw new IllegalStateException("unreadable apply result", e);
        }
    }

    /**
     * Linearizable read barrier: asks the leader for its read index (Raft ReadIndex, confirmed by a quorum or the
     * leader lease), then waits until this server has applied that far, so a local read afterwards is consistent.
     * Goes through the client, so it follows a leader change like a write does.
     */
    public CompletableFuture<Void> readBarrier(java.util.concurrent.ScheduledExecutorService timer) {
        RaftClient c = client;
        CompletableFuture<RaftClientReply> sent;
        try {
            sent = c.async().sendReadOnly(Message.valueOf("barrier"));
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        // A read-only request shares the write path's ordered window in Ratis' client: its failure closes it too.
        sent = sent.whenComplete((reply, err) -> { if (err != null) replaceClient(c, err); });
        return sent.exceptionallyCompose(err -> CompletableFuture.failedFuture(explain(err))).thenCompose(reply -> {
            if (!reply.isSuccess()) {
                return CompletableFuture.failedFuture(new IllegalStateException("consistent read failed: "
                        + (reply.getException() == null ? "no leader" : reply.getException().getMessage())));
            }
            long readIndex = Long.parseLong(reply.getMessage().getContent().toStringUtf8());
            CompletableFuture<Void> caughtUp = new CompletableFuture<>();
            awaitApplied(readIndex, System.nanoTime() + TimeUnit.SECONDS.toNanos(5), timer, caughtUp);
            return caughtUp;
        });
    }

    private void awaitApplied(long index, long deadline, java.util.concurrent.ScheduledExecutorService timer, CompletableFuture<Void> done) {
        long applied;
        try { applied = division().getInfo().getLastAppliedIndex(); } catch (IOException e) { done.completeExceptionally(e); return; }
        if (applied >= index) { done.complete(null); return; }
        if (System.nanoTime() - deadline > 0) {
            done.completeExceptionally(new IllegalStateException("this server is behind the leader (applied " + applied + " < " + index + ")"));
            return;
        }
        timer.schedule(() -> awaitApplied(index, deadline, timer, done), 1, TimeUnit.MILLISECONDS);
    }

    private org.apache.ratis.server.RaftServer.Division division() throws IOException {
        return server.getDivision(group.getGroupId());
    }

    public boolean isLeader() {
        try { return division().getInfo().isLeader(); } catch (IOException e) { return false; }
    }

    public Optional<String> leaderAddress() {
        try {
            RaftPeerId id = division().getInfo().getLeaderId();
            if (id == null) return Optional.empty();
            return division().getRaftConf().getAllPeers().stream().filter(p -> p.getId().equals(id)).map(RaftPeer::getAddress).findFirst();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    public Optional<String> leaderName() {
        try {
            RaftPeerId id = division().getInfo().getLeaderId();
            return Optional.ofNullable(id).map(RaftPeerId::toString);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Milliseconds since this server last heard from the leader (0 on the leader). */
    public long lastContactMillis() {
        try {
            var info = division().getInfo();
            if (info.isLeader()) return 0;
            var role = info.getRoleInfoProto();
            if (role.hasFollowerInfo() && role.getFollowerInfo().hasLeaderInfo()) {
                return role.getFollowerInfo().getLeaderInfo().getLastRpcElapsedTimeMs();
            }
            return -1;
        } catch (IOException e) {
            return -1;
        }
    }

    public long currentTerm() {
        try { return division().getInfo().getCurrentTerm(); } catch (IOException e) { return 0; }
    }

    /** The voters' server RPC addresses in this server's current Raft configuration. */
    public List<String> peerAddresses() {
        try {
            return division().getRaftConf().getCurrentPeers().stream().map(RaftPeer::getAddress).sorted().toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** A server in the Raft configuration, as Consul's operator API shows it. */
    public record ServerInfo(String name, String address, boolean leader, boolean voter) {}

    /** This server's view of the Raft configuration and the log index it was set at. */
    public record Configuration(List<ServerInfo> servers, long index) {
        public long voters() { return servers.stream().filter(ServerInfo::voter).count(); }
        public Optional<ServerInfo> byName(String name) { return servers.stream().filter(s -> s.name().equals(name)).findFirst(); }
        public Optional<ServerInfo> byAddress(String address) { return servers.stream().filter(s -> s.address().equals(address)).findFirst(); }
    }

    public Configuration configuration() {
        try {
            var d = division();
            var conf = d.getRaftConf();
            RaftPeerId leader = d.getInfo().getLeaderId();
            List<ServerInfo> list = new java.util.ArrayList<>();
            for (RaftPeer p : conf.getCurrentPeers()) list.add(new ServerInfo(p.getId().toString(), p.getAddress(), p.getId().equals(leader), true));
            for (RaftPeer p : conf.getCurrentPeers(org.apache.ratis.proto.RaftProtos.RaftPeerRole.LISTENER)) {
                list.add(new ServerInfo(p.getId().toString(), p.getAddress(), false, false));
            }
            list.sort(Comparator.comparing(ServerInfo::name));
            return new Configuration(List.copyOf(list), conf.getLogEntryIndex());
        } catch (IOException e) {
            return new Configuration(List.of(), 0);
        }
    }

    /**
     * Adds a voter (through the leader; Ratis first brings it up to date, then commits the new configuration).
     * Only if the configuration is still {@code expected}: two changes never overwrite each other.
     */
    public void addVoter(Configuration expected, Peer peer) throws IOException {
        List<RaftPeer> now = votersOf(expected);
        List<RaftPeer> next = new java.util.ArrayList<>(now);
        next.add(RaftPeer.newBuilder().setId(peer.name()).setAddress(peer.address()).build());
        changeVoters(now, next, "add " + peer.name());
    }

    /** Removes a voter (through the leader), if the configuration is still {@code expected}; never the last one. */
    public void removeVoter(Configuration expected, String name) throws IOException {
        List<RaftPeer> now = votersOf(expected);
        List<RaftPeer> next = now.stream().filter(p -> !p.getId().toString().equals(name)).toList();
        if (next.size() == now.size()) throw new IllegalArgumentException("id \"" + name + "\" was not found in the Raft configuration");
        if (next.isEmpty()) throw new IllegalArgumentException("refusing to remove " + name + ": it is the last voter in the Raft configuration");
        changeVoters(now, next, "remove " + name);
    }

    private static List<RaftPeer> votersOf(Configuration c) {
        return c.servers().stream().filter(ServerInfo::voter)
                .map(s -> RaftPeer.newBuilder().setId(s.name()).setAddress(s.address()).build()).toList();
    }

    private void changeVoters(List<RaftPeer> now, List<RaftPeer> next, String what) throws IOException {
        var args = org.apache.ratis.protocol.SetConfigurationRequest.Arguments.newBuilder()
                .setServersInCurrentConf(now)
                .setServersInNewConf(next)
                .setMode(org.apache.ratis.protocol.SetConfigurationRequest.Mode.COMPARE_AND_SET)
                .build();
        RaftClientReply r = client.admin().setConfiguration(args);
        if (!r.isSuccess()) {
            throw new IOException("Raft configuration change (" + what + ") failed: "
                    + (r.getException() == null ? "unknown" : r.getException().getMessage()));
        }
    }

    public String selfName() {
        return self.toString();
    }

    @Override
    public void close() throws IOException {
        RaftClient c;
        shutDown = true;
        synchronized (clientLock) {
            closed = true;
            c = client;
        }
        try {
            for (RaftClient r : List.copyOf(retired)) closeRetired(r);
            c.close();
            org.apache.ratis.client.RaftClientRpc rpc;
            synchronized (clientLock) { rpc = directRpc; }
            if (rpc != null) rpc.close();
        } finally {
            try {
                server.close();
            } finally {
                completions.shutdown();
                failUnanswered();
                deadlines.close();
            }
        }
    }

    /**
     * At close: writes whose entries are in flight end as outcome unknown now (their replies, retries and handlers
     * have nowhere to run any more), and writes not sent yet fail as not sent.
     */
    private volatile boolean shutDown;

    private void failUnanswered() {
        for (List<Pending> batch : List.copyOf(inFlightBatches.values())) {
            OutcomeUnknownException e = new OutcomeUnknownException("raft write outcome unknown: this server shut down while the entry was in flight", null);
            batch.forEach(p -> p.result().completeExceptionally(e));
        }
        inFlightBatches.clear();
        Pending p;
        while ((p = queue.poll()) != null) {
            p.result().completeExceptionally(new IOException("raft write not sent: this server shut down"));
        }
    }
}

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
 * Writes from any server go through the client, which finds the leader; reads are served from the local
 * {@link StateStore}, after a ReadIndex barrier when the caller asks for consistency.
 */
public final class RaftNode implements AutoCloseable {
    /** A voting server: its node name (the Raft peer id) and its server RPC address host:port. */
    public record Peer(String name, String address) {}

    /** How long a write may wait for a leader and a quorum before the caller is told it failed (it may still commit). */
    public static final long WRITE_TIMEOUT_SECONDS = 10;

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(RaftNode.class);
    /**
     * How long a replaced client lives on for the requests it still retries (they were sent before the failure that
     * replaced it; Ratis retries them 60 times, each attempt up to its 3 s request timeout) before it is closed.
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
        LOG.warn("Raft client {} replaced by {} after a request failed there: {}", failed.getId(), next.getId(), rootMessage(cause));
        CompletableFuture.delayedExecutor(RETIRED_CLIENT_CLOSE_SECONDS, TimeUnit.SECONDS).execute(() -> closeRetired(failed));
    }

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
            IOException e = new IOException("raft request not sent: an earlier request on this server's Raft client failed ("
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

    /** A write waiting for its Raft entry. */
    private record Pending(Command command, CompletableFuture<ApplyResult> result) {}

    /** Entries in flight at once; writes that arrive meanwhile wait and go together in the next entry (group commit). */
    private static final int MAX_IN_FLIGHT = 8;
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
        Pending p = new Pending(command, new CompletableFuture<>());
        queue.add(p);
        drain();
        // Bounded like Consul's RPC hold timeout: an election takes well under this; a lost quorum is reported.
        return p.result().orTimeout(WRITE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
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
        Command entry = batch.size() == 1 ? batch.get(0).command() : new Command.Batch(batch.stream().map(Pending::command).toList());
        RaftClient c = client;
        CompletableFuture<RaftClientReply> sent;
        try {
            sent = c.async().send(Message.valueOf(org.apache.ratis.thirdparty.com.google.protobuf.ByteString.copyFrom(Json.MAPPER.writeValueAsBytes(entry))));
        } catch (IOException | RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        long sentAt = System.nanoTime();
        sent.whenComplete((reply, err) -> {
            if (err == null) {
                metrics.incr("consul.raft.apply", java.util.Map.of(), 1);
                metrics.incr("consul.raft.apply.commands", java.util.Map.of(), batch.size());
                metrics.sinceMillis("consul.raft.commitTime", java.util.Map.of(), sentAt);
            }
            // Replaced before the next batch is sent (drain, below), so that one goes through a usable client.
            if (err != null) replaceClient(c, err);
            inFlight.decrementAndGet();
            try {
                List<ApplyResult> results = err == null ? resultsOf(reply) : null;
                Throwable failure = err == null ? null : explain(err);
                for (int i = 0; i < batch.size(); i++) {
                    if (err != null) batch.get(i).result().completeExceptionally(failure);
                    else batch.get(i).result().complete(results.get(i));
                }
            } catch (RuntimeException e) {
                batch.forEach(p -> p.result().completeExceptionally(e));
            } finally {
                drain();
            }
        });
    }

    private static List<ApplyResult> resultsOf(RaftClientReply reply) {
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
        synchronized (clientLock) {
            closed = true;
            c = client;
        }
        try {
            for (RaftClient r : List.copyOf(retired)) closeRetired(r);
            c.close();
        } finally {
            server.close();
        }
    }
}

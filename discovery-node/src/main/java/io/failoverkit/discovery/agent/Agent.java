package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.cluster.GossipKeys;
import io.failoverkit.discovery.cluster.Member;
import io.failoverkit.discovery.cluster.Membership;
import io.failoverkit.discovery.cluster.UserEvents;
import io.failoverkit.discovery.gossip.serf.handlers.CoalesceSettings;
import io.failoverkit.discovery.gossip.serf.handlers.EventHandlers;
import io.failoverkit.discovery.gossip.serf.handlers.EventScript;
import io.failoverkit.discovery.gossip.serf.SerfEvent;
import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.discovery.dns.DnsResolver;
import io.failoverkit.discovery.dns.DnsServer;
import io.failoverkit.discovery.dns.DnsView;
import io.failoverkit.discovery.http.HttpApi;
import io.failoverkit.discovery.leader.Reconciler;
import io.failoverkit.discovery.leader.SessionTimers;
import io.failoverkit.discovery.raft.RaftNode;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.state.StateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One discovery-node agent, server or client, as Consul's: membership on the LAN port, local services and checks
 * kept in the catalog by anti-entropy, the HTTP API, and, on a server, a seat in the Raft group.
 */
public final class Agent implements AutoCloseable {
    public static final String VERSION = "0.1.0";
    private static final Logger LOG = LoggerFactory.getLogger(Agent.class);

    private final AgentConfig config;
    private final String nodeId;
    private final Path dataDir;
    private final boolean ephemeralData;
    private final Membership membership;
    private final UserEvents userEvents;
    private final EventHandlers scripts;
    private final LocalState local = new LocalState();
    private final io.failoverkit.discovery.metrics.Metrics metrics = new io.failoverkit.discovery.metrics.Metrics();
    private final CheckRunner checks = new CheckRunner(local);
    private final AntiEntropy antiEntropy;
    /**
     * Also every parked blocking query's wait timer. Cancelled timers leave the queue at once: a woken query cancels
     * its 5-10 minute timer, and with thousands parked and woken every second (bench/scale.sh) the cancelled ones,
     * each holding its request, used to stay queued until their time came.
     */
    private final java.util.concurrent.ScheduledThreadPoolExecutor timer = newTimer();

    private static java.util.concurrent.ScheduledThreadPoolExecutor newTimer() {
        var t = new java.util.concurrent.ScheduledThreadPoolExecutor(2, r -> Thread.ofPlatform().daemon().name("agent-timer").unstarted(r));
        t.setRemoveOnCancelPolicy(true);
        return t;
    }
    /** Session TTL timers get a thread of their own: nothing slow (a catalog write, an HTTP sync) may delay them. */
    private final ScheduledExecutorService sessionTimer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("session-ttl").unstarted(r));
    /** The leader's reconciler waits on Raft (up to 10 s a write): on a thread of its own, never the HTTP wait timers'. */
    private final ScheduledExecutorService reconcileTimer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("reconciler").unstarted(r));
    private final HttpApi http;
    private final DnsServer dns;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile Throwable fatal;
    private volatile RaftNode raft;
    private volatile StateStore store;
    /** A quorum-loss recovery read from raft/peers.json at start, carried out when the server takes its Raft seat. */
    private final RaftRecoveryPlan recovery;
    private volatile io.failoverkit.discovery.leader.Autopilot autopilot;
    /** Resolves request tokens to identities; {@link io.failoverkit.discovery.acl.TokenResolver#DISABLED} while ACLs are off. */
    private volatile io.failoverkit.discovery.acl.TokenResolver acl = io.failoverkit.discovery.acl.TokenResolver.DISABLED;
    /** The tls stanza's files as last read (HTTPS, Raft over TLS, and this agent's calls to other agents). */
    private final io.failoverkit.discovery.tls.AgentTls tls;
    /** This agent's client for servers' HTTP API (with its TLS; verify_server_hostname applies). */
    private final java.net.http.HttpClient peerHttp;
    /** This agent's client for any agent's HTTP API, client agents included (with its TLS). */
    private final java.net.http.HttpClient anyAgentHttp;

    private Agent(AgentConfig config) throws Exception {
        this.config = config;
        this.tls = config.tls.hasKeyPair() || config.tls.caFile != null
                ? io.failoverkit.discovery.tls.AgentTls.load(config.tls, config.datacenter, config.domain)
                : io.failoverkit.discovery.tls.AgentTls.none();
        this.peerHttp = tls.httpClient().connectTimeout(java.time.Duration.ofSeconds(2)).build();
        this.anyAgentHttp = tls.anyAgentHttpClient().connectTimeout(java.time.Duration.ofSeconds(2))
                .executor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()).build();
        if (config.dev) {
            this.dataDir = Files.createTempDirectory("discovery-node-dev");
            this.ephemeralData = true;
        } else {
            this.dataDir = Path.of(config.dataDir).toAbsolutePath();
            Files.createDirectories(dataDir);
            this.ephemeralData = false;
        }
        this.nodeId = loadOrCreateNodeId();
        if (config.server) requireFree(config.bindAddr, config.serverPort);
        this.recovery = config.server ? prepareRecovery() : null;
        Map<String, String> tags = new LinkedHashMap<>();
        tags.put("role", config.server ? "consul" : "node");
        tags.put("dc", config.datacenter);
        tags.put("id", nodeId);
        tags.put("port", Integer.toString(config.serverPort));
        tags.put("http_port", Integer.toString(config.httpPort));
        if (config.httpsPort >= 0) tags.put("https_port", Integer.toString(config.httpsPort));
        tags.put("build", VERSION);
        tags.put("vsn", "2");
        if (config.server) tags.put("expect", Integer.toString(config.bootstrapExpect));
        gossipNodeMeta(tags, config.nodeMeta);
        Path keyringFile = dataDir.resolve(GossipKeys.KEYRING_FILE);
        List<byte[]> keys = GossipKeys.load(keyringFile);
        if (!keys.isEmpty()) {
            if (config.encrypt != null && !GossipKeys.encode(keys.get(0)).equals(config.encrypt.strip())
                    && keys.stream().noneMatch(k -> GossipKeys.encode(k).equals(config.encrypt.strip()))) {
                LOG.warn("{} exists: its keys are used and -encrypt is ignored (as Consul does); remove the file to start over", keyringFile);
            }
            LOG.info("gossip encryption on: {} key(s) from {}", keys.size(), keyringFile);
        } else if (config.encrypt != null) {
            keys = List.of(GossipKeys.decode(config.encrypt));
            GossipKeys.save(keyringFile, keys);
            LOG.info("gossip encryption on: the -encrypt key, kept in {}", keyringFile);
        }
        this.userEvents = new UserEvents(config.nodeName, () -> local.services().values().stream()
                .map(s -> new UserEvents.LocalService(s.name(), s.tags())).toList());
        List<EventScript> handlerSpecs = EventScript.parseAll(config.eventHandlers);
        this.membership = Membership.start(new Membership.Settings(config.nodeName, config.bindAddr, config.serfLanPort, tags, keys,
                keyringFile, config.retryJoin, config.retryInterval));
        this.scripts = new EventHandlers(handlerSpecs, membership::localSerfMember, CoalesceSettings.serfAgent(), EventHandlers.DEFAULT_TIMEOUT);
        membership.onEvent(this::gossipEvent);
        if (!config.startJoin.isEmpty()) {
            try {
                int n = membership.join(config.startJoin);
                LOG.info("joined the pool through {} ({} agents answered)", config.startJoin, n);
            } catch (IOException e) {
                membership.close();
                scripts.close();
                throw new IOException("-join " + config.startJoin + ": " + e.getMessage(), e);
            }
        }
        local.replaceConfigDefinitions(config.services, config.checks);
        checks.sync();
        local.onChange(checks::sync);
        this.antiEntropy = new AntiEntropy(local, config.nodeName, nodeId, config.bindAddr, config.nodeMeta, this::serverHttpForAgent, peerHttp);
        if (config.acl.enabled) {
            io.failoverkit.discovery.acl.TokenPersistence.load(dataDir, config.acl);
            // Servers resolve tokens from their own replicated state; client agents ask a server and cache.
            this.acl = config.server ? new io.failoverkit.discovery.acl.StoreTokenResolver(() -> store, config.acl)
                    : new io.failoverkit.discovery.acl.RemoteTokenResolver(this::anyServerHttp, config.acl, System::nanoTime, peerHttp);
            LOG.info("ACLs enabled: {}", config.acl);
        }
        // Alias checks of other nodes read the catalog with the agent's token, as its anti-entropy writes do.
        checks.catalogClient(peerHttp);
        checks.catalog(config.nodeName, this::serverHttpForAgent, () -> config.acl.agentToken != null ? config.acl.agentToken : config.acl.defaultToken);
        registerGauges();
        this.http = new HttpApi(this, config.clientAddr, config.httpPort, timer);
        // The agent's own catalog writes carry acl.tokens.agent (else default), as Consul's anti-entropy does.
        antiEntropy.token(() -> config.acl.agentToken != null ? config.acl.agentToken : config.acl.defaultToken);
        // A client's first sync after a server appears is staggered, as Consul's (a server syncs its own in-process).
        if (!config.server) antiEntropy.staggerAfterServerUp(AntiEntropy.SERVER_UP_STAGGER, () -> membership.members().size(),
                java.util.random.RandomGenerator.getDefault());
        DnsView view = config.server ? DnsView.local(() -> store) : DnsView.remote(this::anyServerHttp, () -> config.acl.defaultToken, peerHttp);
        view = DnsView.filtered(view, this::dnsAuthorizer);
        this.dns = new DnsServer(new DnsResolver(view, config.dns, config.domain, config.datacenter).metrics(metrics), config.clientAddr, config.dnsPort,
                config.server ? Math.max(1, Runtime.getRuntime().availableProcessors() / 2) : 1, !config.server);
        timer.scheduleWithFixedDelay(this::antiEntropyTick, 200, 1000, TimeUnit.MILLISECONDS);
        if (http.port() > 0) HttpWarmup.start(peerHttp, "http://" + loopbackFor(config.clientAddr) + ":" + http.port(), config.nodeName, membership::self);
        if (config.server) Thread.ofPlatform().name("bootstrap").daemon().start(this::bootstrap);
        LOG.info("agent {} ({}) started: HTTP {}{}, DNS {}:{}, LAN {}:{}{}", config.nodeName, config.server ? "server" : "client",
                http.port() >= 0 ? config.clientAddr + ":" + http.port() : "off",
                http.httpsPort() >= 0 ? ", HTTPS " + config.clientAddr + ":" + http.httpsPort() : "",
                config.clientAddr, dns.port(), config.bindAddr, config.serfLanPort,
                config.server ? ", server RPC " + config.bindAddr + ":" + config.serverPort : "");
    }

    public static Agent start(AgentConfig config) throws Exception {
        return new Agent(config);
    }

    /**
     * -node-meta goes to the catalog (as Consul's) and is also gossiped as Serf tags, so that every member, stock serf
     * agents and their handlers included, sees it. A key that names one of the agent's own tags (role, dc, ...) stays
     * in the catalog only; when the whole set would not fit Serf's 512-byte meta, none of it is gossiped. Both say so.
     */
    private static void gossipNodeMeta(Map<String, String> tags, Map<String, String> nodeMeta) {
        if (nodeMeta == null || nodeMeta.isEmpty()) return;
        Map<String, String> with = new LinkedHashMap<>(tags);
        for (Map.Entry<String, String> e : nodeMeta.entrySet()) {
            if (Membership.RESERVED_TAGS.contains(e.getKey())) {
                LOG.info("node meta \"{}\" is kept in the catalog only: the gossip tag of that name is the agent's own", e.getKey());
                continue;
            }
            with.put(e.getKey(), e.getValue());
        }
        int size = io.failoverkit.discovery.gossip.serf.SerfMessages.encodeTags(with).length;
        if (size > io.failoverkit.discovery.gossip.serf.Serf.META_MAX_SIZE) {
            LOG.warn("node meta is kept in the catalog only: as gossip tags it would take {} bytes, over Serf's {}-byte limit", size,
                    io.failoverkit.discovery.gossip.serf.Serf.META_MAX_SIZE);
            return;
        }
        tags.clear();
        tags.putAll(with);
    }

    private String loadOrCreateNodeId() throws IOException {
        Path f = dataDir.resolve("node-id");
        if (Files.exists(f)) return Files.readString(f).strip();
        String id = UUID.randomUUID().toString();
        Files.writeString(f, id);
        return id;
    }

    /**
     * The server RPC port is taken by Raft only once the group forms (later, in the background): a port someone else
     * holds is said now, as Consul's "Error starting agent", instead of a server that starts and never joins.
     */
    private static void requireFree(String host, int port) throws IOException {
        try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
            probe.bind(new java.net.InetSocketAddress(host, port));
        } catch (IOException e) {
            throw new IOException("server RPC " + host + ":" + port + ": " + e.getMessage(), e);
        }
    }

    /** What raft/peers.json asks for: the recovered state and the servers of the new configuration. */
    private record RaftRecoveryPlan(Path file, List<RaftNode.Peer> peers, StateStore store, RaftNode.Seed seed, Path resumeFrom) {}

    /**
     * Consul's manual recovery after a quorum loss: with DATA-DIR/raft/peers.json present, the file is checked and this
     * server's state is rebuilt from its own Raft storage now, before anything else starts, so that a malformed file
     * or unreadable storage stops the agent with the reason (and the file stays). See {@link io.failoverkit.discovery.raft.RaftRecovery}.
     */
    private RaftRecoveryPlan prepareRecovery() throws IOException {
        Path file = dataDir.resolve("raft").resolve(io.failoverkit.discovery.raft.RaftRecovery.PEERS_FILE);
        if (!Files.exists(file)) return null;
        List<io.failoverkit.discovery.raft.RaftRecovery.Entry> entries;
        try {
            entries = io.failoverkit.discovery.raft.RaftRecovery.parse(file);
        } catch (IllegalArgumentException e) {
            throw new IOException("quorum-loss recovery refused: " + e.getMessage() + "; nothing was changed and the file is kept: fix it or remove it", e);
        }
        StateStore s = new StateStore(Executors.newVirtualThreadPerTaskExecutor());
        Path groupDir = io.failoverkit.discovery.raft.RaftRecovery.groupDir(dataDir.resolve("raft"), RaftNode.groupIdFor(config.datacenter));
        RaftNode.Seed seed;
        Path resumeFrom = null;
        try {
            // A recovery interrupted after it set the old storage aside resumes from that storage, never from the
            // new group dir it may have left half formatted.
            resumeFrom = io.failoverkit.discovery.raft.RaftRecovery.interrupted(groupDir).orElse(null);
            if (resumeFrom != null) LOG.warn("quorum-loss recovery: an earlier recovery was interrupted; resuming from the storage it set aside, {}", resumeFrom);
            seed = io.failoverkit.discovery.raft.RaftRecovery.recoverState(resumeFrom != null ? resumeFrom : groupDir, s);
        } catch (IOException | RuntimeException e) {
            throw new IOException("quorum-loss recovery refused: this server's Raft storage could not be read: " + e.getMessage()
                    + "; nothing was changed and " + file + " is kept", e);
        }
        // Consul's ids are node IDs (DATA-DIR/node-id); this agent's Raft IDs are node names. Either is accepted.
        List<RaftNode.Peer> peers = new ArrayList<>();
        boolean self = false;
        for (var e : entries) {
            String name;
            if (e.id().equals(config.nodeName) || e.id().equals(nodeId)) {
                name = config.nodeName;
                self = true;
                String mine = config.bindAddr + ":" + config.serverPort;
                if (!e.address().equals(mine)) LOG.warn("{}: this server is listed at {}, it listens on {}", file, e.address(), mine);
            } else {
                name = s.nodes().value().stream().filter(n -> e.id().equals(n.id())).map(io.failoverkit.discovery.state.Model.Node::node)
                        .findFirst().orElse(e.id());
            }
            peers.add(new RaftNode.Peer(name, e.address()));
        }
        if (!self) {
            throw new IOException("quorum-loss recovery refused: " + file + " does not list this server (id \"" + nodeId + "\" or \""
                    + config.nodeName + "\"); nothing was changed and the file is kept");
        }
        LOG.warn("quorum-loss recovery: {} asks for a new Raft configuration of {}; the state was rebuilt from this server's storage (term {}, index {})",
                file, peers, seed.term(), seed.index());
        return new RaftRecoveryPlan(file, List.copyOf(peers), s, seed, resumeFrom);
    }

    /** How this server takes its Raft seat when it has no bookkeeping of a group yet. */
    private record Seat(List<RaftNode.Peer> peers, RaftNode.Mode mode) {}

    /**
     * A server joins the Raft group: at once with the peers it had, with the servers of a quorum-loss recovery, as a
     * new member of a group that runs already (the leader adds it), or once -bootstrap-expect servers are known.
     */
    private void bootstrap() {
        Path groupDir = io.failoverkit.discovery.raft.RaftRecovery.groupDir(dataDir.resolve("raft"), RaftNode.groupIdFor(config.datacenter));
        Path aside = null;
        try {
            Path peersFile = dataDir.resolve("raft-peers.json");
            List<RaftNode.Peer> peers;
            RaftNode.Mode mode = RaftNode.Mode.MEMBER;
            StateStore s = new StateStore(Executors.newVirtualThreadPerTaskExecutor());
            if (recovery != null) {
                peers = recovery.peers();
                mode = RaftNode.Mode.RECOVERED;
                s = recovery.store();
                if (recovery.resumeFrom() != null) {
                    aside = recovery.resumeFrom();
                    if (Files.exists(groupDir)) {
                        Path failed = groupDir.resolveSibling(groupDir.getFileName() + ".failed-recovery-" + System.currentTimeMillis());
                        Files.move(groupDir, failed, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                        io.failoverkit.discovery.raft.RaftRecovery.fsyncDir(groupDir.getParent());
                        LOG.warn("quorum-loss recovery: the group dir the interrupted recovery left is moved aside to {}", failed);
                    }
                } else {
                    aside = io.failoverkit.discovery.raft.RaftRecovery.setAsideForRecovery(groupDir);
                }
                LOG.warn("quorum-loss recovery: the old Raft storage is set aside, kept as it was, in {}", aside);
            } else if (Files.exists(peersFile)) {
                peers = List.of(Json.MAPPER.readValue(peersFile.toFile(), RaftNode.Peer[].class));
                List<RaftNode.Peer> running = runningGroup();
                boolean listed = running.stream().anyMatch(p -> p.name().equals(config.nodeName));
                if (listed && !Files.isDirectory(groupDir)) {
                    // Ratis formats the group dir at the first start: no dir beside raft-peers.json means it was wiped.
                    throw wipedButListed();
                }
                List<RaftNode.Peer> without = listed ? List.of() : running;
                if (!without.isEmpty()) {
                    // Removed while it was away (autopilot or remove-peer): Ratis shuts a removed server's group down
                    // when it campaigns, so it comes back as a new server, and the leader adds it again.
                    if (Files.exists(groupDir)) aside = io.failoverkit.discovery.raft.RaftRecovery.setAside(groupDir, "removed");
                    peers = without;
                    mode = RaftNode.Mode.JOINING;
                    Files.writeString(peersFile, Json.MAPPER.writeValueAsString(peers), StandardCharsets.UTF_8);
                    LOG.warn("this server is no longer in the Raft configuration of {} (removed while it was away): its old Raft storage is set aside in {} and it joins again as a new server",
                            without, aside);
                } else {
                    LOG.info("rejoining Raft group with {} peers from {}", peers.size(), peersFile);
                }
            } else {
                Seat seat = awaitExpectedServers();
                peers = seat.peers();
                mode = seat.mode();
                Files.writeString(peersFile, Json.MAPPER.writeValueAsString(peers), StandardCharsets.UTF_8);
                if (mode == RaftNode.Mode.JOINING) LOG.info("joining the running Raft group of {}: waiting for its leader to add this server", peers);
                else LOG.info("bootstrapping Raft group with {}", peers);
            }
            File raftDir = dataDir.resolve("raft").toFile();
            RaftNode node;
            try {
                node = RaftNode.start(config.nodeName, config.bindAddr, config.serverPort, raftDir, peers, config.datacenter, config.raftSnapshotThreshold,
                        config.raftSnapshotInterval, s, this::leaderChanged, mode, recovery == null ? null : recovery.seed(), tls.raftTls());
                node.metrics(metrics);
            } catch (IOException | RuntimeException e) {
                if (aside != null) {
                    io.failoverkit.discovery.raft.RaftRecovery.putBack(groupDir, aside);
                    if (recovery != null) LOG.error("quorum-loss recovery failed, the old Raft storage is back in {} and {} is kept", groupDir, recovery.file());
                    else LOG.error("joining again failed, the old Raft storage is back in {}", groupDir);
                }
                throw e;
            }
            if (recovery != null) {
                Files.writeString(peersFile, Json.MAPPER.writeValueAsString(peers), StandardCharsets.UTF_8);
                Files.delete(recovery.file());
                io.failoverkit.discovery.raft.RaftRecovery.fsyncDir(recovery.file().getParent());
                io.failoverkit.discovery.raft.RaftRecovery.recoveryDone(groupDir);
                LOG.warn("quorum-loss recovery done: new Raft configuration {} with the state at index {}; removed {}",
                        peers, recovery.seed().index(), recovery.file());
            }
            SessionTimers timers = new SessionTimers(s, node);
            Reconciler reconciler = new Reconciler(s, node, membership, config.datacenter);
            this.store = s;
            this.raft = node;
            this.autopilot = io.failoverkit.discovery.leader.Autopilot.start(node, membership, config.datacenter, config.nodeName);
            http.serve(s, node, timers, this::leaderHttp);
            antiEntropy.writeInProcess(http.catalogInProcess());
            sessionTimer.scheduleWithFixedDelay(() -> safely(timers::tick), 100, 100, TimeUnit.MILLISECONDS);
            reconcileTimer.scheduleWithFixedDelay(() -> safely(reconciler::tick), 500, 1000, TimeUnit.MILLISECONDS);
            if (config.acl.enabled) {
                io.failoverkit.discovery.leader.AclLeader aclLeader = new io.failoverkit.discovery.leader.AclLeader(s, node, config.acl);
                reconcileTimer.scheduleWithFixedDelay(() -> safely(aclLeader::tick), 200, 1000, TimeUnit.MILLISECONDS);
            }
            io.failoverkit.discovery.leader.TombstoneGc tombstones = new io.failoverkit.discovery.leader.TombstoneGc(s, node::isLeader, node::propose,
                    System::nanoTime, io.failoverkit.discovery.leader.TombstoneGc.DEFAULT_TTL);
            long every = io.failoverkit.discovery.leader.TombstoneGc.DEFAULT_GRANULARITY.toMillis();
            sessionTimer.scheduleWithFixedDelay(() -> safely(tombstones::tick), every, every, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            LOG.error("server could not join its Raft group: {}", e.getMessage(), e);
            fatal = e;
            stopped.countDown();
        }
    }

    /**
     * Waits until this server can take a seat: a server of this datacenter that is in a Raft group already (asked
     * over HTTP for its configuration, as Consul asks its peers before it bootstraps) means joining that group;
     * otherwise, once -bootstrap-expect alive servers are known, the first of them by name form the group.
     */
    private Seat awaitExpectedServers() throws InterruptedException, IOException {
        long lastLog = 0;
        long lastAsk = 0;
        while (true) {
            List<Member> servers = membership.members().stream()
                    .filter(m -> m.isServer() && m.status() == Member.Status.ALIVE && m.datacenter().equals(config.datacenter))
                    .sorted(Comparator.comparing(Member::name)).toList();
            if (System.nanoTime() - lastAsk > TimeUnit.SECONDS.toNanos(1)) {
                lastAsk = System.nanoTime();
                for (Member m : servers) {
                    if (m.name().equals(config.nodeName)) continue;
                    List<RaftNode.Peer> running = raftConfigurationOf(m);
                    if (running.isEmpty()) continue;
                    if (running.stream().anyMatch(p -> p.name().equals(config.nodeName))) {
                        // Listed as a voter: only with the log it had may it take that seat again.
                        Path groupDir = io.failoverkit.discovery.raft.RaftRecovery.groupDir(dataDir.resolve("raft"), RaftNode.groupIdFor(config.datacenter));
                        if (!io.failoverkit.discovery.raft.RaftRecovery.hasState(groupDir)) throw wipedButListed();
                        return new Seat(running, RaftNode.Mode.MEMBER);
                    }
                    return new Seat(running, RaftNode.Mode.JOINING);
                }
            }
            if (servers.size() >= config.bootstrapExpect) {
                List<RaftNode.Peer> peers = new ArrayList<>();
                for (Member m : servers.subList(0, config.bootstrapExpect)) peers.add(new RaftNode.Peer(m.name(), m.addr() + ":" + m.serverPort()));
                return new Seat(peers, RaftNode.Mode.MEMBER);
            }
            if (System.nanoTime() - lastLog > TimeUnit.SECONDS.toNanos(10)) {
                LOG.info("waiting for {} servers to bootstrap, {} known (-retry-join names them)", config.bootstrapExpect, servers.size());
                lastLog = System.nanoTime();
            }
            Thread.sleep(200);
        }
    }

    /**
     * The voters of the running group as its leader reports them, or empty when no leader answers within a few
     * seconds (then this server rejoins with what its storage says, as after a restart of the whole cluster).
     */
    private List<RaftNode.Peer> runningGroup() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() - deadline < 0) {
            for (Member m : membership.members()) {
                if (!m.isServer() || m.status() != Member.Status.ALIVE || !m.datacenter().equals(config.datacenter) || m.name().equals(config.nodeName)) continue;
                List<RaftNode.Peer> running = raftConfigurationOf(m);
                if (!running.isEmpty()) return running;
            }
            Thread.sleep(250);
        }
        return List.of();
    }

    /**
     * Why a server with no Raft storage may not take the voter seat the cluster still lists under its name (its Raft
     * ID): with an empty log it could elect a leader that misses committed entries.
     */
    private IOException wipedButListed() {
        return new IOException("this server's Raft storage is gone but the cluster still lists it as a voter: run `discovery-node operator raft remove-peer -id="
                + config.nodeName + "` on the cluster, then start it again (it then joins as a new server)");
    }

    /**
     * A server's Raft configuration as its HTTP API reports it (?stale: its own view), trusted only from the leader
     * itself (see {@link #trustedConfiguration}); empty otherwise, or if it has none or does not answer.
     */
    private List<RaftNode.Peer> raftConfigurationOf(Member m) {
        Optional<String> base = httpBase(m);
        if (base.isEmpty()) return List.of();
        try {
            var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create(base.get() + "/v1/operator/raft/configuration?stale"))
                    .timeout(java.time.Duration.ofSeconds(2)).GET().build();
            var resp = peerHttp.send(req, java.net.http.HttpResponse.BodyHandlers.ofByteArray());
            if (resp.statusCode() != 200) return List.of();
            return trustedConfiguration(m.name(), Json.MAPPER.readTree(resp.body()));
        } catch (IOException e) {
            return List.of();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return List.of();
        }
    }

    /**
     * The voters of a configuration that server {@code reporter} reports, if it is trustworthy: the reporter is in it
     * and marked as its leader. A follower's or a removed server's ?stale view may be old (a removed server keeps the
     * configuration it was removed from, a lagging follower one from before a change), and acting on it could set a
     * current voter's storage aside; the leader's own view is the configuration the group runs. Empty otherwise.
     */
    static List<RaftNode.Peer> trustedConfiguration(String reporter, com.fasterxml.jackson.databind.JsonNode body) {
        List<RaftNode.Peer> out = new ArrayList<>();
        boolean reporterLeads = false;
        for (var s : body.path("Servers")) {
            if (s.path("Voter").asBoolean(true)) out.add(new RaftNode.Peer(s.path("Node").asText(), s.path("Address").asText()));
            if (s.path("Node").asText().equals(reporter) && s.path("Leader").asBoolean(false)) reporterLeads = true;
        }
        return reporterLeads ? List.copyOf(out) : List.of();
    }

    private void leaderChanged(String leader) {
        LOG.info("Raft leader is now {}", leader);
        metrics.incr("consul.raft.leader.changes");
        if (config.nodeName.equals(leader)) metrics.incr("consul.raft.state.leader");
    }

    /** The gauges read at each /v1/agent/metrics: blocked queries, sessions, members, leadership. */
    private void registerGauges() {
        metrics.gauge("consul.rpc.queries_blocking", Map.of(), this::parkedWatchers);
        metrics.gauge("consul.session_ttl.active", Map.of(), () -> {
            StateStore s = store;
            return s == null ? 0 : s.sessions(x -> true).value().size();
        });
        metrics.gauge("consul.server.isLeader", Map.of(), () -> raft != null && raft.isLeader() ? 1 : 0);
        metrics.gauge("consul.raft.leader.lastContact", Map.of(), () -> raft == null ? 0 : raft.lastContactMillis());
        for (Member.Status st : Member.Status.values()) {
            metrics.gauge("consul.serf.members", Map.of("status", st.name().toLowerCase(java.util.Locale.ROOT)),
                    () -> membership.members().stream().filter(m -> m.status() == st).count());
        }
        metrics.gauge("consul.members.servers", Map.of(), () -> membership.members().stream()
                .filter(m -> m.isServer() && m.status() == Member.Status.ALIVE).count());
        metrics.gauge("consul.members.clients", Map.of(), () -> membership.members().stream()
                .filter(m -> m.isAgent() && !m.isServer() && m.status() == Member.Status.ALIVE).count());
        metrics.gauge("consul.runtime.alloc_bytes", Map.of(), () -> Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory());
        metrics.gauge("consul.runtime.num_goroutines", Map.of(), Thread::activeCount);
    }

    private static void safely(Runnable r) {
        try { r.run(); } catch (RuntimeException e) { LOG.warn("periodic task failed", e); }
    }

    private void antiEntropyTick() {
        safely(antiEntropy::tick);
    }

    /** Where this agent's own catalog writes go: itself on a server, a server on a client. */
    private Optional<String> serverHttpForAgent() {
        if (!config.server) return anyServerHttp();
        if (raft == null) return Optional.empty();
        if (http.port() > 0) return Optional.of("http://" + loopbackFor(config.clientAddr) + ":" + http.port());
        return Optional.of("https://" + loopbackFor(config.clientAddr) + ":" + http.httpsPort());
    }

    /**
     * The base URL of another agent's HTTP API: https://addr:https_port when it serves HTTPS and this agent has a CA
     * to verify it with (its certificate is presented too, for an agent with verify_incoming), else http://addr:http_port;
     * empty when neither is possible.
     */
    public Optional<String> httpBase(Member m) {
        if (m.httpsPort() > 0 && tls.canVerifyPeers()) return Optional.of("https://" + m.addr() + ":" + m.httpsPort());
        if (m.httpPort() > 0) return Optional.of("http://" + m.addr() + ":" + m.httpPort());
        return Optional.empty();
    }

    private static String loopbackFor(String addr) {
        return addr.equals("0.0.0.0") ? "127.0.0.1" : addr;
    }

    /** An alive server's HTTP API base URL (random among them), for a client agent to forward to. */
    public Optional<String> anyServerHttp() {
        List<String> servers = membership.members().stream().filter(m -> m.isServer() && m.status() == Member.Status.ALIVE)
                .map(this::httpBase).flatMap(Optional::stream).toList();
        if (servers.isEmpty()) return Optional.empty();
        return Optional.of(servers.get(ThreadLocalRandom.current().nextInt(servers.size())));
    }

    private Optional<String> leaderHttp() {
        RaftNode r = raft;
        if (r == null) return Optional.empty();
        Optional<String> leader = r.leaderName();
        return leader.flatMap(name -> membership.members().stream().filter(m -> m.name().equals(name)).findFirst())
                .flatMap(this::httpBase);
    }

    /** Serf's events, off the gossip thread: member events go to the handlers; user events through Consul's filters first. */
    private void gossipEvent(SerfEvent e) {
        if (e instanceof SerfEvent.User u) {
            userEvents.receive(u.name(), u.payload(), u.ltime()).ifPresent(ev -> {
                LOG.info("user event {} ({}), ltime {}", ev.name(), ev.id(), ev.ltime());
                scripts.accept(new SerfEvent.User(ev.ltime(), ev.name(), ev.payload() == null ? new byte[0] : ev.payload(), u.coalesce()));
            });
        } else {
            scripts.accept(e);
        }
    }

    /** Serf's limit on a user event's name plus payload (Consul's envelope included). */
    public static final int USER_EVENT_LIMIT = 512;

    /**
     * Fires a user event to the pool as Consul does (Consul's envelope in a Serf user event named consul:event:NAME).
     * IllegalArgumentException, with nothing sent, when the request is invalid or too large.
     */
    public UserEvents.Event fireEvent(String name, byte[] payload, String nodeFilter, String serviceFilter, String tagFilter) {
        UserEvents.Event e = UserEvents.newEvent(name, payload, nodeFilter, serviceFilter, tagFilter);
        String serfName = UserEvents.serfName(e);
        byte[] envelope = UserEvents.encode(e);
        int size = serfName.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + envelope.length;
        if (size > USER_EVENT_LIMIT) {
            throw new IllegalArgumentException("user event exceeds the " + USER_EVENT_LIMIT + "-byte limit: name, payload ("
                    + (payload == null ? 0 : payload.length) + " bytes) and filters take " + size + " bytes encoded");
        }
        membership.userEvent(serfName, envelope, false);
        return e;
    }

    public UserEvents userEvents() { return userEvents; }

    public AgentConfig config() { return config; }
    /** The token resolver every HTTP route and DNS answer is checked with (never null). */
    public io.failoverkit.discovery.acl.TokenResolver acl() { return acl; }
    /**
     * What DNS answers with: the agent's default token's view (DNS carries no token), as Consul. A default token that
     * no longer exists sees nothing.
     */
    private io.failoverkit.discovery.acl.Authorizer dnsAuthorizer() {
        try {
            return acl.resolve(null).authorizer();
        } catch (io.failoverkit.discovery.acl.TokenResolver.AclNotFound e) {
            return io.failoverkit.discovery.acl.Authorizer.DENY_ALL;
        }
    }

    /** Installs the token resolver (the ACL system, once its state is available on this agent). */
    public void acl(io.failoverkit.discovery.acl.TokenResolver resolver) { this.acl = java.util.Objects.requireNonNull(resolver); }
    public String nodeName() { return config.nodeName; }
    public String nodeId() { return nodeId; }
    public Path dataDir() { return dataDir; }
    public Membership membership() { return membership; }
    public LocalState local() { return local; }
    public io.failoverkit.discovery.metrics.Metrics metrics() { return metrics; }
    public CheckRunner checks() { return checks; }
    public int httpPort() { return http.port(); }
    /** The HTTPS API port, -1 when this agent serves no HTTPS. */
    public int httpsPort() { return http.httpsPort(); }
    /** This agent's TLS (its files as last read). */
    public io.failoverkit.discovery.tls.AgentTls tls() { return tls; }
    /** The client this agent calls any other agent's HTTP API with, client agents included (its TLS included). */
    public java.net.http.HttpClient anyAgentHttp() { return anyAgentHttp; }
    /** This server's Raft node, once it has taken its seat (empty on a client agent). */
    public Optional<RaftNode> raftNode() { return Optional.ofNullable(raft); }
    public int dnsPort() { return dns.port(); }

    /** Timers queued on the agent's timer (blocking queries' waits among them), cancelled ones not counted. */
    public int queuedTimers() {
        return timer.getQueue().size();
    }

    /** Blocking queries parked on this server's state store right now. */
    public int parkedWatchers() {
        StateStore s = store;
        return s == null ? 0 : s.parkedCount();
    }

    public void localChanged() {
        checks.sync();
        antiEntropy.markDirty();
    }

    /**
     * Re-reads service and check definitions from the config files, and the TLS certificates, key and CA from their
     * files (SIGHUP, /v1/agent/reload). All or nothing: files that cannot be read, or a key that does not match its
     * certificate, change nothing. New TLS connections (HTTPS, Raft, calls to other agents) use the new certificates;
     * connections already open keep theirs until they close.
     */
    public synchronized void reload() throws IOException {
        Runnable tlsCommit = tls.hasKeyPair() || tls.canVerifyPeers() ? tls.prepareReload() : () -> { };
        config.reloadDefinitions();
        tlsCommit.run();
        local.replaceConfigDefinitions(config.services, config.checks);
        localChanged();
        http.reopenAudit();
        LOG.info("reloaded: {} services, {} checks from config files{}", config.services.size(), config.checks.size(),
                tls.hasKeyPair() ? "; TLS certificate serial " + tls.certificate().getSerialNumber().toString(16) : "");
    }

    public void leaveAsync() {
        Thread.ofPlatform().start(() -> {
            LOG.info("leaving the cluster gracefully");
            membership.leave();
            stopped.countDown();
        });
    }

    public void awaitStop() throws InterruptedException {
        stopped.await();
    }

    /** Why the agent stopped on its own (its server could not join the Raft group), or null: the program's exit code. */
    public Throwable fatal() {
        return fatal;
    }

    @Override
    public void close() {
        antiEntropy.close(); // first: a sync the timer's shutdown interrupts then pushes nothing more
        timer.shutdownNow();
        sessionTimer.shutdownNow();
        reconcileTimer.shutdownNow();
        checks.close();
        try { http.close(); } catch (Exception e) { LOG.debug("http close: {}", e.getMessage()); }
        try { dns.close(); } catch (IOException e) { LOG.debug("dns close: {}", e.getMessage()); }
        if (autopilot != null) autopilot.close();
        try { if (raft != null) raft.close(); } catch (IOException e) { LOG.debug("raft close: {}", e.getMessage()); }
        try { membership.close(); } catch (IOException e) { LOG.debug("membership close: {}", e.getMessage()); }
        scripts.close();
        if (ephemeralData) deleteTree(dataDir);
    }

    private static void deleteTree(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) { /* temp dir; best effort */ }
    }
}

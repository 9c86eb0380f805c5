package io.failoverkit.discovery.raft;

import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.testing.FreePorts;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.util.TimeDuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A ready leader hands its entries straight to its own Raft server (no client). Leadership moving away during a
 * burst of such writes (step-down before the append, after it, after the commit, before the reply) must neither lose
 * an acknowledged write nor apply one twice, nor report a write that was applied as refused: every retry carries the
 * entry's own client id and call id, which the new leader's retry cache recognises.
 */
class DirectWriteStepDownTest {
    @TempDir Path dir;

    private enum Outcome { OK, UNKNOWN, FAILED }

    private static Throwable rootOf(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        return t;
    }

    private static boolean unknown(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof RaftNode.OutcomeUnknownException || t instanceof TimeoutException) return true;
        }
        return false;
    }

    @Test
    void leadershipMovingDuringABurstOfDirectWritesLosesNoneAndAppliesNoneTwice() throws Exception {
        int[] ports = {FreePorts.next(), FreePorts.next(), FreePorts.next()};
        List<RaftNode.Peer> peers = new ArrayList<>();
        for (int i = 0; i < 3; i++) peers.add(new RaftNode.Peer("d" + i, "127.0.0.1:" + ports[i]));
        RaftNode[] nodes = new RaftNode[3];
        StateStore[] stores = new StateStore[3];
        RaftClient admin = null;
        var writers = Executors.newVirtualThreadPerTaskExecutor();
        try {
            for (int i = 0; i < 3; i++) {
                stores[i] = new StateStore(Executors.newVirtualThreadPerTaskExecutor());
                nodes[i] = RaftNode.start("d" + i, "127.0.0.1", ports[i], dir.resolve("d" + i).toFile(), peers, "dc1", 1_000_000, stores[i], x -> { });
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> leader(nodes) >= 0);
            // A ready leader: its writes take the direct path.
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                int l = leader(nodes);
                return l >= 0 && nodes[l].propose(put("warm", "x", null)).get(30, TimeUnit.SECONDS).isOk();
            });

            RaftProperties props = new RaftProperties();
            List<RaftPeer> raftPeers = peers.stream().map(p -> RaftPeer.newBuilder().setId(p.name()).setAddress(p.address()).build()).toList();
            admin = RaftClient.newBuilder().setProperties(props)
                    .setRaftGroup(RaftGroup.valueOf(RaftNode.groupIdFor("dc1"), raftPeers))
                    .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(3, TimeDuration.valueOf(200, TimeUnit.MILLISECONDS)))
                    .build();

            int writerCount = 12;
            AtomicBoolean stop = new AtomicBoolean();
            Map<String, Outcome> uniques = new ConcurrentHashMap<>();
            long[] casOk = new long[writerCount];
            long[] casUnknown = new long[writerCount];
            AtomicLong failedWrites = new AtomicLong();
            List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            List<java.util.concurrent.Future<?>> running = new ArrayList<>();
            for (int w = 0; w < writerCount; w++) {
                int id = w;
                running.add(writers.submit(() -> {
                    long n = 0;
                    while (!stop.get()) {
                        int l = leader(nodes);
                        RaftNode node = nodes[l < 0 ? id % 3 : l];
                        StateStore store = stores[l < 0 ? id % 3 : l];
                        boolean cas = (n & 1) == 1;
                        String key = cas ? "c/" + id : "u/" + id + "/" + n;
                        Command command;
                        if (cas) {
                            Model.KvEntry e = store.kvGet(key).value();
                            long value = e == null ? 0 : Long.parseLong(new String(e.value(), StandardCharsets.UTF_8));
                            command = put(key, Long.toString(value + 1), e == null ? 0L : e.modifyIndex());
                        } else {
                            command = put(key, "v", null);
                        }
                        n++;
                        Outcome outcome;
                        try {
                            ApplyResult r = node.propose(command).get(60, TimeUnit.SECONDS);
                            assertThat(r.isOk()).as("%s: %s", key, r).isTrue();
                            if (cas && Boolean.TRUE.equals(r.value())) casOk[id]++;
                            outcome = Outcome.OK;
                        } catch (ExecutionException e) {
                            outcome = unknown(e) ? Outcome.UNKNOWN : Outcome.FAILED;
                            if (cas && outcome == Outcome.UNKNOWN) casUnknown[id]++;
                            if (outcome == Outcome.FAILED) {
                                failedWrites.incrementAndGet();
                                if (failures.size() < 10) failures.add(key + ": " + rootOf(e));
                            }
                        }
                        if (!cas) uniques.put(key, outcome);
                    }
                    return null;
                }));
            }

            // Leadership moves several times while the writers write through whichever server leads.
            int moves = 0;
            long firstTerm = nodes[leader(nodes)].currentTerm();
            for (int round = 0; round < 8; round++) {
                Thread.sleep(800);
                int l = leader(nodes);
                if (l < 0) continue;
                RaftPeerId to = RaftPeerId.valueOf("d" + ((l + 1 + round % 2) % 3));
                try {
                    var reply = admin.admin().transferLeadership(to, 5_000);
                    if (reply.isSuccess()) moves++;
                } catch (java.io.IOException | RuntimeException e) {
                    System.out.println("transfer to " + to + " failed: " + e);
                }
            }
            Thread.sleep(500);
            stop.set(true);
            for (var f : running) f.get(120, TimeUnit.SECONDS);

            long directEntries = 0, directRetries = 0;
            for (RaftNode node : nodes) {
                directEntries += node.directEntries();
                directRetries += node.directRetries();
            }
            long ok = uniques.values().stream().filter(o -> o == Outcome.OK).count();
            long unknown = uniques.values().stream().filter(o -> o == Outcome.UNKNOWN).count();
            System.out.printf("leadership moved %d times (term %d -> %d); unique keys %d ok / %d unknown / %d failed; "
                            + "direct entries %d, retried %d times; CAS ok %d, unknown %d; failures %s%n",
                    moves, firstTerm, nodes[Math.max(0, leader(nodes))].currentTerm(), ok, unknown, uniques.size() - ok - unknown,
                    directEntries, directRetries, java.util.Arrays.stream(casOk).sum(), java.util.Arrays.stream(casUnknown).sum(), failures);
            assertThat(moves).as("leadership moved during the burst").isGreaterThanOrEqualTo(3);
            assertThat(directEntries).as("writes took the direct path").isPositive();
            assertThat(directRetries).as("direct entries were caught by a step-down and retried under their call id").isPositive();
            assertThat(ok).isGreaterThan(100);

            // Every server converges on the same state: a last write, seen everywhere.
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                int now = leader(nodes);
                return now >= 0 && nodes[now].propose(put("end", "x", null)).get(30, TimeUnit.SECONDS).isOk();
            });
            await().atMost(Duration.ofSeconds(60)).until(() -> List.of(stores).stream().allMatch(s -> s.kvGet("end").value() != null));
            await().atMost(Duration.ofSeconds(60)).until(() -> java.util.Arrays.stream(stores)
                    .map(s -> s.kvList("").value().stream().map(e -> e.key() + "@" + e.createIndex() + "/" + e.modifyIndex()).toList())
                    .distinct().count() == 1);

            for (int s = 0; s < 3; s++) {
                Map<String, Model.KvEntry> byKey = new java.util.HashMap<>();
                for (Model.KvEntry e : stores[s].kvList("u/").value()) byKey.put(e.key(), e);
                for (var e : uniques.entrySet()) {
                    Model.KvEntry kv = byKey.get(e.getKey());
                    if (e.getValue() == Outcome.OK) assertThat(kv).as("acknowledged write %s on server %d", e.getKey(), s).isNotNull();
                    if (kv != null) {
                        // Applied once: a second application of the same PUT would have moved its ModifyIndex.
                        assertThat(kv.modifyIndex()).as("%s applied once (server %d)", e.getKey(), s).isEqualTo(kv.createIndex());
                    }
                }
                assertThat(uniques.keySet()).as("no key that was never written").containsAll(byKey.keySet());
                for (int w = 0; w < writerCount; w++) {
                    Model.KvEntry c = stores[s].kvGet("c/" + w).value();
                    long value = c == null ? 0 : Long.parseLong(new String(c.value(), StandardCharsets.UTF_8));
                    // Each CAS acknowledged true moved the counter by one; an unknown one may have, once. A CAS
                    // applied twice, or answered "false" although applied, would put the counter above this.
                    assertThat(value).as("counter c/%d on server %d", w, s)
                            .isBetween(casOk[w], casOk[w] + casUnknown[w]);
                }
            }
        } finally {
            writers.shutdownNow();
            if (admin != null) admin.close();
            for (RaftNode node : nodes) if (node != null) node.close();
        }
    }

    private static Command put(String key, String value, Long cas) {
        return new Command.KvPut(key, value.getBytes(StandardCharsets.UTF_8), 0, cas, null, null, null);
    }

    private static int leader(RaftNode[] nodes) {
        for (int i = 0; i < nodes.length; i++) if (nodes[i] != null && nodes[i].isLeader()) return i;
        return -1;
    }
}

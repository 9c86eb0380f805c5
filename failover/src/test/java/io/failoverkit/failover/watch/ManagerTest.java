package io.failoverkit.failover.watch;

import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.cluster.Timings;
import io.failoverkit.failover.fake.FakeDiscovery;
import io.failoverkit.failover.fake.FakeServers;
import io.failoverkit.failover.topology.InstanceState.Role;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The HA cycle, branch by branch, against a fake discovery cluster and fake servers (as Patroni's test_ha.py): each
 * test asserts on the sentence the cycle returns and on the promises (never two writers, never a replication loop).
 */
class ManagerTest {
    static final String M = "10.0.0.1:6379";
    static final String R1 = "10.0.0.2:6379";
    static final String R2 = "10.0.0.3:6379";
    static final String NAME = "foo";

    @TempDir Path dir;
    final FakeDiscovery discovery = new FakeDiscovery();
    final List<FailoverRun.Outcome> outcomes = new ArrayList<>();

    static ClusterDefinition cluster(String kind, List<String> before) {
        return new ClusterDefinition(NAME, kind, List.of(M, R1, R2), NAME, null, null, null, null,
                new ClusterDefinition.Hooks(before, List.of(), 10_000), 600, null, null);
    }

    Manager manager(ClusterDefinition c, FakeServers s) {
        return new Manager(c, discovery, s, "test-manager", outcomes::add);
    }

    EpochStore epochs() { return new EpochStore(discovery, NAME); }

    /** A hook script that appends its trigger and reason to a file, so tests count its runs. */
    Path countingHook(Path log) throws Exception {
        Path hook = dir.resolve("hook-" + log.getFileName());
        Files.writeString(hook, "#!/bin/sh\necho \"$FAILOVER_TRIGGER|$FAILOVER_KIND|$FAILOVER_REASON\" >> '" + log + "'\n");
        hook.toFile().setExecutable(true);
        return hook;
    }

    static List<String> lines(Path p) throws Exception {
        return Files.exists(p) ? Files.readAllLines(p) : List.of();
    }

    void fileRequest(String id, String to) throws Exception {
        discovery.put(Promote.requestKey(NAME), "{\"id\":\"" + id + "\",\"to\":" + (to == null ? "null" : "\"" + to + "\"") + ",\"force\":false}");
    }

    @Test
    void aHealthyClusterRecordsEpochOneAndRegistersMasterAndLiveReplicas() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager m = manager(cluster("redis", List.of()), s);
        assertThat(m.cycle()).isEqualTo("master " + M + " is up");
        assertThat(m.isLeader()).isTrue();
        assertThat(epochs().read().state().epoch()).isEqualTo(1);
        assertThat(discovery.dns(NAME, "master")).containsExactly(M);
        assertThat(discovery.dns(NAME, "replica")).containsExactlyInAnyOrder(R1, R2);
    }

    @Test
    void aDeadMasterIsConfirmedOverTheConfiguredCyclesThenFailedOver() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        s.node(R2).offset = 990;
        Manager m = manager(cluster("redis", List.of()), s);
        m.cycle();
        s.kill(M);
        assertThat(m.cycle()).startsWith("master " + M + " unreachable (1/3)");
        assertThat(m.cycle()).startsWith("master " + M + " unreachable (2/3)");
        assertThat(m.cycle()).isEqualTo("failover to " + R1 + " done (epoch 2)");
        assertThat(s.writers()).containsExactly(R1);
        assertThat(s.node(R2).master).isEqualTo(R1);
        assertThat(s.violations).isEmpty();
        assertThat(discovery.dns(NAME, "master")).containsExactly(R1);
        assertThat(discovery.text("failover/foo/audit/2")).contains("detected in 3 observations in a row");
        assertThat(outcomes).hasSize(1);
        assertThat(m.cycle()).isEqualTo("master " + R1 + " is up");
    }

    @Test
    void anUnreadableSemiSyncRecordHoldsTheFailoverBackInsteadOfDroppingTheAcknowledgerRule() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager m = manager(cluster("redis", List.of()), s);
        m.cycle();
        discovery.put(SemiSyncRecorder.key(NAME), "{not json");
        s.kill(M);
        m.cycle();
        m.cycle();
        assertThat(m.cycle()).startsWith("NOT failing over: cannot read the semi-sync record");
        assertThat(s.writers()).isEmpty();
        discovery.delete(SemiSyncRecorder.key(NAME));
        assertThat(m.cycle()).isEqualTo("failover to " + R1 + " done (epoch 2)");
    }

    // Hole 9: the loop never dies from an exception.
    @Test
    void serversThatThrowFromEveryMethodNeverEndTheCycleOrTheLoop() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager m = manager(cluster("redis", List.of()), s);
        m.cycle();
        s.throwEverywhere = true;
        assertThat(m.cycle()).startsWith("cycle failed, going on: ").contains("fake servers throw");
        Thread loop = Thread.ofPlatform().start(() -> {
            try {
                m.run(System.nanoTime() + Duration.ofMillis(1500).toNanos());
            } catch (InterruptedException ignored) {
                // ends the test's loop
            }
        });
        loop.join(30_000);
        assertThat(loop.isAlive()).as("the loop ran to its deadline").isFalse();
        assertThat(discovery.sessions()).as("it resigned on the way out").isEmpty();
        s.throwEverywhere = false;
        Manager again = manager(cluster("redis", List.of()), s);
        assertThat(again.cycle()).isEqualTo("master " + M + " is up");
    }

    @Test
    void anUnreachableDiscoveryNodeMeansNotActing() {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        discovery.down = true;
        assertThat(manager(cluster("redis", List.of()), s).cycle()).startsWith("discovery unreachable, not acting");
        assertThat(s.calls).isEmpty();
    }

    @Test
    void aTokenThatLacksAPermissionMeansNotActingAndSaysWhy() {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        discovery.refusing = true;
        assertThat(manager(cluster("redis", List.of()), s).cycle()).startsWith("permission denied by the discovery node, not acting");
        assertThat(s.calls).isEmpty();
    }

    // Hole 5: a reachable master that takes no writes, nobody else writable.
    @Test
    void aMasterLeftFencedByAnAbortedFailoverIsReopenedWithAnAuditRecord() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager m = manager(cluster("redis", List.of()), s);
        m.cycle();
        s.node(M).fenced = true;
        assertThat(m.cycle()).contains("takes no writes").contains("(1/3)").doesNotContain("unreachable");
        assertThat(m.cycle()).contains("(2/3)");
        assertThat(m.cycle()).isEqualTo("re-opened " + M + " (epoch 2)");
        assertThat(s.writers()).containsExactly(M);
        assertThat(discovery.text("failover/foo/audit/2")).contains("holds every write");
        assertThat(m.cycle()).isEqualTo("master " + M + " is up");
    }

    @Test
    void aReadOnlyMasterBehindItsReplicasIsFailedOverFromNotReopened() throws Exception {
        FakeServers s = FakeServers.cluster(false, M, R1, R2);
        Manager m = manager(cluster("mysql", List.of()), s);
        m.cycle();
        s.node(M).writable = false;
        s.node(R1).offset = 1010; // it holds writes the master lacks (the master lost them: restored from a backup)
        m.cycle();
        m.cycle();
        assertThat(m.cycle()).isEqualTo("failover to " + R1 + " done (epoch 2)");
        assertThat(s.calls).containsSubsequence("fence " + M, "promote " + R1);
        assertThat(s.writers()).containsExactly(R1);
        assertThat(s.violations).isEmpty();
    }

    // Holes 9 and 13: an operator's switchover takes the failover's path, fences before promoting, demotes after.
    @Test
    void aSwitchoverRequestStopsWritesFencesPromotesThenDemotesAndAnswersTheOperator() throws Exception {
        Path hookLog = dir.resolve("hooks.log");
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager m = manager(cluster("redis", List.of(countingHook(hookLog).toString())), s);
        m.cycle();
        fileRequest("r1", R1);
        assertThat(m.cycle()).isEqualTo("promote request served: switchover to " + R1 + " done (epoch 2)");
        assertThat(s.calls).containsSubsequence("stopWrites " + M, "fence " + M, "promote " + R1, "demote " + M, "repoint " + R2);
        assertThat(s.violations).as("no moment with two writers or a replication loop").isEmpty();
        assertThat(s.node(M).master).isEqualTo(R1);
        assertThat(s.writers()).containsExactly(R1);
        assertThat(discovery.text("failover/foo/promote-result/r1")).contains("\"success\":true");
        assertThat(lines(hookLog)).singleElement().asString().startsWith("operator|switchover|requested by an operator");
        assertThat(discovery.text("failover/foo/audit/2")).contains("requested by an operator");
    }

    @Test
    void aSwitchoverWhosePromotionFailsResumesWritesOnTheOldMasterAndStillAnswers() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager m = manager(cluster("redis", List.of()), s);
        m.cycle();
        s.failOn("promote", "*");
        fileRequest("r2", R1);
        String said = m.cycle();
        assertThat(said).startsWith("promote request served: FAILED: promoting " + R1 + " failed")
                .contains("epoch 3 names " + M + " again").contains("writes resumed on " + M).contains("the catalog names " + M + " again");
        assertThat(s.writers()).containsExactly(M);
        assertThat(s.violations).isEmpty();
        assertThat(epochs().read().state().master()).isEqualTo(M);
        assertThat(discovery.dns(NAME, "master")).containsExactly(M);
        assertThat(discovery.text("failover/foo/promote-result/r2")).contains("\"success\":false");
        assertThat(discovery.text(Promote.requestKey(NAME))).isNull();
        assertThat(m.cycle()).isEqualTo("master " + M + " is up");
        // The operator's failed switchover does not hold back the failover of a master that dies afterwards.
        s.heal("promote");
        s.kill(M);
        m.cycle();
        m.cycle();
        assertThat(m.cycle()).isEqualTo("failover to " + R1 + " done (epoch 4)");
    }

    @Test
    void aSwitchoverWhoseCandidateCannotCatchUpChangesNothing() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager m = manager(cluster("redis", List.of()), s);
        m.cycle();
        s.write(10);
        s.replicasFollow = false;
        s.node(M).offset += 5;
        fileRequest("r3", R1);
        assertThat(m.cycle()).contains("did not reach").contains("writes resumed on " + M);
        assertThat(s.calls).doesNotContain("fence " + M, "promote " + R1);
        assertThat(s.writers()).containsExactly(M);
        assertThat(epochs().read().state().epoch()).isEqualTo(1);
    }

    @Test
    void aFailingBeforeHookAbortsWithTheCatalogRestoredAndTheEpochUnchanged() throws Exception {
        Path hook = dir.resolve("fails");
        Files.writeString(hook, "#!/bin/sh\necho no way\nexit 3\n");
        hook.toFile().setExecutable(true);
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager m = manager(cluster("redis", List.of(hook.toString())), s);
        m.cycle();
        fileRequest("r4", R1);
        assertThat(m.cycle()).contains("before hook failed").contains("exited 3: no way").contains("the catalog names " + M + " again")
                .contains("nothing changed on the servers");
        assertThat(epochs().read().state().epoch()).isEqualTo(1);
        assertThat(discovery.dns(NAME, "master")).containsExactly(M);
    }

    // Hole 14: a failed automatic failover backs off; its hooks are not re-run a second later.
    @Test
    void aFailedFailoverBacksOffWithoutRerunningHooksAndAnOperatorCanStillPromote() throws Exception {
        Path hookLog = dir.resolve("before.log");
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager m = manager(cluster("redis", List.of(countingHook(hookLog).toString())), s);
        m.cycle();
        s.kill(M);
        s.failOn("promote", "*");
        m.cycle();
        m.cycle();
        assertThat(m.cycle()).startsWith("FAILED: promoting " + R1 + " failed");
        List<String> said = new ArrayList<>();
        for (int i = 0; i < 8; i++) said.add(m.cycle());
        assertThat(said).as("a fresh detection, then the backoff").startsWith("master " + M + " unreachable (1/3): connection refused")
                .anySatisfy(x -> assertThat(x).startsWith("NOT failing over yet: attempt ").contains("1 failed attempt(s) in a row"))
                .noneSatisfy(x -> assertThat(x).contains("FAILED"));
        assertThat(lines(hookLog)).hasSize(1);
        assertThat(outcomes).hasSize(1);
        assertThat(s.violations).isEmpty();
        s.heal("promote");
        fileRequest("r5", null);
        assertThat(m.cycle()).startsWith("promote request served: failover to " + R1 + " done");
        assertThat(lines(hookLog)).hasSize(2);
        assertThat(lines(hookLog).get(1)).startsWith("operator|failover|").contains("requested by an operator").doesNotContain("2147483647");
        assertThat(s.writers()).containsExactly(R1);
    }

    // Hole 14: the lease is renewed while a long action runs.
    @Test
    void aDrainLongerThanTheLeaseValidityDoesNotLoseTheLock() throws Exception {
        ClusterDefinition c = cluster("redis", List.of());
        Timings t = new Timings(Duration.ofMillis(50), 3, Duration.ofMillis(10), Duration.ofSeconds(10), Duration.ofMillis(2600),
                Duration.ofMillis(300), Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofSeconds(5), Duration.ofSeconds(5),
                Duration.ofSeconds(1), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(8));
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager m = new Manager(c, discovery, s, "test-manager", outcomes::add, t);
        m.cycle();
        s.kill(M);
        s.drainTime = Duration.ofMillis(800);
        m.cycle();
        m.cycle();
        assertThat(m.cycle()).isEqualTo("failover to " + R1 + " done (epoch 2)");
    }

    // Hole 12: the catalog follows what is observed.
    @Test
    void theCatalogTagsReplicasOnlyWhileTheyReplicateAndNeverTheFencedOldPrimary() throws Exception {
        FakeServers s = FakeServers.cluster(false, M, R1, R2);
        Manager m = manager(cluster("mysql", List.of()), s);
        m.cycle();
        s.kill(M);
        m.cycle();
        m.cycle();
        assertThat(m.cycle()).isEqualTo("failover to " + R1 + " done (epoch 2)");
        assertThat(discovery.dns(NAME, "replica")).as("the dead old primary is no replica").containsExactly(R2);
        // It comes back writable: demoted (MySQL: fenced, left for rejoin), and still no replica.
        s.node(M).reachable = true;
        assertThat(m.cycle()).contains("split brain").contains("fenced and demoted " + M);
        assertThat(s.writers()).containsExactly(R1);
        assertThat(m.cycle()).isEqualTo("master " + R1 + " is up");
        assertThat(discovery.dns(NAME, "replica")).containsExactly(R2);
        // A replica that stops replicating drops out of DNS, and comes back when it replicates again.
        s.node(R2).linkUp = false;
        m.cycle();
        assertThat(discovery.dns(NAME, "replica")).isEmpty();
        s.node(R2).linkUp = true;
        m.cycle();
        assertThat(discovery.dns(NAME, "replica")).containsExactly(R2);
        // After a rejoin the old primary replicates and is registered as a replica.
        s.repoint(M, R1);
        m.cycle();
        assertThat(discovery.dns(NAME, "replica")).containsExactlyInAnyOrder(R2, M);
        assertThat(s.node(M).role).isEqualTo(Role.REPLICA);
    }

    @Test
    void aManagerWithoutTheLockDoesNothing() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager holder = manager(cluster("redis", List.of()), s);
        holder.cycle();
        Manager other = new Manager(cluster("redis", List.of()), discovery, s, "other", outcomes::add);
        s.calls.clear();
        assertThat(other.cycle()).startsWith("not the lock holder");
        assertThat(other.isLeader()).isFalse();
        assertThat(s.calls).isEmpty();
    }

    // Hole 9: a run that moved the epoch but never promoted (its manager lost the lock) is repaired by the next cycle.
    @Test
    void anEpochNamingAReplicaThatWasNeverPromotedIsRepaired() throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager m = manager(cluster("redis", List.of()), s);
        m.cycle();
        s.kill(M);
        EpochStore.Read e = epochs().read();
        epochs().bump(e, new io.failoverkit.failover.decide.StoredState(2, R1, System.currentTimeMillis(), false), List.of(), "test: half-done");
        assertThat(m.cycle()).startsWith("epoch 2 names " + R1 + ", which was never promoted (it replicates from " + M + ")")
                .contains("(1/3)");
        m.cycle();
        assertThat(m.cycle()).isEqualTo("failover to " + R1 + " done (epoch 3)");
        assertThat(s.writers()).containsExactly(R1);
        assertThat(s.violations).isEmpty();
    }
}

package io.failoverkit.failover.mysql;

import io.failoverkit.failover.topology.GtidSet;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.InstanceState.Role;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The parts of MySqlServers that need no server: semi-sync reporting, errant transactions, divergence. */
class MySqlServersTest {
    @Test
    void semiSyncIsReportedUnderBothNamingSchemesAndAFallbackIsLoud() {
        assertThat(MySqlServers.describeSemiSync(Map.of())).isEmpty();
        String maria = MySqlServers.describeSemiSync(Map.of("rpl_semi_sync_master_enabled", "ON", "rpl_semi_sync_slave_enabled", "ON",
                "rpl_semi_sync_master_status", "ON", "rpl_semi_sync_master_clients", "2", "rpl_semi_sync_master_yes_tx", "10", "rpl_semi_sync_master_no_tx", "0"));
        assertThat(maria).contains("master=ON status=ON clients=2 acked_tx=10").doesNotContain("FELL BACK");
        String mysql = MySqlServers.describeSemiSync(Map.of("rpl_semi_sync_source_enabled", "ON", "rpl_semi_sync_source_status", "OFF",
                "rpl_semi_sync_source_clients", "0", "rpl_semi_sync_source_yes_tx", "3", "rpl_semi_sync_source_no_tx", "5"));
        assertThat(mysql).contains("status=OFF").contains("FELL BACK TO ASYNC");
        assertThat(MySqlServers.describeSemiSync(Map.of("rpl_semi_sync_replica_enabled", "ON", "rpl_semi_sync_replica_status", "ON")))
                .isEqualTo("semi-sync replica=ON status=ON");
        assertThat(MySqlServers.describeSemiSync(Map.of("rpl_semi_sync_master_enabled", "OFF", "rpl_semi_sync_slave_enabled", "OFF"))).isEqualTo("semi-sync off");
    }

    @Test
    void aStalledStrictPrimaryAndAFiniteTimeoutAreNamed() {
        String stalled = MySqlServers.describeSemiSync(Map.of("rpl_semi_sync_master_enabled", "ON", "rpl_semi_sync_master_status", "ON",
                "rpl_semi_sync_master_clients", "0", "rpl_semi_sync_master_wait_sessions", "3", "rpl_semi_sync_master_timeout", "4294967295"));
        assertThat(stalled).contains("waiting=3").contains("STALLED: 3 commit(s)").doesNotContain("FINITE");
        String finite = MySqlServers.describeSemiSync(Map.of("rpl_semi_sync_source_enabled", "ON", "rpl_semi_sync_source_status", "ON",
                "rpl_semi_sync_source_clients", "2", "rpl_semi_sync_source_wait_sessions", "0", "rpl_semi_sync_source_timeout", "10000"));
        assertThat(finite).contains("timeout=10000ms").contains("FINITE TIMEOUT").doesNotContain("STALLED");
        assertThat(MySqlServers.describeSemiSync(Map.of("rpl_semi_sync_master_enabled", "ON", "rpl_semi_sync_master_status", "ON",
                "rpl_semi_sync_master_clients", "1", "rpl_semi_sync_master_wait_sessions", "1"))).as("waiting with an acker connected is normal")
                .doesNotContain("STALLED");
    }

    @Test
    void semiSyncMasterSideFollowsTheRole() {
        Map<String, String> replica = Map.of("rpl_semi_sync_master_enabled", "OFF", "rpl_semi_sync_slave_enabled", "ON");
        assertThat(MySqlServers.semiSyncSwitch(replica, true)).as("promoted in a semi-sync cluster").isEqualTo("rpl_semi_sync_master_enabled");
        assertThat(MySqlServers.semiSyncSwitch(replica, false)).isNull();
        Map<String, String> oldPrimary = Map.of("rpl_semi_sync_source_enabled", "ON", "rpl_semi_sync_replica_enabled", "ON");
        assertThat(MySqlServers.semiSyncSwitch(oldPrimary, false)).as("re-pointed: it must not wait for acks of what it applies").isEqualTo("rpl_semi_sync_source_enabled");
        assertThat(MySqlServers.semiSyncSwitch(Map.of("rpl_semi_sync_master_enabled", "OFF", "rpl_semi_sync_slave_enabled", "OFF"), true))
                .as("an asynchronous cluster stays asynchronous").isNull();
        assertThat(MySqlServers.semiSyncSwitch(Map.of(), true)).as("no semi-sync plugin").isNull();
    }

    @Test
    void mariaDbErrantTransactionsAreLocalWritesPastWhatWasReplicated() {
        assertThat(MySqlServers.mariaDbErrant("0-1-100", "0-1-100", 2)).as("everything from the master").isNull();
        assertThat(MySqlServers.mariaDbErrant("0-2-101", "0-1-100", 2)).isEqualTo("0-2-101");
        assertThat(MySqlServers.mariaDbErrant("0-1-100,5-2-3", "0-1-100", 2)).as("a local write in another domain").isEqualTo("5-2-3");
        assertThat(MySqlServers.mariaDbErrant("0-2-50", "0-2-50", 2)).as("a former primary whose own GTIDs were demoted into slave_pos").isNull();
    }

    @Test
    void mariaDbDivergenceIsAGtidTheMasterNeverLogged() {
        assertThat(MySqlServers.mariaDbDiverged("0-1-8", "0-1-8,0-2-9")).isNull();
        assertThat(MySqlServers.mariaDbDiverged("0-1-9", "0-1-8,0-2-9")).as("same sequence, another server").contains("0-1-9");
        assertThat(MySqlServers.mariaDbDiverged("0-1-9", "0-2-12")).contains("0-1-9");
        assertThat(MySqlServers.mariaDbDiverged("", "0-2-12")).isNull();
    }

    @Test
    void mySqlErrantTransactionsAreOwnUuidTransactionsTheMasterLacks() {
        String masterUuid = "11111111-1111-1111-1111-111111111111";
        String replicaUuid = "22222222-2222-2222-2222-222222222222";
        try (MySqlServers s = new MySqlServers(250, "u", null, "r", null)) {
            InstanceState master = new InstanceState("m:1", true, null, Role.MASTER, true, null, false, GtidSet.parseMySql(masterUuid + ":1-10"), 1, true, "");
            InstanceState clean = new InstanceState("r:1", true, null, Role.REPLICA, false, "m:1", true, GtidSet.parseMySql(masterUuid + ":1-10"), 0, true, "");
            InstanceState errant = new InstanceState("r:2", true, null, Role.REPLICA, false, "m:1", true,
                    GtidSet.parseMySql(masterUuid + ":1-10," + replicaUuid + ":1-2"), 0, true, "");
            s.rememberServerUuid("r:1", "33333333-3333-3333-3333-333333333333");
            s.rememberServerUuid("r:2", replicaUuid);
            List<InstanceState> out = s.markErrant(List.of(master, clean, errant));
            assertThat(out.get(1).position().blocker()).isNull();
            assertThat(out.get(2).position().blocker()).contains("errant").contains(replicaUuid + ":1-2");

            // The master gone: its own transactions that no other member holds.
            InstanceState down = InstanceState.unreachable("m:1", "refused");
            List<InstanceState> dead = s.markErrant(List.of(down, clean, errant));
            assertThat(dead.get(2).position().blocker()).contains(replicaUuid);
        }
    }

    // --- issue 9 hole 1: a replica that has not applied what it received is not caught up -----------------------

    private static InstanceState replicaAt(GtidSet p) {
        return new InstanceState("r:1", true, null, Role.REPLICA, false, "m:1", false, p, 0, true, "io=No sql=No");
    }

    @Test
    void aReplicaThatReceivedMoreThanItAppliedIsBlockedAndHoldsWhatItReceived() {
        InstanceState s = MySqlServers.notCaughtUp(replicaAt(GtidSet.parseMariaDb("0-1-20")),
                new MySqlServers.Applied(null, "not applied within 10.0 s", "0-1-25"));
        assertThat(s.position().blocker()).contains("received 0-1-25 but applied only 0-1-20").contains("not applied within 10.0 s");
        assertThat(s.position().covers(GtidSet.parseMariaDb("0-1-25"))).as("no candidate lacking 21-25 covers it").isTrue();
        assertThat(s.detail()).contains("NOT CAUGHT UP");
    }

    @Test
    void aCaughtUpReplicaIsUnchangedAndAStartedSqlThreadIsSaid() {
        InstanceState before = replicaAt(GtidSet.parseMariaDb("0-1-25"));
        InstanceState s = MySqlServers.notCaughtUp(before, new MySqlServers.Applied("its SQL thread was stopped without an error: started it", null, "0-1-25"));
        assertThat(s.position().blocker()).isNull();
        assertThat(s.position()).isEqualTo(before.position());
        assertThat(s.detail()).contains("started it");
        assertThat(MySqlServers.notCaughtUp(before, new MySqlServers.Applied(null, null, null))).isEqualTo(before);
    }

    @Test
    void mySqlUnappliedIsTheRetrievedSetMinusTheExecutedOneAndErrantBlockersAreKept() {
        String u = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
        InstanceState errant = replicaAt(GtidSet.parseMySql(u + ":1-10").withBlocker("errant transactions x"));
        InstanceState s = MySqlServers.notCaughtUp(errant, new MySqlServers.Applied(null, "SQL thread stopped with error 1062", u + ":5-12"));
        assertThat(s.position().blocker()).startsWith("errant transactions x; received " + u + ":5-12 but applied only " + u + ":1-10");
        assertThat(((GtidSet) s.position()).gtidText()).isEqualTo(u + ":1-12");
    }

    // --- issue 9 hole 2: who can acknowledge the master's commits --------------------------------------------------

    @Test
    void acknowledgersAreReplicasOfTheMasterWithTheReplicaSideOnOrMembersWhoseSettingIsUnknown() {
        InstanceState master = new InstanceState("m:1", true, null, Role.MASTER, true, null, false, GtidSet.parseMariaDb("0-1-5"), 2, true, "");
        InstanceState on = new InstanceState("r:1", true, null, Role.REPLICA, false, "m:1", true, GtidSet.parseMariaDb("0-1-5"), 0, true, "");
        InstanceState off = new InstanceState("r:2", true, null, Role.REPLICA, false, "m:1", true, GtidSet.parseMariaDb("0-1-5"), 0, true, "");
        InstanceState down = InstanceState.unreachable("r:3", "timeout");
        InstanceState fencedOld = new InstanceState("r:4", true, null, Role.MASTER, false, null, false, GtidSet.parseMariaDb("0-1-4"), 0, true, "");
        Map<String, Map<String, String>> seen = Map.of(
                "m:1", Map.of("rpl_semi_sync_master_enabled", "ON", "rpl_semi_sync_master_status", "ON"),
                "r:1", Map.of("rpl_semi_sync_slave_enabled", "ON"), "r:2", Map.of("rpl_semi_sync_slave_enabled", "OFF"),
                "r:4", Map.of("rpl_semi_sync_slave_enabled", "ON"));
        var t = new io.failoverkit.failover.topology.Topology(List.of(master, on, off, down, fencedOld));
        var s = MySqlServers.semiSync(seen, t, "m:1", 42).orElseThrow();
        assertThat(s.enabled()).isTrue();
        assertThat(s.active()).isTrue();
        assertThat(s.ackers()).containsExactly("r:1", "r:3");
        assertThat(s.updatedAtMillis()).isEqualTo(42);
        var fellBack = MySqlServers.semiSync(Map.of("m:1", Map.of("rpl_semi_sync_source_enabled", "ON", "rpl_semi_sync_source_status", "OFF")), t, "m:1", 1).orElseThrow();
        assertThat(fellBack.enabled()).isTrue();
        assertThat(fellBack.active()).isFalse();
        assertThat(MySqlServers.semiSync(Map.of(), t, "m:1", 1)).as("the master's own settings unknown").isEmpty();
    }

    /**
     * The drill's shutdown (issue 11): an interrupt that lands while observeAll waits is kept for the caller's loop (the
     * old code swallowed it, the loop went on past its join and then hit the closed pool), and a closed MySqlServers
     * answers "unreachable" instead of throwing RejectedExecutionException from its shut-down observer pool.
     */
    @Test
    void observeAllKeepsAnInterruptAndAnswersAfterClose() throws Exception {
        List<String> nobody = List.of("127.0.0.1:" + io.failoverkit.failover.drill.LocalProcesses.freePort(),
                "127.0.0.1:" + io.failoverkit.failover.drill.LocalProcesses.freePort());
        MySqlServers servers = new MySqlServers(500, "u", null, "r", null);
        try {
            Thread.currentThread().interrupt();
            var t = servers.observeAll(nobody);
            assertThat(Thread.interrupted()).as("the interrupt is still set after observeAll").isTrue();
            assertThat(t.instances()).hasSize(2).noneMatch(InstanceState::reachable);
        } finally {
            Thread.interrupted();
            servers.close();
        }
        var after = servers.observeAll(nobody);
        assertThat(after.instances()).hasSize(2).allMatch(i -> !i.reachable() && i.error().contains("closed"));
        assertThat(servers.observe(nobody.get(0)).error()).contains("closed");
    }
}

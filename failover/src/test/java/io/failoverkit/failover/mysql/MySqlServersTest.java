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
}

package io.failoverkit.failover.mysql;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The SQL failoverkit sends, per flavor. MariaDB's is also run against real servers by the drills; MySQL 8.0/8.4
 * cannot run on this machine (no package, no image), so its statements are checked here against the MySQL manual:
 * CHANGE REPLICATION SOURCE TO (8.0.23+, the only form in 8.4), SHOW REPLICA STATUS and Replica_/Source_ columns
 * (8.0.22+), super_read_only, WAIT_FOR_EXECUTED_GTID_SET.
 */
class FlavorTest {
    @Test
    void versionsAreParsedFromSelectVersionNotFromDriverMetadata() {
        Flavor m = Flavor.parse("10.11.19-MariaDB-0+deb12u1-log");
        assertThat(m.mariadb()).isTrue();
        assertThat(m.describe()).isEqualTo("MariaDB 10.11.19");
        assertThat(Flavor.parse("5.5.5-10.11.19-MariaDB").describe()).isEqualTo("MariaDB 10.11.19");
        assertThat(Flavor.parse("8.4.3").describe()).isEqualTo("MySQL 8.4.3");
        assertThat(Flavor.parse("8.0.36-log").mariadb()).isFalse();
        assertThatThrownBy(() -> Flavor.parse("banana")).hasMessageContaining("banana");
    }

    @Test
    void oldServersAreRefusedWithTheReason() {
        assertThat(Flavor.parse("10.11.19-MariaDB").unsupported()).isNull();
        assertThat(Flavor.parse("10.5.2-MariaDB").unsupported()).contains("10.6");
        assertThat(Flavor.parse("8.0.23").unsupported()).isNull();
        assertThat(Flavor.parse("8.0.22").unsupported()).contains("8.0.23");
        assertThat(Flavor.parse("5.7.44").unsupported()).contains("8.0.23");
    }

    @Test
    void mariaDbStatements() {
        Flavor f = Flavor.parse("10.11.19-MariaDB");
        assertThat(f.replicaStatus()).isEqualTo("SHOW SLAVE STATUS");
        assertThat(f.column("Replica_IO_Running")).isEqualTo("Slave_IO_Running");
        assertThat(f.column("Seconds_Behind_Source")).isEqualTo("Seconds_Behind_Master");
        assertThat(f.setReadOnly()).containsExactly("SET GLOBAL read_only=1");
        assertThat(f.waitForGtid()).isEqualTo("SELECT MASTER_GTID_WAIT(?, ?)");
        assertThat(f.netTimeoutQuery()).isEqualTo("SELECT @@GLOBAL.slave_net_timeout");
        assertThat(f.changeSource("10.0.0.1", 3307, "repl", "p'w\\d", false)).isEqualTo(
                "CHANGE MASTER TO MASTER_HOST='10.0.0.1', MASTER_PORT=3307, MASTER_USER='repl', MASTER_PASSWORD='p''w\\\\d', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1");
        assertThat(f.changeSource("h", 1, "r", null, true)).contains("MASTER_DEMOTE_TO_SLAVE=1").doesNotContain("PASSWORD");
    }

    @Test
    void mySql84Statements() {
        Flavor f = Flavor.parse("8.4.3");
        assertThat(f.replicaStatus()).isEqualTo("SHOW REPLICA STATUS");
        assertThat(f.stopReplica()).isEqualTo("STOP REPLICA");
        assertThat(f.resetReplicaAll()).isEqualTo("RESET REPLICA ALL");
        assertThat(f.column("Replica_IO_Running")).isEqualTo("Replica_IO_Running");
        assertThat(f.column("Source_Host")).isEqualTo("Source_Host");
        assertThat(f.setReadOnly()).containsExactly("SET GLOBAL super_read_only=1");
        assertThat(f.setWritable()).containsExactly("SET GLOBAL super_read_only=0", "SET GLOBAL read_only=0");
        assertThat(f.positionQuery()).contains("gtid_executed").contains("gtid_mode");
        assertThat(f.waitForGtid()).isEqualTo("SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?)");
        assertThat(f.netTimeoutQuery()).isEqualTo("SELECT @@GLOBAL.replica_net_timeout");
        assertThat(f.changeSource("db2", 3306, "repl", "pw", true)).isEqualTo(
                "CHANGE REPLICATION SOURCE TO SOURCE_HOST='db2', SOURCE_PORT=3306, SOURCE_USER='repl', SOURCE_PASSWORD='pw', SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1, SOURCE_CONNECT_RETRY=1");
        assertThat(f.changeSource("db2", 3306, "repl", "pw", true)).doesNotContain("MASTER_");
    }

    @Test
    void mySql80BeforeTheRenamesUsesTheOldStatusNames() {
        Flavor f = Flavor.parse("8.0.21");
        assertThat(f.replicaStatus()).isEqualTo("SHOW SLAVE STATUS");
        assertThat(f.column("Replica_SQL_Running")).isEqualTo("Slave_SQL_Running");
        assertThat(Flavor.parse("8.0.22").replicaStatus()).isEqualTo("SHOW REPLICA STATUS");
    }

    @Test
    void fencingKillsClientsButNotReplication() {
        String q = Flavor.parse("8.4.0").clientConnections();
        assertThat(q).contains("ID <> CONNECTION_ID()").contains("'Binlog Dump GTID'").contains("'system user'");
    }

    @Test
    void drainingAndPromotingStatementsFollowTheManuals() {
        Flavor maria = Flavor.parse("10.11.19-MariaDB");
        assertThat(maria.startSqlThread()).isEqualTo("START SLAVE SQL_THREAD");
        assertThat(maria.startIoThread()).isEqualTo("START SLAVE IO_THREAD");
        assertThat(maria.receivedColumn()).isEqualTo("Gtid_IO_Pos");
        // MASTER_GTID_WAIT: 0 applied, -1 timed out, NULL an error.
        assertThat(maria.waitProblem(0L, 10)).isNull();
        assertThat(maria.waitProblem(-1L, 10)).contains("not applied within 10.0 s");
        assertThat(maria.waitProblem(null, 10)).contains("MASTER_GTID_WAIT returned NULL");
        assertThat(maria.readOnlyQuery()).isEqualTo("SELECT @@GLOBAL.read_only+0");

        Flavor mysql = Flavor.parse("8.4.3");
        assertThat(mysql.startSqlThread()).isEqualTo("START REPLICA SQL_THREAD");
        assertThat(mysql.startIoThread()).isEqualTo("START REPLICA IO_THREAD");
        assertThat(mysql.receivedColumn()).isEqualTo("Retrieved_Gtid_Set");
        // WAIT_FOR_EXECUTED_GTID_SET: 0 applied, 1 timed out.
        assertThat(mysql.waitProblem(0L, 10)).isNull();
        assertThat(mysql.waitProblem(1L, 10)).contains("not applied within");
        assertThat(mysql.waitProblem(null, 10)).contains("WAIT_FOR_EXECUTED_GTID_SET returned NULL");
        // Writable unless super_read_only: read_only alone lets SUPER / CONNECTION_ADMIN holders write.
        assertThat(mysql.readOnlyQuery()).isEqualTo("SELECT @@GLOBAL.super_read_only+0");
    }
}

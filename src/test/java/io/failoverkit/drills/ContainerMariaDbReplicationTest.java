package io.failoverkit.drills;

import io.failoverkit.failover.drill.containers.ContainerMariaDb;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The container half of the MariaDB lab works: a primary and a replica, each mariadbd in its own container on
 * loopback, replicate a row by GTID; a frozen (SIGSTOP) primary is noticed by the replica within seconds and catches up
 * after SIGCONT; a killed (SIGKILL) primary restarted on its own datadir still holds its data and serves the replica again.
 */
@ExtendWith(LabUnavailableSkips.class)
class ContainerMariaDbReplicationTest {
    private static final List<String> GTID = List.of("--log-bin=mysql-bin", "--relay-log=relay-bin", "--log-slave-updates",
            "--binlog-format=ROW", "--gtid-strict-mode=1", "--slave-net-timeout=2");

    @TempDir Path dir;

    @Test
    void primaryAndReplicaInContainersReplicateByGtidAndSurviveFreezeAndKill() throws Exception {
        try (ContainerMariaDb primary = new ContainerMariaDb(dir.resolve("primary.log"), DiscoveryLab.freePort(), 1);
             ContainerMariaDb replica = new ContainerMariaDb(dir.resolve("replica.log"), DiscoveryLab.freePort(), 2)) {
            primary.start(GTID);
            replica.start(GTID);
            String password = UUID.randomUUID().toString();   // only ever inside SQL files, never in a command line
            primary.sql("CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY '" + password + "';"
                    + "GRANT REPLICATION SLAVE, REPLICATION CLIENT, SLAVE MONITOR, BINLOG MONITOR ON *.* TO 'repl'@'127.0.0.1';");
            replica.sql("CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=" + primary.port + ", MASTER_USER='repl', MASTER_PASSWORD='" + password
                    + "', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD=0.5; START SLAVE;");

            String gtid = primary.sql("CREATE DATABASE lab; CREATE TABLE lab.t (id INT PRIMARY KEY, v VARCHAR(40));"
                    + "INSERT INTO lab.t VALUES (1, 'written on the primary'); SELECT @@gtid_binlog_pos;");
            assertThat(replica.sql("SELECT MASTER_GTID_WAIT('" + gtid + "', 20);")).as("replica applied " + gtid).isEqualTo("0");
            assertThat(replica.sql("SELECT v FROM lab.t WHERE id = 1;")).isEqualTo("written on the primary");
            Map<String, String> status = replica.replicaStatus();
            assertThat(status).containsEntry("Slave_IO_Running", "Yes").containsEntry("Slave_SQL_Running", "Yes")
                    .containsEntry("Using_Gtid", "Slave_Pos").containsEntry("Master_Port", Integer.toString(primary.port));
            assertThat(replica.sql("SELECT @@server_id;")).isEqualTo("2");

            // Frozen primary: the replica's IO thread gives up on it (slave_net_timeout 2 s), and catches up after the thaw.
            primary.freeze();
            try {
                assertThat(within(Duration.ofSeconds(20), () -> !"Yes".equals(replica.replicaStatus().get("Slave_IO_Running"))))
                        .as("replica notices the frozen primary").isTrue();
            } finally {
                primary.thaw();
            }
            primary.sql("INSERT INTO lab.t VALUES (2, 'after the thaw');");
            assertThat(within(Duration.ofSeconds(20), () -> replica.sql("SELECT COUNT(*) FROM lab.t;").equals("2"))).as("replica catches up after the thaw").isTrue();

            // Killed primary: the replica loses it; restarted on its datadir, it still has both rows and feeds the replica.
            primary.kill();
            assertThat(within(Duration.ofSeconds(10), () -> !"Yes".equals(replica.replicaStatus().get("Slave_IO_Running"))))
                    .as("replica notices the killed primary").isTrue();
            primary.start(GTID);
            assertThat(primary.sql("SELECT COUNT(*) FROM lab.t;")).isEqualTo("2");
            primary.sql("INSERT INTO lab.t VALUES (3, 'after the restart');");
            assertThat(within(Duration.ofSeconds(20), () -> replica.sql("SELECT v FROM lab.t WHERE id = 3;").equals("after the restart")))
                    .as("replica follows the restarted primary").isTrue();
            assertThat(replica.replicaStatus()).containsEntry("Slave_IO_Running", "Yes").containsEntry("Last_IO_Errno", "0");
        }
    }

    private static boolean within(Duration max, Callable<Boolean> condition) throws Exception {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            if (condition.call()) return true;
            Thread.sleep(100);
        }
        return condition.call();
    }
}

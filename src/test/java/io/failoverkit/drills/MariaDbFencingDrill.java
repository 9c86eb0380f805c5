package io.failoverkit.drills;

import io.failoverkit.failover.drill.LocalMariaDbLab;
import io.failoverkit.failover.drill.MariaDbLab;
import io.failoverkit.failover.drill.MariaDbLabRecipe;
import io.failoverkit.failover.drill.MySqlKillDrill;
import io.failoverkit.failover.mysql.MySqlServers;
import io.failoverkit.failover.topology.InstanceState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Incident (issue 9 hole 3): an application connects with an account holding READ ONLY ADMIN (granted "to be safe",
 * or through a role). MariaDB's read_only does not stop it, so an old primary fenced with read_only alone kept taking
 * its writes while failoverkit reported it "writable=false". A fence must stop every user, the observation must say
 * when someone could still write, and a re-point (failover rejoin) must give the accounts back. The manager runs
 * with the least-privileged account the README documents.
 */
class MariaDbFencingDrill {
    private static final MariaDbLab.Account BYPASS = new MariaDbLab.Account("rwadmin", "bypass-pw-1");
    private static final MariaDbLab.Account VIA_ROLE = new MariaDbLab.Account("viarole", "bypass-pw-2");

    @TempDir Path dir;

    @Test
    void aFencedOldPrimaryTakesNoWriteFromAnyUserAndARepointGivesTheAccountsBack() throws Exception {
        try (LocalMariaDbLab lab = new LocalMariaDbLab(dir, 1, false)) {
            LocalMariaDbLab.Server primary = lab.servers.get(0), replica = lab.servers.get(1);
            try (MySqlServers mysql = MySqlKillDrill.servers(MySqlKillDrill.cluster("fence-mysql", lab), lab)) {
                try (Connection root = primary.root(); Statement st = root.createStatement()) {
                    st.execute("CREATE USER 'rwadmin'@'127.0.0.1' IDENTIFIED BY '" + BYPASS.password() + "'");
                    st.execute("GRANT READ_ONLY ADMIN ON *.* TO 'rwadmin'@'127.0.0.1'");
                    st.execute("GRANT SELECT, INSERT ON drill.* TO 'rwadmin'@'127.0.0.1'");
                    st.execute("CREATE ROLE writer");
                    st.execute("GRANT READ_ONLY ADMIN ON *.* TO writer");
                    st.execute("CREATE USER 'viarole'@'127.0.0.1' IDENTIFIED BY '" + VIA_ROLE.password() + "'");
                    st.execute("GRANT writer TO 'viarole'@'127.0.0.1'");
                    st.execute("GRANT SELECT, INSERT ON drill.* TO 'viarole'@'127.0.0.1'");
                    st.execute("SET DEFAULT ROLE writer FOR 'viarole'@'127.0.0.1'");
                }
                await().atMost(Duration.ofSeconds(30)).until(() -> mysql.observe(replica.address()).position().covers(mysql.observe(primary.address()).position()));
                String gtidBefore;
                try (Connection open = MariaDbLabRecipe.connect(primary.address(), BYPASS)) {
                    insert(open, 1);

                    // read_only alone: the bypassing accounts still write, and the observation says so.
                    try (Connection root = primary.root(); Statement st = root.createStatement()) {
                        st.execute("SET GLOBAL read_only=1");
                    }
                    insert(open, 2);
                    InstanceState readOnlyOnly = mysql.observe(primary.address());
                    System.out.println("read_only=1 only: " + readOnlyOnly.detail());
                    assertThat(readOnlyOnly.writable()).as("the application cannot write").isFalse();
                    assertThat(readOnlyOnly.isMaster()).as("someone can still write: " + readOnlyOnly.detail()).isTrue();
                    assertThat(readOnlyOnly.detail()).contains("rwadmin@127.0.0.1").contains("viarole@127.0.0.1").contains("root@");

                    gtidBefore = binlogPos(lab, primary);
                    mysql.fence(primary.address());
                    InstanceState fenced = mysql.observe(primary.address());
                    System.out.println("fenced: " + fenced.detail());
                    assertThat(fenced.reachable()).isTrue();
                    assertThat(fenced.role()).isEqualTo(InstanceState.Role.MASTER);
                    assertThat(fenced.isMaster()).as("nobody can write: " + fenced.detail()).isFalse();
                    assertThatThrownBy(() -> insert(open, 3)).as("the bypassing session was killed").isInstanceOf(SQLException.class);
                }
                assertThatThrownBy(() -> MariaDbLabRecipe.connect(primary.address(), BYPASS).close()).as("READ ONLY ADMIN account locked")
                        .hasMessageContaining("locked");
                assertThatThrownBy(() -> MariaDbLabRecipe.connect(primary.address(), VIA_ROLE).close()).as("its role bypasses: locked too")
                        .hasMessageContaining("locked");
                assertThatThrownBy(() -> primary.root().close()).as("root has READ ONLY ADMIN: locked").hasMessageContaining("locked");
                try (Connection app = MariaDbLabRecipe.connect(primary.address(), lab.application())) {
                    assertThatThrownBy(() -> insert(app, 4)).as("the application account: read_only").hasMessageContaining("read-only");
                }
                try (Connection operator = primary.admin()) {
                    assertThatThrownBy(() -> insert(operator, 5)).as("every privilege but READ ONLY ADMIN: read_only").hasMessageContaining("read-only");
                }
                assertThat(binlogPos(lab, primary)).as("the locks are not binlogged: no GTID a replica lacks").isEqualTo(gtidBefore);
                assertThat(MySqlKillDrill.rows(lab, primary.address())).containsExactlyInAnyOrder(1L, 2L);

                // The replica takes over; the old primary rejoins it as an ordinary replica and gets its accounts back.
                mysql.promote(replica.address());
                MySqlServers.RejoinResult rejoin = mysql.rejoin(primary.address(), replica.address(), Duration.ofSeconds(20));
                assertThat(rejoin.joined()).as(rejoin.message()).isTrue();
                MariaDbLabRecipe.connect(primary.address(), BYPASS).close();
                primary.root().close();
                try (Connection onNew = MariaDbLabRecipe.connect(replica.address(), BYPASS)) {
                    insert(onNew, 6);
                }
                await().atMost(Duration.ofSeconds(20)).until(() -> MySqlKillDrill.rows(lab, primary.address()).contains(6L));
            }
        }
    }

    private static void insert(Connection c, long seq) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute("INSERT INTO drill.probe (seq) VALUES (" + seq + ")");
        }
    }

    private static String binlogPos(LocalMariaDbLab lab, LocalMariaDbLab.Server s) throws SQLException {
        try (Connection c = s.admin(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT @@GLOBAL.gtid_binlog_pos")) {
            rs.next();
            return rs.getString(1);
        }
    }
}

package io.failoverkit.drills;

import io.failoverkit.failover.drill.LocalMariaDbLab;
import io.failoverkit.failover.topology.InstanceState;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Incident: a primary whose commits wait for a semi-sync acknowledgement that cannot come (a thawed old primary, its
 * replicas gone) is fenced while the application's pool keeps reconnecting and writing to it. SET GLOBAL read_only
 * waits for commits in flight, so a writer that reconnected between the fence's first kill and read_only would hold
 * the fence until the semi-sync timeout, when the primary falls back to async and acknowledges. The fence keeps
 * killing until read_only is set: it ends, and nothing is acknowledged.
 */
class MariaDbFenceUnderWritesDrill {
    private static final int ROUNDS = 6;

    @TempDir Path dir;

    @Test
    void fenceEndsWhileWritersReconnectAndNoWriteIsAcknowledged() throws Exception {
        try (MariaDbDrillSetup<LocalMariaDbLab> s = MariaDbDrillSetup.local("fence-writes", dir, true)) {
            LocalMariaDbLab.Server primary = s.lab.servers.get(0);
            for (LocalMariaDbLab.Server r : s.lab.servers.subList(1, s.lab.servers.size())) {
                try (Connection a = r.admin(); Statement st = a.createStatement()) {
                    st.execute("STOP REPLICA IO_THREAD");
                }
            }
            AtomicLong seq = new AtomicLong(7_000_000);
            for (int round = 1; round <= ROUNDS; round++) {
                AtomicBoolean stop = new AtomicBoolean();
                ConcurrentLinkedQueue<String> acknowledged = new ConcurrentLinkedQueue<>();
                AtomicLong attempts = new AtomicLong();
                List<Thread> writers = new ArrayList<>();
                long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
                for (int w = 0; w < 16; w++) {
                    writers.add(Thread.ofVirtual().start(() -> {
                        Properties p = new Properties();
                        p.setProperty("user", s.lab.application().user());
                        p.setProperty("password", s.lab.application().password());
                        p.setProperty("connectTimeout", "2000");
                        p.setProperty("socketTimeout", "60000");
                        while (!stop.get() && System.nanoTime() < deadline) {
                            try (Connection c = DriverManager.getConnection("jdbc:mysql://" + primary.address() + "/drill", p);
                                 PreparedStatement insert = c.prepareStatement("INSERT INTO probe (seq) VALUES (?)")) {
                                long n = seq.incrementAndGet();
                                insert.setLong(1, n);
                                attempts.incrementAndGet();
                                insert.executeUpdate();
                                acknowledged.add(n + " at " + System.currentTimeMillis());
                            } catch (SQLException e) {
                                // killed or refused: the pool reconnects at once, as an application's does
                            }
                        }
                    }));
                }
                // A commit waits for an acknowledgement nobody can give (the others queue behind it in the group commit).
                await().atMost(Duration.ofSeconds(30)).until(() -> waitingForAck(primary) >= 1 && attempts.get() >= writers.size());

                long fenceStarted = System.currentTimeMillis();
                s.mysql.fence(primary.address());
                long fenced = System.currentTimeMillis();
                InstanceState o = s.observe(primary.address());
                stop.set(true);
                for (Thread t : writers) t.join(Duration.ofSeconds(70));
                System.out.printf("round %d: fence under %d reconnecting writers: %d ms; insert attempts %d; acknowledged %s%n",
                        round, writers.size(), fenced - fenceStarted, attempts.get(), acknowledged);

                assertThat(o.reachable() && !o.isMaster()).as("fenced: " + o.detail()).isTrue();
                assertThat(acknowledged).as("round " + round + ": no replica could acknowledge: nothing is acknowledged, before or after the fence").isEmpty();
                s.mysql.resumeWrites(primary.address()); // the next round fences a writable primary again
            }
        }
    }

    private static int waitingForAck(LocalMariaDbLab.Server i) throws SQLException {
        try (Connection a = i.admin(); Statement st = a.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE LIKE '%semi-sync ACK%'")) {
            rs.next();
            return rs.getInt(1);
        }
    }
}

package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalMariaDbLab;
import io.failoverkit.failover.drill.MariaDbLab;
import io.failoverkit.failover.drill.MySqlKillDrill;
import io.failoverkit.failover.guard.Guard;
import io.failoverkit.failover.guard.GuardTiming;
import io.failoverkit.failover.mysql.MySqlServers;
import io.failoverkit.failover.watch.Manager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Incident (hole 6 of issue 9): the primary's host is cut off from the manager, the replicas and the discovery
 * servers, while the application beside it stays connected. With async replication (or semi-sync with a timeout
 * shorter than the failover: the primary falls back to async) it acknowledges writes; meanwhile the manager rightly
 * fails over to a replica. The lab runs async so that the guard alone stands between the two (strict semi-sync, as
 * the README recommends, would also hold the old primary's commits until the fence). Without a guard the application keeps writing
 * to the old primary beside the new one: two writable primaries, and every write acknowledged there is lost. With
 * `failover guard` beside it, the old primary fences itself when it cannot confirm its epoch, before the manager
 * can promote. Sampled every 10 ms.
 */
class MariaDbIsolatedPrimaryGuardDrill {
    @TempDir Path dir;

    @Test
    void theGuardFencesTheIsolatedPrimaryBeforeTheNewOneTakesWrites() throws Exception {
        Result r = run("guarded", true);
        assertThat(r.outcome().success()).as("the manager failed over: " + r.outcome().message()).isTrue();
        assertThat(r.fencesBeforeCut()).as("no false fence while the primary was confirmed").isZero();
        assertThat(r.guardFences()).as("the guard fenced the isolated primary").isEqualTo(1);
        assertThat(r.newWritableAtMillis()).as("the new primary took writes").isPositive();
        assertThat(r.twoWritableSamples()).as("samples with two writable primaries after the new one took writes").isEmpty();
        assertThat(r.oldAcksAfterPromotion()).as("writes acknowledged by the old primary once the new one was writable").isEmpty();
        assertThat(r.fencedAtMillis()).as("the old primary was read-only before the new one was writable")
                .isPositive().isLessThan(r.newWritableAtMillis());
    }

    @Test
    void withoutTheGuardTheIsolatedPrimaryTakesWritesBesideTheNewOne() throws Exception {
        Result r = run("unguarded", false);
        assertThat(r.outcome().success()).as("the manager failed over: " + r.outcome().message()).isTrue();
        // The hole the guard closes: this is what the guarded drill asserts never happens.
        assertThat(r.twoWritableSamples()).as("two writable primaries").isNotEmpty();
        assertThat(r.oldAcksAfterPromotion()).as("writes acknowledged by the old primary after the promotion (lost)").isNotEmpty();
    }

    record Ack(long sentAtMillis, long ackAtMillis, long seq) {}

    record Result(FailoverRun.Outcome outcome, int fencesBeforeCut, int guardFences, long cutAtMillis, long fencedAtMillis,
                  long newWritableAtMillis, List<String> twoWritableSamples, List<Ack> oldAcksAfterPromotion) {}

    private Result run(String name, boolean guarded) throws Exception {
        Agent agent = DiscoveryLab.start(name + "-discovery");
        try (LocalMariaDbLab lab = new LocalMariaDbLab(dir.resolve("lab"), 2, false); // async: see the class comment
             FaultProxy primaryLink = new FaultProxy(lab.servers.get(0).address());
             FaultProxy guardToDiscovery = new FaultProxy("127.0.0.1:" + agent.httpPort())) {
            String oldReal = lab.servers.get(0).address();
            // The manager and the replicas reach the primary through one proxy; the guard and the application dial it on its host.
            String primary = primaryLink.address();
            List<String> members = List.of(primary, lab.servers.get(1).address(), lab.servers.get(2).address());
            Path passwordFile = Files.writeString(dir.resolve("admin.password"), lab.admin().password());
            ClusterDefinition cluster = new ClusterDefinition("isolated-" + name, "mysql", members, null, passwordFile.toString(), null,
                    null, null, null, 0, new ClusterDefinition.MySql(lab.admin().user(), lab.replication().user(), null, null));
            DiscoveryClient discovery = new DiscoveryClient("127.0.0.1:" + agent.httpPort());
            await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> { discovery.put("ready", "1"); return true; });
            try (MySqlServers mysql = MySqlKillDrill.servers(cluster, lab)) {
                for (String r : members.subList(1, 3)) mysql.repoint(r, primary);
                await().atMost(Duration.ofSeconds(30)).conditionEvaluationListener(c -> {
                    if (c.getRemainingTimeInMS() < 1000) members.subList(1, 3).forEach(m -> System.out.println("replica " + m + ": " + mysql.observe(m)));
                }).until(() -> members.subList(1, 3).stream().map(mysql::observe)
                        .allMatch(i -> i.isReplica() && primary.equals(i.masterAddress()) && i.masterLinkUp()));

                AtomicReference<FailoverRun.Outcome> outcome = new AtomicReference<>();
                Manager manager = new Manager(cluster, discovery, mysql, "drill-manager", outcome::set);
                Thread managerThread = Thread.ofPlatform().name("drill-manager").start(() -> {
                    try { manager.run(System.nanoTime() + Duration.ofMinutes(3).toNanos()); } catch (InterruptedException ignored) { }
                });
                EpochStore epochs = new EpochStore(discovery, cluster.name());
                Guard guard = guarded ? Guard.forCluster(cluster, primary, oldReal, List.of(guardToDiscovery.address()), GuardTiming.DEFAULT) : null;
                Thread guardThread = guard == null ? null : Thread.ofPlatform().name("drill-guard").start(
                        () -> guard.run(System.nanoTime() + Duration.ofMinutes(3).toNanos()));
                StuckApplication app = new StuckApplication(oldReal, lab.application());
                Thread appThread = Thread.ofPlatform().name("stuck-application").start(app);
                Sampler sampler = new Sampler(lab, members, oldReal);
                Thread samplerThread = Thread.ofPlatform().name("writable-sampler").start(sampler);
                try {
                    await().atMost(Duration.ofSeconds(30)).until(() -> primary.equals(epochs.read().state().master()));
                    await().atMost(Duration.ofSeconds(20)).until(() -> app.acks().size() >= 50);
                    Thread.sleep(1000); // the guard confirms ten times a second meanwhile
                    int fencesBeforeCut = guard == null ? 0 : guard.fences();

                    long cutAt = System.currentTimeMillis();
                    primaryLink.partition();
                    guardToDiscovery.partition();
                    await().atMost(Duration.ofSeconds(60)).until(() -> outcome.get() != null);
                    // Past the old primary's semi-sync timeout (5 s), when an unguarded one acknowledges writes again.
                    Thread.sleep(Math.max(0, cutAt + 9000 - System.currentTimeMillis()));
                    app.stop();
                    appThread.join(15_000);
                    sampler.stop();
                    samplerThread.join(5000);

                    for (Timeline.Step s : outcome.get().timeline().steps()) {
                        System.out.printf("%s +%5d ms %-22s %s%n", name, s.atMillis() - cutAt, s.name(), s.detail());
                    }
                    long newWritableAt = sampler.firstWritableOtherThanOld();
                    long fencedAt = sampler.firstOldReadOnlyAfter(cutAt);
                    List<String> two = sampler.twoWritableAfter(newWritableAt);
                    List<Ack> late = app.acks().stream().filter(a -> newWritableAt > 0 && a.ackAtMillis() >= newWritableAt).toList();
                    long lastOldAck = app.acks().stream().mapToLong(Ack::ackAtMillis).max().orElse(0);
                    System.out.printf("%s: cut at 0; old primary read-only at +%d ms; new primary writable at +%d ms; last write acknowledged by the old"
                                    + " primary at +%d ms; %d acknowledged after the new one was writable; %d of %d samples (10 ms) with two writable"
                                    + " primaries after it; guard fences %d; app errors: %s%n",
                            name, fencedAt > 0 ? fencedAt - cutAt : -1, newWritableAt > 0 ? newWritableAt - cutAt : -1, lastOldAck - cutAt, late.size(),
                            two.size(), sampler.samplesAfter(newWritableAt), guard == null ? 0 : guard.fences(), app.lastError());
                    return new Result(outcome.get(), fencesBeforeCut, guard == null ? 0 : guard.fences(), cutAt, fencedAt, newWritableAt, two, late);
                } finally {
                    app.stop();
                    sampler.stop();
                    appThread.join(15_000);
                    samplerThread.join(5000);
                    if (guardThread != null) {
                        guardThread.interrupt();
                        guardThread.join(10_000);
                        guard.close();
                    }
                    managerThread.interrupt();
                    managerThread.join(10_000);
                }
            }
        } finally {
            agent.close();
        }
    }

    /**
     * The application on the primary's host: one connection to the primary it was given, never re-resolved (its DNS is on
     * the other side of the cut), an insert every 20 ms as a non-admin user, waiting as long as a commit takes (a
     * semi-sync wait included). Each acknowledged insert is logged with the time it was sent and acknowledged.
     */
    static final class StuckApplication implements Runnable {
        private final String address;
        private final MariaDbLab.Account account;
        private final List<Ack> acks = new ArrayList<>();
        private final long deadlineNanos = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        private volatile boolean stop;
        private volatile String lastError = "none";

        StuckApplication(String address, MariaDbLab.Account account) {
            this.address = address;
            this.account = account;
        }

        synchronized List<Ack> acks() { return List.copyOf(acks); }

        String lastError() { return lastError; }

        void stop() { stop = true; }

        @Override
        public void run() {
            long seq = 1_000_000;
            Connection c = null;
            while (!stop && System.nanoTime() < deadlineNanos) {
                try {
                    if (c == null) {
                        Properties p = new Properties();
                        p.setProperty("user", account.user());
                        p.setProperty("password", account.password());
                        p.setProperty("connectTimeout", "1000");
                        p.setProperty("socketTimeout", "12000");
                        c = DriverManager.getConnection("jdbc:mysql://" + address + "/drill", p);
                    }
                    try (PreparedStatement insert = c.prepareStatement("INSERT INTO probe (seq) VALUES (?)")) {
                        long sent = System.currentTimeMillis();
                        insert.setLong(1, ++seq);
                        insert.executeUpdate();
                        synchronized (this) { acks.add(new Ack(sent, System.currentTimeMillis(), seq)); }
                    }
                } catch (SQLException e) {
                    lastError = e.getErrorCode() + " " + e.getMessage();
                    if (c != null) { try { c.close(); } catch (SQLException ignored) { } }
                    c = null;
                }
                try { Thread.sleep(20); } catch (InterruptedException e) { return; }
            }
            if (c != null) { try { c.close(); } catch (SQLException ignored) { } }
        }
    }

    /**
     * Every 10 ms, which members are writable (read_only=0), each read on its own admin connection straight to the server
     * (the old primary on its host, past the cut). A sample that could not read the old primary counts it writable.
     */
    static final class Sampler implements Runnable {
        record Sample(long atMillis, List<String> writable) {}

        private final MariaDbLab lab;
        private final String oldReal;
        private final List<String> dial = new ArrayList<>();
        private final Map<String, Connection> connections = new HashMap<>();
        private final List<Sample> samples = new ArrayList<>();
        private final long deadlineNanos = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        private volatile boolean stop;

        Sampler(LocalMariaDbLab lab, List<String> members, String oldReal) {
            this.lab = lab;
            this.oldReal = oldReal;
            dial.add(oldReal);
            dial.addAll(members.subList(1, members.size()));
        }

        void stop() { stop = true; }

        @Override
        public void run() {
            while (!stop && System.nanoTime() < deadlineNanos) {
                long at = System.currentTimeMillis();
                List<String> writable = new ArrayList<>();
                for (String a : dial) if (writable(a)) writable.add(a);
                synchronized (this) { samples.add(new Sample(at, writable)); }
                try { Thread.sleep(10); } catch (InterruptedException e) { return; }
            }
            connections.values().forEach(c -> { try { c.close(); } catch (SQLException ignored) { } });
        }

        private boolean writable(String address) {
            for (int attempt = 0; attempt < 2; attempt++) {
                try {
                    Connection c = connections.get(address);
                    if (c == null) {
                        Properties p = new Properties();
                        p.setProperty("user", lab.admin().user());
                        p.setProperty("password", lab.admin().password());
                        p.setProperty("connectTimeout", "500");
                        p.setProperty("socketTimeout", "500");
                        c = DriverManager.getConnection("jdbc:mysql://" + address + "/", p);
                        connections.put(address, c);
                    }
                    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT @@GLOBAL.read_only+0")) {
                        rs.next();
                        return rs.getInt(1) == 0;
                    }
                } catch (SQLException e) {
                    // The fence kills this connection too: dial again once, then count the unknown as writable.
                    Connection c = connections.remove(address);
                    if (c != null) { try { c.close(); } catch (SQLException ignored) { } }
                }
            }
            return address.equals(oldReal);
        }

        synchronized long firstWritableOtherThanOld() {
            return samples.stream().filter(s -> s.writable().stream().anyMatch(a -> !a.equals(oldReal))).mapToLong(Sample::atMillis).findFirst().orElse(-1);
        }

        synchronized long firstOldReadOnlyAfter(long millis) {
            return samples.stream().filter(s -> s.atMillis() >= millis && !s.writable().contains(oldReal)).mapToLong(Sample::atMillis).findFirst().orElse(-1);
        }

        synchronized List<String> twoWritableAfter(long millis) {
            if (millis <= 0) return List.of();
            return samples.stream().filter(s -> s.atMillis() >= millis && s.writable().size() >= 2).map(s -> s.atMillis() + " " + s.writable()).toList();
        }

        synchronized long samplesAfter(long millis) {
            return millis <= 0 ? 0 : samples.stream().filter(s -> s.atMillis() >= millis).count();
        }
    }
}

package io.failoverkit.drills;

import io.failoverkit.failover.drill.containers.ContainerEngine;
import io.failoverkit.failover.drill.containers.ContainerMariaDbLab;
import io.failoverkit.failover.drill.containers.ContainerMariaDb;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.drill.LocalMariaDbLab;
import io.failoverkit.failover.drill.MariaDbLab;
import io.failoverkit.failover.drill.MySqlKillDrill;
import io.failoverkit.failover.drill.SqlWriterProbe;
import io.failoverkit.failover.mysql.MySqlServers;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.watch.Manager;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.awaitility.Awaitility.await;

/**
 * The MySQL drills' common setup: a real discovery node, a MariaDB primary with two GTID replicas (as local processes,
 * or each in its own container with {@link #on}), the servers seen through failoverkit, and (when started) a manager holding the cluster's lock and a writer probe
 * inserting through DNS. Closes everything it started.
 */
final class MariaDbDrillSetup<L extends MariaDbLab> implements AutoCloseable {
    /** Starts the lab (a primary and two replicas); called once the discovery node runs. */
    interface LabStart<L extends MariaDbLab> {
        L start() throws Exception;
    }

    final Agent agent;
    final L lab;
    /** The cluster the manager will watch; a drill may change its rules before {@link #startManager}. */
    ClusterDefinition cluster;
    final DiscoveryClient discovery;
    final MySqlServers mysql;
    final AtomicReference<FailoverRun.Outcome> outcome = new AtomicReference<>();
    SqlWriterProbe probe;
    private Thread managerThread;
    private Thread probeThread;

    /** On local mariadbd processes. */
    static MariaDbDrillSetup<LocalMariaDbLab> local(String name, Path dir, boolean semiSync) throws Exception {
        return new MariaDbDrillSetup<>(name, () -> new LocalMariaDbLab(dir, 2, semiSync));
    }

    /**
     * On "processes" (local mariadbd), "containers" ({@link ContainerMariaDbLab} on MariaDBContainer; skips or fails as
     * {@link ContainerEngine#require} says) or "mysql containers" (the same on MySQLContainer; skips, saying why, without
     * a MySQL 8 image).
     */
    static MariaDbDrillSetup<MariaDbLab> on(String where, String name, Path dir, boolean semiSync) throws Exception {
        return new MariaDbDrillSetup<>(name, () -> lab(where, dir, semiSync));
    }

    /** The lab {@link #on} names: a primary and two replicas. */
    static MariaDbLab lab(String where, Path dir, boolean semiSync) throws Exception {
        return switch (where) {
            case "processes" -> new LocalMariaDbLab(dir, 2, semiSync);
            case "containers" -> new ContainerMariaDbLab(dir, 2, semiSync);
            case "mysql containers" -> new ContainerMariaDbLab(ContainerMariaDb.Kind.MYSQL, dir, 2, semiSync);
            default -> throw new IllegalArgumentException("where: processes, containers or mysql containers, not " + where);
        };
    }

    private MariaDbDrillSetup(String name, LabStart<L> labStart) throws Exception {
        agent = DiscoveryLab.start(name + "-discovery");
        try {
            lab = labStart.start();
        } catch (Exception e) {
            agent.close();
            throw e;
        }
        ClusterDefinition base = MySqlKillDrill.cluster(name, lab);
        cluster = new ClusterDefinition(base.name(), base.kind(), base.members(), base.service(), null, null, null, null, null, 0, base.mysql());
        discovery = new DiscoveryClient("127.0.0.1:" + agent.httpPort());
        mysql = MySqlKillDrill.servers(cluster, lab);
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> { discovery.put("ready", "1"); return true; });
        String primary = primary();
        await().atMost(Duration.ofSeconds(30)).until(() -> mysql.observeAll(lab.addresses()).instances().stream().skip(1)
                .allMatch(i -> i.isReplica() && i.masterLinkUp() && i.position().covers(mysql.observe(primary).position())));
    }

    String primary() { return lab.instances().get(0).address(); }

    void startManager() {
        Manager manager = new Manager(cluster, discovery, mysql, "drill-manager", outcome::set);
        managerThread = Thread.ofPlatform().name("drill-manager").start(() -> {
            try { manager.run(System.nanoTime() + Duration.ofMinutes(3).toNanos()); } catch (InterruptedException ignored) { }
        });
    }

    /** Starts the writer probe once DNS names the primary, and returns when it has written {@code rows} rows. */
    void startProbe(int rows) {
        probe = new SqlWriterProbe(cluster.service(), agent.dnsPort(), lab.application(), Duration.ofMinutes(2));
        await().atMost(Duration.ofSeconds(30)).until(() -> primary().equals(probe.resolve()));
        probeThread = Thread.ofPlatform().name("sql-writer-probe").start(probe);
        await().atMost(Duration.ofSeconds(10)).until(() -> probe.acks().size() >= rows);
    }

    /** Stops the probe and returns its acknowledgements. */
    List<SqlWriterProbe.Ack> stopProbe() throws InterruptedException {
        probe.stop();
        probeThread.join(5000);
        return probe.acks();
    }

    InstanceState observe(String address) { return mysql.observe(address); }

    @Override
    public void close() throws Exception {
        try {
            if (probe != null) probe.stop();
            if (probeThread != null) probeThread.join(5000);
            if (managerThread != null) {
                managerThread.interrupt();
                managerThread.join(10_000);
            }
            mysql.close();
        } finally {
            try { lab.close(); } finally { agent.close(); }
        }
    }
}

package io.failoverkit.drills;

import io.failoverkit.drills.clients.ClientLab;
import io.failoverkit.drills.clients.ClientNamespace;
import io.failoverkit.drills.clients.ClientReport;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Incident (issue 17; the seeds ran dnsmasq in front of Consul): a master is SIGKILLed while real client stacks write to
 * {@code master.<service>.service.consul} through the system's path (libc, the namespace's resolv.conf, dnsmasq, the
 * agent): for Redis, Jedis (JedisPooled) on the JVM's defaults, on the guide's settings and with the guide's helper,
 * and redis-py; for MariaDB, HikariCP + Connector/J and PyMySQL, each on its defaults and on the guide's settings. The
 * old master comes back (a supervisor restarts it) right after the promotion. The lab runs in a network namespace of
 * its own ({@link ClientNamespace}), removed at the end. Figures are printed (the table in docs/clients.md), never
 * asserted; the assertions are invariants: no client sees a write acknowledged by the old master after the promotion;
 * the old master is demoted (Redis) or fenced (MariaDB) on its return; no acknowledged row is lost with semi-sync
 * (Redis: within asynchronous replication's few); and the direct probe and every stack on the guide's settings write
 * to the new master within a generous bound (defaults are measured, not required: the guide says why they are slow).
 */
@ExtendWith(LabUnavailableSkips.class)
class ClientStacksSigkillDrill {
    @TempDir Path dir;

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"redis", "mysql"})
    void masterKilledWhileClientStacksWriteThroughDnsmasqNoneWritesToTheOldMasterAndTheGuidesSettingsReachTheNewOne(String kind) throws Exception {
        String name;
        try (ClientNamespace ns = ClientNamespace.create()) {
            name = ns.name;
            String java = ProcessHandle.current().info().command().orElseThrow();
            Path log = dir.resolve("lab.log");
            Process lab = new ProcessBuilder(ns.exec(List.of(java, "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), ClientLab.class.getName(), kind, dir.resolve("lab").toString(), repo().toString())))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            boolean ended;
            try {
                ended = lab.waitFor(240, TimeUnit.SECONDS);
            } finally {
                // The lab's own servers and clients are its descendants: by PID, before the lab itself.
                if (lab.isAlive()) {
                    lab.descendants().forEach(ProcessHandle::destroyForcibly);
                    lab.destroyForcibly();
                    lab.waitFor(10, TimeUnit.SECONDS);
                }
            }
            System.out.println(Files.readString(log));
            assertThat(ended).as("the lab ended within 240 s").isTrue();
            assertThat(lab.exitValue()).as("the lab's exit status (its output above)").isZero();

            ClientReport.Read r = ClientReport.read(dir.resolve("lab/report.tsv"));
            assertThat(r.lab().newMaster()).isNotEqualTo(r.lab().oldMaster());
            assertThat(r.lab().oldMasterDemoted()).as("the restarted old master was demoted or fenced").isTrue();
            for (ClientReport.Row row : r.rows()) {
                String who = row.stack() + " " + row.settings();
                assertThat(row.acksBeforeKill()).as(who + ": wrote before the kill").isPositive();
                assertThat(row.oldAfterPromotion()).as(who + ": writes acknowledged by the old master after the promotion").isZero();
                if (kind.equals("mysql")) {
                    assertThat(row.lost()).as(who + ": acknowledged rows the new primary lacks (semi-sync)").isZero();
                } else {
                    // Asynchronous replication: a few writes acknowledged just before the kill may not have reached the
                    // replica (RedisMasterSigkillDrill allows 25, half a second of writes).
                    assertThat(row.lost()).as(who + ": acknowledged writes lost").isLessThanOrEqualTo(25);
                }
                if (row.stack().equals("direct probe") || ClientLab.GUIDE.contains(who)) {
                    assertThat(row.killToFirstWrite()).as(who + ": wrote to the new master within the bound; errors: " + row.errorsAfterKill()).isPositive();
                }
            }
        }
        assertThat(ClientNamespace.exists(name)).as("namespace removed").isFalse();
        assertThat(Path.of("/etc/netns", name)).doesNotExist();
    }

    /** The repository's root (the drills' sources live in its src/test; surefire runs in drills/). */
    static Path repo() {
        Path here = Path.of("").toAbsolutePath();
        for (Path p = here; p != null; p = p.getParent()) if (Files.isDirectory(p.resolve("src/test/python"))) return p;
        throw new IllegalStateException("no src/test/python above " + here);
    }
}

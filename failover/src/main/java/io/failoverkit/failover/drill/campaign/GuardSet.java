package io.failoverkit.failover.drill.campaign;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.drill.FaultProxy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A `failover guard` per member (hole 6's self-fencing guard), each in its own JVM beside its server, reading the
 * epoch from the discovery cluster through its own fault proxy, so that the guard's fault can cut the master's host
 * off from the manager, its replicas and discovery while its clients stay connected. Started only with
 * {@code --with-guard}, on a build that has the `guard` command.
 */
final class GuardSet implements AutoCloseable {
    private record Guard(FaultProxy discoveryPath, Process[] process) {}

    private final CampaignLab lab;
    private final Path definition;
    private final Path dir;
    private final Map<String, Guard> guards = new LinkedHashMap<>();

    GuardSet(CampaignLab lab, String discoveryHttp, Path dir) throws IOException {
        this.lab = lab;
        this.dir = dir;
        Map<String, String> env = lab.managerEnv();
        boolean mysql = lab.kind().equals("mysql");
        // The definition the guards read: the managers' own, with the credentials named by environment variable.
        ClusterDefinition c = new ClusterDefinition(lab.name(), lab.kind(), lab.members(), lab.name(), null,
                mysql ? ManagerProcess.ADMIN_PASSWORD : null, null, null, null, 0,
                mysql ? new ClusterDefinition.MySql(env.get(ManagerProcess.ADMIN_USER), env.get(ManagerProcess.REPL_USER), null, ManagerProcess.REPL_PASSWORD) : null,
                null);
        this.definition = dir.resolve("guard-cluster.json");
        Files.writeString(definition, c.toJson());
        for (String m : lab.members()) guards.put(m, new Guard(new FaultProxy(discoveryHttp), new Process[1]));
    }

    /** Starts every guard that is not running. */
    void startDead() throws IOException {
        for (Map.Entry<String, Guard> e : guards.entrySet()) {
            Process p = e.getValue().process()[0];
            if (p != null && p.isAlive()) continue;
            String m = e.getKey();
            e.getValue().process()[0] = ChildJvm.start("io.failoverkit.failover.Main", List.of("guard", "--cluster", definition.toString(),
                    "--instance", m, "--local", lab.real(m), "--discovery", "http://" + e.getValue().discoveryPath().address()), lab.managerEnv(),
                    dir.resolve("guard-" + m.replace(':', '-') + ".log"));
        }
    }

    /** The guard of {@code member} loses the discovery cluster. */
    void cut(String member) { guards.get(member).discoveryPath().partition(); }

    void healAll() { guards.values().forEach(g -> g.discoveryPath().heal()); }

    @Override
    public void close() throws Exception {
        for (Guard g : guards.values()) {
            Process p = g.process()[0];
            if (p != null && p.isAlive()) {
                p.destroy();
                if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
            }
            g.discoveryPath().close();
        }
    }
}

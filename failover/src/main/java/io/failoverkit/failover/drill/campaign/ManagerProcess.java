package io.failoverkit.failover.drill.campaign;

import io.failoverkit.failover.act.FailoverRun;
import io.failoverkit.failover.act.Timeline;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.mysql.MySqlServers;
import io.failoverkit.failover.redis.RedisServers;
import io.failoverkit.failover.watch.Manager;

import java.io.IOException;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The campaign's manager: `failover watch`'s loop ({@link Manager#run}, unchanged) in its own JVM, so a run can
 * SIGKILL it, with two things a drill needs that `watch` has no flags for: its dial path to the servers goes through
 * the campaign's fault proxies (Redis: a route per member; MySQL: its connections bound to 127.0.0.2, which the proxies
 * can cut alone), and a heartbeat file counting the cycles in which it observed the servers, so the campaign can tell
 * a loop that still cycles from one that died or hangs. The loop's own exceptions are not caught here: if
 * {@code Manager.run} throws, this process exits, and the campaign reports the manager loop dead.
 *
 * <p>Arguments: {@code KIND NAME DISCOVERY HEARTBEAT MEMBERS [ROUTES]} (members comma-separated; routes
 * {@code member=dial,...}); the MySQL accounts' users and passwords come from the environment, never argv.
 */
public final class ManagerProcess {
    static final String ADMIN_USER = "CAMPAIGN_ADMIN_USER", ADMIN_PASSWORD = "CAMPAIGN_ADMIN_PASSWORD",
            REPL_USER = "CAMPAIGN_REPL_USER", REPL_PASSWORD = "CAMPAIGN_REPL_PASSWORD";

    private ManagerProcess() {}

    public static void main(String[] args) throws Exception {
        String kind = args[0], name = args[1], discovery = args[2];
        Path heartbeat = Path.of(args[3]);
        List<String> members = Arrays.asList(args[4].split(","));
        Map<String, String> routes = new HashMap<>();
        if (args.length > 5) for (String r : args[5].split(",")) routes.put(r.substring(0, r.indexOf('=')), r.substring(r.indexOf('=') + 1));
        ClusterDefinition cluster = definition(kind, name, members, System.getenv(ADMIN_USER), System.getenv(REPL_USER));
        Servers real = kind.equals("redis")
                ? new RedisServers(cluster.detection().timeoutMs(), null, cluster.fencing().maxLagSeconds(), a -> routes.getOrDefault(a, a))
                : new MySqlServers(cluster.detection().timeoutMs(), System.getenv(ADMIN_USER), System.getenv(ADMIN_PASSWORD),
                System.getenv(REPL_USER), System.getenv(REPL_PASSWORD), Map.of("localSocketAddress", "127.0.0.2"));
        AtomicLong cycles = new AtomicLong();
        Servers counted = counting(real, cycles);
        Thread beat = Thread.ofPlatform().daemon().name("heartbeat").start(() -> {
            Path tmp = heartbeat.resolveSibling(heartbeat.getFileName() + ".tmp");
            while (true) {
                try {
                    Files.writeString(tmp, Long.toString(cycles.get()));
                    Files.move(tmp, heartbeat, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                    Thread.sleep(200);
                } catch (IOException e) {
                    // the next beat tries again
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        Manager m = new Manager(cluster, new DiscoveryClient(discovery), counted, "campaign-manager-" + ProcessHandle.current().pid(),
                ManagerProcess::print);
        m.run(System.nanoTime() + TimeUnit.HOURS.toNanos(12));
        beat.interrupt();
    }

    /** The definition every campaign manager and check uses: defaults, service = cluster name. */
    static ClusterDefinition definition(String kind, String name, List<String> members, String adminUser, String replUser) {
        return kind.equals("redis")
                ? new ClusterDefinition(name, kind, members, name, null, null, null, null, null, 0)
                : new ClusterDefinition(name, kind, members, name, null, null, null, null, null, 0,
                new ClusterDefinition.MySql(adminUser, replUser, null, null));
    }

    private static void print(FailoverRun.Outcome o) {
        for (Timeline.Step s : o.timeline().steps()) System.out.printf("%s %-22s %s%n", java.time.Instant.ofEpochMilli(s.atMillis()), s.name(), s.detail());
        System.out.println((o.success() ? "FAILOVER OK: " : "FAILOVER FAILED: ") + o.message());
    }

    /** {@code servers}, counting each observeAll (one per cycle in which the manager holds the lock and acts). */
    private static Servers counting(Servers servers, AtomicLong cycles) {
        InvocationHandler h = (proxy, method, a) -> {
            if (method.getName().equals("observeAll")) cycles.incrementAndGet();
            try {
                return method.invoke(servers, a);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return (Servers) Proxy.newProxyInstance(Servers.class.getClassLoader(), new Class<?>[]{Servers.class}, h);
    }
}

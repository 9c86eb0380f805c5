package io.failoverkit.checks;

import io.failoverkit.failover.redis.RedisServers;
import io.failoverkit.failover.topology.InstanceState;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/** checks: nagios-style health checks (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) for discovery-node script checks. */
@Command(name = "checks", mixinStandardHelpOptions = true, version = "checks 0.1.0",
        description = "Nagios-style health checks for failoverkit (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).",
        subcommands = {Main.RedisMaster.class, Main.MySqlMaster.class, Main.MySqlReplica.class})
public final class Main implements Runnable {
    public static final int OK = 0, WARNING = 1, CRITICAL = 2, UNKNOWN = 3, EX_USAGE = 64;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println(ex.getMessage());
            ex.getCommandLine().usage(ex.getCommandLine().getErr());
            return EX_USAGE;
        });
        cl.setExecutionExceptionHandler((ex, c, r) -> {
            c.getOut().println("UNKNOWN: " + ex.getMessage());
            c.getOut().flush();
            return UNKNOWN;
        });
        return cl;
    }

    /** The addresses DNS gives for a name (A records), through the given DNS server. */
    static List<String> resolve(String name, String dnsServer) throws Exception {
        int colon = dnsServer.lastIndexOf(':');
        SimpleResolver r = new SimpleResolver(dnsServer.substring(0, colon));
        r.setPort(Integer.parseInt(dnsServer.substring(colon + 1)));
        r.setTimeout(Duration.ofSeconds(2));
        Lookup l = new Lookup(name, Type.A);
        l.setResolver(r);
        l.setCache(null);
        Record[] rs = l.run();
        if (l.getResult() == Lookup.HOST_NOT_FOUND || l.getResult() == Lookup.TYPE_NOT_FOUND) return List.of();
        if (rs == null) throw new IllegalStateException("DNS lookup of " + name + " via " + dnsServer + " failed: " + l.getErrorString());
        return java.util.Arrays.stream(rs).map(Record::rdataToString).toList();
    }

    /** How the MySQL checks connect: the password comes from a file or an environment variable, never the command line. */
    static class MySqlOptions {
        @Option(names = "--host", defaultValue = "127.0.0.1", description = "MySQL/MariaDB host (default 127.0.0.1).") String host;
        @Option(names = "--port", required = true, description = "MySQL/MariaDB port.") int port;
        @Option(names = "--user", defaultValue = "failoverkit", description = "Account to connect as (default failoverkit, the manager's account; needs REPLICATION CLIENT / SLAVE MONITOR and PROCESS).") String user;
        @Option(names = "--password-file", description = "File holding the password.") java.nio.file.Path passwordFile;
        @Option(names = "--password-env", description = "Environment variable holding the password.") String passwordEnv;
        @Option(names = "--timeout-ms", defaultValue = "1000") int timeoutMs;

        io.failoverkit.failover.mysql.MySqlServers servers() throws java.io.IOException {
            String password = null;
            if (passwordFile != null) password = java.nio.file.Files.readString(passwordFile).strip();
            else if (passwordEnv != null) {
                password = System.getenv(passwordEnv);
                if (password == null) throw new java.io.IOException("environment variable " + passwordEnv + " is not set");
            }
            return new io.failoverkit.failover.mysql.MySqlServers(timeoutMs, user, password, null, null);
        }

        String address() { return host + ":" + port; }
    }

    @Command(name = "mysql-master", mixinStandardHelpOptions = true,
            description = "OK only when this MySQL/MariaDB runs, is writable, replicates from nobody, and DNS names no more than one master for the service.")
    static final class MySqlMaster extends MySqlOptions implements Callable<Integer> {
        @Option(names = "--service", required = true, description = "The discovery service name: DNS master.<service>.service.consul is checked.") String service;
        @Option(names = "--dns", defaultValue = "127.0.0.1:8600", description = "The discovery node's DNS (default 127.0.0.1:8600).") String dns;

        @Override
        public Integer call() throws Exception {
            InstanceState s;
            boolean readOnly;
            try (io.failoverkit.failover.mysql.MySqlServers servers = servers()) {
                s = servers.observe(address());
                // `writable` means anyone could write (MariaDB: read_only does not stop READ ONLY ADMIN); a master
                // for applications must also have read_only off.
                readOnly = s.reachable() && servers.readOnly(address());
            }
            String a = "mysql " + address();
            if (!s.reachable()) return report(CRITICAL, "CRITICAL: " + a + " is not running or not reachable: " + s.error());
            if (s.isReplica()) return report(CRITICAL, "CRITICAL: " + a + " replicates from " + s.masterAddress() + ", not a master");
            if (!s.writable() || readOnly) {
                return report(CRITICAL, "CRITICAL: " + a + " replicates from nobody but is read-only (fenced or not promoted): " + s.detail());
            }
            List<String> masters = resolve("master." + service + ".service.consul.", dns);
            if (masters.size() > 1) return report(CRITICAL, "CRITICAL: DNS names " + masters.size() + " masters for " + service + " " + masters + ": split brain");
            if (masters.isEmpty()) return report(WARNING, "WARNING: " + a + " is master but DNS names no master for " + service);
            if (s.position().blocker() != null) return report(WARNING, "WARNING: " + a + " is master but not failover-ready: " + s.position().blocker());
            if (s.detail().contains("FELL BACK TO ASYNC")) return report(WARNING, "WARNING: " + a + " is master; " + s.detail());
            return report(OK, "OK: " + a + " is master (" + s.position().text() + ", " + s.connectedReplicas() + " replicas; " + s.detail() + "); DNS names " + masters.get(0));
        }
    }

    @Command(name = "mysql-replica", mixinStandardHelpOptions = true,
            description = "OK when this MySQL/MariaDB replica's IO and SQL threads run and its lag is under the thresholds.")
    static final class MySqlReplica extends MySqlOptions implements Callable<Integer> {
        @Option(names = "--warning", defaultValue = "30", paramLabel = "SECONDS", description = "Lag for WARNING (default 30 s).") long warning;
        @Option(names = "--critical", defaultValue = "300", paramLabel = "SECONDS", description = "Lag for CRITICAL (default 300 s).") long critical;

        @Override
        public Integer call() throws Exception {
            if (warning < 0 || critical < warning) throw new CommandLine.ParameterException(new CommandLine(this), "need 0 <= --warning <= --critical");
            io.failoverkit.failover.mysql.MySqlServers.ReplicaHealth h;
            String a = "mysql " + address();
            try (io.failoverkit.failover.mysql.MySqlServers servers = servers()) {
                h = servers.replicaHealth(address());
            } catch (java.sql.SQLException e) {
                return report(CRITICAL, "CRITICAL: " + a + " is not running or not reachable: " + e.getMessage());
            }
            if (!h.replica()) return report(CRITICAL, "CRITICAL: " + a + " replicates from nobody");
            if (!h.ioRunning()) return report(CRITICAL, "CRITICAL: " + a + " IO thread not running (master " + h.master() + ")" + (h.ioError().isEmpty() ? "" : ": " + h.ioError()));
            if (!h.sqlRunning()) return report(CRITICAL, "CRITICAL: " + a + " SQL thread not running" + (h.sqlError().isEmpty() ? "" : ": " + h.sqlError()));
            if (h.lagSeconds() == null) return report(UNKNOWN, "UNKNOWN: " + a + " reports no lag");
            String line = a + " replicates from " + h.master() + ", lag " + h.lagSeconds() + " s";
            if (h.lagSeconds() >= critical) return report(CRITICAL, "CRITICAL: " + line + " (>= " + critical + " s)");
            if (h.lagSeconds() >= warning) return report(WARNING, "WARNING: " + line + " (>= " + warning + " s)");
            return report(OK, "OK: " + line);
        }
    }

    private static int report(int code, String line) {
        System.out.println(line);
        return code;
    }

    @Command(name = "redis-master", mixinStandardHelpOptions = true,
            description = "OK only when this Redis runs, is master, and DNS names no more than one master for the service.")
    static final class RedisMaster implements Callable<Integer> {
        @Option(names = "--host", defaultValue = "127.0.0.1", description = "Redis host (default 127.0.0.1).") String host;
        @Option(names = "--port", required = true, description = "Redis port.") int port;
        @Option(names = "--service", required = true, description = "The discovery service name: DNS master.<service>.service.consul is checked.") String service;
        @Option(names = "--dns", defaultValue = "127.0.0.1:8600", description = "The discovery node's DNS (default 127.0.0.1:8600).") String dns;
        @Option(names = "--password-env", description = "Environment variable holding the Redis password (never on the command line).") String passwordEnv;
        @Option(names = "--timeout-ms", defaultValue = "1000") int timeoutMs;

        @Override
        public Integer call() throws Exception {
            String password = passwordEnv == null ? null : System.getenv(passwordEnv);
            InstanceState s = new RedisServers(timeoutMs, password).observe(host + ":" + port);
            if (!s.reachable()) return report(CRITICAL, "CRITICAL: redis " + host + ":" + port + " is not running or not reachable: " + s.error());
            if (!s.isMaster()) return report(CRITICAL, "CRITICAL: redis " + host + ":" + port + " is a replica of " + s.masterAddress() + ", not a master");
            List<String> masters = resolve("master." + service + ".service.consul.", dns);
            if (masters.size() > 1) return report(CRITICAL, "CRITICAL: DNS names " + masters.size() + " masters for " + service + " " + masters + ": split brain");
            if (masters.isEmpty()) return report(WARNING, "WARNING: redis " + host + ":" + port + " is master but DNS names no master for " + service);
            return report(OK, "OK: redis " + host + ":" + port + " is master (" + s.position().text() + ", " + s.connectedReplicas() + " replicas); DNS names " + masters.get(0));
        }
    }
}

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
        subcommands = {Main.RedisMaster.class})
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

        private static int report(int code, String line) {
            System.out.println(line);
            return code;
        }
    }
}

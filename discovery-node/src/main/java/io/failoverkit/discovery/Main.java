package io.failoverkit.discovery;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AgentConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/** discovery-node: a Consul-compatible agent. Flags are spelled as Consul's (single dash). */
@Command(name = "discovery-node", mixinStandardHelpOptions = true, version = "discovery-node " + Agent.VERSION,
        description = "A Consul-compatible discovery agent (catalog, KV, sessions, health; HTTP API).",
        subcommands = {Main.AgentCmd.class, Main.MembersCmd.class, Main.ReloadCmd.class, Main.LeaveCmd.class})
public final class Main implements Runnable {
    public static final int EX_USAGE = 64;

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
        cl.setParameterExceptionHandler((ex, a) -> { ex.getCommandLine().getErr().println(ex.getMessage()); ex.getCommandLine().usage(ex.getCommandLine().getErr()); return EX_USAGE; });
        return cl;
    }

    static void configureLogging(String level) {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", level);
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
        System.setProperty("org.slf4j.simpleLogger.log.org.apache.ratis", "warn");
        System.setProperty("org.slf4j.simpleLogger.log.org.eclipse.jetty", "warn");
        System.setProperty("org.slf4j.simpleLogger.log.org.apache.ratis.thirdparty", "error");
        // The Ratis client logs every retried request (NotLeader during an election) as an ERROR with a stack trace;
        // our own write path reports what finally failed, once, with the reason.
        System.setProperty("org.slf4j.simpleLogger.log.org.apache.ratis.client.impl.OrderedAsync", "off");
    }

    @Command(name = "agent", mixinStandardHelpOptions = true, description = "Runs an agent (server with -server, else client).")
    static final class AgentCmd implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Option(names = "-dev", description = "One in-memory server for development: nothing is kept after it stops.") boolean dev;
        @Option(names = "-server", description = "Run as a server (holds Raft state).") boolean server;
        @Option(names = "-bootstrap-expect", paramLabel = "N", description = "Servers expected before the Raft group forms (1, 3 or 5).") Integer bootstrapExpect;
        @Option(names = "-bootstrap", description = "Same as -bootstrap-expect=1.") boolean bootstrap;
        @Option(names = "-node", paramLabel = "NAME", description = "Node name (default: host name).") String node;
        @Option(names = {"-datacenter", "-dc"}, paramLabel = "DC", description = "Datacenter (default dc1).") String datacenter;
        @Option(names = "-data-dir", paramLabel = "DIR", description = "Where state is kept.") Path dataDir;
        @Option(names = "-bind", paramLabel = "ADDR", description = "Cluster address: LAN and server RPC (default 127.0.0.1).") String bind;
        @Option(names = "-client", paramLabel = "ADDR", description = "Client address: HTTP and DNS (default 127.0.0.1).") String client;
        @Option(names = "-http-port", paramLabel = "PORT", description = "HTTP API port (default 8500).") Integer httpPort;
        @Option(names = "-dns-port", paramLabel = "PORT", description = "DNS port (default 8600).") Integer dnsPort;
        @Option(names = "-server-port", paramLabel = "PORT", description = "Raft RPC port (default 8300).") Integer serverPort;
        @Option(names = "-serf-lan-port", paramLabel = "PORT", description = "LAN membership port (default 8301).") Integer serfLanPort;
        @Option(names = "-retry-join", paramLabel = "HOST:PORT", description = "An agent's LAN address to join, retried until it works.") List<String> retryJoin = new ArrayList<>();
        @Option(names = "-join", paramLabel = "HOST:PORT", description = "An agent's LAN address to join at start (fails the start if it cannot).") List<String> join = new ArrayList<>();
        @Option(names = "-config-file", paramLabel = "FILE", description = "A JSON config file.") List<Path> configFiles = new ArrayList<>();
        @Option(names = "-config-dir", paramLabel = "DIR", description = "A directory of *.json config files (read in name order).") List<Path> configDirs = new ArrayList<>();
        @Option(names = "-domain", paramLabel = "DOMAIN", description = "DNS domain (default consul.).") String domain;
        @Option(names = "-log-level", paramLabel = "LEVEL", description = "trace, debug, info, warn, error (default info).") String logLevel = "info";

        @Override
        public Integer call() throws Exception {
            configureLogging(logLevel);
            AgentConfig cfg = new AgentConfig();
            Set<String> set = new HashSet<>();
            CommandLine.ParseResult pr = spec.commandLine().getParseResult();
            for (var o : pr.matchedOptions()) set.add(o.longestName().substring(1));
            if (bootstrap) bootstrapExpect = 1;
            if (bootstrapExpect != null) set.add("bootstrap-expect");
            if (node != null) cfg.nodeName = node;
            if (datacenter != null) { cfg.datacenter = datacenter; set.add("datacenter"); }
            if (dataDir != null) cfg.dataDir = dataDir.toString();
            cfg.server = server;
            cfg.dev = dev;
            if (bootstrapExpect != null) cfg.bootstrapExpect = bootstrapExpect;
            if (bind != null) cfg.bindAddr = bind;
            if (client != null) cfg.clientAddr = client;
            if (httpPort != null) cfg.httpPort = httpPort;
            if (dnsPort != null) cfg.dnsPort = dnsPort;
            if (serverPort != null) cfg.serverPort = serverPort;
            if (serfLanPort != null) cfg.serfLanPort = serfLanPort;
            cfg.retryJoin.addAll(retryJoin);
            cfg.startJoin.addAll(join);
            cfg.configFiles.addAll(configFiles);
            cfg.configDirs.addAll(configDirs);
            if (domain != null) cfg.domain = domain;
            try {
                cfg.applyFiles(set);
                cfg.reloadDefinitions();
                cfg.validate();
            } catch (IllegalArgumentException | java.io.IOException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
            }
            // The handler goes in before the agent starts: the JVM's default for SIGHUP is to exit, and an operator (or a
            // test) may send one as soon as the agent answers, which can be before Agent.start has returned.
            java.util.concurrent.atomic.AtomicReference<Agent> started = new java.util.concurrent.atomic.AtomicReference<>();
            java.util.concurrent.atomic.AtomicBoolean hupWhileStarting = new java.util.concurrent.atomic.AtomicBoolean();
            installReloadSignal(started, hupWhileStarting);
            Agent agent = Agent.start(cfg);
            started.set(agent);
            if (hupWhileStarting.getAndSet(false)) reload(agent);
            Runtime.getRuntime().addShutdownHook(new Thread(agent::close, "shutdown"));
            agent.awaitStop();
            agent.close();
            return 0;
        }

        private static void installReloadSignal(java.util.concurrent.atomic.AtomicReference<Agent> started,
                                                java.util.concurrent.atomic.AtomicBoolean hupWhileStarting) {
            try {
                sun.misc.SignalHandler previous = sun.misc.Signal.handle(new sun.misc.Signal("HUP"), sig -> {
                    Agent agent = started.get();
                    if (agent == null) {
                        hupWhileStarting.set(true); // reloaded once the agent is up, by whichever side sees both
                        agent = started.get();
                        if (agent == null || !hupWhileStarting.getAndSet(false)) return;
                    }
                    reload(agent);
                });
                if (previous == sun.misc.SignalHandler.SIG_IGN) {
                    // Inherited as ignored (started under nohup): the JVM keeps ignoring it, the handler never runs.
                    org.slf4j.LoggerFactory.getLogger(Main.class).warn("SIGHUP is ignored by this process (started under nohup?):"
                            + " reload with `discovery-node reload` or PUT /v1/agent/reload instead");
                }
            } catch (IllegalArgumentException e) {
                org.slf4j.LoggerFactory.getLogger(Main.class).warn("SIGHUP reload not available here: {}", e.getMessage());
            }
        }

        private static void reload(Agent agent) {
            try {
                agent.reload();
            } catch (Exception e) {
                org.slf4j.LoggerFactory.getLogger(Main.class).error("reload failed, previous configuration kept: {}", e.getMessage());
            }
        }
    }

    /** Options shared by the commands that talk to a running agent. */
    static class HttpClientOptions {
        @Option(names = "-http-addr", paramLabel = "HOST:PORT", description = "The agent's HTTP address (default $CONSUL_HTTP_ADDR or 127.0.0.1:8500).")
        String httpAddr = System.getenv().getOrDefault("CONSUL_HTTP_ADDR", "127.0.0.1:8500");

        HttpResponse<String> send(String method, String path) throws Exception {
            String base = httpAddr.startsWith("http") ? httpAddr : "http://" + httpAddr;
            HttpRequest req = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10))
                    .method(method, HttpRequest.BodyPublishers.noBody()).build();
            return HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString());
        }
    }

    @Command(name = "members", mixinStandardHelpOptions = true, description = "Lists the cluster's members as this agent sees them.")
    static final class MembersCmd extends HttpClientOptions implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            HttpResponse<String> r = send("GET", "/v1/agent/members");
            if (r.statusCode() != 200) { System.err.println(r.body()); return 1; }
            var list = io.failoverkit.discovery.state.Json.MAPPER.readTree(r.body());
            System.out.printf("%-20s %-22s %-8s %-7s %s%n", "Node", "Address", "Status", "Type", "DC");
            for (var m : list) {
                int s = m.get("Status").asInt();
                System.out.printf("%-20s %-22s %-8s %-7s %s%n", m.get("Name").asText(), m.get("Addr").asText() + ":" + m.get("Port").asText(),
                        s == 1 ? "alive" : s == 3 ? "left" : "failed", "consul".equals(m.path("Tags").path("role").asText()) ? "server" : "client",
                        m.path("Tags").path("dc").asText());
            }
            return 0;
        }
    }

    @Command(name = "reload", mixinStandardHelpOptions = true, description = "Makes the agent re-read its service and check definitions.")
    static final class ReloadCmd extends HttpClientOptions implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            HttpResponse<String> r = send("PUT", "/v1/agent/reload");
            if (r.statusCode() != 200) { System.err.println("Error reloading: " + r.body().strip()); return 1; }
            System.out.println("Configuration reload triggered");
            return 0;
        }
    }

    @Command(name = "leave", mixinStandardHelpOptions = true, description = "Makes the agent leave the cluster gracefully and stop.")
    static final class LeaveCmd extends HttpClientOptions implements Callable<Integer> {
        @Override
        public Integer call() throws Exception {
            HttpResponse<String> r = send("PUT", "/v1/agent/leave");
            if (r.statusCode() != 200) { System.err.println("Error leaving: " + r.body().strip()); return 1; }
            System.out.println("Graceful leave complete");
            return 0;
        }
    }
}

package io.failoverkit.discovery;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.cli.AgentHttp;
import io.failoverkit.discovery.config.AgentConfig;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;

/** discovery-node: a Consul-compatible agent. Flags are spelled as Consul's (single dash). */
@Command(name = "discovery-node", mixinStandardHelpOptions = true, version = "discovery-node " + Agent.VERSION,
        description = "A Consul-compatible discovery agent (catalog, KV, sessions, health; HTTP API).",
        subcommands = {Main.AgentCmd.class, Main.MembersCmd.class, Main.JoinCmd.class, Main.ReloadCmd.class, Main.LeaveCmd.class,
                Main.ForceLeaveCmd.class, Main.EventCmd.class, Main.KeygenCmd.class, Main.KeyringCmd.class, Main.TagsCmd.class,
                io.failoverkit.discovery.cli.OperatorCmd.class, io.failoverkit.discovery.cli.SnapshotCmd.class,
                io.failoverkit.discovery.cli.LockCmd.class, io.failoverkit.discovery.cli.MaintCmd.class,
                io.failoverkit.discovery.cli.TemplateCmd.class, io.failoverkit.discovery.cli.AclCmd.class})
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
        // `lock PREFIX CMD ARGS...`: what follows PREFIX is the child's command line, its dashes included (as Consul's).
        cl.getSubcommands().get("lock").setStopAtPositional(true);
        return AgentHttp.installErrorHandling(cl);
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
        @Option(names = "-retry-interval", paramLabel = "DURATION", description = "Time between -retry-join attempts (default 1s).") String retryInterval;
        @Option(names = "-encrypt", paramLabel = "KEY", description = "Gossip encryption key: base64 of 16, 24 or 32 bytes (`discovery-node keygen` makes one). Kept in DATA-DIR/serf/local.keyring.") String encrypt;
        @Option(names = "-node-meta", paramLabel = "KEY:VALUE", description = "Node metadata, repeatable (kept in the catalog).") List<String> nodeMeta = new ArrayList<>();
        @Option(names = "-enable-script-checks", description = "Run script checks (Args) registered through the HTTP API or the config files. Off by default: whoever reaches the API could run commands here.") boolean enableScriptChecks;
        @Option(names = "-enable-local-script-checks", description = "Run script checks from the config files only; the HTTP API still refuses them.") boolean enableLocalScriptChecks;
        @Option(names = "-event-handler", paramLabel = "[FILTER,...=]SCRIPT", description = "A script run on gossip events, as serf's (filters: member-join, member-leave, member-failed, member-update, member-reap, user, user:NAME). Repeatable.") List<String> eventHandlers = new ArrayList<>();

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
            if (encrypt != null) cfg.encrypt = encrypt;
            cfg.eventHandlers.addAll(eventHandlers);
            cfg.enableScriptChecks = enableScriptChecks;
            cfg.enableLocalScriptChecks = enableLocalScriptChecks;
            try {
                if (retryInterval != null) cfg.retryInterval = io.failoverkit.discovery.config.Durations.parse(retryInterval);
                for (String m : nodeMeta) {
                    var e = io.failoverkit.discovery.config.NodeMeta.parseFlag(m);
                    cfg.nodeMeta.put(e.getKey(), e.getValue());
                }
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
            Agent agent;
            try {
                agent = Agent.start(cfg);
            } catch (java.io.IOException e) {
                // A port taken, a -join nobody answered, an unreadable keyring: say so, as Consul does, without a stack trace.
                spec.commandLine().getErr().println("==> Error starting agent: " + e.getMessage());
                spec.commandLine().getErr().flush();
                return 1;
            }
            started.set(agent);
            if (hupWhileStarting.getAndSet(false)) reload(agent);
            Runtime.getRuntime().addShutdownHook(new Thread(agent::close, "shutdown"));
            exitOnRaftFatalError();
            agent.awaitStop();
            agent.close();
            if (agent.fatal() != null) {
                spec.commandLine().getErr().println("==> Agent stopped: " + agent.fatal().getMessage());
                return 1; // a supervisor sees a failure, not a clean stop
            }
            return 0;
        }

        /**
         * Ratis no longer ends the process itself (RaftNode): when its log or apply thread fails, this program does,
         * after saying why, so that a supervisor restarts a whole agent rather than one with a dead Raft thread.
         */
        private static void exitOnRaftFatalError() {
            Thread watch = new Thread(() -> {
                while (true) {
                    Throwable fatal = io.failoverkit.discovery.raft.RaftNode.fatalError();
                    if (fatal != null) {
                        org.slf4j.LoggerFactory.getLogger(Main.class).error("Raft stopped on a fatal error, the agent exits: {}", fatal.toString());
                        System.exit(1);
                    }
                    try { Thread.sleep(500); } catch (InterruptedException e) { return; }
                }
            }, "raft-fatal-watch");
            watch.setDaemon(true);
            watch.start();
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

    @Command(name = "members", mixinStandardHelpOptions = true, description = "Lists the pool's members as this agent sees them (Consul's columns).")
    static final class MembersCmd implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Option(names = "-status", paramLabel = "REGEX", description = "Only members whose status (alive, leaving, left, failed) matches.") String status;
        @Option(names = "-detailed", description = "Show every tag.") boolean detailed;
        @Option(names = "-format", paramLabel = "FORMAT", description = "pretty (default) or json.") String format = "pretty";
        @Option(names = "-wan", description = "Accepted for Consul's sake: there is no WAN pool (lists the LAN).") boolean wan;
        @Option(names = "-segment", paramLabel = "SEGMENT", description = "Accepted for Consul's sake (one segment).") String segment;

        private static final String[] STATUS = {"none", "alive", "leaving", "left", "failed"};

        @Override
        public Integer call() throws Exception {
            java.util.regex.Pattern filter;
            try {
                filter = status == null ? null : java.util.regex.Pattern.compile(status);
            } catch (java.util.regex.PatternSyntaxException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "-status: invalid regular expression: " + e.getDescription());
            }
            if (!format.equals("pretty") && !format.equals("json")) throw new CommandLine.ParameterException(spec.commandLine(), "-format must be pretty or json");
            var all = http.getJson("retrieving members", "/v1/agent/members");
            List<com.fasterxml.jackson.databind.JsonNode> list = new ArrayList<>();
            for (var m : all) {
                int s = m.path("Status").asInt();
                String label = s >= 0 && s < STATUS.length ? STATUS[s] : "unknown";
                if (filter == null || filter.matcher(label).find()) list.add(m);
            }
            list.sort(java.util.Comparator.comparing(m -> m.path("Name").asText()));
            if (list.isEmpty()) return 2; // as Consul: nothing matched the filter
            if (format.equals("json")) {
                System.out.println(io.failoverkit.discovery.state.Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(list));
                return 0;
            }
            List<String[]> rows = new ArrayList<>();
            if (detailed) rows.add(new String[]{"Node", "Address", "Status", "Tags"});
            else rows.add(new String[]{"Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"});
            for (var m : list) {
                int s = m.path("Status").asInt();
                String label = s >= 0 && s < STATUS.length ? STATUS[s] : "unknown";
                String addr = m.path("Addr").asText();
                addr = (addr.contains(":") ? "[" + addr + "]" : addr) + ":" + m.path("Port").asText();
                var tags = m.path("Tags");
                if (detailed) {
                    java.util.TreeMap<String, String> t = new java.util.TreeMap<>();
                    tags.fields().forEachRemaining(e -> t.put(e.getKey(), e.getValue().asText()));
                    StringBuilder sb = new StringBuilder();
                    t.forEach((k, v) -> sb.append(sb.isEmpty() ? "" : ",").append(k).append('=').append(v));
                    rows.add(new String[]{m.path("Name").asText(), addr, label, sb.toString()});
                    continue;
                }
                String role = tags.path("role").asText();
                String build = tags.path("build").asText();
                if (build.isEmpty()) build = "< 0.3";
                else if (build.contains(":")) build = build.substring(0, build.indexOf(':'));
                String type = role.equals("consul") ? "server" : role.equals("node") ? "client" : null;
                if (type == null) {
                    rows.add(new String[]{m.path("Name").asText(), addr, label, "unknown", "", "", "", "", ""});
                } else {
                    String seg = tags.path("segment").asText();
                    if (type.equals("server")) seg = "<all>";
                    else if (seg.isEmpty()) seg = "<default>";
                    rows.add(new String[]{m.path("Name").asText(), addr, label, type, build, tags.path("vsn").asText(), tags.path("dc").asText(), "default", seg});
                }
            }
            printColumns(rows);
            return 0;
        }
    }

    /** Left-aligned columns two spaces apart, as Consul's columnize prints them. */
    static void printColumns(List<String[]> rows) {
        int cols = rows.get(0).length;
        int[] w = new int[cols];
        for (String[] r : rows) for (int i = 0; i < cols; i++) w[i] = Math.max(w[i], r[i].length());
        for (String[] r : rows) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < cols; i++) {
                sb.append(r[i]);
                if (i < cols - 1) sb.append(" ".repeat(w[i] - r[i].length() + 2));
            }
            System.out.println(sb.toString().stripTrailing());
        }
    }

    @Command(name = "join", mixinStandardHelpOptions = true, description = "Makes the agent join the pool through each address given.")
    static final class JoinCmd implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Parameters(arity = "1..*", paramLabel = "ADDRESS", description = "An agent's LAN address (host[:port]).") List<String> addresses;

        @Override
        public Integer call() throws Exception {
            int joined = 0;
            for (String a : addresses) {
                try {
                    http.call("joining address '" + a + "'", "PUT", "/v1/agent/join/" + AgentHttp.encode(a, false).replace("%3A", ":"));
                    joined++;
                } catch (AgentHttp.Failure f) {
                    System.err.println(f.getMessage());
                }
            }
            if (joined == 0) return 1;
            System.out.println("Successfully joined cluster by contacting " + joined + " nodes.");
            return 0;
        }
    }

    @Command(name = "force-leave", mixinStandardHelpOptions = true, description = "Moves a failed member to left (its catalog node is deregistered).")
    static final class ForceLeaveCmd implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Parameters(arity = "1", paramLabel = "NODE") String node;
        @Option(names = "-prune", description = "Also drop it from the member list.") boolean prune;

        @Override
        public Integer call() throws Exception {
            http.call("force leaving", "PUT", "/v1/agent/force-leave/" + AgentHttp.encode(node, false) + (prune ? "?prune" : ""));
            return 0;
        }
    }

    @Command(name = "event", mixinStandardHelpOptions = true, description = "Fires a user event to the pool (Consul's `consul event`).")
    static final class EventCmd implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Option(names = "-name", required = true, paramLabel = "NAME", description = "The event's name.") String name;
        @Option(names = "-node", paramLabel = "REGEX", description = "Only nodes whose name matches act on it.") String node;
        @Option(names = "-service", paramLabel = "REGEX", description = "Only nodes with a matching service act on it.") String service;
        @Option(names = "-tag", paramLabel = "REGEX", description = "With -service: only nodes whose matching service has a matching tag.") String tag;
        @CommandLine.Parameters(arity = "0..1", paramLabel = "PAYLOAD") String payload;

        @Override
        public Integer call() throws Exception {
            if (name.isBlank()) throw new CommandLine.ParameterException(spec.commandLine(), "-name must not be empty");
            if (tag != null && service == null) throw new CommandLine.ParameterException(spec.commandLine(), "-tag requires -service");
            StringBuilder q = new StringBuilder();
            for (String[] kv : new String[][]{{"node", node}, {"service", service}, {"tag", tag}}) {
                if (kv[1] == null) continue;
                q.append(q.isEmpty() ? "?" : "&").append(kv[0]).append('=').append(AgentHttp.q(kv[1]));
            }
            var r = http.call("firing event", "PUT", "/v1/event/fire/" + AgentHttp.encode(name, false) + q,
                    payload == null ? new byte[0] : payload.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            System.out.println("Event ID: " + r.json().path("ID").asText());
            return 0;
        }
    }

    @Command(name = "keygen", mixinStandardHelpOptions = true, description = "Prints a new gossip encryption key (base64 of 32 random bytes).")
    static final class KeygenCmd implements Callable<Integer> {
        @Override
        public Integer call() {
            System.out.println(io.failoverkit.discovery.cluster.GossipKeys.generate());
            return 0;
        }
    }

    @Command(name = "keyring", mixinStandardHelpOptions = true, description = "Lists, installs, switches or removes the pool's gossip keys.")
    static final class KeyringCmd implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Option(names = "-list", description = "List the keys and how many agents hold each.") boolean list;
        @Option(names = "-install", paramLabel = "KEY", description = "Install a key on every agent.") String install;
        @Option(names = "-use", paramLabel = "KEY", description = "Make an installed key the primary (what encrypts).") String use;
        @Option(names = "-remove", paramLabel = "KEY", description = "Remove a key that is not the primary.") String remove;

        @Override
        public Integer call() throws Exception {
            int n = (list ? 1 : 0) + (install != null ? 1 : 0) + (use != null ? 1 : 0) + (remove != null ? 1 : 0);
            if (n != 1) throw new CommandLine.ParameterException(spec.commandLine(), "exactly one of -list, -install, -use, -remove is required");
            String key = install != null ? install : use != null ? use : remove;
            if (key != null) {
                try {
                    io.failoverkit.discovery.cluster.GossipKeys.decode(key);
                } catch (IllegalArgumentException e) {
                    throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
                }
            }
            if (list) {
                System.out.println("==> Gathering installed encryption keys...");
                var r = http.send("GET", "/v1/operator/keyring", null);
                var body = io.failoverkit.discovery.state.Json.MAPPER.readTree(r.body().isBlank() ? "[]" : r.body());
                for (var ring : body) {
                    System.out.println();
                    System.out.println("LAN:");
                    int nodes = ring.path("NumNodes").asInt();
                    ring.path("Keys").fields().forEachRemaining(e -> System.out.println("  " + e.getKey() + " [" + e.getValue().asInt() + "/" + nodes + "]"));
                    ring.path("Messages").fields().forEachRemaining(e -> System.err.println("  " + e.getKey() + ": " + e.getValue().asText()));
                }
                return r.ok() ? 0 : 1;
            }
            String method = install != null ? "POST" : use != null ? "PUT" : "DELETE";
            String what = install != null ? "Installing new gossip encryption key..." : use != null ? "Changing primary gossip encryption key..." : "Removing gossip encryption key...";
            System.out.println("==> " + what);
            var r = http.send(method, "/v1/operator/keyring", io.failoverkit.discovery.state.Json.MAPPER.writeValueAsBytes(java.util.Map.of("Key", key)));
            if (!r.ok()) { System.err.println("error: " + r.body().strip()); return 1; }
            return 0;
        }
    }

    @Command(name = "tags", mixinStandardHelpOptions = true, description = "Sets or deletes this agent's run-time gossip tags (serf's `tags`).")
    static final class TagsCmd implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Option(names = "-set", paramLabel = "KEY=VALUE", description = "Set a tag (repeatable).") List<String> set = new ArrayList<>();
        @Option(names = "-delete", paramLabel = "KEY", description = "Delete a tag (repeatable).") List<String> delete = new ArrayList<>();

        @Override
        public Integer call() throws Exception {
            if (set.isEmpty() && delete.isEmpty()) throw new CommandLine.ParameterException(spec.commandLine(), "at least one -set or -delete is required");
            java.util.Map<String, String> tags = new java.util.LinkedHashMap<>();
            for (String s : set) {
                int eq = s.indexOf('=');
                if (eq <= 0) throw new CommandLine.ParameterException(spec.commandLine(), "-set \"" + s + "\": use KEY=VALUE");
                tags.put(s.substring(0, eq), s.substring(eq + 1));
            }
            http.call("setting tags", "PUT", "/v1/agent/tags", io.failoverkit.discovery.state.Json.MAPPER.writeValueAsBytes(java.util.Map.of("Set", tags, "Delete", delete)));
            System.out.println("Successfully updated agent tags");
            return 0;
        }
    }

    @Command(name = "reload", mixinStandardHelpOptions = true, description = "Makes the agent re-read its service and check definitions.")
    static final class ReloadCmd implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @Override
        public Integer call() throws Exception {
            http.call("reloading", "PUT", "/v1/agent/reload");
            System.out.println("Configuration reload triggered");
            return 0;
        }
    }

    @Command(name = "leave", mixinStandardHelpOptions = true, description = "Makes the agent leave the cluster gracefully and stop.")
    static final class LeaveCmd implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @Override
        public Integer call() throws Exception {
            http.call("leaving", "PUT", "/v1/agent/leave");
            System.out.println("Graceful leave complete");
            return 0;
        }
    }
}

package io.failoverkit.failover.playbook;

import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.DiscoveryClient;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** `failover playbook list | show NAME | run NAME`: the runbooks in playbooks/, read and run. */
@Command(name = "playbook", mixinStandardHelpOptions = true,
        description = "Runbooks (playbooks/*.md): list them, show one, or run its steps (asking before each destructive one).",
        subcommands = {PlaybookCmd.ListCmd.class, PlaybookCmd.ShowCmd.class, PlaybookCmd.RunCmd.class})
public final class PlaybookCmd implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: list, show NAME or run NAME");
    }

    static class DirOption {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Option(names = "--dir", paramLabel = "DIR", description = "Where the playbooks are (default: $FAILOVERKIT_HOME/playbooks, else ./playbooks).") Path dir;

        Path dir() {
            if (dir != null) return dir;
            String home = System.getenv("FAILOVERKIT_HOME");
            return home != null ? Path.of(home, "playbooks") : Path.of("playbooks");
        }

        List<Path> pages() {
            Path d = dir();
            if (!Files.isDirectory(d)) throw new CommandLine.ParameterException(spec.commandLine(), "no playbook directory " + d + " (give --dir)");
            try (Stream<Path> s = Files.list(d)) {
                return s.filter(p -> p.getFileName().toString().endsWith(".md") && !p.getFileName().toString().equals("README.md")).sorted().toList();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        Playbook page(String name) {
            if (!Playbook.NAME.matcher(name).matches()) throw new CommandLine.ParameterException(spec.commandLine(), "a playbook name is lower-case letters, digits and dashes: " + name);
            Path p = dir().resolve(name + ".md");
            if (!Files.isRegularFile(p)) {
                throw new CommandLine.ParameterException(spec.commandLine(), "no playbook " + name + " in " + dir() + "; `failover playbook list` shows them");
            }
            try {
                return Playbook.read(p);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "The playbooks: name, title, steps (destructive ones counted).")
    static final class ListCmd extends DirOption implements Callable<Integer> {
        @Override
        public Integer call() {
            int bad = 0;
            for (Path p : pages()) {
                try {
                    Playbook b = Playbook.read(p);
                    long d = b.steps().stream().filter(Playbook.Step::destructive).count();
                    System.out.printf("%-28s %s (%d steps, %d destructive)%n", b.name(), b.title(), b.steps().size(), d);
                } catch (IOException e) {
                    System.out.printf("%-28s UNREADABLE: %s%n", p.getFileName(), e.getMessage());
                    bad++;
                }
            }
            return bad == 0 ? 0 : 1;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Prints a playbook's page, then its steps as the runner sees them.")
    static final class ShowCmd extends DirOption implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME") String name;

        @Override
        public Integer call() throws IOException {
            Playbook b = page(name);
            System.out.println(Files.readString(dir().resolve(name + ".md")).stripTrailing());
            System.out.println();
            System.out.println("---- steps as `failover playbook run " + name + "` runs them ----");
            for (Playbook.Variable v : b.variables()) {
                System.out.printf("variable %s: %s%s%n", v.name(), v.required() ? "required" : "optional" + (v.defaultValue().isEmpty() ? "" : ", default " + v.defaultValue()),
                        v.description().isEmpty() ? "" : " - " + v.description());
            }
            for (Playbook.Step s : b.steps()) {
                System.out.printf("%2d %-26s %-11s %s%s%s%n", s.number(), s.name(), s.destructive() ? "DESTRUCTIVE" : "read-only", s.expectation(),
                        s.kind() == null ? "" : "; " + s.kind() + " only", s.rollback() ? "; roll back (run with --rollback)" : "");
            }
            return 0;
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "Runs a playbook's steps in order; asks before each destructive step (or --yes); stops at the first failure with what to do next; records each step in the cluster's audit in the discovery KV.")
    static final class RunCmd extends DirOption implements Callable<Integer> {
        @CommandLine.Mixin io.failoverkit.failover.discovery.TokenOption auth;
        @Parameters(index = "0", paramLabel = "NAME") String name;
        @Option(names = "--cluster", paramLabel = "FILE|kv:NAME", description = "The cluster definition (a file, or kv:NAME); the page says whether it needs one.") String clusterRef;
        @Option(names = "--discovery", paramLabel = "HOST:PORT", description = "The discovery node's HTTP address (default $CONSUL_HTTP_ADDR, else 127.0.0.1:8500).") String discovery;
        @Option(names = "--set", paramLabel = "NAME=VALUE", description = "A page variable (repeatable); see `failover playbook show NAME`. The environment's value is used otherwise.") List<String> sets = new ArrayList<>();
        @Option(names = "--dry-run", description = "Print every step with its variables; run only the read-only ones.") boolean dryRun;
        @Option(names = "--yes", description = "Run destructive steps without asking (needed when there is no terminal).") boolean yes;
        @Option(names = "--rollback", description = "Run the page's roll-back section instead of its steps.") boolean rollback;
        @Option(names = "--bin", paramLabel = "DIR", description = "Put DIR first on the steps' PATH (default: $FAILOVERKIT_HOME/bin), where `failover` and `discovery-node` are.") Path bin;

        @Override
        public Integer call() throws Exception {
            Playbook b = page(name);
            String address = discovery != null ? discovery : System.getenv().getOrDefault("CONSUL_HTTP_ADDR", "127.0.0.1:8500");
            // The steps get host:port (their pages build URLs from it); an https node stays https for this command's own
            // client and, through CONSUL_HTTP_SSL, for the steps' failover and discovery-node commands (Consul's TLS
            // variables, CONSUL_CACERT and the rest, reach the steps with the rest of this environment).
            boolean https;
            try {
                https = auth.tls().baseUrl(address).startsWith("https://");
            } catch (IllegalArgumentException e) {
                throw usage(e.getMessage());
            }
            String disc = address.strip().replaceFirst("^https?://", "").replaceFirst("/+$", "");
            Map<String, String> given = new LinkedHashMap<>();
            for (String s : sets) {
                int eq = s.indexOf('=');
                if (eq <= 0) throw usage("--set " + s + ": use NAME=VALUE");
                String k = s.substring(0, eq);
                if (b.variables().stream().noneMatch(v -> v.name().equals(k))) {
                    throw usage("playbook " + name + " has no variable " + k + " (it has " + b.variables().stream().map(Playbook.Variable::name).toList() + ")");
                }
                given.put(k, s.substring(eq + 1));
            }
            Map<String, String> env = new LinkedHashMap<>();
            DiscoveryClient client = auth.client(https ? "https://" + disc : disc);
            String kind = null, clusterName = null;
            boolean needsCluster = b.variables().stream().anyMatch(v -> v.name().equals("FAILOVER_CLUSTER") && v.required());
            if (needsCluster && clusterRef == null) throw usage("playbook " + name + " needs --cluster FILE|kv:NAME");
            if (clusterRef != null) {
                ClusterDefinition c = cluster(client, disc);
                kind = c.kind();
                clusterName = c.name();
                env.put("FAILOVER_CLUSTER", clusterRef);
                env.put("FAILOVER_NAME", c.name());
                env.put("FAILOVER_KIND", c.kind());
                env.put("FAILOVER_SERVICE", c.service());
                env.put("FAILOVER_MEMBERS", String.join(" ", c.members()));
                env.put("FAILOVER_MASTER", currentMaster(client, c));
            }
            env.put("FAILOVER_DISCOVERY", disc);
            env.put("CONSUL_HTTP_ADDR", disc);
            env.put("CONSUL_HTTP_SSL", Boolean.toString(https)); // an explicit http:// stays http in the steps too
            // The steps' own failover/discovery-node commands find the token where this one did (never in their argv).
            if (auth.tokenFile() != null) env.put("CONSUL_HTTP_TOKEN_FILE", auth.tokenFile().toAbsolutePath().toString());
            for (Playbook.Variable v : b.variables()) {
                if (env.containsKey(v.name())) continue;
                String value = given.containsKey(v.name()) ? given.get(v.name()) : System.getenv(v.name());
                if (value == null) {
                    if (v.required()) throw usage("playbook " + name + " needs " + v.name() + " (" + v.description() + "): --set " + v.name() + "=VALUE");
                    value = v.defaultValue();
                }
                env.put(v.name(), value);
            }
            env.put("FAILOVER_DRY_RUN", dryRun ? "1" : "0");
            Path binDir = bin != null ? bin : System.getenv("FAILOVERKIT_HOME") != null ? Path.of(System.getenv("FAILOVERKIT_HOME"), "bin") : null;
            Map<String, String> processEnv = new LinkedHashMap<>(env);
            if (binDir != null) processEnv.put("PATH", binDir.toAbsolutePath() + ":" + System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
            boolean interactive = onTerminal();
            Runner runner = new Runner(b, processEnv, new Runner.Options(dryRun, yes, interactive, rollback),
                    new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)), System.out,
                    new Audit.Kv(client), Audit.prefix(clusterName), kind, by(), Path.of("").toAbsolutePath());
            if (runner.steps().isEmpty()) throw usage("playbook " + name + " has no " + (rollback ? "roll-back " : "") + "steps for " + (kind == null ? "this run" : "a " + kind + " cluster"));
            String refusal = runner.refusal();
            if (refusal != null) throw usage("refusing to start: " + refusal);
            return runner.run().exitCode();
        }

        private CommandLine.ParameterException usage(String why) { return new CommandLine.ParameterException(spec.commandLine(), why); }

        private ClusterDefinition cluster(DiscoveryClient client, String disc) {
            try {
                if (clusterRef.startsWith("kv:")) {
                    String n = clusterRef.substring(3);
                    if (!n.matches("[A-Za-z0-9][A-Za-z0-9_-]*")) throw usage("--cluster kv:NAME needs a cluster name");
                    Optional<DiscoveryClient.KvEntry> e;
                    try {
                        e = client.get(ClusterDefinition.kvKey(n));
                    } catch (IOException ex) {
                        throw new java.io.UncheckedIOException(new IOException("cannot read the definition of " + n + " from the discovery node at " + disc + ": " + ex.getMessage(), ex));
                    }
                    DiscoveryClient.KvEntry entry = e.orElseThrow(() -> usage("no definition stored for cluster " + n + " (key " + ClusterDefinition.kvKey(n) + ")"));
                    return ClusterDefinition.parse(entry.text(), false, "kv:" + ClusterDefinition.kvKey(n));
                }
                return ClusterDefinition.read(Path.of(clusterRef));
            } catch (IOException e) {
                throw usage("bad cluster definition: " + e.getMessage());
            }
        }

        /** The epoch's master, else the one master the catalog names, else empty: as read when the run starts. */
        private static String currentMaster(DiscoveryClient client, ClusterDefinition c) {
            try {
                String m = new EpochStore(client, c.name()).read().state().master();
                if (m != null) return m;
                List<String> catalog = new Catalog(client, c.service()).masters();
                return catalog.size() == 1 ? catalog.get(0) : "";
            } catch (IOException e) {
                return "";
            }
        }

        /** A terminal to ask on: System.console() is one only when isTerminal() says so (JDK 22+; compiled for 21, so by reflection). */
        static boolean onTerminal() {
            java.io.Console console = System.console();
            if (console == null) return false;
            try {
                return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(console);
            } catch (ReflectiveOperationException e) {
                return true; // before JDK 22 a console exists only on a terminal
            }
        }

        private static String by() {
            String user = System.getenv("SUDO_USER") != null ? System.getenv("SUDO_USER") : System.getProperty("user.name", "?");
            try {
                return user + "@" + InetAddress.getLocalHost().getHostName();
            } catch (IOException e) {
                return user;
            }
        }
    }
}

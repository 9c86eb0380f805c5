package io.failoverkit.discovery.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code discovery-node operator raft list-peers | remove-peer}, as Consul's {@code consul operator raft}. */
@Command(name = "operator", mixinStandardHelpOptions = true, description = "Operator tools for the servers (Raft).",
        subcommands = {OperatorCmd.RaftCmd.class})
public final class OperatorCmd implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (raft)");
    }

    @Command(name = "raft", mixinStandardHelpOptions = true,
            description = "Looks at the Raft peer configuration, or, in rare cases, removes a server from it (to recover quorum).",
            subcommands = {ListPeers.class, RemovePeer.class})
    static final class RaftCmd implements Runnable {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (list-peers, remove-peer)");
        }
    }

    @Command(name = "list-peers", mixinStandardHelpOptions = true, description = "Displays the current Raft peer configuration (Consul's columns).")
    static final class ListPeers implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @Option(names = "-stale", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
                description = "Read the configuration from this server even without a leader (an outage).")
        boolean stale;

        @Override
        public Integer call() {
            PrintWriter out = http.out();
            JsonNode conf = http.getJson("getting peers", "/v1/operator/raft/configuration" + (stale ? "?stale" : ""));
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[]{"Node", "ID", "Address", "State", "Voter", "RaftProtocol"});
            for (JsonNode s : conf.path("Servers")) {
                rows.add(new String[]{s.path("Node").asText(), s.path("ID").asText(), s.path("Address").asText(),
                        s.path("Leader").asBoolean() ? "leader" : "follower", Boolean.toString(s.path("Voter").asBoolean()),
                        s.path("ProtocolVersion").asText("<=1")});
            }
            int[] w = new int[rows.get(0).length];
            for (String[] row : rows) for (int i = 0; i < w.length; i++) w[i] = Math.max(w[i], row[i].length());
            for (String[] row : rows) {
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < w.length; i++) sb.append(row[i]).append(i < w.length - 1 ? " ".repeat(w[i] - row[i].length() + 2) : "");
                out.println(sb.toString().stripTrailing());
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "remove-peer", mixinStandardHelpOptions = true,
            description = "Removes a server from the Raft configuration, by -id or -address. For a server the pool still knows, "
                    + "`discovery-node force-leave` is the better tool (the leader re-adds a server that is alive).")
    static final class RemovePeer implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @Option(names = "-id", paramLabel = "ID", description = "The server's ID (its node ID, or node name) as list-peers shows it.") String id;
        @Option(names = "-address", paramLabel = "HOST:PORT", description = "The server's Raft address as list-peers shows it.") String address;

        @Override
        public Integer call() {
            boolean hasId = id != null && !id.isEmpty();
            boolean hasAddress = address != null && !address.isEmpty();
            if (hasId == hasAddress) {
                throw http.usage("Exactly one of -id or -address must be given");
            }
            PrintWriter out = http.out();
            http.call("removing peer", "DELETE", "/v1/operator/raft/peer?" + (hasId ? "id=" + AgentHttp.q(id) : "address=" + AgentHttp.q(address)),
                    null, Duration.ofSeconds(60));
            out.println(hasId ? "Removed peer with id \"" + id + "\"" : "Removed peer with address \"" + address + "\"");
            out.flush();
            return 0;
        }
    }
}

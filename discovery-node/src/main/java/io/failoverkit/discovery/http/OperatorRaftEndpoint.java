package io.failoverkit.discovery.http;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.cluster.Member;
import io.failoverkit.discovery.raft.RaftNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Consul's /v1/operator/raft endpoints on a server: {@code GET configuration} (Servers with ID, Node, Address, Leader,
 * ProtocolVersion, Voter, and the configuration's Index) and {@code DELETE peer?id=|address=}. A server's Raft ID
 * here is its node name; the ID shown is its node ID (DATA-DIR/node-id, as Consul's), and ?id= takes either.
 */
final class OperatorRaftEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(OperatorRaftEndpoint.class);
    private final Agent agent;

    OperatorRaftEndpoint(Agent agent) {
        this.agent = agent;
    }

    void handle(Call call) {
        Optional<RaftNode> raft = agent.raftNode();
        switch (call.path) {
            case "configuration" -> {
                if (!call.method.equals("GET")) throw new HttpError(405, "method " + call.method + " not allowed on /v1/operator/raft/configuration (GET)");
                if (raft.isEmpty()) { call.text(500, "No cluster leader (this server has no Raft configuration yet)"); return; }
                // Answered from this server's view: the default mode needs a known leader (as Consul, which asks the
                // leader); ?stale answers without one, which is how an operator looks at a cluster that lost its quorum.
                if (!call.has("stale") && raft.get().leaderName().isEmpty()) { call.text(500, "No cluster leader"); return; }
                RaftNode.Configuration conf = raft.get().configuration();
                List<Map<String, Object>> servers = new ArrayList<>();
                for (RaftNode.ServerInfo s : conf.servers()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("ID", nodeIdOf(s.name()));
                    m.put("Node", s.name());
                    m.put("Address", s.address());
                    m.put("Leader", s.leader());
                    m.put("ProtocolVersion", "3");
                    m.put("Voter", s.voter());
                    servers.add(m);
                }
                Map<String, Object> body = new LinkedHashMap<>();
                body.put("Servers", servers);
                body.put("Index", conf.index());
                call.json(200, body);
            }
            case "peer" -> {
                if (!call.method.equals("DELETE")) throw new HttpError(405, "method " + call.method + " not allowed on /v1/operator/raft/peer (DELETE)");
                String id = call.param("id");
                String address = call.param("address");
                if ((id == null || id.isEmpty()) && (address == null || address.isEmpty())) {
                    throw HttpError.badRequest("Must specify either ?id with the server's ID or ?address with IP:port of peer to remove");
                }
                if (id != null && !id.isEmpty() && address != null && !address.isEmpty()) {
                    throw HttpError.badRequest("Give either ?id or ?address, not both");
                }
                if (raft.isEmpty()) { call.text(500, "No cluster leader (this server has no Raft configuration yet)"); return; }
                RaftNode.Configuration conf = raft.get().configuration();
                Optional<RaftNode.ServerInfo> target = id != null && !id.isEmpty()
                        ? conf.servers().stream().filter(s -> s.name().equals(id) || nodeIdOf(s.name()).equals(id)).findFirst()
                        : conf.byAddress(address);
                if (target.isEmpty()) {
                    throw HttpError.badRequest(id != null && !id.isEmpty()
                            ? "id \"" + id + "\" was not found in the Raft configuration"
                            : "address \"" + address + "\" was not found in the Raft configuration");
                }
                if (target.get().voter() && conf.voters() <= 1) {
                    throw HttpError.badRequest("refusing to remove " + target.get().name() + ": it is the last voter in the Raft configuration");
                }
                LOG.warn("operator request: removing server {} ({}) from the Raft configuration", target.get().name(), target.get().address());
                try {
                    raft.get().removeVoter(conf, target.get().name());
                } catch (IllegalArgumentException e) {
                    throw HttpError.badRequest(e.getMessage());
                } catch (java.io.IOException e) {
                    call.text(500, e.getMessage());
                    return;
                }
                LOG.warn("operator request: server {} removed from the Raft configuration", target.get().name());
                call.send(200, new byte[0], null);
            }
            default -> throw HttpError.notFound("unknown endpoint /v1/operator/raft/" + call.path);
        }
    }

    /** The node ID a server gossips (its "id" tag), or its name when the pool does not know it. */
    private String nodeIdOf(String name) {
        for (Member m : agent.membership().members()) {
            if (m.name().equals(name)) {
                String id = m.tags().get("id");
                return id == null || id.isEmpty() ? name : id;
            }
        }
        return name;
    }
}

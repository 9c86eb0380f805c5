package io.failoverkit.failover.acl;

import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.cluster.ClusterDefinition;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * The least privilege a cluster's failover commands need on the discovery cluster, as Consul ACL rules (HCL). Every
 * name comes from the code that uses it, not from a second copy: the KV prefix from
 * {@link ClusterDefinition#kvPrefix}, the catalog nodes from {@link Catalog#nodeName}, the service from the definition.
 *
 * <ul>
 *   <li>{@code key_prefix "failover/<cluster>/"} write: the epoch, the lock, audit, history, attempts, promote
 *       requests and results, the semi-sync record, the stored definition (the trailing slash keeps
 *       {@code failover/<cluster>-2/} out).</li>
 *   <li>{@code service "<service>"} write: registering and deregistering the master and replica instances.</li>
 *   <li>{@code node "<service>-<member address>"} write, one per member: the catalog node each member is registered
 *       on (Consul asks node:write to create a node); exact names, no prefix, so another cluster's nodes stay out.</li>
 *   <li>{@code session "<agent node>"} write: the lock session, which Consul ties to the node of the agent the manager
 *       talks to (one rule per agent a manager may use). Consul's session rules name nodes only: another cluster's
 *       manager on the same agent node could renew or destroy this one's sessions, and this one theirs; give each
 *       cluster's managers their own agents where that matters.</li>
 * </ul>
 * Nothing else: no agent, operator, event, query, ACL or keyring rule, and no read beyond these.
 */
public record ManagerPolicy(String cluster, String service, List<String> nodes, List<String> sessionNodes) {
    public ManagerPolicy {
        if (sessionNodes.isEmpty()) throw new IllegalArgumentException("the policy needs the node of at least one agent the manager talks to");
        nodes = List.copyOf(nodes);
        sessionNodes = List.copyOf(new LinkedHashSet<>(sessionNodes));
    }

    /** The policy for {@code cluster}'s managers, which create their lock sessions through agents on {@code sessionNodes}. */
    public static ManagerPolicy of(ClusterDefinition cluster, List<String> sessionNodes) {
        List<String> nodes = new ArrayList<>();
        for (String member : cluster.members()) nodes.add(Catalog.nodeName(cluster.service(), member));
        return new ManagerPolicy(cluster.name(), cluster.service(), nodes, sessionNodes);
    }

    /** The KV prefix the rules grant. */
    public String keyPrefix() {
        return ClusterDefinition.kvPrefix(cluster);
    }

    /** The policy's name in the discovery cluster. */
    public String name() {
        return "failover-" + cluster;
    }

    public String description() {
        return "failover manager of cluster " + cluster + " (service " + service + "), made by `failover acl-policy`";
    }

    /** The rules, in Consul's HCL syntax. */
    public String rules() {
        StringBuilder b = new StringBuilder();
        b.append("# ").append(description()).append('\n');
        b.append("# the cluster's keys: epoch, lock, audit, history, attempts, promote requests, definition\n");
        rule(b, "key_prefix", keyPrefix());
        b.append("# its master and replica instances\n");
        rule(b, "service", service);
        b.append("# the catalog node of each member\n");
        for (String n : nodes) rule(b, "node", n);
        b.append("# the lock session, on the node of the agent the manager talks to\n");
        for (String n : sessionNodes) rule(b, "session", n);
        return b.toString();
    }

    private static void rule(StringBuilder b, String kind, String name) {
        b.append(kind).append(" \"").append(quote(name)).append("\" {\n  policy = \"write\"\n}\n");
    }

    /** HCL string escaping (the names are validated elsewhere; this keeps a quote from ending the string anyway). */
    private static String quote(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }
}

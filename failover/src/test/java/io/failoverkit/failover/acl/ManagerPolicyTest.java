package io.failoverkit.failover.acl;

import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.act.HistoryStore;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.Discovery;
import io.failoverkit.failover.fake.FakeDiscovery;
import io.failoverkit.failover.fake.FakeServers;
import io.failoverkit.failover.watch.Manager;
import io.failoverkit.failover.watch.Promote;
import io.failoverkit.failover.watch.SemiSyncRecorder;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The policy `failover acl-policy` prints, held against what the failover code really touches: a manager and the
 * operator commands run through every path (healthy cycle, failover, switchover request, ack, define, status reads,
 * lock release) against a discovery double that records each permission Consul would check, and each one must be
 * granted by the printed rules, read as Consul reads them (exact rule first, else the longest prefix, else deny).
 * Every rule must be needed by some call, and another cluster's names must be denied.
 */
class ManagerPolicyTest {
    static final String M = "10.0.0.1:6379";
    static final String R1 = "10.0.0.2:6379";
    static final String R2 = "10.0.0.3:6379";
    static final String AGENT_NODE = "db-host-1";

    static ClusterDefinition cluster(String name, String service) {
        return new ClusterDefinition(name, "redis", List.of(M, R1, R2), service, null, null, null, null,
                new ClusterDefinition.Hooks(List.of(), List.of(), 10_000), 600, null, null);
    }

    /** One permission as Consul's HTTP API checks it: kind (key, service, node, session), name, read or write. */
    record Need(String kind, String name, String access) {}

    /** FakeDiscovery, recording what each call would need from the token (Consul's endpoint checks and filters). */
    static final class Recording implements Discovery {
        final FakeDiscovery fake = new FakeDiscovery();
        final Set<Need> needs = new LinkedHashSet<>();
        final Map<String, String> serviceOfId = new HashMap<>();

        private void need(String kind, String name, String access) { needs.add(new Need(kind, name, access)); }

        @Override public Optional<KvEntry> get(String key) throws IOException { need("key", key, "read"); return fake.get(key); }
        @Override public void put(String key, String value) throws IOException { need("key", key, "write"); fake.put(key, value); }
        @Override public boolean cas(String key, String value, long i) throws IOException { need("key", key, "write"); return fake.cas(key, value, i); }
        @Override public void delete(String key) throws IOException { need("key", key, "write"); fake.delete(key); }
        @Override public boolean acquire(String key, String s, String v) throws IOException { need("key", key, "write"); return fake.acquire(key, s, v); }
        @Override public boolean release(String key, String s) throws IOException { need("key", key, "write"); return fake.release(key, s); }

        @Override
        public TxnResult txn(List<TxnOp> ops) throws IOException {
            for (TxnOp op : ops) {
                boolean reads = op.verb().equals("get") || op.verb().startsWith("check-");
                need("key", op.key(), reads ? "read" : "write");
            }
            return fake.txn(ops);
        }

        // A session is created on the node of the agent the request goes to, and renewed or destroyed with its node's rule.
        @Override public String createSession(String n, Duration ttl, Duration d) throws IOException { need("session", AGENT_NODE, "write"); return fake.createSession(n, ttl, d); }
        @Override public boolean renewSession(String id) throws IOException { need("session", AGENT_NODE, "write"); return fake.renewSession(id); }
        @Override public void destroySession(String id) throws IOException { need("session", AGENT_NODE, "write"); fake.destroySession(id); }

        @Override
        public void register(String node, String address, String serviceId, String service, List<String> tags, int port, Check check) throws IOException {
            need("node", node, "write"); // Consul: node:write when the node is new or changes; the manager creates its nodes
            need("service", service, "write");
            serviceOfId.put(serviceId, service);
            fake.register(node, address, serviceId, service, tags, port, check);
        }

        @Override
        public void deregisterService(String node, String serviceId) throws IOException {
            String service = serviceOfId.get(serviceId);
            if (service != null) need("service", service, "write");
            else need("node", node, "write");
            fake.deregisterService(node, serviceId);
        }

        // Consul shows a catalog or health entry only with service:read and node:read on its node.
        @Override
        public List<Instance> instances(String service, String tag) throws IOException {
            need("service", service, "read");
            List<Instance> out = fake.instances(service, tag);
            for (Instance i : out) need("node", i.node(), "read");
            return out;
        }

        @Override
        public List<Health> health(String service) throws IOException {
            need("service", service, "read");
            List<Health> out = fake.health(service);
            for (Health h : out) need("node", h.instance().node(), "read");
            return out;
        }
    }

    /** A rule of the printed policy. */
    record Rule(String kind, boolean prefix, String name, String policy) {}

    private static final Pattern RULE = Pattern.compile(
            "\\s*(key|service|node|session)(_prefix)?\\s+\"((?:[^\"\\\\]|\\\\.)*)\"\\s*\\{\\s*policy\\s*=\\s*\"(read|write|deny|list)\"\\s*}");

    /** Reads the printed HCL: comment lines and rules only; anything else fails the test. */
    static List<Rule> parse(String hcl) {
        String body = hcl.lines().filter(l -> !l.strip().startsWith("#")).reduce("", (a, b) -> a + b + "\n");
        List<Rule> rules = new ArrayList<>();
        Matcher m = RULE.matcher(body);
        int at = 0;
        while (m.find() && m.start() == at) {
            rules.add(new Rule(m.group(1), m.group(2) != null, m.group(3).replace("\\\"", "\"").replace("\\\\", "\\"), m.group(4)));
            at = m.end();
        }
        assertThat(body.substring(at).strip()).as("text of the policy that is not a rule").isEmpty();
        return rules;
    }

    /** Consul's lookup: the exact rule of that kind, else the longest matching prefix rule, else nothing (deny). */
    static Optional<Rule> governing(List<Rule> rules, Need n) {
        Optional<Rule> exact = rules.stream().filter(r -> r.kind().equals(n.kind()) && !r.prefix() && r.name().equals(n.name())).findFirst();
        if (exact.isPresent()) return exact;
        return rules.stream().filter(r -> r.kind().equals(n.kind()) && r.prefix() && n.name().startsWith(r.name()))
                .max((a, b) -> Integer.compare(a.name().length(), b.name().length()));
    }

    static boolean allows(List<Rule> rules, Need n) {
        return governing(rules, n).map(r -> r.policy().equals("write") || r.policy().equals("read") && n.access().equals("read")).orElse(false);
    }

    /** Drives every path of the failover code that talks to the discovery cluster, through {@code d}. */
    static void exercise(ClusterDefinition c, Recording d) throws Exception {
        FakeServers s = FakeServers.cluster(true, M, R1, R2);
        Manager m = new Manager(c, d, s, "policy-test-manager", outcome -> { });
        assertThat(m.cycle()).isEqualTo("master " + M + " is up");
        s.kill(M);
        String said = "";
        for (int i = 0; i < 5 && !said.startsWith("failover to"); i++) said = m.cycle();
        assertThat(said).isEqualTo("failover to " + R1 + " done (epoch 2)");
        // `failover promote` while a manager runs: a request in the KV, served by the manager, answered in the KV.
        d.put(Promote.requestKey(c.name()), "{\"id\":\"p1\",\"to\":\"" + R2 + "\",\"force\":false}");
        assertThat(m.cycle()).startsWith("promote request served: switchover to " + R2 + " done");
        // `failover ack`, `failover define`, `failover status`, the semi-sync record's read.
        new EpochStore(d, c.name()).acknowledge("operator");
        new HistoryStore(d, c.name()).clearDataLost("operator");
        d.put(ClusterDefinition.kvKey(c.name()), c.toJson());
        new Catalog(d, c.service()).masters();
        SemiSyncRecorder.read(d, c.name());
        // The manager stops: the lock is released and the session destroyed.
        m.stop();
        m.run(System.nanoTime() + Duration.ofSeconds(5).toNanos());
        // `failover promote` with no manager running takes the lock itself.
        assertThat(Promote.run(c, d, s, R1, false, false).success()).isTrue();
    }

    @Test
    void thePrintedPolicyGrantsEverythingTheFailoverCodeTouchesAndEachRuleIsNeeded() throws Exception {
        ClusterDefinition c = cluster("foo", "foo-db");
        ManagerPolicy policy = ManagerPolicy.of(c, List.of(AGENT_NODE));
        List<Rule> rules = parse(policy.rules());
        Recording d = new Recording();
        exercise(c, d);

        assertThat(d.needs).isNotEmpty();
        for (Need n : d.needs) assertThat(allows(rules, n)).as("%s is granted by%n%s", n, policy.rules()).isTrue();
        Set<Rule> used = new LinkedHashSet<>();
        for (Need n : d.needs) governing(rules, n).ifPresent(used::add);
        assertThat(used).as("every rule is needed by some call").containsExactlyInAnyOrderElementsOf(rules);
        // Only kinds and rights the manager needs: no agent, operator, acl, event, query or keyring rule, no prefix but the KV one.
        assertThat(rules).allSatisfy(r -> assertThat(r.policy()).isEqualTo("write"));
        assertThat(rules).filteredOn(Rule::prefix).containsExactly(new Rule("key", true, "failover/foo/", "write"));
    }

    @Test
    void anotherClustersKeysServiceAndNodesAreDenied() throws Exception {
        ClusterDefinition mine = cluster("foo", "foo-db");
        List<Rule> rules = parse(ManagerPolicy.of(mine, List.of(AGENT_NODE)).rules());
        // Clusters whose names extend or shorten this one's, on the same hosts: what their managers touch is not ours.
        for (ClusterDefinition other : List.of(cluster("foo-2", "foo-db-2"), cluster("fo", "fo"), cluster("bar", "foo-db2"))) {
            Recording d = new Recording();
            exercise(other, d);
            List<Need> theirs = d.needs.stream().filter(n -> !n.kind().equals("session")).toList();
            assertThat(theirs).isNotEmpty();
            for (Need n : theirs) assertThat(allows(rules, n)).as("%s of cluster %s", n, other.name()).isFalse();
        }
    }

    @Test
    void theRulesNameTheClustersPrefixServiceEachMembersNodeAndTheSessionNodes() {
        ManagerPolicy p = ManagerPolicy.of(cluster("foo", "foo-db"), List.of("db-host-1", "db-host-2", "db-host-1"));
        assertThat(p.name()).isEqualTo("failover-foo");
        assertThat(p.rules()).contains("key_prefix \"failover/foo/\" {\n  policy = \"write\"\n}\n")
                .contains("service \"foo-db\" {").contains("node \"foo-db-10-0-0-1-6379\" {").contains("node \"foo-db-10-0-0-3-6379\" {")
                .contains("session \"db-host-1\" {").contains("session \"db-host-2\" {");
        assertThat(parse(p.rules())).hasSize(1 + 1 + 3 + 2);
        assertThat(parse(p.rules())).extracting(Rule::kind).containsOnly("key", "service", "node", "session");
    }
}

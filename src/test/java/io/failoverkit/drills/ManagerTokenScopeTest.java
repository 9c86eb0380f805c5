package io.failoverkit.drills;

import io.failoverkit.failover.act.Catalog;
import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.discovery.Discovery;
import io.failoverkit.failover.discovery.DiscoveryClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The token `failover acl-policy --create` makes for cluster foo, against a real ACL-enabled discovery node with
 * default deny: everything foo's manager does works, and another cluster's keys, service and nodes are refused with
 * 403 (or, for reads of lists, filtered out), including clusters whose names begin with "foo".
 */
class ManagerTokenScopeTest {
    @TempDir static Path dir;
    static AclDiscoveryLab discovery;
    static DiscoveryClient root;
    static DiscoveryClient manager;

    static ClusterDefinition cluster(String name, int firstPort) {
        return new ClusterDefinition(name, "redis", List.of("127.0.0.1:" + firstPort, "127.0.0.1:" + (firstPort + 1)), name,
                null, null, null, null, null, 0);
    }

    static final ClusterDefinition FOO = cluster("foo", 7001);
    static final ClusterDefinition BAR = cluster("bar", 7101);
    static final ClusterDefinition FOO2 = cluster("foo-2", 7201);

    @BeforeAll
    static void start() throws Exception {
        discovery = AclDiscoveryLab.start(dir.resolve("discovery"), "scope-discovery");
        root = new DiscoveryClient(discovery.http(), discovery.rootToken);
        manager = new DiscoveryClient(discovery.http(), discovery.createManagerToken(dir, FOO));
        // The other clusters exist: their epochs and catalog entries, written by their own (here: the operator's) token.
        for (ClusterDefinition other : List.of(BAR, FOO2)) {
            root.put(ClusterDefinition.kvPrefix(other.name()) + "epoch", "{\"epoch\":7}");
            new Catalog(root, other.service()).register(other.members().get(0), other.members().subList(1, 2));
        }
    }

    @AfterAll
    static void stop() {
        if (discovery != null) discovery.close();
    }

    private static void refused(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        assertThatThrownBy(call).hasMessageContaining("HTTP 403").hasMessageContaining("Permission denied");
    }

    @Test
    void everythingTheManagerDoesForItsOwnClusterIsAllowed() throws Exception {
        String prefix = ClusterDefinition.kvPrefix(FOO.name());
        manager.put(prefix + "epoch", "{\"epoch\":1}");
        assertThat(manager.get(prefix + "epoch")).hasValueSatisfying(e -> assertThat(e.text()).isEqualTo("{\"epoch\":1}"));
        String session = manager.createSession("failover-manager foo test", Duration.ofSeconds(10), Duration.ofSeconds(1));
        assertThat(manager.renewSession(session)).isTrue();
        assertThat(manager.acquire(prefix + "leader", session, "test")).isTrue();
        Discovery.TxnResult txn = manager.txn(List.of(Discovery.TxnOp.checkSession(prefix + "leader", session),
                Discovery.TxnOp.set(prefix + "audit/1", "{}".getBytes(StandardCharsets.UTF_8))));
        assertThat(txn.applied()).as("%s", txn.errors()).isTrue();
        Catalog catalog = new Catalog(manager, FOO.service());
        catalog.register(FOO.members().get(0), FOO.members().subList(1, 2));
        assertThat(catalog.masters()).containsExactly(FOO.members().get(0));
        catalog.deregisterMaster();
        assertThat(catalog.masters()).isEmpty();
        assertThat(manager.release(prefix + "leader", session)).isTrue();
        manager.destroySession(session);
    }

    @Test
    void anotherClustersKeysAreRefusedWith403AndStayAsTheyWere() throws Exception {
        for (ClusterDefinition other : List.of(BAR, FOO2)) {
            String key = ClusterDefinition.kvPrefix(other.name()) + "epoch";
            refused(() -> manager.get(key));
            refused(() -> manager.put(key, "{\"epoch\":8}"));
            refused(() -> manager.cas(key, "{\"epoch\":8}", 0));
            refused(() -> manager.delete(key));
            Discovery.TxnResult txn = manager.txn(List.of(Discovery.TxnOp.set(key, "{\"epoch\":9}".getBytes(StandardCharsets.UTF_8))));
            assertThat(txn.applied()).isFalse();
            assertThat(txn.errors()).singleElement().satisfies(e -> assertThat(e.what()).contains("Permission denied"));
            assertThat(root.get(key)).hasValueSatisfying(e -> assertThat(e.text()).isEqualTo("{\"epoch\":7}"));
        }
        // Its lock too: a session of foo's manager cannot take bar's leader key.
        String session = manager.createSession("failover-manager foo test", Duration.ofSeconds(10), Duration.ofSeconds(1));
        try {
            refused(() -> manager.acquire(ClusterDefinition.kvPrefix(BAR.name()) + "leader", session, "foo's manager"));
        } finally {
            manager.destroySession(session);
        }
    }

    @Test
    void anotherClustersServiceAndNodesAreRefusedWith403AndHiddenFromItsReads() throws Exception {
        for (ClusterDefinition other : List.of(BAR, FOO2)) {
            String member = other.members().get(0);
            String node = Catalog.nodeName(other.service(), member);
            List<Discovery.Instance> seenByRoot = root.instances(other.service(), "master");
            assertThat(seenByRoot).hasSize(1);
            Discovery.Instance theirs = seenByRoot.get(0);
            // Registering their service, moving their master, or writing onto their node: refused.
            refused(() -> manager.register(node, "127.0.0.1", theirs.serviceId(), other.service(), List.of("master"), 1, null));
            refused(() -> manager.register(Catalog.nodeName(FOO.service(), member), "127.0.0.1", "x", other.service(), List.of("master"), 1, null));
            refused(() -> manager.deregisterService(theirs.node(), theirs.serviceId()));
            // Changing their node (here its address) needs node:write on it. (As in Consul, a service registration
            // that re-posts an existing node unchanged needs no node:write: the node record itself is not touched.)
            refused(() -> manager.register(node, "127.0.0.2", "foo-on-their-node", FOO.service(), List.of("master"), 1, null));
            // Reads of their service are filtered: the manager sees no instance, so its "deregister the master" finds none.
            assertThat(manager.instances(other.service(), null)).isEmpty();
            new Catalog(manager, other.service()).deregisterMaster();
            assertThat(root.instances(other.service(), "master")).containsExactly(theirs);
        }
    }
}

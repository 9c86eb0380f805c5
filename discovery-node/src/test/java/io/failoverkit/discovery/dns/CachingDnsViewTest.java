package io.failoverkit.discovery.dns;

import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The DNS view serves from memory but never an answer older than the last applied catalog change. */
class CachingDnsViewTest {
    private final StateStore store = new StateStore(Runnable::run);
    private long index;

    private void register(String node, String tag, String status) {
        Model.Node n = new Model.Node("", node, "127.0.0.1", "dc1", Map.of(), Map.of(), 0, 0);
        Model.Service s = new Model.Service("db-" + node, "db", List.of(tag), "", Map.of(), 3306, Model.Weights.DEFAULT, false, 0, 0);
        Model.Check c = new Model.Check(node, "c-" + node, "c", status, "", "", "db-" + node, "", List.of(), "", 0, 0);
        store.apply(++index, new Command.Register(n, s, List.of(c), false, 0));
    }

    @Test
    void everyCatalogChangeIsSeenByTheNextQuery() {
        DnsView view = DnsView.local(() -> store);
        register("a", "master", Model.PASSING);
        assertThat(view.instances("db", null)).hasSize(1);
        assertThat(view.instances("db", "MASTER")).hasSize(1);
        register("b", "replica", Model.PASSING);
        assertThat(view.instances("db", null)).hasSize(2);
        register("a", "replica", Model.PASSING);
        assertThat(view.instances("db", "master")).isEmpty();
        register("b", "replica", Model.CRITICAL);
        assertThat(view.instances("db", null)).filteredOn(i -> i.checks().get(0).status().equals(Model.CRITICAL)).hasSize(1);
        store.apply(++index, new Command.Deregister("a", null, null, 0));
        assertThat(view.instances("db", null)).extracting(i -> i.node().node()).containsExactly("b");
        store.apply(++index, new Command.KvPut("k", new byte[0], 0, null, null, null, null));
        assertThat(view.instances("db", null)).as("a KV write leaves the catalog view alone").hasSize(1);
    }
}

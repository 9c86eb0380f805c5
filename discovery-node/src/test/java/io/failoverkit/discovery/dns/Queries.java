package io.failoverkit.discovery.dns;

import io.failoverkit.discovery.config.DnsConfig;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Queries built with dnsjava, and a resolver over a fixed in-memory catalog, for tests that need no server. */
final class Queries {
    private Queries() {}

    static byte[] query(String name, int type) {
        try {
            return Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN)).toWire();
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    /** 3 nodes, a "db" service with a master and two replicas (one warning), and 300 "web" instances. */
    static DnsResolver fixedResolver() {
        List<StateStore.Instance> db = new ArrayList<>();
        db.add(instance("db1", "127.0.0.10", "db", "master", Model.PASSING));
        db.add(instance("db2", "127.0.0.11", "db", "replica", Model.PASSING));
        db.add(instance("db3", "127.0.0.12", "db", "replica", Model.WARNING));
        List<StateStore.Instance> web = new ArrayList<>();
        for (int i = 0; i < 300; i++) web.add(instance("web" + i, "127.2." + (i / 250) + "." + (i % 250 + 1), "web", "v1", Model.PASSING));
        DnsView view = new DnsView() {
            @Override public Model.Node node(String name) {
                return name.equals("db1") ? new Model.Node("", "db1", "127.0.0.10", "dc1", Map.of(), Map.of("rack", "r1"), 1, 1) : null;
            }
            @Override public List<StateStore.Instance> instances(String service, String tag) {
                List<StateStore.Instance> all = service.equals("db") ? db : service.equals("web") ? web : List.of();
                return tag == null ? all : all.stream().filter(i -> i.service().tags().contains(tag)).toList();
            }
            @Override public long generation() {
                return 1; // the catalog never changes: answers are reused (the fast path gets fuzzed too)
            }
        };
        return new DnsResolver(view, new DnsConfig(), "consul.", "dc1", null);
    }

    private static StateStore.Instance instance(String node, String addr, String service, String tag, String status) {
        Model.Node n = new Model.Node("", node, addr, "dc1", Map.of(), Map.of(), 1, 1);
        Model.Service s = new Model.Service(service + "-" + node, service, List.of(tag), "", Map.of(), 5000, Model.Weights.DEFAULT, false, 1, 1);
        Model.Check c = new Model.Check(node, "c-" + node, "c", status, "", "", s.id(), service, List.of(tag), "", 1, 1);
        return new StateStore.Instance(n, s, List.of(c));
    }
}

package io.failoverkit.discovery.dns;

import io.failoverkit.discovery.config.DnsConfig;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SRV targets as Consul names them (review 8 item 3): the node when the service has no address of its own, the
 * service's address as {@code <hex>.addr.<dc>.<domain>} when it has, a host name as itself; every target's address
 * record is the address that target resolves to; one record per (node, service address, port).
 */
class DnsSrvTargetTest {
    private static StateStore.Instance instance(String id, String serviceAddress, int port) {
        Model.Node node = new Model.Node("", "host1", "10.0.0.1", "dc1", Map.of(), Map.of(), 1, 1);
        Model.Service s = new Model.Service(id, "cache", List.of("v1"), serviceAddress, Map.of(), port, Model.Weights.DEFAULT, false, 1, 1);
        return new StateStore.Instance(node, s, List.of());
    }

    private static final List<StateStore.Instance> INSTANCES = List.of(
            instance("c1", "10.0.0.11", 6379),
            instance("c2", "10.0.0.12", 6379),
            instance("c3", "10.0.0.13", 6379),
            instance("c3-twin", "10.0.0.13", 6379),          // same node, address and port: one record
            instance("c4", "", 6380),                          // the node's address
            instance("c5", "fd00::5", 6379),
            instance("c6", "cache.example.net", 6379));        // a host name: the target itself, no address record

    private static DnsResolver resolver() {
        DnsView view = new DnsView() {
            @Override public Model.Node node(String name) {
                return name.equals("host1") ? INSTANCES.getFirst().node() : null;
            }
            @Override public List<StateStore.Instance> instances(String service, String tag) {
                return service.equals("cache") ? INSTANCES : List.of();
            }
            @Override public long generation() { return 1; }
        };
        return new DnsResolver(view, new DnsConfig(), "consul.", "dc1", null);
    }

    private static Message ask(DnsResolver r, String name, int type) throws Exception {
        byte[] q = Queries.query(name, type);
        return new Message(r.answer(q, q.length, true));
    }

    private static Map<String, Integer> targets(Message m) {
        Map<String, Integer> out = new HashMap<>();
        for (Record r : m.getSection(Section.ANSWER)) out.merge(((SRVRecord) r).getTarget() + " " + ((SRVRecord) r).getPort(), 1, Integer::sum);
        return out;
    }

    /** The A/AAAA answer to {@code name} as the resolver gives it. */
    private static Set<InetAddress> resolve(DnsResolver r, Name name) throws Exception {
        Set<InetAddress> out = new HashSet<>();
        for (int type : new int[]{Type.A, Type.AAAA}) {
            for (Record rec : ask(r, name.toString(), type).getSection(Section.ANSWER)) {
                out.add(rec instanceof ARecord a ? a.getAddress() : ((AAAARecord) rec).getAddress());
            }
        }
        return out;
    }

    @Test
    void eachInstanceIsATargetThatResolvesToItsOwnAddress() throws Exception {
        DnsResolver r = resolver();
        for (int round = 0; round < 2; round++) {   // the second round comes from the answer cache
            Message m = ask(r, "cache.service.consul.", Type.SRV);
            assertThat(targets(m)).containsExactlyInAnyOrderEntriesOf(Map.of(
                    "0a00000b.addr.dc1.consul. 6379", 1,
                    "0a00000c.addr.dc1.consul. 6379", 1,
                    "0a00000d.addr.dc1.consul. 6379", 1,
                    "host1.node.dc1.consul. 6380", 1,
                    "fd000000000000000000000000000005.addr.dc1.consul. 6379", 1,
                    "cache.example.net. 6379", 1));
            Map<Name, InetAddress> additional = new HashMap<>();
            for (Record a : m.getSection(Section.ADDITIONAL)) {
                if (a instanceof ARecord ar) additional.put(a.getName(), ar.getAddress());
                if (a instanceof AAAARecord ar) additional.put(a.getName(), ar.getAddress());
            }
            assertThat(additional).hasSize(5).containsEntry(Name.fromString("host1.node.dc1.consul."), InetAddress.getByName("10.0.0.1"))
                    .containsEntry(Name.fromString("0a00000c.addr.dc1.consul."), InetAddress.getByName("10.0.0.12"))
                    .containsEntry(Name.fromString("fd000000000000000000000000000005.addr.dc1.consul."), InetAddress.getByName("fd00::5"));
            // What a client resolving each target itself gets is the very address in the additional section.
            for (Map.Entry<Name, InetAddress> e : additional.entrySet()) {
                assertThat(resolve(r, e.getKey())).as("%s", e.getKey()).containsExactly(e.getValue());
            }
        }
    }

    @Test
    void addrNamesAnswerTheirAddressAndNothingElse() throws Exception {
        DnsResolver r = resolver();
        Message a = ask(r, "0A00000B.addr.consul.", Type.A);
        assertThat(a.getRcode()).isZero();
        assertThat(a.getSection(Section.ANSWER)).singleElement()
                .satisfies(rec -> assertThat(((ARecord) rec).getAddress()).isEqualTo(InetAddress.getByName("10.0.0.11")));
        assertThat(ask(r, "0a00000b.addr.dc1.consul.", Type.ANY).getSection(Section.ANSWER)).hasSize(1);
        Message nodata = ask(r, "0a00000b.addr.dc1.consul.", Type.AAAA);
        assertThat(nodata.getRcode()).isZero();
        assertThat(nodata.getSection(Section.ANSWER)).isEmpty();
        assertThat(nodata.getSection(Section.AUTHORITY)).singleElement().satisfies(rec -> assertThat(rec.getType()).isEqualTo(Type.SOA));
        for (String bad : new String[]{"0a00000.addr.consul.", "0a00000b0.addr.consul.", "0a00000g.addr.consul.",
                "x.0a00000b.addr.consul.", "addr.consul.", "0a00000b.addr.dc1.extra.consul."}) {
            assertThat(ask(r, bad, Type.A).getRcode()).as(bad).isEqualTo(3);
        }
    }

    @Test
    void trimmedUdpAnswersKeepTheAddressesOfExactlyTheTargetsKept() throws Exception {
        DnsResolver r = resolver();
        for (int k = 0; k < 20; k++) {
            byte[] q = Queries.query("cache.service.consul.", Type.SRV);
            Message m = new Message(r.answer(q, q.length, false));
            assertThat(m.getSection(Section.ANSWER)).hasSize(3);
            Set<Name> kept = new HashSet<>();
            for (Record rec : m.getSection(Section.ANSWER)) {
                Name t = ((SRVRecord) rec).getTarget();
                if (!t.equals(Name.fromString("cache.example.net."))) kept.add(t);
            }
            List<Name> addressed = new ArrayList<>();
            for (Record rec : m.getSection(Section.ADDITIONAL)) addressed.add(rec.getName());
            assertThat(addressed).containsExactlyInAnyOrderElementsOf(kept);
        }
    }
}

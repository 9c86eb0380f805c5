package io.failoverkit.discovery.dns;

import io.failoverkit.discovery.config.DnsConfig;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Large answers trimmed as Consul trims them (udp_answer_limit, EDNS0 size, 64 KB over TCP, a_record_limit,
 * enable_truncate), at the resolver, through the answer cache as a server uses it; every answer parsed by dnsjava.
 */
class DnsTrimmingTest {
    private static final Map<String, List<StateStore.Instance>> SERVICES = Map.of(
            "web", range("web", 200), "huge", range("huge", 5000), "two", range("two", 2));

    private static List<StateStore.Instance> range(String service, int n) {
        List<StateStore.Instance> l = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Model.Node node = new Model.Node("", service + "-node-" + i, "127.4." + (i / 250) + "." + (i % 250 + 1), "dc1", Map.of(), Map.of(), 1, 1);
            Model.Service s = new Model.Service(service + i, service, List.of(i % 2 == 0 ? "even" : "odd"), "", Map.of(), 8000 + i, Model.Weights.DEFAULT, false, 1, 1);
            l.add(new StateStore.Instance(node, s, List.of()));
        }
        return l;
    }

    private static DnsResolver resolver(Consumer<DnsConfig> settings) {
        DnsConfig c = new DnsConfig();
        settings.accept(c);
        DnsView view = new DnsView() {
            @Override public Model.Node node(String name) { return null; }
            @Override public List<StateStore.Instance> instances(String service, String tag) {
                List<StateStore.Instance> all = SERVICES.getOrDefault(service, List.of());
                return tag == null ? all : all.stream().filter(i -> i.service().tags().contains(tag)).toList();
            }
            @Override public long generation() { return 1; }
        };
        return new DnsResolver(view, c, "consul.", "dc1", null);
    }

    private static Message ask(DnsResolver r, String name, int type, int payload, boolean tcp) throws Exception {
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
        if (payload > 0) q.addRecord(new OPTRecord(payload, 0, 0), Section.ADDITIONAL);
        byte[] w = q.toWire();
        byte[] a = r.answer(w, w.length, tcp);
        assertThat(a.length).isLessThanOrEqualTo(tcp ? DnsResolver.MAX_TCP : Math.min(DnsResolver.MAX_UDP, Math.max(512, payload)));
        return new Message(a);
    }

    @Test
    void defaultsAreConsuls() {
        DnsConfig c = new DnsConfig();
        assertThat(c.udpAnswerLimit).isEqualTo(3);
        assertThat(c.aRecordLimit).isZero();
        assertThat(c.enableTruncate).isFalse();
    }

    @Test
    void udpAnswerLimitZeroIsTakenAsConsulTakesItButWarnedAbout() throws Exception {
        // Review 8 item 9: Consul accepts 0 and then answers a name with several records with nothing over plain
        // UDP; we answer the same, and say so at start.
        assertThat(new DnsConfig().warnings()).isEmpty();
        DnsConfig zero = new DnsConfig();
        zero.udpAnswerLimit = 0;
        assertThat(zero.warnings()).singleElement().asString().contains("udp_answer_limit is 0").contains("between 1 and 8");
        DnsResolver r = resolver(c -> c.udpAnswerLimit = 0);
        Message several = ask(r, "two.service.consul.", Type.A, 0, false);
        assertThat(several.getRcode()).isZero();
        assertThat(several.getSection(Section.ANSWER)).isEmpty();
        assertThat(ask(r, "two.service.consul.", Type.A, 1232, false).getSection(Section.ANSWER)).as("with EDNS0").hasSize(2);
        assertThat(ask(r, "two.service.consul.", Type.A, 0, true).getSection(Section.ANSWER)).as("over TCP").hasSize(2);
        assertThat(ask(r, "odd.two.service.consul.", Type.A, 0, false).getSection(Section.ANSWER)).as("one record").hasSize(1);
    }

    @Test
    void enableTruncateSetsTcOnlyWhenRecordsWereLeftOut() throws Exception {
        DnsResolver off = resolver(c -> {});
        DnsResolver on = resolver(c -> c.enableTruncate = true);
        for (int k = 0; k < 3; k++) {  // the second and third would come from the answer cache if it took them
            Message a = ask(off, "web.service.consul.", Type.A, 0, false);
            assertThat(a.getSection(Section.ANSWER)).hasSize(3);
            assertThat(a.getHeader().getFlag(Flags.TC)).isFalse();
            Message t = ask(on, "web.service.consul.", Type.A, 0, false);
            assertThat(t.getSection(Section.ANSWER)).as("trimmed records are still sent").hasSize(3);
            assertThat(t.getHeader().getFlag(Flags.TC)).isTrue();
            Message two = ask(on, "two.service.consul.", Type.A, 0, false);
            assertThat(two.getSection(Section.ANSWER)).hasSize(2);
            assertThat(two.getHeader().getFlag(Flags.TC)).as("nothing left out").isFalse();
            Message fits = ask(on, "web.service.consul.", Type.A, 4096, false);
            assertThat(fits.getSection(Section.ANSWER)).hasSize(200);
            assertThat(fits.getHeader().getFlag(Flags.TC)).isFalse();
            Message srv = ask(on, "web.service.consul.", Type.SRV, 4096, false);
            assertThat(srv.getSection(Section.ANSWER).size()).isBetween(4, 199);
            assertThat(srv.getHeader().getFlag(Flags.TC)).isTrue();
        }
    }

    @Test
    void udpAnswerLimitIsCappedAtEightAndAppliesOnlyWithoutEdns() throws Exception {
        assertThat(ask(resolver(c -> c.udpAnswerLimit = 1), "web.service.consul.", Type.A, 0, false).getSection(Section.ANSWER)).hasSize(1);
        assertThat(ask(resolver(c -> c.udpAnswerLimit = 6), "web.service.consul.", Type.A, 0, false).getSection(Section.ANSWER)).hasSize(6);
        assertThat(ask(resolver(c -> c.udpAnswerLimit = 50), "web.service.consul.", Type.A, 0, false).getSection(Section.ANSWER)).hasSize(8);
        assertThat(ask(resolver(c -> c.udpAnswerLimit = 50), "web.service.consul.", Type.A, 512, false).getSection(Section.ANSWER))
                .as("EDNS0 offering 512 bytes is the plain case").hasSize(8);
        assertThat(ask(resolver(c -> c.udpAnswerLimit = 1), "web.service.consul.", Type.A, 1232, false).getSection(Section.ANSWER).size())
                .as("with EDNS0 only the size counts").isGreaterThan(50);
        assertThat(ask(resolver(c -> c.udpAnswerLimit = 1), "web.service.consul.", Type.A, 0, true).getSection(Section.ANSWER))
                .as("not over TCP").hasSize(200);
    }

    @Test
    void aRecordLimitAppliesOverUdpAndTcpButNotToSrv() throws Exception {
        DnsResolver r = resolver(c -> { c.aRecordLimit = 5; c.enableTruncate = true; });
        Set<String> seen = new HashSet<>();
        for (int k = 0; k < 20; k++) {
            Message tcp = ask(r, "web.service.consul.", Type.A, 0, true);
            assertThat(tcp.getSection(Section.ANSWER)).hasSize(5);
            assertThat(tcp.getHeader().getFlag(Flags.TC)).as("a limit, not a truncation").isFalse();
            for (Record a : tcp.getSection(Section.ANSWER)) seen.add(a.rdataToString());
            assertThat(ask(r, "web.service.consul.", Type.A, 4096, false).getSection(Section.ANSWER)).hasSize(5);
            assertThat(ask(r, "web.service.consul.", Type.A, 0, false).getSection(Section.ANSWER)).hasSize(3);
        }
        assertThat(seen).as("a shuffled subset each time, not the cached first one").hasSizeGreaterThan(20);
        assertThat(ask(r, "web.service.consul.", Type.SRV, 0, true).getSection(Section.ANSWER)).hasSize(200);
    }

    @Test
    void tcpAnswersAreTrimmedToSixtyFourKilobytesWithTheirTargetsAddresses() throws Exception {
        DnsResolver r = resolver(c -> c.enableTruncate = true);
        Message a = ask(r, "huge.service.consul.", Type.A, 0, true);
        assertThat(a.getSection(Section.ANSWER).size()).isBetween(3000, 4096);
        assertThat(a.numBytes()).isLessThanOrEqualTo(DnsResolver.TCP_TRIM_SIZE);
        assertThat(a.getHeader().getFlag(Flags.TC)).isTrue();
        Message udp = ask(r, "huge.service.consul.", Type.A, 65535, false);
        assertThat(udp.getSection(Section.ANSWER).size()).as("EDNS0 65535: Consul's UDP cap").isBetween(3000, 4095);
        assertThat(udp.getHeader().getFlag(Flags.TC)).isTrue();
        Message srv = ask(r, "huge.service.consul.", Type.SRV, 0, true);
        assertThat(srv.getSection(Section.ANSWER).size()).isBetween(500, 1024);
        assertThat(srv.numBytes()).isLessThanOrEqualTo(DnsResolver.TCP_TRIM_SIZE);
        assertConsistent(srv);
        Message all = ask(resolver(c -> {}), "web.service.consul.", Type.SRV, 0, true);
        assertThat(all.getSection(Section.ANSWER)).hasSize(200);
        assertConsistent(all);
    }

    @Test
    void srvAnswersKeepExactlyTheirTargetsAddressesAndTagsSelect() throws Exception {
        DnsResolver r = resolver(c -> {});
        for (int payload : new int[]{0, 512, 1232, 4096, 65535}) {
            Message srv = ask(r, "_web._tcp.consul.", Type.SRV, payload, false);
            if (payload < 65535) assertThat(srv.getSection(Section.ANSWER).size()).as("payload %d", payload).isBetween(3, 199);
            else assertThat(srv.getSection(Section.ANSWER)).as("EDNS0 sizes are honoured up to 64 KB").hasSize(200);
            assertConsistent(srv);
            Message tagged = ask(r, "even.web.service.consul.", Type.SRV, payload, false);
            assertConsistent(tagged);
            for (Record rec : tagged.getSection(Section.ANSWER)) assertThat(((SRVRecord) rec).getPort() % 2).isZero();
        }
    }

    private static void assertConsistent(Message srv) {
        Set<Name> targets = new HashSet<>();
        for (Record rec : srv.getSection(Section.ANSWER)) targets.add(((SRVRecord) rec).getTarget());
        Set<Name> addressed = new HashSet<>();
        for (Record rec : srv.getSection(Section.ADDITIONAL)) if (rec.getType() == Type.A) addressed.add(rec.getName());
        assertThat(addressed).isEqualTo(targets);
        assertThat(targets).hasSameSizeAs(srv.getSection(Section.ANSWER));
    }
}

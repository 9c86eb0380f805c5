package io.failoverkit.discovery.dns;

import io.failoverkit.discovery.config.DnsConfig;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** EDNS0 as RFC 6891 and RFC 3225 ask (review 8 item 7), at the resolver, through the answer cache as a server uses it. */
class DnsEdnsTest {
    private final DnsResolver resolver = Queries.fixedResolver();

    private static Message query(String name, int type, OPTRecord... opts) throws Exception {
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), type, DClass.IN));
        for (OPTRecord o : opts) q.addRecord(o, Section.ADDITIONAL);
        return q;
    }

    private static Message ask(DnsResolver r, Message q) throws Exception {
        byte[] w = q.toWire();
        return new Message(r.answer(w, w.length, false));
    }

    @Test
    void twoOptRecordsAreAFormatError() throws Exception {
        Message q = query("db1.node.consul.", Type.A, new OPTRecord(1232, 0, 0), new OPTRecord(4096, 0, 0));
        assertThat(q.getHeader().getCount(Section.ADDITIONAL)).isEqualTo(2);
        Message a = ask(resolver, q);
        assertThat(a.getRcode()).isEqualTo(Rcode.FORMERR);
        assertThat(a.getSection(Section.ANSWER)).isEmpty();
    }

    @Test
    void anEdnsVersionWeDoNotSpeakGetsBadversWithOurVersionZero() throws Exception {
        for (int round = 0; round < 2; round++) {   // the version-0 answer of the same question is cached by then
            assertThat(ask(resolver, query("db1.node.consul.", Type.A, new OPTRecord(1232, 0, 0))).getRcode()).isEqualTo(Rcode.NOERROR);
            Message a = ask(resolver, query("db1.node.consul.", Type.A, new OPTRecord(1232, 0, 1)));
            assertThat(a.getRcode()).as("extended rcode 16").isEqualTo(Rcode.BADVERS);
            assertThat(a.getHeader().getRcode()).as("the header's 4 bits").isZero();
            assertThat(a.getOPT()).isNotNull();
            assertThat(a.getOPT().getVersion()).isZero();
            assertThat(a.getOPT().getExtendedRcode()).isEqualTo(1);
            assertThat(a.getSection(Section.ANSWER)).isEmpty();
        }
    }

    @Test
    void theDoBitIsCopiedIntoTheReplyAndOnlyWhenAsked() throws Exception {
        for (int round = 0; round < 3; round++) {   // later rounds come from the answer cache
            for (String name : List.of("db1.node.consul.", "db.service.consul.", "nope.service.consul.")) {
                Message withDo = ask(resolver, query(name, Type.A, new OPTRecord(1232, 0, 0, ExtendedFlags.DO)));
                assertThat(withDo.getOPT().getFlags() & ExtendedFlags.DO).as("%s with DO, round %d", name, round).isEqualTo(ExtendedFlags.DO);
                Message without = ask(resolver, query(name, Type.A, new OPTRecord(1232, 0, 0)));
                assertThat(without.getOPT().getFlags() & ExtendedFlags.DO).as("%s without DO, round %d", name, round).isZero();
                assertThat(ask(resolver, query(name, Type.A)).getOPT()).as("no OPT asked, none given").isNull();
            }
        }
    }

    @Test
    void refusedNotimpServfailAndFormerrRepliesCarryAnOptRecordWhenTheQueryHadOne() throws Exception {
        DnsView broken = new DnsView() {
            @Override public Model.Node node(String name) { throw new IllegalStateException("no server reachable"); }
            @Override public List<StateStore.Instance> instances(String service, String tag) { throw new IllegalStateException("no server reachable"); }
        };
        DnsResolver failing = new DnsResolver(broken, new DnsConfig(), "consul.", "dc1", null);
        Message notimpOpcode = query("db1.node.consul.", Type.A, new OPTRecord(1232, 0, 0, ExtendedFlags.DO));
        notimpOpcode.getHeader().setOpcode(Opcode.NOTIFY);
        Message formerr = query("db1.node.consul.", Type.A, new OPTRecord(1232, 0, 0, ExtendedFlags.DO));
        formerr.getHeader().setFlag(Flags.QR);
        record Case(DnsResolver r, Message q, int rcode) {}
        for (Case c : List.of(
                new Case(resolver, query("www.example.com.", Type.A, new OPTRecord(1232, 0, 0, ExtendedFlags.DO)), Rcode.REFUSED),
                new Case(resolver, query("consul.", Type.AXFR, new OPTRecord(1232, 0, 0, ExtendedFlags.DO)), Rcode.NOTIMP),
                new Case(resolver, notimpOpcode, Rcode.NOTIMP),
                new Case(resolver, formerr, Rcode.FORMERR),
                new Case(failing, query("db1.node.consul.", Type.A, new OPTRecord(1232, 0, 0, ExtendedFlags.DO)), Rcode.SERVFAIL))) {
            Message a = ask(c.r(), c.q());
            assertThat(a.getRcode()).as("%s", c.q().getQuestion()).isEqualTo(c.rcode());
            assertThat(a.getOPT()).as("OPT in the %s reply", Rcode.string(c.rcode())).isNotNull();
            assertThat(a.getOPT().getFlags() & ExtendedFlags.DO).isEqualTo(ExtendedFlags.DO);
            Message plain = new Message(c.q().toWire());
            plain.removeAllRecords(Section.ADDITIONAL);
            assertThat(ask(c.r(), plain).getOPT()).as("no OPT asked, none given (%s)", Rcode.string(c.rcode())).isNull();
        }
    }
}

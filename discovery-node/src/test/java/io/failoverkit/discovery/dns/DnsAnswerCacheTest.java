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
import org.xbill.DNS.CookieOption;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The cached fast path (AnswerCache) against the full dnsjava path, on many generated queries: every answer it gives,
 * first or reused, must say what the full path says (same header, question as asked, same records; the order of
 * shuffled records aside), and a catalog change must show in the very next answer.
 */
class DnsAnswerCacheTest {
    private final Map<String, List<StateStore.Instance>> services = new ConcurrentHashMap<>();
    private final AtomicLong generation = new AtomicLong(1);
    private final DnsView view = new DnsView() {
        @Override public Model.Node node(String name) {
            return name.equals("db1") ? new Model.Node("", "db1", "127.0.0.10", "dc1", Map.of(), Map.of("rack", "r1", "az", "a"), 1, 1)
                    : name.equals("v6") ? new Model.Node("", "v6", "::1", "dc1", Map.of(), Map.of(), 1, 1) : null;
        }
        @Override public List<StateStore.Instance> instances(String service, String tag) {
            List<StateStore.Instance> all = services.getOrDefault(service, List.of());
            return tag == null ? all : all.stream().filter(i -> i.service().tags().stream().anyMatch(t -> t.equalsIgnoreCase(tag))).toList();
        }
        @Override public long generation() { return generation.get(); }
    };
    /** enable_truncate: a trimmed answer (a shuffled subset, different each time) says so with TC. */
    private static DnsConfig truncating() {
        DnsConfig c = new DnsConfig();
        c.enableTruncate = true;
        return c;
    }
    private final DnsResolver resolver = new DnsResolver(view, truncating(), "consul.", "dc1", null);

    DnsAnswerCacheTest() {
        List<StateStore.Instance> db = new ArrayList<>();
        db.add(instance("db1", "127.0.0.10", "db", "master", Model.PASSING, 3306));
        db.add(instance("db2", "127.0.0.11", "db", "replica", Model.PASSING, 3306));
        db.add(instance("db3", "127.0.0.12", "db", "replica", Model.WARNING, 3307));
        db.add(instance("db4", "127.0.0.13", "db", "replica", Model.CRITICAL, 3307));
        db.add(instance("db5", "::1", "db", "replica", Model.PASSING, 3308));
        services.put("db", db);
        services.put("mid", range("mid", 20));     // SRV: TC at 512 bytes, additional records cut at 1232
        services.put("web", range("web", 300));    // A: TC even at 4096 bytes
        services.put("one", range("one", 1));
    }

    private static List<StateStore.Instance> range(String service, int n) {
        List<StateStore.Instance> l = new ArrayList<>();
        for (int i = 0; i < n; i++) l.add(instance(service + "-node-" + i, "127.3." + (i / 250) + "." + (i % 250 + 1), service, i % 2 == 0 ? "even" : "odd", Model.PASSING, 8000 + i));
        return l;
    }

    private static StateStore.Instance instance(String node, String addr, String service, String tag, String status, int port) {
        Model.Node n = new Model.Node("", node, addr, "dc1", Map.of(), Map.of(), 1, 1);
        Model.Service s = new Model.Service(service + "-" + node, service, List.of(tag), "", Map.of(), port, Model.Weights.DEFAULT, false, 1, 1);
        Model.Check c = new Model.Check(node, "c-" + node, "c", status, "", "", s.id(), service, List.of(tag), "", 1, 1);
        return new StateStore.Instance(n, s, List.of(c));
    }

    private static final String[] NAMES = {
            "db.service.consul.", "db.service.dc1.consul.", "db.service.dc2.consul.", "master.db.service.consul.",
            "replica.db.service.consul.", "nope.db.service.consul.", "mid.service.consul.", "even.mid.service.consul.",
            "web.service.consul.", "one.service.consul.", "missing.service.consul.", "_db._master.service.consul.",
            "_db._tcp.consul.", "_db._tcp.service.dc1.consul.", "_mid._tcp.consul.", "db1.node.consul.", "db1.node.dc1.consul.",
            "v6.node.consul.", "nobody.node.consul.", "consul.", "x.consul.", "a.b.c.d.consul.", "db.service.consul.example.",
            "example.com.", "service.consul.", "node.consul.",
    };
    private static final int[] TYPES = {Type.A, Type.AAAA, Type.SRV, Type.TXT, Type.ANY, Type.SOA, Type.NS, Type.MX, Type.CNAME, Type.AXFR, Type.PTR};
    private static final int[] PAYLOADS = {-1, -1, 0, 512, 1232, 4096, 65535};

    private static String randomCase(String s, Random rnd) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) b.append(rnd.nextInt(4) == 0 ? Character.toUpperCase(c) : c);
        return b.toString();
    }

    private static byte[] query(Random rnd) throws Exception {
        String name = NAMES[rnd.nextInt(NAMES.length)];
        if (rnd.nextBoolean()) name = randomCase(name, rnd);
        int type = TYPES[rnd.nextInt(TYPES.length)];
        int dclass = rnd.nextInt(10) == 0 ? DClass.CH : rnd.nextInt(10) == 0 ? DClass.ANY : DClass.IN;
        Message m = Message.newQuery(Record.newRecord(Name.fromString(name), type, dclass));
        m.getHeader().setID(rnd.nextInt(65536));
        if (rnd.nextBoolean()) m.getHeader().unsetFlag(Flags.RD);
        if (rnd.nextInt(20) == 0) m.getHeader().setFlag(Flags.CD);
        int payload = PAYLOADS[rnd.nextInt(PAYLOADS.length)];
        if (payload >= 0) {
            List<org.xbill.DNS.EDNSOption> options = new ArrayList<>();
            if (rnd.nextBoolean()) options.add(new CookieOption(randomBytes(rnd, 8)));
            m.addRecord(new OPTRecord(payload, 0, 0, rnd.nextInt(4) == 0 ? org.xbill.DNS.ExtendedFlags.DO : 0, options), Section.ADDITIONAL);
        }
        return m.toWire();
    }

    private static byte[] randomBytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    /** What an answer says, the order of records within a section aside. Truncated answers: header and counts. */
    private static String meaning(byte[] wire) {
        if (wire == null) return "null";
        Message m;
        try {
            m = new Message(wire);
        } catch (Exception e) {
            return "unparsable " + Arrays.toString(wire);
        }
        org.xbill.DNS.Header h = m.getHeader();
        boolean tc = h.getFlag(Flags.TC);
        StringBuilder b = new StringBuilder("id " + h.getID() + " opcode " + h.getOpcode() + " rcode " + m.getRcode() + " flags " + h.printFlags());
        // a truncated answer's counts depend on the shuffle, and so does how many addresses of SRV targets fit
        if (!tc) for (int s = 0; s < 3; s++) b.append(' ').append(h.getCount(s));
        b.append('\n');
        b.append(m.getQuestion() == null ? "-" : m.getQuestion().getName().toString(false) + " " + m.getQuestion().getType()).append('\n');
        Set<Name> srvTargets = new HashSet<>();
        for (Record r : m.getSection(Section.ANSWER)) if (r instanceof SRVRecord s) srvTargets.add(s.getTarget());
        if (!tc && srvTargets.isEmpty()) b.append(' ').append(h.getCount(Section.ADDITIONAL));
        for (int section : new int[]{Section.ANSWER, Section.AUTHORITY, Section.ADDITIONAL}) {
            List<Record> records = m.getSection(section);
            if (tc) { b.append("some records\n"); continue; }
            Set<String> sorted = new TreeSet<>();
            for (Record r : records) {
                // additional addresses of SRV targets may be cut to fit (no TC then): only say they belong
                if (section == Section.ADDITIONAL && srvTargets.contains(r.getName())) sorted.add("address of a target");
                else sorted.add(r.toString());
            }
            b.append(sorted).append('\n');
        }
        return b.toString();
    }

    /** The additional records of an answer that are addresses of its SRV targets. */
    private static Set<String> targetAddresses(byte[] wire) throws Exception {
        Message m = new Message(wire);
        Set<Name> targets = new HashSet<>();
        for (Record r : m.getSection(Section.ANSWER)) if (r instanceof SRVRecord s) targets.add(s.getTarget());
        Set<String> out = new TreeSet<>();
        for (Record r : m.getSection(Section.ADDITIONAL)) if (targets.contains(r.getName())) out.add(r.toString().toLowerCase(java.util.Locale.ROOT));
        return out;
    }

    private byte[] fast(byte[] q, boolean tcp, boolean buffer) {
        if (!buffer) return resolver.answer(q, q.length, tcp);
        ByteBuffer out = ByteBuffer.allocateDirect(65535);
        if (!resolver.answer(q, q.length, tcp, out)) return null;
        byte[] a = new byte[out.remaining()];
        out.get(a);
        return a;
    }

    @Test
    void reusedAnswersSayWhatTheFullPathSays() throws Exception {
        Random rnd = new Random(20261122);
        int compared = 0;
        int reused = 0;
        for (int i = 0; i < 6_000; i++) {
            byte[] q = query(rnd);
            boolean tcp = rnd.nextInt(4) == 0;
            String expected = meaning(resolver.fullAnswer(q, q.length, tcp));
            if (resolver.cached(q, q.length, tcp)) reused++;
            for (int k = 0; k < 3; k++) {  // the first fills the cache, the next ones reuse it
                byte[] a = fast(q, tcp, k == 2);
                assertThat(meaning(a)).as("query %d (%s), tcp %s, answer %d", i, new Message(q).getQuestion(), tcp, k).isEqualTo(expected);
                assertThat(a.length).isLessThanOrEqualTo(tcp ? DnsResolver.MAX_TCP : DnsResolver.MAX_UDP);
                assertThat(targetAddresses(a)).isSubsetOf(targetAddresses(resolver.fullAnswer(q, q.length, true)));
                if (a.length >= q.length && q.length > 12) {
                    // the question comes back exactly as asked (case included)
                    int qEnd = 12 + new Message(q).getQuestion().getName().length() + 4;
                    assertThat(Arrays.copyOfRange(a, 12, qEnd)).isEqualTo(Arrays.copyOfRange(q, 12, qEnd));
                }
                compared++;
            }
        }
        assertThat(compared).isEqualTo(18_000);
        assertThat(reused).as("queries answered from the cache at once").isGreaterThan(2_000);
    }

    @Test
    void mutatedQueriesGetWhatTheFullPathGives() throws Exception {
        Random rnd = new Random(7);
        for (int i = 0; i < 20_000; i++) {
            byte[] q = query(rnd);
            int flips = 1 + rnd.nextInt(3);
            for (int f = 0; f < flips; f++) q[rnd.nextInt(q.length)] ^= (byte) (1 << rnd.nextInt(8));
            if (rnd.nextInt(10) == 0) q = Arrays.copyOf(q, rnd.nextInt(q.length + 4));
            boolean tcp = rnd.nextBoolean();
            String expected = meaning(resolver.fullAnswer(q, q.length, tcp));
            assertThat(meaning(fast(q, tcp, false))).as("mutated query %s", Arrays.toString(q)).isEqualTo(expected);
            assertThat(meaning(fast(q, tcp, true))).as("mutated query %s", Arrays.toString(q)).isEqualTo(expected);
        }
    }

    @Test
    void everyInstanceComesFirstSometimes() throws Exception {
        Set<String> first = new HashSet<>();
        Set<String> firstSrv = new HashSet<>();
        byte[] a = Message.newQuery(Record.newRecord(Name.fromString("mid.service.consul."), Type.A, DClass.IN)).toWire();
        byte[] srv = Message.newQuery(Record.newRecord(Name.fromString("_mid._tcp.consul."), Type.SRV, DClass.IN)).toWire();
        for (int i = 0; i < 2_000; i++) {
            first.add(new Message(resolver.answer(a, a.length, false)).getSection(Section.ANSWER).get(0).rdataToString());
            firstSrv.add(new Message(resolver.answer(srv, srv.length, true)).getSection(Section.ANSWER).get(0).rdataToString());
        }
        assertThat(first).hasSize(20);
        assertThat(firstSrv).hasSize(20);
    }

    @Test
    void manyNamesAndSizesStartTheCacheOverAndAnswersStayRight() throws Exception {
        for (int i = 0; i < AnswerCache.MAX_ENTRIES + 2_000; i++) {
            Message m = Message.newQuery(Record.newRecord(Name.fromString("svc" + i + ".service.consul."), Type.A, DClass.IN));
            m.addRecord(new OPTRecord(512 + i % 3000, 0, 0), Section.ADDITIONAL);
            byte[] q = m.toWire();
            assertThat(meaning(resolver.answer(q, q.length, false))).isEqualTo(meaning(resolver.fullAnswer(q, q.length, false)));
        }
        byte[] q = Message.newQuery(Record.newRecord(Name.fromString("db.service.consul."), Type.A, DClass.IN)).toWire();
        for (int i = 0; i < 2; i++) assertThat(addresses(resolver.answer(q, q.length, false))).containsExactlyInAnyOrder("127.0.0.10", "127.0.0.11", "127.0.0.12");
        assertThat(resolver.cached(q, q.length, false)).isTrue();
    }

    @Test
    void aCatalogChangeShowsInTheNextAnswer() throws Exception {
        byte[] q = Message.newQuery(Record.newRecord(Name.fromString("db.service.consul."), Type.A, DClass.IN)).toWire();
        for (int i = 0; i < 3; i++) assertThat(addresses(resolver.answer(q, q.length, false))).containsExactlyInAnyOrder("127.0.0.10", "127.0.0.11", "127.0.0.12");
        List<StateStore.Instance> db = new ArrayList<>(services.get("db"));
        db.set(0, instance("db1", "127.0.0.10", "db", "master", Model.CRITICAL, 3306));
        services.put("db", db);
        generation.incrementAndGet();
        assertThat(addresses(resolver.answer(q, q.length, false))).containsExactlyInAnyOrder("127.0.0.11", "127.0.0.12");
        services.put("db", List.of());
        generation.incrementAndGet();
        byte[] gone = resolver.answer(q, q.length, false);
        assertThat(new Message(gone).getRcode()).isEqualTo(org.xbill.DNS.Rcode.NXDOMAIN);
        assertThat(resolver.answer(q, q.length, false)).isEqualTo(gone);
    }

    private static List<String> addresses(byte[] wire) throws Exception {
        return new Message(wire).getSection(Section.ANSWER).stream().map(Record::rdataToString).toList();
    }
}

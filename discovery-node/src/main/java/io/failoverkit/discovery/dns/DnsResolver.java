package io.failoverkit.discovery.dns;

import io.failoverkit.discovery.config.DnsConfig;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Answers one DNS query (wire bytes in, wire bytes out) from the catalog, as Consul's DNS interface does:
 * {@code <node>.node[.<dc>].<domain>}, {@code [<tag>.]<service>.service[.<dc>].<domain>} and the RFC 2782 form
 * {@code _<service>._<tag|tcp>[.service][.<dc>].<domain>}. Never throws: bad input gets FORMERR, NOTIMP or REFUSED,
 * and the answer never exceeds the size the transport allows. Large answers are trimmed as Consul trims them: over
 * UDP without EDNS0 to {@code udp_answer_limit} records (at most 8), then to what fits (512 bytes counted
 * uncompressed, or the EDNS0 size offered), over TCP to what fits 64 KB; SRV targets' addresses follow the SRV
 * records kept; TC is set for a trimmed answer only with {@code enable_truncate}.
 */
public final class DnsResolver {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(DnsResolver.class);
    /**
     * Answers are never larger than this over UDP, whatever EDNS0 size a client offers: Consul's cap (64 KB less the
     * largest IP and UDP headers), so that a client offering 65535 still gets an answer.
     */
    static final int MAX_UDP = 65535 - 68;
    /** The UDP payload size our OPT record advertises (what we accept in a query). */
    static final int EDNS_ADVERTISED = 4096;
    static final int MAX_TCP = 65535;
    /** Consul's caps: answers over UDP without EDNS0 whatever udp_answer_limit says; a TCP answer's size. */
    static final int MAX_UDP_ANSWERS = 8;
    static final int TCP_TRIM_SIZE = 65523;

    /** What making an answer found out: whether records were left out to fit, and whether it may be reused. */
    static final class Outcome {
        boolean trimmed;
        /** A shuffled subset of the records (trimmed, or cut by a_record_limit): each query gets its own. */
        boolean subset;
    }

    /** Sends a query outside our domain to a recursor, over the client's transport; null when none answered. */
    public interface Recursor { byte[] forward(byte[] query, boolean tcp); }

    private final DnsView view;
    private final DnsConfig config;
    private final Name domain;
    private final String datacenter;
    private final Recursor recursor;
    private final SOARecord soa;
    private final AnswerCache cache;

    /** Queries answered (consul.dns.domain_query, as a count); a throwaway until {@link #metrics} names the agent's. */
    private java.util.concurrent.atomic.LongAdder queries = new java.util.concurrent.atomic.LongAdder();

    /** Counts this resolver's queries in {@code m}; returns this. */
    public DnsResolver metrics(io.failoverkit.discovery.metrics.Metrics m) {
        queries = m.eventCounter("consul.dns.domain_query", java.util.Map.of());
        return this;
    }

    /** The agent's resolver: forwards to {@code recursors}, and logs what is odd in {@code config} once. */
    public DnsResolver(DnsView view, DnsConfig config, String domain, String datacenter) {
        this(view, config, domain, datacenter, UpstreamRecursor.of(config.recursors));
        for (String w : config.warnings()) LOG.warn(w);
    }

    DnsResolver(DnsView view, DnsConfig config, String domain, String datacenter, Recursor recursor) {
        this.view = view;
        this.config = config;
        this.datacenter = datacenter.toLowerCase(Locale.ROOT);
        this.recursor = recursor;
        try {
            this.domain = Name.fromString(domain.endsWith(".") ? domain : domain + ".");
            this.soa = new SOARecord(this.domain, DClass.IN, config.soaMinTtl, Name.fromString("ns", this.domain),
                    Name.fromString("hostmaster", this.domain), 1, config.soaRefresh, config.soaRetry, config.soaExpire, config.soaMinTtl);
            this.cache = new AnswerCache(this.domain.toWire());
        } catch (TextParseException e) {
            throw new IllegalArgumentException("invalid DNS domain \"" + domain + "\": " + e.getMessage(), e);
        }
    }

    /**
     * Writes the answer to {@code query} into {@code out} (from its position; flipped for sending); false when there
     * is nothing sensible to send back (fewer than 12 bytes).
     */
    public boolean answer(byte[] query, int length, boolean tcp, java.nio.ByteBuffer out) {
        queries.increment();
        AnswerCache.Query parsed = lookup(query, length, tcp);
        if (parsed != null && parsed.template != null) {
            AnswerCache.write(parsed.template, query, out);
            out.flip();
            return true;
        }
        Outcome outcome = new Outcome();
        byte[] a = fullAnswer(query, length, tcp, outcome);
        if (a == null) return false;
        if (parsed != null && !outcome.subset) cache.put(parsed, query, a);
        out.put(a).flip();
        return true;
    }

    /** The answer to {@code query}, or null when there is nothing sensible to send back (fewer than 12 bytes). */
    public byte[] answer(byte[] query, int length, boolean tcp) {
        queries.increment();
        AnswerCache.Query parsed = lookup(query, length, tcp);
        if (parsed != null && parsed.template != null) {
            java.nio.ByteBuffer out = java.nio.ByteBuffer.allocate(parsed.template.length());
            AnswerCache.write(parsed.template, query, out);
            return out.array();
        }
        Outcome outcome = new Outcome();
        byte[] a = fullAnswer(query, length, tcp, outcome);
        if (parsed != null && a != null && !outcome.subset) cache.put(parsed, query, a);
        return a;
    }

    /**
     * The query parsed for the answer cache, with the cached answer when there is one; null when the query's answer
     * may not be reused (not the common shape, or a view without generations). The generation is read first.
     */
    private AnswerCache.Query lookup(byte[] query, int length, boolean tcp) {
        long generation = view.generation();
        if (generation < 0) return null;
        AnswerCache.Query parsed = cache.parse(query, length, tcp);
        if (parsed == null) return null;
        parsed.generation = generation;
        parsed.template = cache.get(generation, parsed);
        return parsed;
    }

    /** Whether the answer to {@code query} would come from the cache now (for tests). */
    boolean cached(byte[] query, int length, boolean tcp) {
        AnswerCache.Query parsed = lookup(query, length, tcp);
        return parsed != null && parsed.template != null;
    }

    /** The answer made by the full path (dnsjava), never from the cache. */
    byte[] fullAnswer(byte[] query, int length, boolean tcp) {
        return fullAnswer(query, length, tcp, new Outcome());
    }

    private byte[] fullAnswer(byte[] query, int length, boolean tcp, Outcome outcome) {
        if (length < Header.LENGTH) return null;
        Message q;
        try {
            q = new Message(java.util.Arrays.copyOf(query, length));
        } catch (IOException | RuntimeException e) {
            return error(query, Rcode.FORMERR);
        }
        try {
            return answer(q, tcp, outcome);
        } catch (RuntimeException e) {
            // The catalog could not be read (a client agent without a reachable server): say so, never crash.
            return error(q, Rcode.SERVFAIL);
        }
    }

    private byte[] answer(Message q, boolean tcp, Outcome outcome) {
        Header h = q.getHeader();
        if (h.getFlag(Flags.QR)) return error(q, Rcode.FORMERR);
        if (h.getOpcode() != Opcode.QUERY) return error(q, Rcode.NOTIMP);
        Record question = q.getQuestion();
        if (question == null || h.getCount(Section.QUESTION) != 1) return error(q, Rcode.FORMERR);
        Name name = question.getName();
        int type = question.getType();
        OPTRecord opt = q.getOPT();
        // RFC 6891 6.1.1: more than one OPT record is a format error; 6.1.3: a version we do not implement gets
        // BADVERS, with our OPT record (version 0) saying which we do.
        int opts = 0;
        for (Record a : q.getSection(Section.ADDITIONAL)) if (a.getType() == Type.OPT) opts++;
        if (opts > 1) return error(q, Rcode.FORMERR);
        if (opt != null && opt.getVersion() != 0) return error(q, Rcode.BADVERS);
        int limit = tcp ? MAX_TCP : opt == null ? 512 : Math.max(512, Math.min(opt.getPayloadSize(), MAX_UDP));

        if (!name.subdomain(domain)) {
            if (recursor != null) {
                byte[] upstream = recursor.forward(q.toWire(), tcp);
                if (upstream != null) return upstream.length <= limit ? upstream : truncated(q, upstream);
                return error(q, Rcode.SERVFAIL);
            }
            return error(q, Rcode.REFUSED);
        }
        if (question.getDClass() != DClass.IN && question.getDClass() != DClass.ANY) return error(q, Rcode.REFUSED);
        if (type == Type.AXFR || type == Type.IXFR || type == Type.MAILA || type == Type.MAILB) return error(q, Rcode.NOTIMP);

        if (!view.ready()) return reply(q, Rcode.SERVFAIL, opt).toWire(limit);
        Message r = reply(q, Rcode.NOERROR, opt);
        List<String> labels = new ArrayList<>();
        for (int i = 0; i < name.labels() - domain.labels(); i++) labels.add(name.getLabelString(i).toLowerCase(Locale.ROOT));
        resolve(r, name, type, labels, outcome);
        if (tcp) trimTcp(r, type, outcome); else trimUdp(r, limit, outcome);
        if (outcome.trimmed && config.enableTruncate) r.getHeader().setFlag(Flags.TC);
        return r.toWire(limit);
    }

    private void resolve(Message r, Name qname, int type, List<String> labels, Outcome outcome) {
        if (labels.isEmpty()) {
            // The domain apex: its SOA and NS, nothing else.
            if (type == Type.SOA || type == Type.ANY) r.addRecord(soa, Section.ANSWER);
            else if (type == Type.NS) r.addRecord(new NSRecord(domain, DClass.IN, config.soaMinTtl, soa.getHost()), Section.ANSWER);
            else r.addRecord(soa, Section.AUTHORITY);
            return;
        }
        // An optional datacenter label after "node"/"service".
        int n = labels.size();
        if (n >= 2 && !labels.get(n - 1).equals("node") && !labels.get(n - 1).equals("service")
                && (labels.get(n - 2).equals("node") || labels.get(n - 2).equals("service"))) {
            if (!labels.get(n - 1).equals(datacenter)) { nxdomain(r); return; }
            labels = labels.subList(0, n - 1);
            n--;
        }
        if (n >= 2 && labels.get(n - 1).equals("node")) {
            node(r, qname, type, String.join(".", labels.subList(0, n - 1)));
            return;
        }
        if (labels.get(0).startsWith("_") && n >= 2 && labels.get(1).startsWith("_")) {
            // RFC 2782: _service._tag or _service._tcp, then optionally "service" and a datacenter.
            List<String> rest = labels.subList(2, n);
            if (!rest.isEmpty() && rest.get(0).equals("service")) rest = rest.subList(1, rest.size());
            if (rest.size() == 1 && !rest.get(0).equals(datacenter)) { nxdomain(r); return; }
            if (rest.size() > 1) { nxdomain(r); return; }
            String proto = labels.get(1).substring(1);
            service(r, qname, type, labels.get(0).substring(1), proto.equals("tcp") ? null : proto, outcome);
            return;
        }
        if (labels.get(n - 1).equals("service") && (n == 2 || n == 3)) {
            service(r, qname, type, labels.get(n - 2), n == 3 ? labels.get(0) : null, outcome);
            return;
        }
        if ((n == 2 || n == 3) && labels.get(1).equals("addr")) {
            addr(r, qname, type, labels.get(0));
            return;
        }
        nxdomain(r);
    }

    private void node(Message r, Name qname, int type, String nodeName) {
        Model.Node node = view.node(nodeName);
        if (node == null) { nxdomain(r); return; }
        long ttl = config.nodeTtl.toSeconds();
        Record addr = addressRecord(qname, node.address(), ttl);
        if (type == Type.TXT) {
            for (Map.Entry<String, String> e : node.meta().entrySet()) r.addRecord(new TXTRecord(qname, DClass.IN, ttl, e.getKey() + "=" + e.getValue()), Section.ANSWER);
        } else if (addr != null && (type == Type.ANY || type == addr.getType())) {
            r.addRecord(addr, Section.ANSWER);
        }
        if (r.getSection(Section.ANSWER).isEmpty()) r.addRecord(soa, Section.AUTHORITY);
    }

    private void service(Message r, Name qname, int type, String service, String tag, Outcome outcome) {
        List<StateStore.Instance> healthy = new ArrayList<>();
        for (StateStore.Instance i : view.instances(service, tag)) {
            boolean critical = false;
            boolean warning = false;
            for (Model.Check c : i.checks()) {
                critical |= Model.CRITICAL.equals(c.status());
                warning |= Model.WARNING.equals(c.status());
            }
            if (!critical && !(warning && config.onlyPassing)) healthy.add(i);
        }
        if (healthy.isEmpty()) { nxdomain(r); return; }
        Collections.shuffle(healthy, ThreadLocalRandom.current());
        long ttl = config.serviceTtl(service).toSeconds();
        if (type == Type.SRV) {
            // One SRV record per (node, service address, port), as Consul de-duplicates: several instances on one
            // node with their own addresses are several targets, each with its own address record.
            Set<String> seen = new java.util.HashSet<>();
            Set<Name> targets = new java.util.HashSet<>();
            for (StateStore.Instance i : healthy) {
                String serviceAddress = i.service().address() == null ? "" : i.service().address();
                if (!seen.add(i.node().node() + '\0' + serviceAddress + '\0' + i.service().port())) continue;
                Name target = srvTarget(i);
                if (target == null) continue;
                r.addRecord(new SRVRecord(qname, DClass.IN, ttl, 1, 1, i.service().port(), target), Section.ANSWER);
                if (targets.add(target)) {
                    Record a = addressRecord(target, addressOf(i), ttl);
                    if (a != null) r.addRecord(a, Section.ADDITIONAL);
                }
            }
        } else if (type == Type.A || type == Type.AAAA || type == Type.ANY) {
            // a_record_limit: the first answers of the shuffled list, over UDP and TCP (Consul stops there too)
            int max = config.aRecordLimit > 0 ? config.aRecordLimit : Integer.MAX_VALUE;
            int added = 0;
            Set<String> seen = new LinkedHashSet<>();
            for (StateStore.Instance i : healthy) {
                String address = addressOf(i);
                if (!seen.add(address)) continue;
                Record a = addressRecord(qname, address, ttl);
                if (a != null && (type == Type.ANY || a.getType() == type)) {
                    if (added == max) { outcome.subset = true; break; }
                    r.addRecord(a, Section.ANSWER);
                    added++;
                }
            }
        }
        if (r.getSection(Section.ANSWER).isEmpty()) r.addRecord(soa, Section.AUTHORITY);
    }

    /**
     * Consul's trimUDPResponse: without EDNS0 (or offering at most 512 bytes), at most udp_answer_limit answers (and
     * never more than 8); then answers dropped from the end until the answer fits the size less 8 (a UDP header), counted
     * uncompressed without EDNS0 (so it fits even if something on the way uncompresses it), compressed with it. One
     * answer is kept whatever its size. Notes in {@code outcome} whether answers were dropped.
     */
    private void trimUdp(Message r, int maxSize, Outcome outcome) {
        List<Record> answers = new ArrayList<>(r.getSection(Section.ANSWER));
        int n = answers.size();
        if (n <= 1) return;
        boolean plain = maxSize <= 512;
        int keep = n;
        if (plain) keep = Math.min(keep, Math.min(MAX_UDP_ANSWERS, config.udpAnswerLimit));
        keep = fitting(r, answers, keep, maxSize - 8, !plain);
        if (keep == n) return;
        keepAnswers(r, answers, keep);
        outcome.trimmed = true;
        outcome.subset = true;
    }

    /**
     * Consul's trimTCPResponse: at most 4,096 answers (1,024 SRV records), not counted as trimming; then answers
     * dropped until the answer fits 64 KB less 12 bytes. Notes in {@code outcome} what was dropped (only the size cut counts as trimming).
     */
    private void trimTcp(Message r, int type, Outcome outcome) {
        List<Record> answers = new ArrayList<>(r.getSection(Section.ANSWER));
        int n = answers.size();
        if (n <= 1) return;
        int cut = Math.min(n, type == Type.SRV ? 1024 : 4096);
        int keep = fitting(r, answers, cut, TCP_TRIM_SIZE, true);
        if (keep == n) return;
        keepAnswers(r, answers, keep);
        outcome.subset = true;
        outcome.trimmed = keep < cut;
    }

    /** The most answers, up to {@code max} (at least 1), with which the message is at most {@code budget} bytes. */
    private static int fitting(Message r, List<Record> answers, int max, int budget, boolean compressed) {
        if (max <= 1 || size(r, answers, max, compressed) <= budget) return max;
        int lo = 1, hi = max - 1;   // size(lo) may exceed: one answer is sent anyway
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (size(r, answers, mid, compressed) <= budget) lo = mid; else hi = mid - 1;
        }
        return lo;
    }

    /** The wire size of {@code r} with only the first {@code k} answers (and their SRV targets' addresses). */
    private static int size(Message r, List<Record> answers, int k, boolean compressed) {
        Message m = new Message(r.getHeader().getID());
        for (Record q : r.getSection(Section.QUESTION)) m.addRecord(q, Section.QUESTION);
        for (int i = 0; i < k; i++) m.addRecord(answers.get(i), Section.ANSWER);
        for (Record a : r.getSection(Section.AUTHORITY)) m.addRecord(a, Section.AUTHORITY);
        for (Record a : additionalFor(r, answers.subList(0, k))) m.addRecord(a, Section.ADDITIONAL);
        if (compressed) return m.toWire().length;
        int size = Header.LENGTH;
        for (int s = Section.QUESTION; s <= Section.ADDITIONAL; s++)
            for (Record rec : m.getSection(s)) size += rec.toWire(s).length;
        return size;
    }

    /** The additional records to keep with {@code answers}: the OPT record, and addresses of their SRV targets. */
    private static List<Record> additionalFor(Message r, List<Record> answers) {
        Set<Name> targets = new java.util.HashSet<>();
        for (Record a : answers) if (a instanceof SRVRecord srv) targets.add(srv.getTarget());
        List<Record> out = new ArrayList<>();
        for (Record a : r.getSection(Section.ADDITIONAL)) {
            if (a.getType() == Type.OPT || targets.contains(a.getName())) out.add(a);
        }
        return out;
    }

    private static void keepAnswers(Message r, List<Record> answers, int keep) {
        List<Record> additional = additionalFor(r, answers.subList(0, keep));
        r.removeAllRecords(Section.ANSWER);
        r.removeAllRecords(Section.ADDITIONAL);
        for (int i = 0; i < keep; i++) r.addRecord(answers.get(i), Section.ANSWER);
        for (Record a : additional) r.addRecord(a, Section.ADDITIONAL);
    }

    /** Parsed names and addresses, per catalog string; bounded (cleared when full), since the catalog may churn. */
    private static final int CACHE_MAX = 65_536;
    private final java.util.concurrent.ConcurrentHashMap<String, Name> nodeNames = new java.util.concurrent.ConcurrentHashMap<>();
    private final java.util.concurrent.ConcurrentHashMap<String, Name> addrNames =
            new java.util.concurrent.ConcurrentHashMap<>();
    private static final java.util.concurrent.ConcurrentHashMap<String, java.util.Optional<InetAddress>> ADDRESSES = new java.util.concurrent.ConcurrentHashMap<>();

    private Name nodeName(String node) {
        Name cached = nodeNames.get(node);
        if (cached != null) return cached;
        try {
            Name n = Name.fromString(node + ".node." + datacenter, domain);
            if (nodeNames.size() > CACHE_MAX) nodeNames.clear();
            nodeNames.put(node, n);
            return n;
        } catch (TextParseException e) {
            return null;
        }
    }

    /**
     * The SRV target for an instance, as Consul names it: the node ({@code <node>.node.<dc>.<domain>}) when the
     * service has no address of its own, so that resolving the target gives the node's address; an IP service address
     * as {@code <hex>.addr.<dc>.<domain>}, a name that resolves to that very address (see {@link #addr}); a host name
     * service address as itself. Null when no valid name can be made.
     */
    private Name srvTarget(StateStore.Instance i) {
        String serviceAddress = i.service().address();
        String address = serviceAddress == null || serviceAddress.isEmpty() ? i.node().address() : serviceAddress;
        java.util.Optional<InetAddress> ip = literal(address);
        if (ip.isPresent()) {
            return address.equals(serviceAddress) ? addrName(address, ip.get()) : nodeName(i.node().node());
        }
        if (address == null || address.isEmpty()) return null;
        try {
            return Name.fromString(address.endsWith(".") ? address : address + ".");
        } catch (TextParseException e) {
            return null;
        }
    }

    /** {@code <hex>.addr.<dc>.<domain>} for an IP address: 8 hex digits for IPv4, 32 for IPv6. */
    private Name addrName(String address, InetAddress ip) {
        Name cached = addrNames.get(address);
        if (cached != null) return cached;
        try {
            String hex = java.util.HexFormat.of().formatHex(ip.getAddress());
            Name n = Name.fromString(hex + ".addr." + datacenter, domain);
            if (addrNames.size() > CACHE_MAX) addrNames.clear();
            addrNames.put(address, n);
            return n;
        } catch (TextParseException e) {
            return null;
        }
    }

    /**
     * {@code <hex>.addr[.<dc>].<domain>}: the address written in the name (8 hex digits: IPv4, 32: IPv6), as Consul
     * answers the SRV targets it makes for service addresses. Any datacenter label is taken, as Consul does: the
     * answer is in the name. Asked for another type, the address goes in the additional section (as Consul puts it).
     */
    private void addr(Message r, Name qname, int type, String hex) {
        if ((hex.length() != 8 && hex.length() != 32) || !hex.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            nxdomain(r);
            return;
        }
        byte[] bytes = java.util.HexFormat.of().parseHex(hex);
        long ttl = config.nodeTtl.toSeconds();
        Record a;
        try {
            a = bytes.length == 4 ? new ARecord(qname, DClass.IN, ttl, InetAddress.getByAddress(bytes))
                    : new AAAARecord(qname, DClass.IN, ttl, java.net.Inet6Address.getByAddress(null, bytes, null));
        } catch (UnknownHostException e) {
            nxdomain(r);   // not reached: the length is checked above
            return;
        }
        if (type == a.getType() || type == Type.ANY) {
            r.addRecord(a, Section.ANSWER);
        } else {
            r.addRecord(a, Section.ADDITIONAL);
            r.addRecord(soa, Section.AUTHORITY);
        }
    }

    private static String addressOf(StateStore.Instance i) {
        String a = i.service().address();
        return a == null || a.isEmpty() ? i.node().address() : a;
    }

    /** An A or AAAA record for a literal IP address; null for anything else (a host name is not resolved here). */
    private static Record addressRecord(Name name, String address, long ttl) {
        java.util.Optional<InetAddress> ip = literal(address);
        if (ip.isEmpty()) return null;
        return ip.get() instanceof java.net.Inet4Address ? new ARecord(name, DClass.IN, ttl, ip.get()) : new AAAARecord(name, DClass.IN, ttl, ip.get());
    }

    /** {@code address} as an IP address (remembered); empty for anything else. */
    private static java.util.Optional<InetAddress> literal(String address) {
        if (address == null || address.isEmpty()) return java.util.Optional.empty();
        java.util.Optional<InetAddress> ip = ADDRESSES.get(address);
        if (ip == null) {
            ip = parseLiteral(address);
            if (ADDRESSES.size() > CACHE_MAX) ADDRESSES.clear();
            ADDRESSES.put(address, ip);
        }
        return ip;
    }

    /** An IP literal; empty for anything else (a host name is never looked up here). */
    private static java.util.Optional<InetAddress> parseLiteral(String address) {
        boolean v4 = true;
        boolean v6 = address.indexOf(':') >= 0;
        for (int i = 0; i < address.length(); i++) {
            char c = address.charAt(i);
            v4 &= c == '.' || (c >= '0' && c <= '9');
            v6 &= c == ':' || c == '.' || Character.digit(c, 16) >= 0;
        }
        if (!v4 && !v6) return java.util.Optional.empty();
        try {
            return java.util.Optional.of(InetAddress.getByName(address));
        } catch (UnknownHostException e) {
            return java.util.Optional.empty();
        }
    }

    private void nxdomain(Message r) {
        r.getHeader().setRcode(Rcode.NXDOMAIN);
        r.addRecord(soa, Section.AUTHORITY);
    }

    /**
     * The reply's header and question; with an OPT record when the query had one (RFC 6891 7: a reply without one
     * says we do not do EDNS), version 0, the DO bit copied (RFC 3225), and the upper bits of an extended rcode.
     */
    private static Message reply(Message q, int rcode, OPTRecord opt) {
        Message r = new Message(q.getHeader().getID());
        Header h = r.getHeader();
        h.setFlag(Flags.QR);
        h.setFlag(Flags.AA);
        if (q.getHeader().getFlag(Flags.RD)) h.setFlag(Flags.RD);
        h.setRcode(rcode & 0xF);
        Record question = q.getQuestion();
        if (question != null) r.addRecord(question, Section.QUESTION);
        if (opt != null) r.addRecord(ourOpt(opt, rcode >>> 4), Section.ADDITIONAL);
        return r;
    }

    /**
     * An upstream reply too large for the client (over UDP, the recursor ignored the size the client offered): its
     * header with TC set and the question, so that the client asks again over TCP.
     */
    private static byte[] truncated(Message q, byte[] upstream) {
        byte[] header = java.util.Arrays.copyOf(upstream, Header.LENGTH);
        java.util.Arrays.fill(header, 4, Header.LENGTH, (byte) 0);   // no records: only the ID, flags and rcode
        Message r;
        try {
            r = new Message(header);
        } catch (IOException e) {
            return error(q, Rcode.SERVFAIL);   // not reached: a bare header always parses
        }
        r.getHeader().setFlag(Flags.TC);
        r.addRecord(q.getQuestion(), Section.QUESTION);
        OPTRecord opt = q.getOPT();
        if (opt != null) r.addRecord(ourOpt(opt, 0), Section.ADDITIONAL);
        return r.toWire(512);
    }

    /** Our OPT record replying to {@code opt}: version 0, its DO bit, the upper bits of an extended rcode. */
    private static OPTRecord ourOpt(OPTRecord opt, int extendedRcode) {
        return new OPTRecord(EDNS_ADVERTISED, extendedRcode, 0, opt.getFlags() & ExtendedFlags.DO);
    }

    /** A reply with {@code rcode} and nothing else (but an OPT record when the query had one). */
    private static byte[] error(Message q, int rcode) {
        return reply(q, rcode, q.getOPT()).toWire(512);
    }

    /** A bare header echoing the query's id, for queries that could not be parsed at all. */
    private static byte[] error(byte[] query, int rcode) {
        byte[] out = new byte[Header.LENGTH];
        out[0] = query[0];
        out[1] = query[1];
        out[2] = (byte) 0x80; // QR
        out[3] = (byte) (rcode & 0x0F);
        return out;
    }
}

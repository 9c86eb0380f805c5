package io.failoverkit.discovery.dns;

import io.failoverkit.discovery.testing.DevAgent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
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

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The DNS interface as operators and applications use it: the real dig against a running agent. */
class DnsWithDigTest {
    private static DevAgent agent;
    private static int dns;

    @BeforeAll
    static void start() throws Exception {
        agent = DevAgent.start("dns-node");
        dns = agent.dnsPort;
        register("db1", "127.0.0.10", "foo-db", "master", 3306, "passing");
        register("db2", "127.0.0.11", "foo-db", "replica", 3306, "passing");
        register("db3", "127.0.0.12", "foo-db", "replica", 3307, "passing");
        agent.http.put("/v1/catalog/register", "{\"Node\":\"meta-node\",\"Address\":\"127.0.0.20\",\"NodeMeta\":{\"rack\":\"r1\"}}");
    }

    @AfterAll
    static void stop() {
        agent.close();
    }

    private static void register(String node, String address, String service, String tag, int port, String status) {
        String body = """
                {"Node":"%s","Address":"%s","Service":{"ID":"%s-%s","Service":"%s","Tags":["%s"],"Port":%d},
                 "Check":{"CheckID":"svc-%s","Name":"health","Status":"%s","ServiceID":"%s-%s"}}
                """.formatted(node, address, service, node, service, tag, port, node, status, service, node);
        assertThat(agent.http.put("/v1/catalog/register", body).status()).isEqualTo(200);
    }

    @Test
    void nodeAddressAndMetadata() {
        assertThat(Dig.shortAnswers(dns, "db1.node.consul")).containsExactly("127.0.0.10");
        assertThat(Dig.shortAnswers(dns, "DB1.Node.DC1.Consul")).as("names are case-insensitive, dc optional").containsExactly("127.0.0.10");
        assertThat(Dig.shortAnswers(dns, "meta-node.node.consul", "TXT")).containsExactly("\"rack=r1\"");
    }

    @Test
    void serviceTagAndSrvWithAdditionalAddresses() {
        assertThat(Dig.shortAnswers(dns, "foo-db.service.consul")).containsExactlyInAnyOrder("127.0.0.10", "127.0.0.11", "127.0.0.12");
        assertThat(Dig.shortAnswers(dns, "master.foo-db.service.consul")).as("the seeds' master lookup").containsExactly("127.0.0.10");
        assertThat(Dig.shortAnswers(dns, "replica.foo-db.service.dc1.consul")).containsExactlyInAnyOrder("127.0.0.11", "127.0.0.12");
        String srv = Dig.run(dns, "foo-db.service.consul", "SRV", "+noall", "+answer", "+additional");
        assertThat(srv).contains("SRV\t1 1 3306 db1.node.dc1.consul.").contains("SRV\t1 1 3307 db3.node.dc1.consul.");
        assertThat(srv).containsPattern("db1\\.node\\.dc1\\.consul\\.\\s+0\\s+IN\\s+A\\s+127\\.0\\.0\\.10");
        assertThat(Dig.shortAnswers(dns, "_foo-db._master.service.consul", "SRV")).containsExactly("1 1 3306 db1.node.dc1.consul.");
        assertThat(Dig.shortAnswers(dns, "_foo-db._tcp.consul", "SRV")).hasSize(3);
    }

    @Test
    void instancesWithTheirOwnAddressesOnOneNodeAreSrvTargetsThatResolveToThoseAddresses() {
        // Review 8 item 3: three Redis instances on one host, each on its own address, all on port 6379. The SRV
        // targets were the node's name (resolving to the node's address) and collapsed into one; now each target is
        // the instance's address as <hex>.addr.<dc>.consul, as Consul names it, and resolves to that address.
        agent.http.put("/v1/catalog/register", "{\"Node\":\"redis-host\",\"Address\":\"127.0.0.40\"}");
        for (int k = 1; k <= 3; k++) {
            assertThat(agent.http.put("/v1/catalog/register", """
                    {"Node":"redis-host","Address":"127.0.0.40","Service":{"ID":"redis-%d","Service":"redis","Address":"127.0.0.4%d","Port":6379}}
                    """.formatted(k, k)).status()).isEqualTo(200);
        }
        assertThat(agent.http.put("/v1/catalog/register", """
                {"Node":"redis-host","Address":"127.0.0.40","Service":{"ID":"redis-node","Service":"redis","Port":6380}}
                """).status()).isEqualTo(200);
        // Same node, address and port as redis-1: one SRV record for both (Consul's de-duplication).
        assertThat(agent.http.put("/v1/catalog/register", """
                {"Node":"redis-host","Address":"127.0.0.40","Service":{"ID":"redis-1-again","Service":"redis","Address":"127.0.0.41","Port":6379}}
                """).status()).isEqualTo(200);

        assertThat(Dig.shortAnswers(dns, "redis.service.consul", "SRV")).containsExactlyInAnyOrder(
                "1 1 6379 7f000029.addr.dc1.consul.", "1 1 6379 7f00002a.addr.dc1.consul.",
                "1 1 6379 7f00002b.addr.dc1.consul.", "1 1 6380 redis-host.node.dc1.consul.");
        String full = Dig.run(dns, "redis.service.consul", "SRV", "+noall", "+additional");
        for (int k = 1; k <= 3; k++) {
            assertThat(full).containsPattern("7f00002" + "9ab".charAt(k - 1) + "\\.addr\\.dc1\\.consul\\.\\s+0\\s+IN\\s+A\\s+127\\.0\\.0\\.4" + k);
        }
        assertThat(full).containsPattern("redis-host\\.node\\.dc1\\.consul\\.\\s+0\\s+IN\\s+A\\s+127\\.0\\.0\\.40");
        assertThat(Dig.shortAnswers(dns, "_redis._tcp.service.consul", "SRV")).hasSize(4);

        // A client resolving a target itself (Connector/J's mysql+srv, Jedis) gets the instance's address.
        assertThat(Dig.shortAnswers(dns, "7f00002a.addr.dc1.consul")).containsExactly("127.0.0.42");
        assertThat(Dig.shortAnswers(dns, "7F00002A.addr.consul")).as("datacenter optional, case-insensitive").containsExactly("127.0.0.42");
        assertThat(Dig.shortAnswers(dns, "00000000000000000000000000000001.addr.dc1.consul", "AAAA")).containsExactly("::1");
        assertThat(Dig.run(dns, "7f00002a.addr.dc1.consul", "AAAA")).as("an IPv4 name asked for AAAA: no data")
                .contains("status: NOERROR").contains("ANSWER: 0").contains("SOA");
        assertThat(Dig.run(dns, "7f00002.addr.dc1.consul")).contains("status: NXDOMAIN");
        assertThat(Dig.run(dns, "7f00002x.addr.dc1.consul")).contains("status: NXDOMAIN");
        // A and SRV agree: the A answers for the service are the same addresses the SRV targets resolve to.
        assertThat(Dig.shortAnswers(dns, "redis.service.consul")).containsExactlyInAnyOrder("127.0.0.41", "127.0.0.42", "127.0.0.43", "127.0.0.40");
    }

    @Test
    void unknownNamesAreNxdomainWithSoaAndKnownNamesWithoutTheTypeAreNodata() {
        String nx = Dig.run(dns, "nope.service.consul");
        assertThat(nx).contains("status: NXDOMAIN").containsPattern("consul\\.\\s+0\\s+IN\\s+SOA\\s+ns\\.consul\\. hostmaster\\.consul\\.");
        assertThat(Dig.run(dns, "nobody.node.consul")).contains("status: NXDOMAIN");
        assertThat(Dig.run(dns, "db1.node.other-dc.consul")).contains("status: NXDOMAIN");
        String nodata = Dig.run(dns, "db1.node.consul", "AAAA");
        assertThat(nodata).contains("status: NOERROR").contains("ANSWER: 0").contains("SOA");
        assertThat(Dig.run(dns, "www.example.com")).as("no recursors configured").contains("status: REFUSED");
    }

    @Test
    void aCriticalInstanceDisappearsAndComesBackWhenItRecovers() {
        register("flappy", "127.0.0.30", "cache", "master", 6379, "passing");
        register("steady", "127.0.0.31", "cache", "replica", 6379, "passing");
        assertThat(Dig.shortAnswers(dns, "cache.service.consul")).containsExactlyInAnyOrder("127.0.0.30", "127.0.0.31");
        register("flappy", "127.0.0.30", "cache", "master", 6379, "critical");
        assertThat(Dig.shortAnswers(dns, "cache.service.consul")).as("answers follow the catalog at once").containsExactly("127.0.0.31");
        assertThat(Dig.run(dns, "master.cache.service.consul")).contains("status: NXDOMAIN");
        register("flappy", "127.0.0.30", "cache", "master", 6379, "warning");
        assertThat(Dig.shortAnswers(dns, "master.cache.service.consul")).as("warning is still answered (only_passing off)").containsExactly("127.0.0.30");
        // Node maintenance is a critical node check: every service of the node goes.
        agent.http.put("/v1/catalog/register", "{\"Node\":\"steady\",\"Address\":\"127.0.0.31\",\"Check\":{\"CheckID\":\"_node_maintenance\",\"Name\":\"maint\",\"Status\":\"critical\"}}");
        assertThat(Dig.shortAnswers(dns, "cache.service.consul")).containsExactly("127.0.0.30");
    }

    @Test
    void twoHundredInstancesOverUdpGetAShuffledSubsetThatFitsAndTcpGetsThemAll() throws Exception {
        for (int i = 0; i < 200; i++) {
            String node = "web-" + i;
            agent.http.put("/v1/catalog/register", """
                    {"Node":"%s","Address":"127.1.%d.%d","Service":{"Service":"web","Tags":["%s"],"Port":80}}
                    """.formatted(node, i / 100, i % 100 + 1, i % 2 == 0 ? "even" : "odd"));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> agent.http.get("/v1/catalog/service/web").json().size() == 200);
        Set<String> all = new HashSet<>();
        for (int i = 0; i < 200; i++) all.add("127.1." + (i / 100) + "." + (i % 100 + 1));

        // No EDNS0: udp_answer_limit (3) records, no TC (enable_truncate is off), a different subset from query to query.
        Set<String> seen = new HashSet<>();
        for (int k = 0; k < 10; k++) {
            String udp = Dig.run(dns, "web.service.consul", "+noedns", "+ignore");
            assertThat(udp).contains("status: NOERROR").contains("ANSWER: 3,").doesNotContainPattern(";; flags: [a-z ]*tc");
            List<String> a = Dig.shortAnswers(dns, "web.service.consul", "+noedns", "+ignore");
            assertThat(a).hasSize(3).doesNotHaveDuplicates();
            assertThat(all).containsAll(a);
            seen.addAll(a);
        }
        assertThat(seen).as("shuffled per query").hasSizeGreaterThan(3);
        // dnsjava parses the raw UDP answer, and it is within 512 bytes.
        Message plain = udp(Message.newQuery(Record.newRecord(Name.fromString("web.service.consul."), Type.A, DClass.IN)));
        assertThat(plain.numBytes()).isLessThanOrEqualTo(512);
        assertThat(plain.getSection(Section.ANSWER)).hasSize(3);

        // EDNS0: trimmed to the size offered, not to udp_answer_limit (an A record is 16 bytes compressed): at 1232
        // bytes about 70 fit, at 4096 all 200.
        String edns = Dig.run(dns, "web.service.consul", "+bufsize=1232", "+ignore");
        assertThat(edns).contains("status: NOERROR").doesNotContainPattern(";; flags: [a-z ]*tc");
        Message mid = udp(withEdns(Type.A, 1232));
        assertThat(mid.getSection(Section.ANSWER).size()).isGreaterThan(50).isLessThan(200);
        assertThat(mid.numBytes()).isLessThanOrEqualTo(1232);
        assertThat(mid.getHeader().getFlag(Flags.TC)).isFalse();
        Message big = udp(withEdns(Type.A, 4096));
        assertThat(big.getSection(Section.ANSWER)).hasSize(200);
        assertThat(big.numBytes()).isLessThanOrEqualTo(4096);
        assertThat(Dig.shortAnswers(dns, "web.service.consul", "+bufsize=4096", "+ignore")).hasSize(200);

        // TCP: all 200.
        assertThat(Dig.shortAnswers(dns, "web.service.consul", "+tcp")).hasSize(200).doesNotHaveDuplicates();
        assertThat(Dig.run(dns, "web.service.consul", "SRV", "+tcp", "+noedns")).contains("ANSWER: 200").contains("ADDITIONAL: 200");

        // SRV over UDP: the answers kept and the addresses of exactly their targets.
        for (int payload : new int[]{0, 1232, 4096}) {
            Message srv = udp(payload == 0 ? Message.newQuery(Record.newRecord(Name.fromString("web.service.consul."), Type.SRV, DClass.IN))
                    : withEdns(Type.SRV, payload));
            List<Record> answers = srv.getSection(Section.ANSWER);
            Set<Name> targets = new HashSet<>();
            for (Record r : answers) targets.add(((SRVRecord) r).getTarget());
            Set<Name> addressed = new HashSet<>();
            for (Record r : srv.getSection(Section.ADDITIONAL)) if (r.getType() == Type.A) addressed.add(r.getName());
            assertThat(addressed).as("payload %d", payload).isEqualTo(targets);
            assertThat(srv.getHeader().getFlag(Flags.TC)).isFalse();
            if (payload == 0) assertThat(answers).hasSize(3);
            else assertThat(answers.size()).as("payload %d", payload).isGreaterThan(3).isLessThan(200);
            assertThat(srv.numBytes()).isLessThanOrEqualTo(Math.max(512, payload));
        }
        String srvDig = Dig.run(dns, "web.service.consul", "SRV", "+noedns", "+ignore");
        assertThat(srvDig).contains("ANSWER: 3,").contains("ADDITIONAL: 3");

        // A tag: the subset comes from the tagged instances only.
        List<String> even = Dig.shortAnswers(dns, "even.web.service.consul", "+noedns", "+ignore");
        assertThat(even).hasSize(3);
        for (String ip : even) assertThat(Integer.parseInt(ip.substring(ip.lastIndexOf('.') + 1)) % 2).as(ip).isEqualTo(1);
    }

    private static Message withEdns(int type, int payload) throws Exception {
        Message m = Message.newQuery(Record.newRecord(Name.fromString("web.service.consul."), type, DClass.IN));
        m.addRecord(new OPTRecord(payload, 0, 0), Section.ADDITIONAL);
        return m;
    }

    /** Sends {@code q} over UDP with dnsjava and parses the answer as it came (no retry over TCP). */
    private static Message udp(Message q) throws Exception {
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(5_000);
            byte[] w = q.toWire();
            s.send(new DatagramPacket(w, w.length, InetAddress.getLoopbackAddress(), dns));
            DatagramPacket p = new DatagramPacket(new byte[65535], 65535);
            s.receive(p);
            return new Message(Arrays.copyOf(p.getData(), p.getLength()));
        }
    }
}

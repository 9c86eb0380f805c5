package io.failoverkit.discovery.dns;

import io.failoverkit.discovery.testing.DevAgent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

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
    void aHundredInstancesTruncateOverUdpAndComeWholeOverTcp() {
        for (int i = 0; i < 100; i++) {
            String node = "web-" + i;
            agent.http.put("/v1/catalog/register", """
                    {"Node":"%s","Address":"127.1.%d.%d","Service":{"Service":"web","Port":80}}
                    """.formatted(node, i / 200, i % 200 + 1));
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> agent.http.get("/v1/catalog/service/web").json().size() == 100);
        String udp = Dig.run(dns, "web.service.consul", "+ignore", "+noedns");
        assertThat(udp).contains("flags: qr aa").containsPattern("flags: qr aa tc|flags: qr tc aa|;; flags: [a-z ]*tc");
        List<String> tcp = Dig.shortAnswers(dns, "web.service.consul", "+tcp");
        assertThat(tcp).hasSize(100);
        String srvTcp = Dig.run(dns, "web.service.consul", "SRV", "+tcp", "+noedns");
        assertThat(srvTcp).contains("ANSWER: 100").contains("ADDITIONAL: 100");
        // With EDNS0 the client offers more room; still bounded, still TC when it does not fit.
        assertThat(Dig.run(dns, "web.service.consul", "SRV", "+bufsize=1232", "+ignore")).containsPattern(";; flags: [a-z ]*tc");
    }
}

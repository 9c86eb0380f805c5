package io.failoverkit.discovery.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.testing.AgentProcess;
import io.failoverkit.discovery.testing.Http;
import io.failoverkit.discovery.testing.ServerCluster;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The servers as the "consul" service, registered by the leader as Consul's leader does: one instance per server on
 * its server RPC port, in the catalog and in DNS (consul.service.consul); a failed server's instance drops out of
 * ?passing and DNS, and a server forced to leave loses it altogether.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ConsulServiceClusterTest {
    @TempDir Path dir;
    private ServerCluster cluster;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (cluster != null) cluster.close();
    }

    @Test
    void eachServerIsAConsulInstanceUntilItFailsOrIsForcedOut() throws Exception {
        cluster = new ServerCluster(3, dir).start();
        AgentProcess leader = cluster.awaitLeader(Duration.ofSeconds(90));
        Http http = leader.http();
        Set<String> ports = new TreeSet<>();
        for (AgentProcess s : cluster.servers) ports.add(s.name + ":" + s.serverPort);
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> instances(http, "/v1/catalog/service/consul").equals(ports));
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> srvPorts(leader).size() == 3);

        AgentProcess victim = cluster.servers.stream().filter(s -> s != leader).findFirst().orElseThrow();
        victim.kill();
        Set<String> others = new TreeSet<>(ports);
        others.remove(victim.name + ":" + victim.serverPort);
        await().atMost(Duration.ofSeconds(90)).ignoreExceptions().until(() -> instances(http, "/v1/health/service/consul?passing").equals(others));
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> !srvPorts(leader).contains(victim.serverPort) && srvPorts(leader).size() == 2);
        // Failed, not gone: Consul keeps the node, with serfHealth critical, until it leaves or is reaped.
        assertThat(instances(http, "/v1/catalog/service/consul")).isEqualTo(ports);

        assertThat(http.put("/v1/agent/force-leave/" + victim.name, "").status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> instances(http, "/v1/catalog/service/consul").equals(others));
    }

    /** node:port of each instance a catalog or health answer lists. */
    private static Set<String> instances(Http http, String path) {
        Set<String> out = new TreeSet<>();
        for (JsonNode n : http.get(path).json()) {
            if (n.has("Service")) out.add(n.path("Node").path("Node").asText() + ":" + n.path("Service").path("Port").asInt());
            else out.add(n.path("Node").asText() + ":" + n.path("ServicePort").asInt());
        }
        return out;
    }

    private static Set<Integer> srvPorts(AgentProcess server) throws Exception {
        SimpleResolver dns = new SimpleResolver("127.0.0.1");
        dns.setPort(server.dnsPort);
        Lookup l = new Lookup("consul.service.consul", Type.SRV);
        l.setResolver(dns);
        l.setCache(null);
        Record[] r = l.run();
        Set<Integer> out = new TreeSet<>();
        if (r != null) for (Record x : r) out.add(((SRVRecord) x).getPort());
        return out;
    }
}

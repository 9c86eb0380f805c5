package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AgentConfig;


/** A real discovery node (`agent -dev`) in the drill's JVM, on free loopback ports: HTTP for the manager, DNS for the application. */
final class DiscoveryLab {
    private DiscoveryLab() {}

    static Agent start(String nodeName) throws Exception {
        AgentConfig cfg = new AgentConfig();
        cfg.dev = true;
        cfg.nodeName = nodeName;
        cfg.httpPort = freePort();
        cfg.dnsPort = freePort();
        cfg.serverPort = freePort();
        cfg.serfLanPort = freePort();
        cfg.validate();
        Agent agent = Agent.start(cfg);
        // Ready when it has elected itself leader: writes before that get 500 "No cluster leader".
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            java.net.http.HttpResponse<String> leader = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + cfg.httpPort + "/v1/status/leader")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            if (leader.statusCode() == 200 && leader.body().matches("\"[^\"]+\"")) return agent;
            Thread.sleep(20);
        }
        agent.close();
        throw new IllegalStateException("the discovery node elected no leader within 30 s");
    }

    /**
     * An `agent -dev` configuration read from {@code configFile} (a JSON config file), on free loopback ports (HTTP on
     * one unless the file says {@code ports.http = -1}; HTTPS on the port the file names, if any), validated.
     */
    static AgentConfig devConfig(String nodeName, java.nio.file.Path configFile) throws Exception {
        AgentConfig cfg = new AgentConfig();
        cfg.configFiles.add(configFile);
        cfg.applyFiles(java.util.Set.of());
        cfg.reloadDefinitions();
        cfg.dev = true;
        cfg.nodeName = nodeName;
        if (cfg.httpPort >= 0) cfg.httpPort = freePort();
        cfg.dnsPort = freePort();
        cfg.serverPort = freePort();
        cfg.serfLanPort = freePort();
        cfg.validate();
        return cfg;
    }

    static int freePort() throws Exception { return io.failoverkit.failover.drill.LocalProcesses.freePort(); }
}

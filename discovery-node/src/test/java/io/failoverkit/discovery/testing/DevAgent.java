package io.failoverkit.discovery.testing;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AgentConfig;

import java.time.Duration;

import static org.awaitility.Awaitility.await;

/** A `discovery-node agent -dev` inside the test JVM, on free loopback ports, ready (leader elected, node registered). */
public final class DevAgent implements AutoCloseable {
    public final Agent agent;
    public final Http http;
    public final int httpPort;
    public final int dnsPort;

    private DevAgent(Agent agent) {
        this.agent = agent;
        this.httpPort = agent.httpPort();
        this.dnsPort = agent.dnsPort();
        this.http = new Http(httpPort);
    }

    public static DevAgent start(String nodeName) throws Exception {
        return start(nodeName, cfg -> { });
    }

    /** With a JSON config file (Consul's format), e.g. dns_config. */
    public static DevAgent start(String nodeName, java.nio.file.Path configFile) throws Exception {
        return start(nodeName, cfg -> { if (configFile != null) cfg.configFiles.add(configFile); });
    }

    /** With settings made by {@code customize} (config files, config dirs), read as the agent command reads them. */
    public static DevAgent start(String nodeName, java.util.function.Consumer<AgentConfig> customize) throws Exception {
        AgentConfig cfg = new AgentConfig();
        customize.accept(cfg);
        cfg.applyFiles(java.util.Set.of());
        cfg.reloadDefinitions();
        cfg.dev = true;
        cfg.nodeName = nodeName;
        cfg.httpPort = FreePorts.next();
        cfg.dnsPort = FreePorts.next();
        cfg.serverPort = FreePorts.next();
        cfg.serfLanPort = FreePorts.next();
        cfg.validate();
        DevAgent a = new DevAgent(Agent.start(cfg));
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).until(() -> {
            try {
                Http.Reply r = a.http.get("/v1/health/node/" + nodeName);
                return r.status() == 200 && r.body().contains("\"passing\"");
            } catch (RuntimeException e) {
                return false;
            }
        });
        return a;
    }

    public String address() { return "127.0.0.1:" + httpPort; }

    @Override
    public void close() {
        agent.close();
    }
}

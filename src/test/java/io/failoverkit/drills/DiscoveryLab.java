package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.AgentConfig;

import java.net.InetAddress;
import java.net.ServerSocket;

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
        return Agent.start(cfg);
    }

    static int freePort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) { return s.getLocalPort(); }
    }
}

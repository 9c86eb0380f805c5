package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.config.AgentConfig;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.util.HashSet;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A port someone else holds is an error the caller can read, never the end of the JVM: Ratis calls System.exit when its
 * gRPC server cannot listen, and a CI run lost its whole test fork (and every drill in it) to that.
 */
class PortTakenTest {
    @Test
    void aTakenRaftPortFailsTheStartWithAnIOExceptionAndTheJvmGoesOn() throws Exception {
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), FreePorts.next()));
            AgentConfig cfg = new AgentConfig();
            cfg.dev = true;
            cfg.nodeName = "port-taken";
            cfg.httpPort = FreePorts.next();
            cfg.dnsPort = FreePorts.next();
            cfg.serverPort = taken.getLocalPort();
            cfg.serfLanPort = FreePorts.next();
            cfg.validate();
            assertThatThrownBy(() -> Agent.start(cfg).close())
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining(String.valueOf(taken.getLocalPort()));
        }
        // The same port reaching Raft itself (it is taken between the agent's check and the group forming): Ratis would
        // end the JVM; it is an IOException instead.
        try (ServerSocket taken = new ServerSocket()) {
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), FreePorts.next()));
            java.nio.file.Path dir = Files.createTempDirectory("port-taken-raft");
            assertThatThrownBy(() -> io.failoverkit.discovery.raft.RaftNode.start("r1", "127.0.0.1", taken.getLocalPort(), dir.toFile(),
                    java.util.List.of(new io.failoverkit.discovery.raft.RaftNode.Peer("r1", "127.0.0.1:" + taken.getLocalPort())), "dc1", 10_000,
                    new io.failoverkit.discovery.state.StateStore(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()), leader -> {}).close())
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining(String.valueOf(taken.getLocalPort()));
            assertThat(io.failoverkit.discovery.raft.RaftNode.fatalError()).as("Ratis wanted to end the JVM here").isNotNull();
        } finally {
            org.apache.ratis.util.ExitUtils.clear(); // this JVM runs other tests' Raft nodes
        }
        // Still here, and the ports the agent took on its way up are free again.
        AgentConfig again = new AgentConfig();
        again.dev = true;
        again.nodeName = "port-free";
        again.httpPort = FreePorts.next();
        again.dnsPort = FreePorts.next();
        again.serverPort = FreePorts.next();
        again.serfLanPort = FreePorts.next();
        again.validate();
        try (Agent agent = Agent.start(again)) {
            assertThat(agent.httpPort()).isEqualTo(again.httpPort);
        }
    }

    @Test
    void loopbackPortsComeFromOutsideTheEphemeralRangeAndNeverTwice() throws Exception {
        int[] eph = FreePorts.ephemeralRange();
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            int port = FreePorts.next();
            assertThat(seen.add(port)).as("port %d handed out twice", port).isTrue();
            if (FreePorts.pickRange() != null) assertThat(port < eph[0] || port > eph[1]).as("port %d outside %d-%d", port, eph[0], eph[1]).isTrue();
            try (ServerSocket s = new ServerSocket()) {
                s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port)); // free when handed out
            }
        }
        assertThat(Files.exists(java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range"))).isTrue();
    }
}

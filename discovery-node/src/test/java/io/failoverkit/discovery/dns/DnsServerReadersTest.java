package io.failoverkit.discovery.dns;

import org.junit.jupiter.api.Test;
import org.xbill.DNS.Message;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Several UDP readers, each on its own socket of one port (SO_REUSEPORT): every client is answered, whichever gets it. */
class DnsServerReadersTest {
    @Test
    void everyClientIsAnsweredWhicheverReaderGetsIt() throws Exception {
        for (int readers : new int[]{1, 3}) {
            try (DnsServer server = new DnsServer(Queries.fixedResolver(), "127.0.0.1", 0, readers, false)) {
                List<DatagramSocket> clients = new ArrayList<>();
                try {
                    for (int c = 0; c < 24; c++) {
                        DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress());
                        s.setSoTimeout(5_000);
                        clients.add(s);
                    }
                    for (int round = 0; round < 3; round++) {
                        for (DatagramSocket s : clients) {
                            byte[] q = Queries.query("master.db.service.consul.", Type.A);
                            s.send(new DatagramPacket(q, q.length, InetAddress.getLoopbackAddress(), server.port()));
                        }
                        for (DatagramSocket s : clients) {
                            DatagramPacket p = new DatagramPacket(new byte[4096], 4096);
                            s.receive(p);
                            Message m = new Message(java.util.Arrays.copyOf(p.getData(), p.getLength()));
                            assertThat(m.getSection(Section.ANSWER)).extracting(Record::rdataToString).as("%d readers", readers).containsExactly("127.0.0.10");
                        }
                    }
                } finally {
                    for (DatagramSocket s : clients) s.close();
                }
            }
        }
    }

    private static final InetAddress LOCAL4 = ipv4Loopback();

    private static InetAddress ipv4Loopback() {
        try {
            return InetAddress.getByName("127.0.0.1");
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void aTakenTcpPortFailsTheStartAndLeavesTheUdpPortFree() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, LOCAL4)) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> new DnsServer(Queries.fixedResolver(), "127.0.0.1", port, 3, false))
                    .isInstanceOf(java.net.BindException.class);
            try (DatagramSocket udp = new DatagramSocket(port, LOCAL4)) {
                assertThat(udp.getLocalPort()).isEqualTo(port);
            }
        }
    }

    @Test
    void aTakenUdpPortFailsTheStartAndClosesTheTcpSocketItOpened() throws Exception {
        try (DatagramSocket taken = new DatagramSocket(0, LOCAL4)) {
            int port = taken.getLocalPort();
            assertThatThrownBy(() -> new DnsServer(Queries.fixedResolver(), "127.0.0.1", port, 3, false))
                    .isInstanceOf(java.net.BindException.class);
            // the TCP socket the failed start bound first was closed again: the port binds
            try (java.net.ServerSocket tcp = new java.net.ServerSocket()) {
                tcp.bind(new java.net.InetSocketAddress(LOCAL4, port));
                assertThat(tcp.getLocalPort()).isEqualTo(port);
            }
        }
    }
}

package io.failoverkit.discovery.dns;

import io.failoverkit.discovery.testing.DevAgent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Malformed, hostile and unsupported queries over real UDP and TCP: a clear rcode, never a crash, others keep being served. */
class DnsBadInputTest {
    private static DevAgent agent;

    @BeforeAll
    static void start() throws Exception {
        agent = DevAgent.start("dns-bad");
        agent.http.put("/v1/catalog/register", "{\"Node\":\"db1\",\"Address\":\"127.0.0.10\",\"Service\":{\"Service\":\"db\",\"Tags\":[\"master\"],\"Port\":3306}}");
    }

    @AfterAll
    static void stop() {
        agent.close();
    }

    /** Sends raw bytes over UDP; the reply, or null if none came within a second. */
    private static byte[] udp(byte[] packet) throws Exception {
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(1000);
            s.send(new DatagramPacket(packet, packet.length, new InetSocketAddress(InetAddress.getLoopbackAddress(), agent.dnsPort)));
            byte[] buf = new byte[65535];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                s.receive(p);
            } catch (SocketTimeoutException e) {
                return null;
            }
            return Arrays.copyOf(buf, p.getLength());
        }
    }

    private static int rcode(byte[] reply) {
        return reply[3] & 0x0F;
    }

    private static void stillServing() throws Exception {
        Message m = new Message(udp(Queries.query("master.db.service.consul.", Type.A)));
        assertThat(m.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(m.getSection(Section.ANSWER)).hasSize(1);
    }

    @Test
    void garbageGetsFormerrWithItsIdAndTheServerKeepsServing() throws Exception {
        Random random = new Random(42);
        for (int i = 0; i < 200; i++) {
            byte[] junk = new byte[12 + random.nextInt(100)];
            random.nextBytes(junk);
            junk[2] &= 0x7F; // a query, not a response
            junk[2] &= (byte) 0x87; // opcode QUERY
            byte[] reply = udp(junk);
            assertThat(reply).as("a reply to junk #%d", i).isNotNull();
            assertThat(reply.length).isLessThanOrEqualTo(512);
            assertThat(reply[0]).isEqualTo(junk[0]);
            assertThat(reply[1]).isEqualTo(junk[1]);
        }
        assertThat(udp(new byte[]{1, 2, 3, 4, 5})).as("too short to carry an id: dropped").isNull();
        stillServing();
    }

    @Test
    void compressionLoopOversizedLabelAndTruncatedQuestionAreFormerr() throws Exception {
        byte[] header = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
        byte[] loop = concat(header, new byte[]{(byte) 0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01});
        assertThat(rcode(udp(loop))).isEqualTo(Rcode.FORMERR);
        byte[] label64 = new byte[1 + 64 + 1 + 4];
        label64[0] = 64;
        Arrays.fill(label64, 1, 65, (byte) 'a');
        assertThat(rcode(udp(concat(header, label64)))).isEqualTo(Rcode.FORMERR);
        byte[] longName = new byte[5 * 64 + 5];
        for (int i = 0; i < 5; i++) { longName[i * 64] = 63; Arrays.fill(longName, i * 64 + 1, i * 64 + 64, (byte) 'b'); }
        assertThat(rcode(udp(concat(header, longName)))).as("a name over 255 bytes").isEqualTo(Rcode.FORMERR);
        assertThat(rcode(udp(concat(header, new byte[]{3, 'a', 'b'})))).as("question cut short").isEqualTo(Rcode.FORMERR);
        byte[] twoQuestions = Queries.query("db1.node.consul.", Type.A);
        twoQuestions[5] = 2;
        assertThat(rcode(udp(twoQuestions))).isEqualTo(Rcode.FORMERR);
        stillServing();
    }

    @Test
    void unsupportedOpcodesAndTypesAreRefusedClearlyAndAnyIsMinimal() throws Exception {
        for (int opcode : new int[]{Opcode.IQUERY, Opcode.STATUS, Opcode.NOTIFY, Opcode.UPDATE}) {
            Message q = new Message(Queries.query("db1.node.consul.", Type.A));
            q.getHeader().setOpcode(opcode);
            assertThat(rcode(udp(q.toWire()))).as("opcode %d", opcode).isEqualTo(Rcode.NOTIMP);
        }
        assertThat(rcode(udp(Queries.query("consul.", Type.AXFR)))).isEqualTo(Rcode.NOTIMP);
        Message response = new Message(Queries.query("db1.node.consul.", Type.A));
        response.getHeader().setFlag(Flags.QR);
        assertThat(rcode(udp(response.toWire()))).as("a response sent as a query").isEqualTo(Rcode.FORMERR);
        Message any = new Message(udp(Queries.query("db.service.consul.", Type.ANY)));
        assertThat(any.getSection(Section.ANSWER)).allMatch(r -> r.getType() == Type.A).hasSize(1);
        assertThat(new Message(udp(Queries.query("db1.node.consul.", Type.MX))).getRcode()).as("known name, no such data").isEqualTo(Rcode.NOERROR);
        stillServing();
    }

    @Test
    void tcpClientThatLiesAboutLengthOrHangsUpDoesNotStopOthers() throws Exception {
        try (Socket s = new Socket("127.0.0.1", agent.dnsPort)) {
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeShort(500);
            out.write(new byte[10]);
            out.flush();
        }
        try (Socket s = new Socket("127.0.0.1", agent.dnsPort)) {
            s.setSoTimeout(3000);
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            DataInputStream in = new DataInputStream(s.getInputStream());
            for (int i = 0; i < 3; i++) {
                byte[] q = Queries.query("db1.node.consul.", Type.A);
                out.writeShort(q.length);
                out.write(q);
                out.flush();
                byte[] a = new byte[in.readUnsignedShort()];
                in.readFully(a);
                assertThat(new Message(a).getSection(Section.ANSWER)).as("query %d on one connection", i).hasSize(1);
            }
        }
        stillServing();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

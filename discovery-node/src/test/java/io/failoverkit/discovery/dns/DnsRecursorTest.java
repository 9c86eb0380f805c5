package io.failoverkit.discovery.dns;

import io.failoverkit.discovery.config.DnsConfig;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Queries outside our domain go to the recursors (review 8 item 8): over the client's transport, answered only by the
 * recursor asked with the query's ID and question, and never larger than the client may take. A fake recursor on
 * loopback (UDP and TCP on one port) plays the upstream.
 */
class DnsRecursorTest {
    /** What the fake recursor does with a UDP query: send anything, from the socket it came to or another. */
    interface UdpBehaviour { void reply(Message query, SocketAddress client, DatagramSocket socket) throws Exception; }

    private DatagramSocket udp;
    private ServerSocket tcp;
    private final Map<String, AtomicInteger> seen = new ConcurrentHashMap<>();

    @AfterEach
    void stop() throws IOException {
        if (udp != null) udp.close();
        if (tcp != null) tcp.close();
    }

    /** Starts the fake recursor; TCP queries get {@code overTcp}'s reply. Returns its address for `recursors`. */
    private String upstream(UdpBehaviour overUdp, java.util.function.Function<Message, Message> overTcp) throws IOException {
        int port = FreePorts.next();
        udp = new DatagramSocket(new InetSocketAddress("127.0.0.1", port));
        tcp = new ServerSocket();
        tcp.bind(new InetSocketAddress("127.0.0.1", port));
        DatagramSocket u = udp;
        ServerSocket t = tcp;
        Thread.ofVirtual().start(() -> {
            byte[] buf = new byte[65535];
            while (!u.isClosed()) {
                try {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    u.receive(p);
                    seen.computeIfAbsent("udp", k -> new AtomicInteger()).incrementAndGet();
                    overUdp.reply(new Message(Arrays.copyOf(buf, p.getLength())), p.getSocketAddress(), u);
                } catch (Exception e) {
                    // closed, or a query the behaviour could not take
                }
            }
        });
        Thread.ofVirtual().start(() -> {
            while (!t.isClosed()) {
                try (Socket s = t.accept()) {
                    seen.computeIfAbsent("tcp", k -> new AtomicInteger()).incrementAndGet();
                    DataInputStream in = new DataInputStream(s.getInputStream());
                    byte[] q = new byte[in.readUnsignedShort()];
                    in.readFully(q);
                    byte[] a = overTcp.apply(new Message(q)).toWire();
                    DataOutputStream out = new DataOutputStream(s.getOutputStream());
                    out.writeShort(a.length);
                    out.write(a);
                    out.flush();
                } catch (Exception e) {
                    // closed
                }
            }
        });
        return "127.0.0.1:" + port;
    }

    private static Message answer(Message q, int records, String firstAddress) {
        Message r = new Message(q.getHeader().getID());
        r.getHeader().setFlag(Flags.QR);
        r.getHeader().setFlag(Flags.RA);
        r.addRecord(q.getQuestion(), Section.QUESTION);
        try {
            for (int i = 0; i < records; i++) {
                InetAddress a = i == 0 ? InetAddress.getByName(firstAddress) : InetAddress.getByAddress(new byte[]{10, 9, (byte) (i >> 8), (byte) i});
                r.addRecord(new ARecord(q.getQuestion().getName(), DClass.IN, 60, a), Section.ANSWER);
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return r;
    }

    private static void send(DatagramSocket socket, Message m, SocketAddress to) throws IOException {
        byte[] w = m.toWire();
        socket.send(new DatagramPacket(w, w.length, to));
    }

    private static DnsResolver resolver(String recursor) {
        DnsConfig c = new DnsConfig();
        c.recursors.add(recursor);
        DnsView empty = new DnsView() {
            @Override public Model.Node node(String name) { return null; }
            @Override public List<StateStore.Instance> instances(String service, String tag) { return List.of(); }
        };
        return new DnsResolver(empty, c, "consul.", "dc1");
    }

    private static Message ask(DnsResolver r, String name, int payload, boolean tcp) throws Exception {
        Message q = Message.newQuery(Record.newRecord(Name.fromString(name), Type.A, DClass.IN));
        if (payload > 0) q.addRecord(new OPTRecord(payload, 0, 0), Section.ADDITIONAL);
        byte[] w = q.toWire();
        byte[] a = r.answer(w, w.length, tcp);
        if (!tcp) assertThat(a.length).isLessThanOrEqualTo(Math.max(512, payload));
        Message m = new Message(a);
        assertThat(m.getHeader().getID()).isEqualTo(q.getHeader().getID());
        return m;
    }

    @Test
    void aTcpClientIsForwardedOverTcpAndGetsTheWholeAnswer() throws Exception {
        // As a real server does with a large answer: truncated over UDP, whole over TCP.
        String up = upstream((q, client, s) -> {
            Message tc = answer(q, 0, null);
            tc.getHeader().setFlag(Flags.TC);
            send(s, tc, client);
        }, q -> answer(q, 200, "192.0.2.1"));
        DnsResolver r = resolver(up);
        Message overUdp = ask(r, "big.example.com.", 0, false);
        assertThat(overUdp.getHeader().getFlag(Flags.TC)).as("the UDP client is told to retry over TCP").isTrue();
        Message overTcp = ask(r, "big.example.com.", 0, true);
        assertThat(overTcp.getHeader().getFlag(Flags.TC)).isFalse();
        assertThat(overTcp.getSection(Section.ANSWER)).hasSize(200);
        assertThat(seen.get("udp").get()).isEqualTo(1);
        assertThat(seen.get("tcp").get()).isEqualTo(1);
    }

    @Test
    void repliesFromAnotherSourceWithAnotherIdOrToAnotherQuestionAreIgnored() throws Exception {
        try (DatagramSocket stranger = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            String up = upstream((q, client, s) -> {
                send(stranger, answer(q, 1, "6.6.6.1"), client);                     // right ID, wrong source
                Message otherId = answer(q, 1, "6.6.6.2");
                otherId.getHeader().setID((q.getHeader().getID() + 1) & 0xFFFF);
                send(s, otherId, client);
                Message otherQuestion = answer(Message.newQuery(Record.newRecord(Name.fromString("bank.example.com."), Type.A, DClass.IN)), 1, "6.6.6.3");
                otherQuestion.getHeader().setID(q.getHeader().getID());
                send(s, otherQuestion, client);
                Message query = answer(q, 0, null);
                query.getHeader().unsetFlag(Flags.QR);                                 // not a response
                send(s, query, client);
                send(s, answer(q, 1, "192.0.2.7"), client);
            }, q -> answer(q, 1, "192.0.2.8"));
            DnsResolver r = resolver(up);
            for (String name : List.of("www.example.com.", "WwW.ExAmple.COM.")) {
                Message m = ask(r, name, 0, false);
                assertThat(m.getRcode()).isEqualTo(Rcode.NOERROR);
                assertThat(m.getSection(Section.ANSWER)).singleElement()
                        .satisfies(a -> assertThat(((ARecord) a).getAddress().getHostAddress()).isEqualTo("192.0.2.7"));
            }
        }
    }

    @Test
    void anUpstreamReplyLargerThanTheClientTakesBecomesATruncatedReplyWithTheQuestion() throws Exception {
        // This recursor ignores the size the client offered: 200 A records (about 3.3 KB) over UDP to anyone.
        String up = upstream((q, client, s) -> send(s, answer(q, 200, "192.0.2.1"), client), q -> answer(q, 200, "192.0.2.1"));
        DnsResolver r = resolver(up);
        for (int payload : new int[]{0, 1232}) {
            Message m = ask(r, "big.example.com.", payload, false);
            assertThat(m.getHeader().getFlag(Flags.TC)).as("payload %d", payload).isTrue();
            assertThat(m.getHeader().getFlag(Flags.RA)).as("the upstream's flags").isTrue();
            assertThat(m.getQuestion().getName()).isEqualTo(Name.fromString("big.example.com."));
            assertThat(m.getSection(Section.ANSWER)).isEmpty();
            assertThat(m.getOPT() != null).as("an OPT record exactly when asked with one").isEqualTo(payload > 0);
        }
        assertThat(ask(r, "big.example.com.", 4096, false).getSection(Section.ANSWER)).as("it fits what was offered").hasSize(200);
        assertThat(ask(r, "big.example.com.", 0, true).getSection(Section.ANSWER)).hasSize(200);
    }

    @Test
    void noRecursorAnsweringIsServfail() throws Exception {
        String up = upstream((q, client, s) -> { }, q -> { throw new IllegalStateException("silent"); });
        Message m = ask(resolver(up), "www.example.com.", 1232, false);
        assertThat(m.getRcode()).isEqualTo(Rcode.SERVFAIL);
        assertThat(m.getOPT()).isNotNull();
    }
}

package io.failoverkit.discovery.http;

import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ref.Reference;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A follower relays its watchers' blocking queries to the leader, one pooled connection per query in flight. Once an
 * answer is relayed, the connection that carried it must not keep it: the JDK client holds each connection's first
 * exchange (and so its response) for the connection's life, and with the body in that response a follower kept one
 * whole answer per connection, 60-110 MB of live heap with 5,000 watchers on a 10,000-node catalog (bench/scale.sh,
 * JFR old-object sample: byte[~112,000] <- HttpResponseImpl.body <- ... <- PlainHttpConnection.connectTimerEvent).
 * Measured here: 295 KB per pooled connection with the JDK's byte-array body handler, 31 KB with the fix.
 */
class ForwarderMemoryTest {
    private static final int CONNECTIONS = 100;
    private static final int ANSWER_BYTES = 256 * 1024;

    @Test
    void pooledConnectionsDoNotKeepTheAnswersTheyRelayed() throws Exception {
        byte[] answer = new byte[ANSWER_BYTES];
        Arrays.fill(answer, (byte) 'x');
        // The "leader" holds every request until all have arrived, so that each travels on a connection of its own. A
        // raw socket server (a virtual thread per connection, no buffers of its own) adds next to nothing to the heap.
        CountDownLatch allArrived = new CountDownLatch(CONNECTIONS);
        ServerSocket leader = new ServerSocket();
        leader.bind(new InetSocketAddress("127.0.0.1", FreePorts.next()), CONNECTIONS * 2);
        List<Socket> accepted = new CopyOnWriteArrayList<>();
        Thread.ofVirtual().start(() -> {
            while (!leader.isClosed()) {
                try {
                    Socket s = leader.accept();
                    accepted.add(s);
                    Thread.ofVirtual().start(() -> serve(s, answer, allArrived));
                } catch (IOException e) {
                    return;
                }
            }
        });
        try {
            Forwarder forwarder = new Forwarder(() -> null, HttpClient.newBuilder());
            URI uri = URI.create("http://127.0.0.1:" + leader.getLocalPort() + "/v1/health/service/web?index=7");
            long before = io.failoverkit.discovery.testing.LiveHeap.bytes();
            List<CompletableFuture<Forwarder.Answer>> inFlight = new ArrayList<>();
            for (int i = 0; i < CONNECTIONS; i++) inFlight.add(forwarder.exchange(HttpRequest.newBuilder(uri).build()));
            for (CompletableFuture<Forwarder.Answer> f : inFlight) {
                Forwarder.Answer a = f.get(120, TimeUnit.SECONDS);
                assertThat(a.status()).isEqualTo(200);
                assertThat(a.body()).hasSize(ANSWER_BYTES);
            }
            inFlight.clear();
            // The connections are pooled now (kept alive for the next relayed query) and must hold no answer.
            long after = io.failoverkit.discovery.testing.LiveHeap.bytes();
            long perConnection = (after - before) / CONNECTIONS;
            System.out.printf("live heap per pooled connection after relaying a %d-byte answer: %d bytes%n", ANSWER_BYTES, perConnection);
            assertThat(perConnection).as("live heap per pooled connection (before %d, after %d bytes)", before, after)
                    .isLessThan(ANSWER_BYTES / 4);
            Reference.reachabilityFence(forwarder);
        } finally {
            leader.close();
            for (Socket s : accepted) s.close();
        }
    }

    /** Answers each GET on the connection with {@code answer}, once every connection has sent its request. */
    private static void serve(Socket s, byte[] answer, CountDownLatch allArrived) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (true) {
                int last4 = 0;
                while (last4 != 0x0D0A0D0A) { // the request's head ends with CRLF CRLF (a GET has no body)
                    int b = in.read();
                    if (b < 0) return;
                    last4 = last4 << 8 | b;
                }
                allArrived.countDown();
                if (!allArrived.await(60, TimeUnit.SECONDS)) return;
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + answer.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(answer);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // the test is over: the client or the server socket closed
        }
    }

}

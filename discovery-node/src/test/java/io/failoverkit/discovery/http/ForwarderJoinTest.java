package io.failoverkit.discovery.http;

import io.failoverkit.discovery.testing.FreePorts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Identical blocking queries relayed at once (the watchers one change woke, re-parked at the same index) go to the
 * next hop as one request and share its answer; a request that differs in anything the next hop sees (its token, its
 * index) or that may not be joined goes on its own, and once an answer is in, the next query is sent afresh.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ForwarderJoinTest {
    private ServerSocket leader;
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    /** The request heads the "leader" received. */
    private final List<String> received = new CopyOnWriteArrayList<>();
    /** Answers the "leader" may send (one permit per answer): requests are held until the test lets them go. */
    private final Semaphore answers = new Semaphore(0);
    private final AtomicInteger answered = new AtomicInteger();
    /** While set, an answer is not HTTP (the relay fails). */
    private final java.util.concurrent.atomic.AtomicBoolean failing = new java.util.concurrent.atomic.AtomicBoolean();

    @BeforeEach
    void start() throws IOException {
        leader = new ServerSocket();
        leader.bind(new InetSocketAddress("127.0.0.1", FreePorts.next()), 64);
        Thread.ofVirtual().start(() -> {
            while (!leader.isClosed()) {
                try {
                    Socket s = leader.accept();
                    accepted.add(s);
                    Thread.ofVirtual().start(() -> serve(s));
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    @AfterEach
    void stop() throws IOException {
        leader.close();
        for (Socket s : accepted) s.close();
    }

    private final AtomicInteger sources = new AtomicInteger(40000);

    /** A relayed GET as forward() builds it, each from a client address of its own. */
    private HttpRequest get(String pathAndQuery, String token) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + leader.getLocalPort() + pathAndQuery))
                .header(Forwarder.FORWARDED_HEADER, "1").header(Forwarder.SOURCE_HEADER, "127.0.0.1:" + sources.incrementAndGet());
        if (token != null) b.header("X-Consul-Token", token);
        return b.build();
    }

    @Test
    void identicalBlockingQueriesShareOneRequestAndOneAnswer() throws Exception {
        Forwarder forwarder = new Forwarder(() -> null, HttpClient.newBuilder());
        forwarder.joinWindowNanos = TimeUnit.SECONDS.toNanos(60); // a loaded machine may take long between the calls
        String watch = "/v1/health/service/web?index=7&wait=10m";
        List<CompletableFuture<Forwarder.Answer>> same = new ArrayList<>();
        for (int i = 0; i < 8; i++) same.add(forwarder.relay(get(watch, null), true));
        CompletableFuture<Forwarder.Answer> otherToken = forwarder.relay(get(watch, "other-token"), true);
        CompletableFuture<Forwarder.Answer> otherIndex = forwarder.relay(get("/v1/health/service/web?index=8&wait=10m", null), true);
        CompletableFuture<Forwarder.Answer> notJoinable = forwarder.relay(get(watch, null), false);
        await().atMost(60, TimeUnit.SECONDS).until(() -> received.size() >= 4);
        assertThat(forwarder.relayingNow()).as("three distinct blocking queries being relayed").isEqualTo(3);

        // Each caller has a future of its own: one given up (cancelled) leaves the others theirs.
        assertThat(same.get(0)).isNotSameAs(same.get(1));
        same.remove(7).cancel(false);
        answers.release(4);
        Forwarder.Answer first = same.get(0).get(60, TimeUnit.SECONDS);
        for (CompletableFuture<Forwarder.Answer> f : same) assertThat(f.get(60, TimeUnit.SECONDS)).isSameAs(first);
        assertThat(first.status()).isEqualTo(200);
        assertThat(new String(first.body(), StandardCharsets.UTF_8)).startsWith("answer ");
        assertThat(body(first)).contains("index=7").doesNotContain("other-token");
        assertThat(body(otherToken.get(60, TimeUnit.SECONDS))).as("its own request's answer").contains("x-consul-token: other-token");
        assertThat(body(otherIndex.get(60, TimeUnit.SECONDS))).contains("index=8");
        assertThat(notJoinable.get(60, TimeUnit.SECONDS).body()).isNotSameAs(first.body());
        assertThat(received).as("eight identical watchers went as one request").hasSize(4);
        assertThat(received.stream().filter(h -> h.toLowerCase().contains("x-consul-token: other-token")).count()).isEqualTo(1);
        assertThat(forwarder.relayingNow()).isZero();

        // The answer is in: the next identical query is sent afresh, not answered from the one before.
        CompletableFuture<Forwarder.Answer> next = forwarder.relay(get(watch, null), true);
        await().atMost(60, TimeUnit.SECONDS).until(() -> received.size() >= 5);
        answers.release(1);
        assertThat(next.get(60, TimeUnit.SECONDS)).isNotSameAs(first);
        assertThat(answered.get()).isEqualTo(5);
    }

    @Test
    void aRelayedQueryOlderThanTheJoinWindowIsNotJoined() throws Exception {
        Forwarder forwarder = new Forwarder(() -> null, HttpClient.newBuilder());
        forwarder.joinWindowNanos = TimeUnit.MILLISECONDS.toNanos(1);
        String watch = "/v1/catalog/services?index=5&wait=10m";
        CompletableFuture<Forwarder.Answer> early = forwarder.relay(get(watch, null), true);
        await().atMost(60, TimeUnit.SECONDS).until(() -> received.size() >= 1);
        Thread.sleep(20);
        CompletableFuture<Forwarder.Answer> late = forwarder.relay(get(watch, null), true);
        await().atMost(60, TimeUnit.SECONDS).until(() -> received.size() >= 2);
        // The early one's answer comes first: its end must not drop the late one's entry, which replaced it.
        answers.release(1);
        Forwarder.Answer first = early.get(60, TimeUnit.SECONDS);
        assertThat(forwarder.relayingNow()).as("the late query is still being relayed").isEqualTo(1);
        answers.release(1);
        assertThat(late.get(60, TimeUnit.SECONDS).body()).isNotSameAs(first.body());
        assertThat(forwarder.relayingNow()).isZero();
    }

    @Test
    void aFailedRelayFailsEveryoneWhoJoinedItAndTheNextOneGoesAfresh() throws Exception {
        Forwarder forwarder = new Forwarder(() -> null, HttpClient.newBuilder());
        forwarder.joinWindowNanos = TimeUnit.SECONDS.toNanos(60);
        String watch = "/v1/kv/app?recurse&index=3&wait=10m";
        List<CompletableFuture<Forwarder.Answer>> same = new ArrayList<>();
        for (int i = 0; i < 3; i++) same.add(forwarder.relay(get(watch, null), true));
        await().atMost(60, TimeUnit.SECONDS).until(() -> received.size() >= 1);
        failing.set(true); // the "leader" answers with garbage
        answers.release(1);
        for (CompletableFuture<Forwarder.Answer> f : same) {
            assertThat(f).failsWithin(60, TimeUnit.SECONDS);
        }
        assertThat(received).as("one request for the three").hasSize(1);
        assertThat(forwarder.relayingNow()).isZero();
        failing.set(false);
        CompletableFuture<Forwarder.Answer> again = forwarder.relay(get(watch, null), true);
        await().atMost(60, TimeUnit.SECONDS).until(() -> received.size() >= 2);
        answers.release(1);
        assertThat(again.get(60, TimeUnit.SECONDS).status()).isEqualTo(200);
    }

    private static String body(Forwarder.Answer a) {
        return new String(a.body(), StandardCharsets.UTF_8);
    }

    /** Reads request heads; answers each, once a permit is given, with a number and the request's head. */
    private void serve(Socket s) {
        try (s) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (true) {
                StringBuilder head = new StringBuilder();
                int last4 = 0;
                while (last4 != 0x0D0A0D0A) {
                    int b = in.read();
                    if (b < 0) return;
                    head.append((char) b);
                    last4 = last4 << 8 | b;
                }
                received.add(head.toString());
                if (!answers.tryAcquire(60, TimeUnit.SECONDS)) return;
                if (failing.get()) {
                    out.write("NOT HTTP\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    return;
                }
                byte[] body = ("answer " + answered.incrementAndGet() + "\n" + head.toString().toLowerCase()).getBytes(StandardCharsets.UTF_8);
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Consul-Index: 9\r\nContent-Length: " + body.length + "\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
            }
        } catch (IOException | InterruptedException e) {
            // over: the client or the test closed the socket
        }
    }
}

package io.failoverkit.discovery.http;

import io.failoverkit.discovery.testing.FreePorts;
import io.failoverkit.discovery.testing.RawHttp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * A next hop whose accept queue is full (a burst of connections) drops the SYN: the connect times out with nothing
 * sent. A read is tried once more with a fresh handshake and arrives once; a write is not tried again (it fails when
 * its connect times out); a refused connection is not tried again; two attempts at most.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ForwarderConnectRetryTest {
    private final List<Socket> fillers = new ArrayList<>();
    private final List<Forwarder> forwarders = new ArrayList<>();
    private ServerSocket next;
    /** The requests the next hop received: head and body. */
    private final List<String> received = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() throws IOException {
        forwarders.forEach(Forwarder::shutdownNow);
        for (Socket s : fillers) s.close();
        if (next != null) next.close();
    }

    /** A forwarder with the agent's HTTP/1.1 client and this connect timeout. */
    private Forwarder forwarder(Duration connectTimeout) {
        Forwarder f = new Forwarder(() -> null, io.failoverkit.discovery.tls.AgentTls.none().httpClient(), connectTimeout);
        forwarders.add(f);
        return f;
    }

    /** A listener whose accept queue is full (nothing accepts yet): a connect to it times out. */
    private void fullListener() throws IOException {
        next = new ServerSocket();
        next.bind(new InetSocketAddress("127.0.0.1", FreePorts.next()), 1);
        // A connect that no longer completes at once means the queue is full.
        for (int i = 0; i < 64; i++) {
            Socket s = new Socket();
            try {
                s.connect(next.getLocalSocketAddress(), 300);
                fillers.add(s);
            } catch (SocketTimeoutException full) {
                s.close();
                break;
            }
        }
        assertThat(fillers.size()).as("the accept queue filled up").isLessThan(64);
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + next.getLocalPort() + path);
    }

    @Test
    void aReadWhoseConnectTimedOutIsTriedOnceMoreAndArrivesOnce() throws Exception {
        fullListener();
        // 5 s per attempt: the second one's SYN is resent after 1 s and 3 s, so a stalled test thread is tolerated.
        Forwarder forwarder = forwarder(Duration.ofSeconds(5));
        HttpRequest get = HttpRequest.newBuilder(uri("/v1/health/service/web?index=7")).timeout(Duration.ofSeconds(60)).build();
        CompletableFuture<Forwarder.Answer> answer = forwarder.exchange(get);
        await().atMost(60, TimeUnit.SECONDS).pollInterval(Duration.ofMillis(10)).until(() -> forwarder.connectRetries() >= 1);
        // The burst is over: the next hop accepts again (the fillers, closed, are accepted and dropped).
        for (Socket s : fillers) s.close();
        Thread.ofVirtual().start(this::serve);

        Forwarder.Answer a = answer.get(60, TimeUnit.SECONDS);
        assertThat(a.status()).isEqualTo(200);
        assertThat(new String(a.body(), StandardCharsets.UTF_8)).isEqualTo("true");
        // A moment for a late duplicate to arrive, had one been sent.
        Thread.sleep(500);
        assertThat(received).as("the read reached the next hop once").containsExactly("GET /v1/health/service/web?index=7 HTTP/1.1 ");
        assertThat(forwarder.connectRetries()).isEqualTo(1);
    }

    @Test
    void aWriteWhoseConnectTimedOutIsNotTriedAgain() throws Exception {
        fullListener();
        Forwarder forwarder = forwarder(Duration.ofSeconds(1));
        HttpRequest put = HttpRequest.newBuilder(uri("/v1/kv/burst")).PUT(HttpRequest.BodyPublishers.ofString("value-1"))
                .timeout(Duration.ofSeconds(60)).build();
        assertThatThrownBy(() -> forwarder.exchange(put).get(60, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(java.net.http.HttpConnectTimeoutException.class);
        assertThat(forwarder.connectRetries()).isZero();
    }

    @Test
    void aReadIsTriedTwiceAtMost() throws Exception {
        fullListener();
        Forwarder forwarder = forwarder(Duration.ofSeconds(1));
        HttpRequest get = HttpRequest.newBuilder(uri("/v1/catalog/services")).timeout(Duration.ofSeconds(60)).build();
        assertThatThrownBy(() -> forwarder.exchange(get).get(60, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(java.net.http.HttpConnectTimeoutException.class);
        assertThat(forwarder.connectRetries()).isEqualTo(Forwarder.CONNECT_ATTEMPTS - 1);
    }

    @Test
    void aRefusedConnectionFailsAtOnceWithoutRetries() throws Exception {
        Forwarder forwarder = forwarder(Forwarder.CONNECT_TIMEOUT);
        int nobody = FreePorts.next();
        HttpRequest get = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + nobody + "/v1/kv/x")).timeout(Duration.ofSeconds(60)).build();
        assertThatThrownBy(() -> forwarder.exchange(get).get(60, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(ConnectException.class);
        assertThat(forwarder.connectRetries()).isZero();
    }

    @Test
    void onlyAConnectTimeoutCountsAsNothingSent() {
        assertThat(Forwarder.connectTimedOut(new java.util.concurrent.CompletionException(new java.net.http.HttpConnectTimeoutException("HTTP connect timed out")))).isTrue();
        assertThat(Forwarder.connectTimedOut(new java.net.http.HttpTimeoutException("request timed out"))).as("sent, answer late").isFalse();
        assertThat(Forwarder.connectTimedOut(new IOException("connection reset"))).isFalse();
    }

    /** Accepts connections; answers each HTTP request (read whole, by Content-Length) with "true". */
    private void serve() {
        while (!next.isClosed()) {
            Socket s;
            try {
                s = next.accept();
            } catch (IOException e) {
                return;
            }
            Thread.ofVirtual().start(() -> {
                try (s) {
                    InputStream in = s.getInputStream();
                    String h = RawHttp.readHead(in);
                    if (h == null) return; // a filler, closed
                    String body = RawHttp.readBody(in, h);
                    received.add(h.substring(0, h.indexOf("\r\n")) + " " + body);
                    OutputStream out = s.getOutputStream();
                    out.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4\r\nConnection: close\r\n\r\ntrue".getBytes(StandardCharsets.ISO_8859_1));
                    out.flush();
                } catch (IOException e) {
                    // the test reads what arrived
                }
            });
        }
    }
}

package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.testing.DevAgent;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A watcher's kept-alive connection with its blocking query parked costs the server a few kilobytes of heap, not a
 * hundred: Jetty's per-connection header cache (an ArrayTrie of 1,024 rows x 48 chars, built on a connection's second
 * request) held 96 KB per connection, so 5,000 parked watchers (plus the followers' forwarded copies on the leader)
 * grew each server's live heap from ~125 MB loaded to 450-620 MB (bench/scale.sh, class histograms: char[49152]).
 * Consul's Go server keeps no such cache. The connections here are raw sockets, so the client side adds nothing to
 * this JVM's heap; live heap is measured after full collections.
 */
class ParkedConnectionMemoryTest {
    private static final int CONNECTIONS = 400;
    /** Jetty's connection, parser and our parked call; measured 6.4 KB with the cache off, 110 KB with it on. */
    private static final long MAX_BYTES_PER_CONNECTION = 32 * 1024;

    @Test
    void aParkedWatchersConnectionCostsAFewKilobytesOfHeap() throws Exception {
        try (DevAgent a = DevAgent.start("parked-memory")) {
            assertThat(a.http.put("/v1/kv/watched", "v0").status()).isEqualTo(200);
            long index = Long.parseLong(a.http.get("/v1/kv/watched").headers().firstValue("X-Consul-Index").orElseThrow());
            long before = io.failoverkit.discovery.testing.LiveHeap.bytes();
            List<Socket> sockets = new ArrayList<>();
            try {
                for (int i = 0; i < CONNECTIONS; i++) {
                    Socket s = new Socket();
                    sockets.add(s);
                    s.connect(new InetSocketAddress("127.0.0.1", a.httpPort), 10_000);
                    s.setSoTimeout(60_000);
                    // As a watcher does: a first read, then on the same connection the blocking query at its index.
                    send(s, a.httpPort, "/v1/kv/watched");
                    assertThat(readStatus(s.getInputStream())).isEqualTo(200);
                    send(s, a.httpPort, "/v1/kv/watched?index=" + index + "&wait=5m");
                }
                await().atMost(Duration.ofSeconds(60)).until(() -> a.agent.parkedWatchers() >= CONNECTIONS);
                long after = io.failoverkit.discovery.testing.LiveHeap.bytes();
                long perConnection = (after - before) / CONNECTIONS;
                System.out.printf("live heap per parked connection: %d bytes (%d connections)%n", perConnection, CONNECTIONS);
                assertThat(perConnection).as("live heap per parked connection (before %d, after %d bytes)", before, after)
                        .isLessThan(MAX_BYTES_PER_CONNECTION);
                // The parked queries are real: one write wakes every one of them.
                assertThat(a.http.put("/v1/kv/watched", "v1").status()).isEqualTo(200);
                for (Socket s : sockets) assertThat(readStatus(s.getInputStream())).isEqualTo(200);
                assertThat(a.agent.parkedWatchers()).isZero();
            } finally {
                for (Socket s : sockets) s.close();
            }
        }
    }


    /** A GET with the headers a Consul client sends (Host, User-Agent, Accept-Encoding), kept alive. */
    private static void send(Socket s, int port, String path) throws IOException {
        String req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nUser-Agent: Go-http-client/1.1\r\n"
                + "Accept-Encoding: gzip\r\n\r\n";
        s.getOutputStream().write(req.getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
    }

    private static final Pattern STATUS = Pattern.compile("^HTTP/1\\.1 (\\d{3})");
    private static final Pattern LENGTH = Pattern.compile("(?im)^content-length:\\s*(\\d+)\\s*$");

    /** Reads one response with a Content-Length body and returns its status. */
    private static int readStatus(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) throw new IOException("connection closed in the response's head: " + head);
            head.write(b);
        }
        String h = head.toString(StandardCharsets.US_ASCII);
        Matcher status = STATUS.matcher(h);
        Matcher length = LENGTH.matcher(h);
        if (!status.find() || !length.find()) throw new IOException("not a response with a Content-Length: " + h.toLowerCase(Locale.ROOT));
        in.readNBytes(Integer.parseInt(length.group(1)));
        return Integer.parseInt(status.group(1));
    }
}

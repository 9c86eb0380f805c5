package io.failoverkit.discovery.http;

import io.failoverkit.discovery.testing.DevAgent;
import io.failoverkit.discovery.testing.RawHttp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An answer given without reading the request's body (refused on a query parameter before the body was needed)
 * says Connection: close, so a client does not send its next request on a connection the server is closing; an
 * answer after the body was read keeps the connection (the next request on it is answered).
 */
class UnreadBodyConnectionTest {
    static DevAgent dev;

    @BeforeAll
    static void start() throws Exception {
        dev = DevAgent.start("unread-body");
    }

    @AfterAll
    static void stop() {
        if (dev != null) dev.close();
    }

    /** Sends one request on {@code s} and reads its answer's head and body (by Content-Length). */
    private static String exchange(Socket s, String method, String target, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        s.getOutputStream().write((method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + b.length + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().write(b);
        s.getOutputStream().flush();
        InputStream in = s.getInputStream();
        String head = RawHttp.readHead(in);
        if (head == null) throw new IOException("the connection closed before an answer");
        return head + RawHttp.readBody(in, head);
    }

    @Test
    void anAnswerGivenWithoutReadingTheBodyClosesTheConnectionAndSaysSo() throws IOException {
        try (Socket s = new Socket("127.0.0.1", dev.httpPort)) {
            s.setSoTimeout(30_000);
            String ok = exchange(s, "PUT", "/v1/kv/unread/a", "value");
            assertThat(ok).startsWith("HTTP/1.1 200").endsWith("true");
            assertThat(ok.toLowerCase(Locale.ROOT)).doesNotContain("connection: close");
            // Same connection, kept: a bad ?cas is refused before the body is read.
            String bad = exchange(s, "PUT", "/v1/kv/unread/a?cas=abc", "a body the server never reads");
            assertThat(bad).startsWith("HTTP/1.1 400");
            assertThat(bad.toLowerCase(Locale.ROOT)).contains("connection: close");
        }
        assertThat(dev.http.get("/v1/kv/unread/a?raw").body()).as("nothing half-applied").isEqualTo("value");
    }
}

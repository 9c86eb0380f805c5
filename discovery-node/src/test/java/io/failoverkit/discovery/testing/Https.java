package io.failoverkit.discovery.testing;

import io.failoverkit.tls.PemFiles;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;

/**
 * An HTTPS client for tests: trusts the test CA, presents a client certificate when given one. The JDK checks the
 * host name as usual: agent certificates name 127.0.0.1.
 */
public final class Https {
    private final SSLContext context;
    private final HttpClient client;
    private final String base;

    public Https(int port, Path ca, TestCertificates.Pair clientCert) {
        this.context = context(ca, clientCert);
        this.client = HttpClient.newBuilder().sslContext(context).connectTimeout(Duration.ofSeconds(5)).build();
        this.base = "https://127.0.0.1:" + port;
    }

    public static SSLContext context(Path ca, TestCertificates.Pair clientCert) {
        try {
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", PemFiles.certificates(ca).get(0));
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trust);
            KeyManagerFactory kmf = null;
            if (clientCert != null) {
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                List<X509Certificate> chain = PemFiles.certificates(clientCert.cert());
                ks.setKeyEntry("c", PemFiles.privateKey(clientCert.key()), "pw".toCharArray(), chain.toArray(new X509Certificate[0]));
                kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, "pw".toCharArray());
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** One request; transport failures (a refused handshake) propagate as IOException. */
    public Http.Reply send(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest req = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(20))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build();
        HttpResponse<String> r = client.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        return new Http.Reply(r.statusCode(), r.body(), r.headers());
    }

    public Http.Reply get(String path) throws IOException, InterruptedException { return send("GET", path, null); }

    public Http.Reply put(String path, String body) throws IOException, InterruptedException { return send("PUT", path, body); }

    /** The certificate a TLS server on {@code port} presents to a new connection (trusting {@code ca}). */
    public static X509Certificate servedCertificate(int port, Path ca, TestCertificates.Pair clientCert) throws IOException {
        try (SSLSocket s = (SSLSocket) context(ca, clientCert).getSocketFactory().createSocket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            return (X509Certificate) s.getSession().getPeerCertificates()[0];
        }
    }
}

package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.config.Definitions.HttpOptions;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import java.net.Socket;
import java.net.http.HttpClient;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The HTTP clients HTTP checks use: one plain client, and one per TLS setting (TLSSkipVerify, TLSServerName), as
 * Consul's checks honour them. TLSServerName is sent as SNI and is the name the certificate must carry.
 */
final class HttpCheckClients {
    /** Accepts any certificate: TLSSkipVerify (the check's own choice, as in Consul). */
    static final X509ExtendedTrustManager TRUST_ALL = new X509ExtendedTrustManager() {
        @Override public void checkClientTrusted(X509Certificate[] c, String a, Socket s) { }
        @Override public void checkServerTrusted(X509Certificate[] c, String a, Socket s) { }
        @Override public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) { }
        @Override public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) { }
        @Override public void checkClientTrusted(X509Certificate[] c, String a) { }
        @Override public void checkServerTrusted(X509Certificate[] c, String a) { }
        @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
    };

    private final HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).followRedirects(HttpClient.Redirect.NORMAL).build();
    private final Map<String, HttpClient> tls = new ConcurrentHashMap<>();

    HttpClient forOptions(HttpOptions o) {
        if (!o.tlsSkipVerify() && o.tlsServerName().isEmpty()) return plain;
        return tls.computeIfAbsent(o.tlsSkipVerify() + "/" + o.tlsServerName(), k -> build(o));
    }

    private static HttpClient build(HttpOptions o) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            TrustManager tm = o.tlsSkipVerify() ? TRUST_ALL : new NamedServerTrust(defaultTrust(), o.tlsServerName());
            ctx.init(null, new TrustManager[]{tm}, null);
            SSLParameters params = new SSLParameters();
            if (!o.tlsServerName().isEmpty()) params.setServerNames(List.of(new SNIHostName(o.tlsServerName())));
            return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).followRedirects(HttpClient.Redirect.NORMAL)
                    .sslContext(ctx).sslParameters(params).build();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot set up TLS for an HTTP check: " + e.getMessage(), e);
        }
    }

    private static X509TrustManager defaultTrust() throws GeneralSecurityException {
        TrustManagerFactory f = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        f.init((KeyStore) null);
        for (TrustManager t : f.getTrustManagers()) if (t instanceof X509TrustManager x) return x;
        throw new GeneralSecurityException("no default X.509 trust manager");
    }

    /** The system's trust, with the certificate checked against TLSServerName instead of the URL's host. */
    private static final class NamedServerTrust extends X509ExtendedTrustManager {
        private final X509TrustManager trust;
        private final String name;

        NamedServerTrust(X509TrustManager trust, String name) {
            this.trust = trust;
            this.name = name.toLowerCase(Locale.ROOT);
        }

        @Override public void checkServerTrusted(X509Certificate[] chain, String authType, Socket s) throws CertificateException { checkServerTrusted(chain, authType); }
        @Override public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine e) throws CertificateException { checkServerTrusted(chain, authType); }
        @Override public void checkClientTrusted(X509Certificate[] c, String a, Socket s) throws CertificateException { trust.checkClientTrusted(c, a); }
        @Override public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) throws CertificateException { trust.checkClientTrusted(c, a); }
        @Override public void checkClientTrusted(X509Certificate[] c, String a) throws CertificateException { trust.checkClientTrusted(c, a); }
        @Override public X509Certificate[] getAcceptedIssuers() { return trust.getAcceptedIssuers(); }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            trust.checkServerTrusted(chain, authType);
            if (!name.isEmpty() && !matches(chain[0])) throw new CertificateException("certificate is not valid for " + name);
        }

        private boolean matches(X509Certificate cert) throws CertificateParsingException {
            var sans = cert.getSubjectAlternativeNames();
            if (sans == null) return false;
            for (List<?> san : sans) {
                if (!Integer.valueOf(2).equals(san.get(0))) continue; // dNSName
                String dns = san.get(1).toString().toLowerCase(Locale.ROOT);
                if (dns.equals(name)) return true;
                if (dns.startsWith("*.") && name.endsWith(dns.substring(1)) && name.indexOf('.') == name.length() - dns.length() + 1) return true;
            }
            return false;
        }
    }
}

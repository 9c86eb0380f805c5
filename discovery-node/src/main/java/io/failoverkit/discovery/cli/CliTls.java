package io.failoverkit.discovery.cli;

import io.failoverkit.discovery.tls.PeerTrust;
import io.failoverkit.discovery.tls.PemFiles;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import java.io.IOException;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;

/** The CLI's TLS from Consul's environment variables (CONSUL_HTTP_SSL, CONSUL_CACERT, CONSUL_CLIENT_CERT, ...). */
final class CliTls {
    private CliTls() {}

    /** CONSUL_HTTP_SSL=true (or 1): a bare HOST:PORT address means https. */
    static boolean sslRequested(Map<String, String> env) {
        String v = env.getOrDefault("CONSUL_HTTP_SSL", "").strip();
        return v.equalsIgnoreCase("true") || v.equals("1");
    }

    static SSLContext context(Map<String, String> env) throws IOException {
        String caFile = blankToNull(env.get("CONSUL_CACERT"));
        String certFile = blankToNull(env.get("CONSUL_CLIENT_CERT"));
        String keyFile = blankToNull(env.get("CONSUL_CLIENT_KEY"));
        String serverName = blankToNull(env.get("CONSUL_TLS_SERVER_NAME"));
        String verify = env.getOrDefault("CONSUL_HTTP_SSL_VERIFY", "").strip();
        boolean skipVerify = verify.equalsIgnoreCase("false") || verify.equals("0");
        if ((certFile == null) != (keyFile == null)) {
            throw new IllegalArgumentException("CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY go together (one is set, the other is not)");
        }
        try {
            KeyStore trust = null;
            if (caFile != null) {
                trust = KeyStore.getInstance("PKCS12");
                trust.load(null, null);
                List<X509Certificate> cas = PemFiles.certificates(Path.of(caFile));
                for (int i = 0; i < cas.size(); i++) trust.setCertificateEntry("ca-" + i, cas.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trust); // null: the JDK's own CAs
            X509ExtendedTrustManager base = (X509ExtendedTrustManager) tmf.getTrustManagers()[0];
            PeerTrust.Names names = serverName != null ? new PeerTrust.Names.Fixed(serverName) : new PeerTrust.Names.DialledHost();
            TrustManager tm = skipVerify ? new TrustingAnything() : new PeerTrust(() -> base, names);
            KeyManager[] kms = null;
            if (certFile != null) {
                List<X509Certificate> chain = PemFiles.certificates(Path.of(certFile));
                var key = PemFiles.privateKey(Path.of(keyFile));
                char[] pw = "cli".toCharArray();
                KeyStore ks = KeyStore.getInstance("PKCS12");
                ks.load(null, null);
                ks.setKeyEntry("cli", key, pw, chain.toArray(new X509Certificate[0]));
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(ks, pw);
                kms = kmf.getKeyManagers();
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kms, new TrustManager[]{tm}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    /** CONSUL_HTTP_SSL_VERIFY=false: the operator asked not to verify the agent's certificate. */
    private static final class TrustingAnything extends X509ExtendedTrustManager {
        @Override public void checkClientTrusted(X509Certificate[] c, String a) { }
        @Override public void checkServerTrusted(X509Certificate[] c, String a) { }
        @Override public void checkClientTrusted(X509Certificate[] c, String a, Socket s) { }
        @Override public void checkServerTrusted(X509Certificate[] c, String a, Socket s) { }
        @Override public void checkClientTrusted(X509Certificate[] c, String a, SSLEngine e) { }
        @Override public void checkServerTrusted(X509Certificate[] c, String a, SSLEngine e) { }
        @Override public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
    }
}

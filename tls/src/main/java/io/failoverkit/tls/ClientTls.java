package io.failoverkit.tls;

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

/**
 * A Consul HTTP client's TLS from Consul's environment variables, as Consul's CLI and API client read them:
 * {@code CONSUL_HTTP_SSL} (a bare HOST:PORT means https), {@code CONSUL_CACERT} (the CA that signed the agent's
 * certificate; else the JDK's CAs), {@code CONSUL_CLIENT_CERT} and {@code CONSUL_CLIENT_KEY} (the client certificate an
 * agent with verify_incoming asks for; files, never their content in a message), {@code CONSUL_TLS_SERVER_NAME} (the
 * name the agent's certificate must hold; else the host dialled) and {@code CONSUL_HTTP_SSL_VERIFY=false} (no check).
 * discovery-node's commands and failover's client to the discovery node both use it.
 */
public final class ClientTls {
    public static final String SSL_ENV = "CONSUL_HTTP_SSL";
    public static final String CA_ENV = "CONSUL_CACERT";
    public static final String CERT_ENV = "CONSUL_CLIENT_CERT";
    public static final String KEY_ENV = "CONSUL_CLIENT_KEY";
    public static final String SERVER_NAME_ENV = "CONSUL_TLS_SERVER_NAME";
    public static final String VERIFY_ENV = "CONSUL_HTTP_SSL_VERIFY";

    private ClientTls() {}

    /** CONSUL_HTTP_SSL=true (or 1): a bare HOST:PORT address means https. */
    public static boolean sslRequested(Map<String, String> env) {
        String v = env.getOrDefault(SSL_ENV, "").strip();
        return v.equalsIgnoreCase("true") || v.equals("1");
    }

    /**
     * The SSL context those variables describe, its files read now.
     * @throws IllegalArgumentException when CONSUL_CLIENT_CERT is set without CONSUL_CLIENT_KEY or the other way round
     * @throws IOException when a file cannot be read or holds no certificate / key (the message names the file)
     */
    public static SSLContext context(Map<String, String> env) throws IOException {
        String caFile = blankToNull(env.get(CA_ENV));
        String certFile = blankToNull(env.get(CERT_ENV));
        String keyFile = blankToNull(env.get(KEY_ENV));
        String serverName = blankToNull(env.get(SERVER_NAME_ENV));
        String verify = env.getOrDefault(VERIFY_ENV, "").strip();
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

    /**
     * What a failed exchange with {@code peer} (e.g. "the agent") means in terms of these variables, or null when
     * {@code e} is no TLS failure: a certificate not signed by a trusted CA names CONSUL_CACERT, one without the name
     * wanted names CONSUL_TLS_SERVER_NAME, a client refused for want of a certificate names CONSUL_CLIENT_CERT and
     * CONSUL_CLIENT_KEY, and an address that does not speak TLS says so. The JDK's own reason is kept in parentheses.
     */
    public static String explain(Throwable e, String peer) {
        String reason = null;
        boolean untrusted = false;
        int depth = 0;
        for (Throwable t = e; t != null && depth++ < 16; t = t.getCause()) { // bounded: a cause chain may loop
            if (t instanceof java.security.cert.CertPathBuilderException || t instanceof java.security.cert.CertPathValidatorException) untrusted = true;
            if (t instanceof javax.net.ssl.SSLException || t instanceof java.security.cert.CertificateException) {
                if (reason == null && t.getMessage() != null) reason = t.getMessage();
            }
        }
        if (reason == null) return null;
        reason = reason.replaceFirst("^\\([a-z_]+\\) ", ""); // the JDK's "(certificate_unknown) " before its own words
        String lower = reason.toLowerCase(java.util.Locale.ROOT);
        if (untrusted || lower.contains("pkix path") || lower.contains("unable to find valid certification path")) {
            return peer + "'s certificate is not trusted (" + reason + "): set " + CA_ENV + " to the file of the CA that signed it";
        }
        if (lower.contains("certificate does not name")) {
            return peer + "'s certificate does not hold the name wanted (" + reason + "): dial a name it holds, or set "
                    + SERVER_NAME_ENV + " to one";
        }
        if (lower.contains("certificate_required") || lower.contains("bad_certificate") || lower.contains("empty client certificate")) {
            return peer + " refused this client's certificate or its absence (" + reason + "): it verifies clients (verify_incoming);"
                    + " set " + CERT_ENV + " and " + KEY_ENV + " to a certificate signed by its CA and its key";
        }
        if (lower.contains("unrecognized ssl message") || lower.contains("plaintext connection")) {
            return peer + " does not speak TLS at that address (" + reason + "): use an http:// address, or unset " + SSL_ENV;
        }
        return peer + ": TLS failed (" + reason + ")";
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

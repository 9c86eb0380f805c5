package io.failoverkit.discovery.tls;

import io.failoverkit.tls.PeerTrust;
import io.failoverkit.tls.PemFiles;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.List;

/**
 * One reading of an agent's TLS files: its certificate chain and key (may be absent) and the CA certificates it
 * trusts (may be absent). Read whole or not at all: a key that does not match its certificate is refused here.
 */
public record KeyMaterial(PrivateKey key, List<X509Certificate> chain, List<X509Certificate> cas, char[] storePassword) {
    static final String ALIAS = "agent";

    public static KeyMaterial read(String caFile, String certFile, String keyFile) throws IOException {
        List<X509Certificate> cas = caFile == null ? List.of() : PemFiles.certificates(Path.of(caFile));
        PrivateKey key = null;
        List<X509Certificate> chain = List.of();
        if (certFile != null) {
            chain = PemFiles.certificates(Path.of(certFile));
            key = PemFiles.privateKey(Path.of(keyFile));
            requireMatch(key, chain.get(0), certFile, keyFile);
        }
        byte[] pw = new byte[12];
        new SecureRandom().nextBytes(pw);
        return new KeyMaterial(key, chain, cas, HexFormat.of().formatHex(pw).toCharArray());
    }

    /** Signs a few bytes with the key and checks them with the certificate's public key. */
    private static void requireMatch(PrivateKey key, X509Certificate cert, String certFile, String keyFile) throws IOException {
        String alg = switch (key.getAlgorithm()) {
            case "EC", "ECDSA" -> "SHA256withECDSA";
            case "RSA" -> "SHA256withRSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> throw new IOException(keyFile + ": unsupported key algorithm " + key.getAlgorithm());
        };
        try {
            byte[] probe = "failoverkit key check".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            Signature s = Signature.getInstance(alg);
            s.initSign(key);
            s.update(probe);
            byte[] sig = s.sign();
            Signature v = Signature.getInstance(alg);
            v.initVerify(cert.getPublicKey());
            v.update(probe);
            if (v.verify(sig)) return;
        } catch (GeneralSecurityException e) {
            // a key of another kind than the certificate's: the same answer as a mismatch
        }
        throw new IOException(keyFile + " is not the private key of the certificate in " + certFile);
    }

    public boolean hasKeyPair() {
        return key != null;
    }

    /** An in-memory key store holding this agent's key and chain (for Jetty), or null without a key pair. */
    public KeyStore keyStore() {
        if (key == null) return null;
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry(ALIAS, key, storePassword, chain.toArray(new X509Certificate[0]));
            return ks;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("building the in-memory key store: " + e.getMessage(), e);
        }
    }

    /** An in-memory trust store of the CA certificates, or null without a CA. */
    public KeyStore trustStore() {
        if (cas.isEmpty()) return null;
        try {
            KeyStore ts = KeyStore.getInstance("PKCS12");
            ts.load(null, null);
            for (int i = 0; i < cas.size(); i++) ts.setCertificateEntry("ca-" + i, cas.get(i));
            return ts;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("building the in-memory trust store: " + e.getMessage(), e);
        }
    }

    X509ExtendedKeyManager keyManager() {
        if (key == null) return null;
        try {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keyStore(), storePassword);
            return (X509ExtendedKeyManager) kmf.getKeyManagers()[0];
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("building the key manager: " + e.getMessage(), e);
        }
    }

    /** PKIX validation against the CA certificates (no host name check: {@link PeerTrust} decides names). */
    X509ExtendedTrustManager caTrust() {
        if (cas.isEmpty()) return null;
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trustStore());
            return (X509ExtendedTrustManager) tmf.getTrustManagers()[0];
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("building the trust manager: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "KeyMaterial[chain=" + chain.size() + " certificate(s), cas=" + cas.size() + ", key=" + (key == null ? "none" : "present") + "]";
    }
}

package io.failoverkit.tls;

import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/** PEM files as Consul and OpenSSL write them: certificates (one or a chain) and unencrypted private keys. */
public final class PemFiles {
    private PemFiles() {}

    /** Every certificate in the file, in file order; IOException naming the file when there is none or one is bad. */
    public static List<X509Certificate> certificates(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            List<X509Certificate> out = new ArrayList<>();
            for (var c : CertificateFactory.getInstance("X.509").generateCertificates(in)) out.add((X509Certificate) c);
            if (out.isEmpty()) throw new IOException(file + " holds no PEM certificate");
            return out;
        } catch (CertificateException e) {
            throw new IOException(file + " is not a PEM certificate file: " + e.getMessage(), e);
        }
    }

    /** The private key in the file (PKCS#8, or the traditional EC / RSA forms); encrypted keys are refused. */
    public static PrivateKey privateKey(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            for (Object o = p.readObject(); o != null; o = p.readObject()) {
                if (o instanceof PEMKeyPair kp) return conv.getPrivateKey(kp.getPrivateKeyInfo());
                if (o instanceof PrivateKeyInfo info) return conv.getPrivateKey(info);
                if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
                    throw new IOException(file + " holds an encrypted private key: give the key unencrypted (mode 0600)");
                }
            }
            throw new IOException(file + " holds no PEM private key");
        } catch (IOException e) {
            throw e;
        } catch (RuntimeException e) {
            // never the key's bytes in a message: only what kind of problem it was
            throw new IOException(file + " is not a readable PEM private key (" + e.getClass().getSimpleName() + ")", e);
        }
    }

    /** The PEM text of a certificate, or of a private key as unencrypted PKCS#8 ("PRIVATE KEY", with its curve). */
    public static String pem(Object o) throws IOException {
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
            if (o instanceof PrivateKey k) pw.writeObject(new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null));
            else pw.writeObject(o);
        }
        return w.toString();
    }

    /**
     * Writes a new file, refusing to replace one; {@code secret} files are created owner-only (0600) before anything
     * is written to them, so the key is never readable by others, not even for a moment.
     */
    public static void writeNew(Path file, String text, boolean secret) throws IOException {
        if (secret) {
            try {
                Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } catch (UnsupportedOperationException e) {
                Files.createFile(file);
            }
            Files.writeString(file, text, StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
        } else {
            Files.writeString(file, text, StandardCharsets.US_ASCII, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        }
    }
}

package io.failoverkit.discovery.tls;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.GeneralSubtree;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.NameConstraints;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

/**
 * Makes what {@code discovery-node tls ca create} and {@code tls cert create} write, as Consul's tls commands do:
 * ECDSA P-256 keys, a self-signed CA (optionally limited by name constraints to localhost and the cluster's domain),
 * and leaf certificates for servers (server.DC.DOMAIN), clients (client.DC.DOMAIN) and the CLI (cli.DC.DOMAIN).
 */
public final class CertificateAuthority {
    private static final SecureRandom RANDOM = new SecureRandom();

    private CertificateAuthority() {}

    public record Issued(X509Certificate certificate, PrivateKey key) {}

    /** What a leaf certificate is for; the names it always carries and its key usages follow from it. */
    public enum Kind {
        SERVER("server"), CLIENT("client"), CLI("cli");
        public final String label;
        Kind(String label) { this.label = label; }
    }

    public static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    /** A random positive 128-bit serial number (what the reload test compares). */
    static BigInteger serial() {
        return new BigInteger(127, RANDOM).add(BigInteger.ONE);
    }

    /**
     * A self-signed CA valid for {@code days}. With {@code constrainTo} not empty it may sign only certificates whose
     * DNS names fall under those domains (Consul's -name-constraint: localhost and the domain are then included).
     */
    public static Issued createCa(String commonName, int days, List<String> constrainTo) throws GeneralSecurityException {
        KeyPair kp = newKeyPair();
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.C, "US").addRDN(BCStyle.ST, "CA").addRDN(BCStyle.L, "San Francisco")
                .addRDN(BCStyle.O, "failoverkit").addRDN(BCStyle.CN, commonName).build();
        Instant now = Instant.now();
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(), Date.from(now.minus(Duration.ofMinutes(1))),
                    Date.from(now.plus(Duration.ofDays(days))), subject, kp.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign | KeyUsage.digitalSignature));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(kp.getPublic()));
            if (!constrainTo.isEmpty()) {
                List<GeneralSubtree> permitted = new ArrayList<>();
                for (String d : constrainTo) permitted.add(new GeneralSubtree(new GeneralName(GeneralName.dNSName, d)));
                b.addExtension(Extension.nameConstraints, true, new NameConstraints(permitted.toArray(new GeneralSubtree[0]), null));
            }
            return new Issued(sign(b, kp.getPrivate()), kp.getPrivate());
        } catch (java.io.IOException | OperatorCreationException e) {
            throw new GeneralSecurityException("creating the CA certificate: " + e.getMessage(), e);
        }
    }

    /**
     * A certificate of {@code kind} for datacenter {@code dc}, signed by the CA; {@code dnsNames} and {@code ips} are
     * its subject alternative names (the caller adds what Consul always adds).
     */
    public static Issued issue(X509Certificate ca, PrivateKey caKey, Kind kind, String commonName, int days,
                               List<String> dnsNames, List<String> ips) throws GeneralSecurityException {
        KeyPair kp = newKeyPair();
        Instant now = Instant.now();
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X500Name subject = new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, commonName).build();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca, serial(), Date.from(now.minus(Duration.ofMinutes(1))),
                    Date.from(now.plus(Duration.ofDays(days))), subject, kp.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            KeyPurposeId[] purposes = kind == Kind.CLI
                    ? new KeyPurposeId[]{KeyPurposeId.id_kp_clientAuth}
                    : new KeyPurposeId[]{KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth};
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes));
            b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca));
            List<GeneralName> names = new ArrayList<>();
            for (String d : dnsNames) names.add(new GeneralName(GeneralName.dNSName, d));
            for (String ip : ips) names.add(new GeneralName(GeneralName.iPAddress, ip));
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(new GeneralName[0])));
            return new Issued(sign(b, caKey), kp.getPrivate());
        } catch (java.io.IOException | OperatorCreationException e) {
            throw new GeneralSecurityException("creating the certificate: " + e.getMessage(), e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer) throws OperatorCreationException, GeneralSecurityException {
        String alg = signer.getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(alg).build(signer)));
    }
}

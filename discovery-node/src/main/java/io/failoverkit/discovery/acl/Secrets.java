package io.failoverkit.discovery.acl;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** How token secrets are kept and compared: only their SHA-256 is stored, and hashes are compared in constant time. */
public final class Secrets {
    private Secrets() {}

    /** The word Consul shows in place of a secret it will not reveal. */
    public static final String HIDDEN = "<hidden>";

    /** Lowercase hex SHA-256 of the secret's UTF-8 bytes. */
    public static String hash(String secret) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** Constant-time equality of two hashes (or any two strings of a secret's kind); false when either is null. */
    public static boolean sameHash(String a, String b) {
        if (a == null || b == null) return false;
        return MessageDigest.isEqual(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }
}

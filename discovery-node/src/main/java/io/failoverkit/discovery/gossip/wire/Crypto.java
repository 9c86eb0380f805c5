package io.failoverkit.discovery.gossip.wire;

import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;

/**
 * memberlist's AES-GCM (security.go): {@code [version][12-byte nonce][ciphertext + 16-byte tag]}, the key 16, 24 or
 * 32 bytes (AES-128/192/256). Version 0 pads the plaintext to 16 bytes with PKCS#7 before sealing (protocol 1
 * peers), version 1 does not. The additional authenticated data is the packet label for packets and
 * {@code [10][uint32 length] + label} for streams.
 */
public final class Crypto {
    public static final int VERSION_SIZE = 1;
    public static final int NONCE_SIZE = 12;
    public static final int TAG_SIZE = 16;
    public static final int BLOCK_SIZE = 16;

    private static final SecureRandom RANDOM = new SecureRandom();

    private Crypto() {}

    /** The largest overhead of encrypting with {@code version} (memberlist's encryptOverhead). */
    public static int overhead(int version) {
        return switch (version) {
            case 0 -> VERSION_SIZE + NONCE_SIZE + BLOCK_SIZE + TAG_SIZE;
            case 1 -> VERSION_SIZE + NONCE_SIZE + TAG_SIZE;
            default -> throw new IllegalArgumentException("encryption version " + version);
        };
    }

    /** The encrypted size of {@code plainLength} bytes (memberlist's encryptedLength). */
    public static int encryptedLength(int version, int plainLength) {
        if (version >= 1) return VERSION_SIZE + NONCE_SIZE + plainLength + TAG_SIZE;
        return VERSION_SIZE + NONCE_SIZE + plainLength + (BLOCK_SIZE - plainLength % BLOCK_SIZE) + TAG_SIZE;
    }

    public static byte[] encrypt(int version, byte[] key, byte[] plain, byte[] aad) {
        if (version != 0 && version != 1) throw new IllegalArgumentException("encryption version " + version);
        Keyring.validate(key);
        byte[] nonce = new byte[NONCE_SIZE];
        RANDOM.nextBytes(nonce);
        byte[] src = plain;
        if (version == 0) {
            int pad = BLOCK_SIZE - plain.length % BLOCK_SIZE;
            src = Arrays.copyOf(plain, plain.length + pad);
            Arrays.fill(src, plain.length, src.length, (byte) pad);
        }
        try {
            Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(TAG_SIZE * 8, nonce));
            if (aad != null && aad.length > 0) c.updateAAD(aad);
            byte[] sealed = c.doFinal(src);
            byte[] out = new byte[VERSION_SIZE + NONCE_SIZE + sealed.length];
            out[0] = (byte) version;
            System.arraycopy(nonce, 0, out, VERSION_SIZE, NONCE_SIZE);
            System.arraycopy(sealed, 0, out, VERSION_SIZE + NONCE_SIZE, sealed.length);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES-GCM unavailable", e);
        }
    }

    /**
     * Opens {@code msg} with the first of {@code keys} that authenticates it (either version). Anything else (too
     * short, unknown version, no key fits, bad padding) is a {@link WireException}.
     */
    public static byte[] decrypt(List<byte[]> keys, byte[] msg, byte[] aad) {
        if (msg.length == 0) throw new WireException("cannot decrypt an empty payload");
        int version = msg[0] & 0xff;
        if (version > 1) throw new WireException("unsupported encryption version " + version);
        if (msg.length < encryptedLength(version, 0)) throw new WireException("payload too small to decrypt: " + msg.length);
        GCMParameterSpec spec = new GCMParameterSpec(TAG_SIZE * 8, msg, VERSION_SIZE, NONCE_SIZE);
        for (byte[] key : keys) {
            byte[] plain;
            try {
                Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
                c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), spec);
                if (aad != null && aad.length > 0) c.updateAAD(aad);
                plain = c.doFinal(msg, VERSION_SIZE + NONCE_SIZE, msg.length - VERSION_SIZE - NONCE_SIZE);
            } catch (GeneralSecurityException | IllegalArgumentException | IllegalStateException e) {
                continue;
            }
            if (version == 0) {
                if (plain.length == 0) throw new WireException("empty padded plaintext");
                int pad = plain[plain.length - 1] & 0xff;
                if (pad < 1 || pad > BLOCK_SIZE || pad > plain.length) throw new WireException("bad PKCS7 padding " + pad);
                return Arrays.copyOf(plain, plain.length - pad);
            }
            return plain;
        }
        throw new WireException("no installed key could decrypt the message");
    }
}

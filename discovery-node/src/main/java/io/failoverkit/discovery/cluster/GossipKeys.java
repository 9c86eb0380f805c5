package io.failoverkit.discovery.cluster;

import io.failoverkit.discovery.state.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Gossip encryption keys as Consul handles them: base64 of 16, 24 or 32 bytes (AES-128/192/256), generated as
 * 32 random bytes by {@code keygen}, and kept in the data dir's {@code serf/local.keyring} (a JSON array of the
 * base64 keys, the primary first) so that a restart keeps the keys installed at run time.
 */
public final class GossipKeys {
    /** Where Consul keeps the LAN keyring, under the data dir. */
    public static final String KEYRING_FILE = "serf/local.keyring";

    private GossipKeys() {}

    /** The key's bytes; the message says what is wrong with it. */
    public static byte[] decode(String base64) {
        if (base64 == null || base64.isBlank()) throw new IllegalArgumentException("the encryption key is empty");
        byte[] key;
        try {
            key = Base64.getDecoder().decode(base64.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the encryption key is not valid base64: " + e.getMessage());
        }
        if (key.length != 16 && key.length != 24 && key.length != 32) {
            throw new IllegalArgumentException("the encryption key must be 16, 24 or 32 bytes (base64-encoded), got " + key.length + " bytes");
        }
        return key;
    }

    /** A new 32-byte key, base64 (what {@code consul keygen} prints). */
    public static String generate() {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        return Base64.getEncoder().encodeToString(key);
    }

    public static String encode(byte[] key) { return Base64.getEncoder().encodeToString(key); }

    /** The keys of a keyring file, primary first; empty when there is no file. A damaged file is an error. */
    public static List<byte[]> load(Path file) throws IOException {
        if (!Files.exists(file)) return List.of();
        String[] keys;
        try {
            keys = Json.MAPPER.readValue(file.toFile(), String[].class);
        } catch (IOException e) {
            throw new IOException("keyring file " + file + " is not a JSON array of base64 keys: " + e.getMessage(), e);
        }
        List<byte[]> out = new ArrayList<>();
        for (String k : keys) {
            try {
                out.add(decode(k));
            } catch (IllegalArgumentException e) {
                throw new IOException("keyring file " + file + ": " + e.getMessage(), e);
            }
        }
        if (out.isEmpty()) throw new IOException("keyring file " + file + " holds no key");
        return out;
    }

    /** Writes the keys (primary first) atomically, readable by the owner only. */
    public static void save(Path file, List<byte[]> keys) throws IOException {
        Files.createDirectories(file.getParent());
        List<String> b64 = keys.stream().map(GossipKeys::encode).toList();
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        // created owner-only: the keys are never readable by others, not even for a moment before a chmod
        try {
            Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
                    java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException notPosix) {
            Files.createFile(tmp);
        }
        Files.writeString(tmp, Json.MAPPER.writeValueAsString(b64), StandardCharsets.UTF_8);
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}

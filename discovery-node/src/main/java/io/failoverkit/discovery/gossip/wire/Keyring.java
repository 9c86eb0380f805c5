package io.failoverkit.discovery.gossip.wire;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

/**
 * memberlist's keyring: the installed AES keys, the primary first. Everything is sent with the primary key; what
 * arrives is tried against every key, so a key can be rotated with no downtime: install the new key everywhere, use
 * it everywhere, then remove the old one. Thread-safe: the transport reads it while the agent changes it.
 */
public final class Keyring {
    private volatile List<byte[]> keys = List.of();

    public Keyring() {}

    /** A keyring holding {@code primary} (as primary) and {@code others}. */
    public static Keyring of(byte[] primary, byte[]... others) {
        Keyring k = new Keyring();
        k.install(primary);
        for (byte[] o : others) k.install(o);
        return k;
    }

    /** A keyring from base64 keys, as {@code serf keygen} and {@code -encrypt} print them; the first is primary. */
    public static Keyring ofBase64(String primary, String... others) {
        Keyring k = new Keyring();
        k.install(decode(primary));
        for (String o : others) k.install(decode(o));
        return k;
    }

    public static byte[] decode(String base64) {
        try {
            byte[] key = Base64.getDecoder().decode(base64.trim());
            validate(key);
            return key;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a base64 AES key of 16, 24 or 32 bytes: " + e.getMessage(), e);
        }
    }

    public static void validate(byte[] key) {
        if (key == null || (key.length != 16 && key.length != 24 && key.length != 32)) {
            throw new IllegalArgumentException("key size must be 16, 24 or 32 bytes");
        }
    }

    /** Adds a key (a no-op when installed); the first key installed becomes the primary. */
    public synchronized void install(byte[] key) {
        validate(key);
        for (byte[] k : keys) if (Arrays.equals(k, key)) return;
        List<byte[]> next = new ArrayList<>(keys);
        next.add(key.clone());
        keys = List.copyOf(next);
    }

    /** Makes an installed key the primary (used for everything sent). */
    public synchronized void use(byte[] key) {
        int i = indexOf(key);
        if (i < 0) throw new IllegalArgumentException("requested key is not in the keyring");
        List<byte[]> next = new ArrayList<>(keys);
        byte[] k = next.remove(i);
        next.add(0, k);
        keys = List.copyOf(next);
    }

    /** Removes a key; the primary cannot be removed. Removing a key not installed is a no-op. */
    public synchronized void remove(byte[] key) {
        if (!keys.isEmpty() && Arrays.equals(keys.get(0), key)) {
            throw new IllegalArgumentException("removing the primary key is not allowed");
        }
        int i = indexOf(key);
        if (i < 0) return;
        List<byte[]> next = new ArrayList<>(keys);
        next.remove(i);
        keys = List.copyOf(next);
    }

    /** The keys, primary first (copies). */
    public List<byte[]> list() {
        List<byte[]> out = new ArrayList<>();
        for (byte[] k : keys) out.add(k.clone());
        return out;
    }

    /** The keys, primary first, for decryption (not copied: do not modify). */
    List<byte[]> keys() {
        return keys;
    }

    /** The primary key, or null when the keyring is empty. */
    public byte[] primary() {
        List<byte[]> k = keys;
        return k.isEmpty() ? null : k.get(0).clone();
    }

    public boolean isEmpty() {
        return keys.isEmpty();
    }

    private int indexOf(byte[] key) {
        List<byte[]> k = keys;
        for (int i = 0; i < k.size(); i++) if (Arrays.equals(k.get(i), key)) return i;
        return -1;
    }
}

package io.failoverkit.discovery.state;

import com.fasterxml.jackson.annotation.JsonProperty;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * A snapshot file, laid out as Consul's: a gzip-compressed tar holding {@code meta.json} (ID, Size, Index, Term,
 * Version), {@code state.bin} (the state, in this project's own encoding: see {@link StateStore#decodeState}) and
 * {@code SHA256SUMS} (one "hex  name" line for each of the other two). {@link #read} checks everything a damaged or
 * cut file can break (gzip trailer and CRC, tar headers and their checksums, sizes, both SHA-256 sums, the metadata)
 * and says which check failed.
 */
public final class SnapshotArchive {
    public static final String META = "meta.json";
    public static final String STATE = "state.bin";
    public static final String SUMS = "SHA256SUMS";
    /** The metadata version this project writes (Consul's snapshot version 1). */
    public static final int VERSION = 1;

    /** meta.json, as Consul spells it (Raft's SnapshotMeta; the fields Consul's inspect prints). */
    public record Meta(@JsonProperty("ID") String id, @JsonProperty("Size") long size, @JsonProperty("Index") long index,
                       @JsonProperty("Term") long term, @JsonProperty("Version") int version) {}

    /** A verified archive: its metadata and the state.bin bytes (their SHA-256 matched). */
    public record Archive(Meta meta, byte[] state) {}

    /** The archive is damaged, cut short or not a snapshot: the message says which check failed. */
    public static final class InvalidSnapshotException extends Exception {
        public InvalidSnapshotException(String message) { super(message); }
    }

    private SnapshotArchive() {}

    /** The metadata for a state captured at {@code index} in {@code term}; the ID is "term-index-milliseconds" as Consul's. */
    public static Meta meta(long index, long term, long stateSize, long nowMillis) {
        return new Meta(term + "-" + index + "-" + nowMillis, stateSize, index, term, VERSION);
    }

    /** The archive's bytes: gzip(tar(meta.json, state.bin, SHA256SUMS)). */
    public static byte[] write(Meta meta, byte[] state) {
        if (meta.size() != state.length) throw new IllegalArgumentException("meta Size " + meta.size() + " != state length " + state.length);
        try {
            byte[] metaJson = (Json.MAPPER.writeValueAsString(meta) + "\n").getBytes(StandardCharsets.UTF_8);
            String sums = hex(sha256(metaJson)) + "  " + META + "\n" + hex(sha256(state)) + "  " + STATE + "\n";
            long mtime = System.currentTimeMillis() / 1000;
            ByteArrayOutputStream out = new ByteArrayOutputStream(state.length / 4 + 1024);
            try (GZIPOutputStream gz = new GZIPOutputStream(out, 64 * 1024)) {
                Tar.entry(gz, META, metaJson, mtime);
                Tar.entry(gz, STATE, state, mtime);
                Tar.entry(gz, SUMS, sums.getBytes(StandardCharsets.US_ASCII), mtime);
                gz.write(new byte[1024]); // end of archive: two zero blocks
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException("could not write the snapshot archive", e);
        }
    }

    /** Reads and verifies an archive of at most {@code maxUncompressed} bytes of tar. */
    public static Archive read(byte[] archive, long maxUncompressed) throws InvalidSnapshotException {
        if (archive.length == 0) throw new InvalidSnapshotException("the snapshot is empty");
        byte[] tar;
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(archive), 64 * 1024)) {
            tar = readLimited(in, maxUncompressed);
        } catch (ZipException e) {
            throw new InvalidSnapshotException("the snapshot is not a valid gzip stream (damaged or not a snapshot): " + e.getMessage());
        } catch (EOFException e) {
            throw new InvalidSnapshotException("the snapshot is truncated: its gzip stream ends early");
        } catch (IOException e) {
            throw new InvalidSnapshotException("the snapshot could not be decompressed: " + e.getMessage());
        }
        Map<String, byte[]> files = Tar.read(tar);
        for (String name : files.keySet()) {
            if (!name.equals(META) && !name.equals(STATE) && !name.equals(SUMS)) {
                throw new InvalidSnapshotException("unexpected file \"" + name + "\" in the snapshot");
            }
        }
        for (String name : new String[]{META, STATE, SUMS}) {
            if (!files.containsKey(name)) throw new InvalidSnapshotException("the snapshot has no " + name);
        }
        verifySums(new String(files.get(SUMS), StandardCharsets.US_ASCII), files);
        Meta meta;
        try {
            meta = Json.MAPPER.readValue(files.get(META), Meta.class);
        } catch (IOException e) {
            throw new InvalidSnapshotException("meta.json is not valid snapshot metadata: " + e.getMessage());
        }
        if (meta == null || meta.id() == null || meta.id().isEmpty()) throw new InvalidSnapshotException("meta.json has no ID");
        if (meta.index() <= 0 || meta.term() < 0) throw new InvalidSnapshotException("meta.json: Index must be positive and Term not negative (Index " + meta.index() + ", Term " + meta.term() + ")");
        if (meta.version() != VERSION) throw new InvalidSnapshotException("meta.json: snapshot version " + meta.version() + " is not supported (only " + VERSION + ")");
        byte[] state = files.get(STATE);
        if (meta.size() != state.length) throw new InvalidSnapshotException("meta.json says state.bin has " + meta.size() + " bytes, it has " + state.length);
        return new Archive(meta, state);
    }

    private static void verifySums(String sums, Map<String, byte[]> files) throws InvalidSnapshotException {
        Map<String, String> listed = new LinkedHashMap<>();
        for (String line : sums.split("\n")) {
            if (line.isEmpty()) continue;
            int sep = line.indexOf("  ");
            if (sep != 64 || !line.substring(0, 64).matches("[0-9a-f]{64}")) throw new InvalidSnapshotException("SHA256SUMS: malformed line \"" + line + "\"");
            listed.put(line.substring(sep + 2), line.substring(0, 64));
        }
        for (String name : new String[]{META, STATE}) {
            String want = listed.remove(name);
            if (want == null) throw new InvalidSnapshotException("SHA256SUMS lists no hash for " + name);
            if (!want.equals(hex(sha256(files.get(name))))) throw new InvalidSnapshotException("hash check failed for " + name + " (the snapshot is damaged)");
        }
        if (!listed.isEmpty()) throw new InvalidSnapshotException("SHA256SUMS lists a file the snapshot lacks: " + listed.keySet().iterator().next());
    }

    private static byte[] readLimited(InputStream in, long max) throws IOException, InvalidSnapshotException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        int n;
        while ((n = in.read(buf)) > 0) {
            total += n;
            if (total > max) throw new InvalidSnapshotException("the snapshot decompresses to more than " + max + " bytes, the most this server takes");
            out.write(buf, 0, n);
        }
        return out.toByteArray();
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    /** The few parts of POSIX ustar that a snapshot needs: regular files, written and read back whole. */
    static final class Tar {
        private static final int BLOCK = 512;

        static void entry(java.io.OutputStream out, String name, byte[] data, long mtimeSeconds) throws IOException {
            byte[] h = new byte[BLOCK];
            put(h, 0, 100, name.getBytes(StandardCharsets.US_ASCII));
            octal(h, 100, 8, 0600);
            octal(h, 108, 8, 0);
            octal(h, 116, 8, 0);
            octal(h, 124, 12, data.length);
            octal(h, 136, 12, mtimeSeconds);
            java.util.Arrays.fill(h, 148, 156, (byte) ' ');
            h[156] = '0';
            put(h, 257, 6, "ustar".getBytes(StandardCharsets.US_ASCII));
            put(h, 263, 2, "00".getBytes(StandardCharsets.US_ASCII));
            long sum = 0;
            for (byte b : h) sum += b & 0xff;
            byte[] cs = String.format("%06o", sum).getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(cs, 0, h, 148, 6);
            h[154] = 0;
            h[155] = ' ';
            out.write(h);
            out.write(data);
            int pad = (BLOCK - data.length % BLOCK) % BLOCK;
            out.write(new byte[pad]);
        }

        static Map<String, byte[]> read(byte[] tar) throws InvalidSnapshotException {
            Map<String, byte[]> files = new LinkedHashMap<>();
            int at = 0;
            while (true) {
                if (at + BLOCK > tar.length) throw new InvalidSnapshotException("the snapshot is truncated: its tar archive ends inside a header (at byte " + at + ")");
                if (allZero(tar, at)) return files;
                long want = 0;
                for (int i = 0; i < BLOCK; i++) want += (i >= 148 && i < 156) ? ' ' : tar[at + i] & 0xff;
                long have = octal(tar, at + 148, 8, "header checksum");
                if (want != have) throw new InvalidSnapshotException("the snapshot's tar header at byte " + at + " is damaged (checksum mismatch)");
                String name = string(tar, at, 100);
                byte type = tar[at + 156];
                if (type != '0' && type != 0) throw new InvalidSnapshotException("unexpected entry \"" + name + "\" (tar type '" + (char) type + "') in the snapshot");
                long size = octal(tar, at + 124, 12, "size of " + name);
                at += BLOCK;
                if (size > tar.length - at) throw new InvalidSnapshotException("the snapshot is truncated: " + name + " should have " + size + " bytes, " + Math.max(0, tar.length - at) + " remain");
                if (files.containsKey(name)) throw new InvalidSnapshotException("the snapshot holds " + name + " twice");
                files.put(name, java.util.Arrays.copyOfRange(tar, at, at + (int) size));
                at += (int) ((size + BLOCK - 1) / BLOCK * BLOCK);
            }
        }

        private static boolean allZero(byte[] b, int at) {
            for (int i = at; i < at + BLOCK; i++) if (b[i] != 0) return false;
            return true;
        }

        private static String string(byte[] b, int off, int len) {
            int end = off;
            while (end < off + len && b[end] != 0) end++;
            return new String(b, off, end - off, StandardCharsets.US_ASCII);
        }

        private static long octal(byte[] b, int off, int len, String what) throws InvalidSnapshotException {
            String s = string(b, off, len).trim();
            if (s.isEmpty() || !s.matches("[0-7]+")) throw new InvalidSnapshotException("the snapshot's tar header has a bad " + what + " field");
            return Long.parseLong(s, 8);
        }

        private static void put(byte[] h, int off, int len, byte[] v) {
            if (v.length > len) throw new IllegalArgumentException("tar field too long");
            System.arraycopy(v, 0, h, off, v.length);
        }

        private static void octal(byte[] h, int off, int len, long v) {
            byte[] s = String.format("%0" + (len - 1) + "o", v).getBytes(StandardCharsets.US_ASCII);
            System.arraycopy(s, 0, h, off, s.length);
        }
    }
}

package io.failoverkit.discovery.state;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.smile.SmileGenerator;
import com.fasterxml.jackson.dataformat.smile.databind.SmileMapper;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * The Raft snapshot file (not the operator's archive, see {@link SnapshotArchive}): a 12-byte header (the magic
 * {@code FKDSNAP\0} and a big-endian format version), the state as one Smile (binary JSON) value written record by
 * record as it is encoded, and a 16-byte trailer (magic {@code FKDE}, the body's length, its CRC-32C). Written from a
 * {@link StateStore.View} straight to the file, never whole in memory; read only after the header, the trailer and
 * the checksum are verified, so a damaged or cut file is refused before anything is decoded or installed.
 */
public final class BinarySnapshot {
    /** The first bytes of a binary Raft snapshot (older snapshots are JSON and start with '{'). */
    static final byte[] MAGIC = {'F', 'K', 'D', 'S', 'N', 'A', 'P', 0};
    static final int VERSION = 1;
    private static final byte[] END = {'F', 'K', 'D', 'E'};
    static final int HEADER = MAGIC.length + 4;
    static final int TRAILER = END.length + 8 + 4;

    /** The file is not a snapshot this server can load: the message says which check failed. */
    public static final class CorruptSnapshotException extends IOException {
        CorruptSnapshotException(String message) { super(message); }
        CorruptSnapshotException(String message, Throwable cause) { super(message, cause); }
    }

    /**
     * The settings of {@link Json#MAPPER} on the Smile format (binary values raw, string values not shared), except
     * that field names match exactly: this file is only ever read by failoverkit servers (this release's and, while a
     * group is upgraded, the release before or after it: Raft sends snapshots between them; Smile's reader takes
     * shared values or not from each document's own header), and the case-insensitive lookup costs a lower-casing per
     * field read.
     */
    static final ObjectMapper SMILE = settings()
            .addModule(new com.fasterxml.jackson.databind.module.SimpleModule("kv-entry-writer").addSerializer(Model.KvEntry.class, new KvEntryWriter()))
            .build();

    /**
     * {@link #SMILE}'s settings, without its hand-written KV record writer (tests compare the two writers' bytes).
     */
    static SmileMapper.Builder settings() {
        return SmileMapper.builder()
                .disable(MapperFeature.AUTO_DETECT_IS_GETTERS)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .disable(SmileGenerator.Feature.ENCODE_BINARY_AS_7BIT)
                // Not shared: a state's string values are mostly distinct (keys, IDs), and the lookup of each in the
                // shared table was a third of the snapshot's allocation (bench/snapshot.sh, 500k keys: 39 -> 27 MB, the
                // file 0.9% larger). Files written with shared values (before) read the same: the reader takes either.
                .disable(SmileGenerator.Feature.CHECK_SHARED_STRING_VALUES)
                .disable(StreamWriteFeature.AUTO_CLOSE_TARGET)
                .disable(StreamReadFeature.AUTO_CLOSE_SOURCE)
                .serializationInclusion(JsonInclude.Include.ALWAYS);
    }

    /**
     * Writes a KV record field by field, the bytes Jackson's record serializer writes for {@link Model.KvEntry} (same
     * names, order and encodings: BinarySnapshotTest compares them), without its reflective accessor calls, which were
     * about a quarter of a snapshot's CPU (a JFR profile of bench/snapshot.sh, session 17). KV records are nearly all
     * of a large state. A field added to KvEntry must be added here too: the test fails until it is. It writes no type
     * id: the snapshot mapper enables no polymorphic typing, so Jackson never asks it for one (were typing enabled,
     * Jackson's StdSerializer would refuse with an error rather than write a record without its id).
     */
    static final class KvEntryWriter extends com.fasterxml.jackson.databind.ser.std.StdSerializer<Model.KvEntry> {
        KvEntryWriter() { super(Model.KvEntry.class); }

        @Override
        public void serialize(Model.KvEntry e, com.fasterxml.jackson.core.JsonGenerator g, com.fasterxml.jackson.databind.SerializerProvider p) throws IOException {
            g.writeStartObject(e);
            // As the record's annotations say: null fields left out (NON_NULL), but Value always there.
            g.writeNumberField("LockIndex", e.lockIndex());
            if (e.key() != null) g.writeStringField("Key", e.key());
            g.writeFieldName("Flags");
            UnsignedLong.write(e.flags(), g);
            g.writeFieldName("Value");
            Model.EmptyAsNull.write(e.value(), g);
            if (e.session() != null) g.writeStringField("Session", e.session());
            g.writeNumberField("CreateIndex", e.createIndex());
            g.writeNumberField("ModifyIndex", e.modifyIndex());
            g.writeEndObject();
        }
    }

    private BinarySnapshot() {}

    /** True when {@code file} starts with the binary snapshot's magic (else it is taken for an older JSON snapshot). */
    public static boolean isBinary(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(MAGIC.length);
            while (b.hasRemaining() && ch.read(b) >= 0) { }
            return !b.hasRemaining() && Arrays.equals(b.array(), MAGIC);
        }
    }

    /** Writes the view to {@code out} (not closed), encoding as it goes; returns the bytes written. */
    static long write(StateStore.Image image, OutputStream out) throws IOException {
        return write(image, out, SMILE);
    }

    /** As above, with {@code mapper}'s generator settings (tests: a file as an earlier release wrote it). */
    static long write(StateStore.Image image, OutputStream out, ObjectMapper mapper) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(HEADER).put(MAGIC).putInt(VERSION);
        out.write(header.array());
        Summing body = new Summing(out);
        mapper.writeValue(body, image);
        body.flush();
        ByteBuffer trailer = ByteBuffer.allocate(TRAILER).put(END).putLong(body.count).putInt((int) body.crc.getValue());
        out.write(trailer.array());
        out.flush();
        return HEADER + body.count + TRAILER;
    }

    /** Verifies the file (header, trailer, length, checksum), then decodes it. */
    static StateStore.Image read(Path file) throws IOException {
        long bodyLength = verify(file);
        try (InputStream in = Channels.newInputStream(FileChannel.open(file, StandardOpenOption.READ))) {
            in.skipNBytes(HEADER);
            return SMILE.readValue(new BufferedInputStream(new Bounded(in, bodyLength), 64 * 1024), StateStore.Image.class);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            // The checksum matched, so the file is as written: a writer's bug, or a format this version cannot read.
            throw new CorruptSnapshotException("Raft snapshot " + file.getFileName() + " passed its checksum but cannot be decoded: " + e.getOriginalMessage(), e);
        }
    }

    /** Checks everything a damaged or cut file can break, without decoding; returns the body's length. */
    public static long verify(Path file) throws IOException {
        String name = "Raft snapshot " + file.getFileName();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < HEADER + TRAILER) throw new CorruptSnapshotException(name + " is truncated: " + size + " bytes, less than a header and a trailer");
            ByteBuffer header = readFully(ch, 0, HEADER);
            byte[] magic = new byte[MAGIC.length];
            header.get(magic);
            if (!Arrays.equals(magic, MAGIC)) throw new CorruptSnapshotException(name + " is not a failoverkit binary snapshot (wrong magic bytes)");
            int version = header.getInt();
            if (version != VERSION) throw new CorruptSnapshotException(name + " has format version " + version + "; this server reads version " + VERSION);
            ByteBuffer trailer = readFully(ch, size - TRAILER, TRAILER);
            byte[] end = new byte[END.length];
            trailer.get(end);
            if (!Arrays.equals(end, END)) throw new CorruptSnapshotException(name + " is truncated or damaged: it does not end with the snapshot trailer");
            long bodyLength = trailer.getLong();
            int storedCrc = trailer.getInt();
            if (bodyLength != size - HEADER - TRAILER) {
                throw new CorruptSnapshotException(name + " is truncated or damaged: its trailer says " + bodyLength + " bytes of state, the file holds " + (size - HEADER - TRAILER));
            }
            CRC32C crc = new CRC32C();
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            long at = HEADER;
            while (at < HEADER + bodyLength) {
                buf.clear();
                buf.limit((int) Math.min(buf.capacity(), HEADER + bodyLength - at));
                int n = ch.read(buf, at);
                if (n < 0) throw new CorruptSnapshotException(name + " is truncated");
                buf.flip();
                crc.update(buf);
                at += n;
            }
            if ((int) crc.getValue() != storedCrc) {
                throw new CorruptSnapshotException(name + " is damaged: CRC-32C checksum mismatch (stored " + Integer.toHexString(storedCrc)
                        + ", computed " + Integer.toHexString((int) crc.getValue()) + ")");
            }
            return bodyLength;
        }
    }

    private static ByteBuffer readFully(FileChannel ch, long at, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            int n = ch.read(b, at + b.position());
            if (n < 0) throw new java.io.EOFException();
        }
        return b.flip();
    }

    /** Counts and checksums what goes through to the file. */
    private static final class Summing extends FilterOutputStream {
        final CRC32C crc = new CRC32C();
        long count;

        Summing(OutputStream out) { super(out); }

        @Override public void write(int b) throws IOException {
            out.write(b);
            crc.update(b);
            count++;
        }

        @Override public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            crc.update(b, off, len);
            count += len;
        }

        @Override public void close() throws IOException { flush(); }
    }

    /** At most {@code remaining} bytes of the underlying stream (the body, not the trailer). */
    private static final class Bounded extends FilterInputStream {
        private long remaining;

        Bounded(InputStream in, long remaining) { super(in); this.remaining = remaining; }

        @Override public int read() throws IOException {
            if (remaining <= 0) return -1;
            int b = in.read();
            if (b >= 0) remaining--;
            return b;
        }

        @Override public int read(byte[] b, int off, int len) throws IOException {
            if (remaining <= 0) return -1;
            int n = in.read(b, off, (int) Math.min(len, remaining));
            if (n > 0) remaining -= n;
            return n;
        }

        @Override public void close() { }
    }
}

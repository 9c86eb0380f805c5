package io.failoverkit.discovery.raft;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Writes to a file channel and makes the data durable every {@code syncBytes} on the way ({@code force(false)}), as
 * RocksDB's {@code bytes_per_sync}: a snapshot of tens of megabytes written to the page cache and fsync'd only at the
 * end leaves the disk one long flush at the end, and the Raft log's fsyncs (every write's acknowledgement) queue
 * behind it. Flushed in slices, the log's fsyncs wait for at most one slice. The caller still forces the whole file
 * (with its metadata) at the end.
 */
final class SyncingOutputStream extends OutputStream {
    private final FileChannel channel;
    private final long syncBytes;
    private long unsynced;
    private long syncs;

    SyncingOutputStream(FileChannel channel, long syncBytes) {
        if (syncBytes <= 0) throw new IllegalArgumentException("syncBytes must be > 0: " + syncBytes);
        this.channel = channel;
        this.syncBytes = syncBytes;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(b, off, len);
        while (buf.hasRemaining()) channel.write(buf);
        unsynced += len;
        if (unsynced >= syncBytes) {
            channel.force(false);
            unsynced = 0;
            syncs++;
        }
    }

    /** How many times the data was forced on the way (not counting the caller's final force). */
    long syncs() {
        return syncs;
    }
}

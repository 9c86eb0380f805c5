package io.failoverkit.discovery.raft;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChunkSyncedOutputStreamTest {

    @Test
    void syncsAtEveryChunkBoundaryWhateverTheWriteSizes() throws IOException {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        List<Integer> syncedAt = new ArrayList<>();
        var ch = Channels.newChannel(sink);
        var out = new ChunkSyncedOutputStream(ch, () -> syncedAt.add(sink.size()), 1000);
        byte[] data = new byte[3_500];
        new Random(7).nextBytes(data);
        // writes that straddle boundaries, one larger than two chunks, and single bytes
        out.write(data, 0, 999);
        out.write(data[999]);
        out.write(data, 1000, 1);
        out.write(data, 1001, 2_200);
        for (int i = 3_201; i < data.length; i++) out.write(data[i]);
        assertThat(sink.toByteArray()).isEqualTo(data);
        // synced exactly when 1,000, 2,000 and 3,000 bytes had reached the channel, never with a chunk half written
        assertThat(syncedAt).containsExactly(1_000, 2_000, 3_000);
        assertThat(out.written()).isEqualTo(3_500);
    }

    @Test
    void writesARealFileByteForByte(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("snap");
        byte[] data = new byte[(5 << 20) / 2 + 17];
        new Random(11).nextBytes(data);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            var out = new ChunkSyncedOutputStream(ch, CatalogStateMachine.SNAPSHOT_SYNC_CHUNK_BYTES);
            out.write(data, 0, 100);
            out.write(data, 100, data.length - 100);
            ch.force(true);
        }
        assertThat(Files.readAllBytes(f)).isEqualTo(data);
    }

    @Test
    void aChannelThatTakesAFewBytesAtATimeStillGetsEveryByteInOrder() throws IOException {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        List<Integer> syncedAt = new ArrayList<>();
        // takes at most 7 bytes per call, and nothing on every third call (as a non-blocking channel may)
        WritableByteChannel stingy = new WritableByteChannel() {
            int calls;
            @Override public int write(ByteBuffer src) {
                if (++calls % 3 == 0) return 0;
                int n = Math.min(7, src.remaining());
                byte[] b = new byte[n];
                src.get(b);
                sink.write(b, 0, n);
                return n;
            }
            @Override public boolean isOpen() { return true; }
            @Override public void close() { }
        };
        var out = new ChunkSyncedOutputStream(stingy, () -> syncedAt.add(sink.size()), 100);
        byte[] data = new byte[1_050];
        new Random(3).nextBytes(data);
        out.write(data, 0, 333);
        out.write(data, 333, 717);
        assertThat(sink.toByteArray()).isEqualTo(data);
        assertThat(syncedAt).containsExactly(100, 200, 300, 400, 500, 600, 700, 800, 900, 1_000);
    }

    @Test
    void aFailedSyncReachesTheWriter() throws IOException {
        ByteArrayOutputStream sink = new ByteArrayOutputStream();
        int[] syncs = {0};
        var out = new ChunkSyncedOutputStream(Channels.newChannel(sink), () -> {
            if (++syncs[0] == 2) throw new IOException("disk gone");
        }, 10);
        out.write(new byte[15]);
        assertThatThrownBy(() -> out.write(new byte[10])).isInstanceOf(IOException.class).hasMessage("disk gone");
        assertThat(syncs[0]).isEqualTo(2);
    }

    @Test
    void refusesANonPositiveChunk() {
        assertThatThrownBy(() -> new ChunkSyncedOutputStream(Channels.newChannel(new ByteArrayOutputStream()), () -> { }, 0))
                .isInstanceOf(IllegalArgumentException.class);
    }
}

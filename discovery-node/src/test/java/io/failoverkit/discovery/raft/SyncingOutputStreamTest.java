package io.failoverkit.discovery.raft;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedOutputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A snapshot written through the syncing stream is byte for byte what was written, forced once per slice on the way. */
class SyncingOutputStreamTest {
    @Test
    void everyByteArrivesInOrderAndTheDataIsForcedOncePerSlice(@TempDir Path dir) throws Exception {
        byte[] data = new byte[1_000_003];
        new Random(42).nextBytes(data);
        Path file = dir.resolve("snap");
        SyncingOutputStream sync;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            sync = new SyncingOutputStream(ch, 100_000);
            try (OutputStream out = new BufferedOutputStream(sync, 8192)) {
                // single bytes and arrays of odd sizes, as a stream writer mixes them
                out.write(data[0]);
                int off = 1;
                for (int n = 1; off < data.length; n = n * 3 % 65_537 + 1) {
                    int len = Math.min(n, data.length - off);
                    out.write(data, off, len);
                    off += len;
                }
            }
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(data);
        // forced each time 100,000 bytes or more were handed down since the last force: the buffer hands down at most
        // 65,537 bytes at once, so between 1,000,003 / 165,537 and 1,000,003 / 100,000 forces
        assertThat(sync.syncs()).isBetween(6L, 10L);
    }

    @Test
    void forcedExactlyOncePerSliceOfWrites(@TempDir Path dir) throws Exception {
        try (FileChannel ch = FileChannel.open(dir.resolve("snap"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            SyncingOutputStream out = new SyncingOutputStream(ch, 100_000);
            byte[] chunk = new byte[10_000];
            for (int i = 0; i < 100; i++) out.write(chunk, 0, chunk.length);
            assertThat(out.syncs()).isEqualTo(10);
            for (int i = 0; i < 3; i++) out.write(7);
            assertThat(out.syncs()).as("a partial slice is left to the caller's final force").isEqualTo(10);
            assertThat(ch.size()).isEqualTo(1_000_003);
        }
    }

    @Test
    void aSliceMustBePositive(@TempDir Path dir) throws Exception {
        try (FileChannel ch = FileChannel.open(dir.resolve("x"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            assertThatThrownBy(() -> new SyncingOutputStream(ch, 0)).isInstanceOf(IllegalArgumentException.class);
        }
    }
}

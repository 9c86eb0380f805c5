package io.failoverkit.discovery.state;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The archive layout (Consul's) and its checks: every damaged or cut-short file is refused, with a reason. */
class SnapshotArchiveTest {
    private static byte[] state() {
        StateStore s = new StateStore(Runnable::run);
        s.apply(1, new Command.Register(new Model.Node("", "n1", "127.0.0.1", "dc1", Map.of(), Map.of(), 0, 0), null,
                List.of(new Model.Check("n1", Model.SERF_HEALTH, "Serf Health Status", Model.PASSING, "", "", "", "", List.of(), "", 0, 0)), false, 0));
        for (int i = 0; i < 20; i++) s.apply(2 + i, new Command.KvPut("app/k" + i, ("value " + i).getBytes(), 0, null, null, null, null));
        return s.capture().state();
    }

    private static final byte[] STATE = state();
    private static final SnapshotArchive.Meta META = SnapshotArchive.meta(21, 3, STATE.length, 1_700_000_000_000L);
    private static final byte[] ARCHIVE = SnapshotArchive.write(META, STATE);

    @Test
    void anArchiveIsAGzippedTarOfMetaStateAndSumsAndReadsBackWhole() throws Exception {
        byte[] tar = new GZIPInputStream(new ByteArrayInputStream(ARCHIVE)).readAllBytes();
        Map<String, byte[]> files = SnapshotArchive.Tar.read(tar);
        assertThat(files.keySet()).containsExactly("meta.json", "state.bin", "SHA256SUMS");
        String meta = new String(files.get("meta.json"), StandardCharsets.UTF_8);
        assertThat(meta).contains("\"ID\":\"3-21-1700000000000\"").contains("\"Size\":" + STATE.length).contains("\"Index\":21")
                .contains("\"Term\":3").contains("\"Version\":1");
        assertThat(new String(files.get("SHA256SUMS"), StandardCharsets.US_ASCII))
                .isEqualTo(SnapshotArchive.hex(SnapshotArchive.sha256(files.get("meta.json"))) + "  meta.json\n"
                        + SnapshotArchive.hex(SnapshotArchive.sha256(STATE)) + "  state.bin\n");
        // The ustar magic, so tar(1) and other tools read it.
        assertThat(new String(tar, 257, 5, StandardCharsets.US_ASCII)).isEqualTo("ustar");

        SnapshotArchive.Archive a = SnapshotArchive.read(ARCHIVE, 1 << 20);
        assertThat(a.meta()).isEqualTo(META);
        assertThat(a.state()).isEqualTo(STATE);
        assertThat(StateStore.counts(a.state())).containsEntry("KVs", 20L).containsEntry("Nodes", 1L).containsEntry("Checks", 1L);
    }

    @Test
    void everySingleByteFlipIsRefusedOrLeavesTheContentIdentical() {
        int refused = 0;
        List<Integer> accepted = new java.util.ArrayList<>();
        for (int i = 0; i < ARCHIVE.length; i++) {
            byte[] bad = ARCHIVE.clone();
            bad[i] ^= 0x5a;
            try {
                SnapshotArchive.Archive a = SnapshotArchive.read(bad, 1 << 20);
                // A flip that is not refused must leave the content exactly as it was.
                accepted.add(i);
                assertThat(a.meta()).isEqualTo(META);
                assertThat(a.state()).isEqualTo(STATE);
            } catch (SnapshotArchive.InvalidSnapshotException e) {
                assertThat(e.getMessage()).isNotBlank();
                refused++;
            }
        }
        // What may be accepted is only what changes nothing (asserted above): mostly gzip header fields and the last
        // block's padding bits, and now and then a deflate bit whose change decodes to the same bytes (the archive's
        // timestamps change the compressed stream from run to run; a run once accepted byte 173 that way).
        assertThat(accepted.size()).as("accepted flips %s", accepted).isLessThan(Math.max(24, ARCHIVE.length / 50));
        assertThat(refused + accepted.size()).isEqualTo(ARCHIVE.length);
    }

    @Test
    void everyTruncationIsRefusedAsTruncatedOrDamaged() {
        for (int len = 0; len < ARCHIVE.length; len++) {
            byte[] cut = Arrays.copyOf(ARCHIVE, len);
            assertThatThrownBy(() -> SnapshotArchive.read(cut, 1 << 20)).isInstanceOf(SnapshotArchive.InvalidSnapshotException.class);
        }
        assertThatThrownBy(() -> SnapshotArchive.read(Arrays.copyOf(ARCHIVE, ARCHIVE.length / 2), 1 << 20)).hasMessageContaining("truncated");
    }

    @Test
    void aTamperedStateWithAConsistentGzipIsCaughtByItsHash() throws Exception {
        byte[] other = STATE.clone();
        int at = new String(other, StandardCharsets.UTF_8).indexOf("dmFsdWUgMQ"); // base64 of "value 1"
        other[at] = 'e';
        byte[] tampered = SnapshotArchive.write(META, other);
        // Replace state.bin in the tar but keep the original SHA256SUMS.
        byte[] tarGood = new GZIPInputStream(new ByteArrayInputStream(ARCHIVE)).readAllBytes();
        byte[] tarBad = new GZIPInputStream(new ByteArrayInputStream(tampered)).readAllBytes();
        byte[] mixed = tarBad.clone();
        int sumsAt = indexOf(tarGood, "SHA256SUMS".getBytes());
        System.arraycopy(tarGood, sumsAt, mixed, sumsAt, tarGood.length - sumsAt);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (var gz = new java.util.zip.GZIPOutputStream(out)) { gz.write(mixed); }
        assertThatThrownBy(() -> SnapshotArchive.read(out.toByteArray(), 1 << 20)).hasMessageContaining("hash check failed for state.bin");
    }

    @Test
    void aStateThatIsNotOursIsRefusedWithAReason() {
        byte[] consulLike = new byte[]{(byte) 0x83, (byte) 0xa4, 'T', 'y', 'p', 'e', 0x01};
        byte[] archive = SnapshotArchive.write(SnapshotArchive.meta(5, 1, consulLike.length, 0), consulLike);
        assertThatThrownBy(() -> StateStore.counts(SnapshotArchive.read(archive, 1 << 20).state()))
                .hasMessageContaining("not a failoverkit discovery state");
        byte[] empty = "{\"lastIndex\": 3}".getBytes();
        byte[] noFormat = SnapshotArchive.write(SnapshotArchive.meta(5, 1, empty.length, 0), empty);
        assertThatThrownBy(() -> StateStore.counts(SnapshotArchive.read(noFormat, 1 << 20).state())).hasMessageContaining("format");
        assertThatThrownBy(() -> SnapshotArchive.read("not gzip at all".getBytes(), 1 << 20)).hasMessageContaining("gzip");
        assertThatThrownBy(() -> SnapshotArchive.read(ARCHIVE, 100)).hasMessageContaining("more than 100 bytes");
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }
}

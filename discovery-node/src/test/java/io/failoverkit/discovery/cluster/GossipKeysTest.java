package io.failoverkit.discovery.cluster;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GossipKeysTest {
    @TempDir Path dir;

    @Test
    void keygenMakes32RandomBytes() {
        String a = GossipKeys.generate();
        assertThat(Base64.getDecoder().decode(a)).hasSize(32);
        assertThat(GossipKeys.generate()).isNotEqualTo(a);
        assertThat(GossipKeys.decode(a)).hasSize(32);
    }

    @Test
    void keysOf16And24BytesAreAcceptedOthersAreNot() {
        assertThat(GossipKeys.decode(Base64.getEncoder().encodeToString(new byte[16]))).hasSize(16);
        assertThat(GossipKeys.decode(Base64.getEncoder().encodeToString(new byte[24]))).hasSize(24);
        assertThatThrownBy(() -> GossipKeys.decode(Base64.getEncoder().encodeToString(new byte[20]))).hasMessageContaining("16, 24 or 32 bytes").hasMessageContaining("20");
        assertThatThrownBy(() -> GossipKeys.decode("not base64 !")).hasMessageContaining("base64");
        assertThatThrownBy(() -> GossipKeys.decode("")).hasMessageContaining("empty");
    }

    @Test
    void keyringFileRoundTripsPrimaryFirst() throws Exception {
        Path f = dir.resolve(GossipKeys.KEYRING_FILE);
        assertThat(GossipKeys.load(f)).isEmpty();
        byte[] k1 = GossipKeys.decode(GossipKeys.generate());
        byte[] k2 = GossipKeys.decode(GossipKeys.generate());
        GossipKeys.save(f, List.of(k2, k1));
        List<byte[]> back = GossipKeys.load(f);
        assertThat(back).hasSize(2);
        assertThat(back.get(0)).isEqualTo(k2);
        assertThat(back.get(1)).isEqualTo(k1);
        assertThat(Files.readString(f)).startsWith("[\"");
    }

    @Test
    void aDamagedKeyringFileIsAnErrorNotAnUnencryptedStart() throws Exception {
        Path f = dir.resolve("local.keyring");
        Files.writeString(f, "{nope");
        assertThatThrownBy(() -> GossipKeys.load(f)).hasMessageContaining("not a JSON array");
        Files.writeString(f, "[\"AAAA\"]");
        assertThatThrownBy(() -> GossipKeys.load(f)).hasMessageContaining("16, 24 or 32");
        Files.writeString(f, "[]");
        assertThatThrownBy(() -> GossipKeys.load(f)).hasMessageContaining("no key");
    }
}

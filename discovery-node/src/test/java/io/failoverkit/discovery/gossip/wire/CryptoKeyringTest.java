package io.failoverkit.discovery.gossip.wire;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CryptoKeyringTest {
    static byte[] key(int n, int fill) {
        byte[] k = new byte[n];
        Arrays.fill(k, (byte) fill);
        return k;
    }

    @Test
    void sealsInMemberlistsLayoutForBothVersionsAndEveryKeySize() {
        for (int size : new int[] {16, 24, 32}) {
            byte[] k = key(size, size);
            for (int plainLen : new int[] {0, 1, 15, 16, 17, 1000}) {
                byte[] plain = new byte[plainLen];
                Arrays.fill(plain, (byte) 0x5a);
                byte[] aad = {10, 0, 0, 0, 1};
                byte[] v1 = Crypto.encrypt(1, k, plain, aad);
                assertThat(v1[0]).isEqualTo((byte) 1);
                assertThat(v1).hasSize(Crypto.encryptedLength(1, plainLen)).hasSize(1 + 12 + plainLen + 16);
                assertThat(Crypto.decrypt(List.of(k), v1, aad)).isEqualTo(plain);
                byte[] v0 = Crypto.encrypt(0, k, plain, aad);
                assertThat(v0[0]).isEqualTo((byte) 0);
                // PKCS7 pads to the next multiple of 16 (a whole block when already aligned)
                assertThat(v0).hasSize(Crypto.encryptedLength(0, plainLen)).hasSize(1 + 12 + (plainLen / 16 + 1) * 16 + 16);
                assertThat(Crypto.decrypt(List.of(k), v0, aad)).isEqualTo(plain);
                // the additional data is authenticated
                assertThatThrownBy(() -> Crypto.decrypt(List.of(k), v1, new byte[0])).isInstanceOf(WireException.class);
            }
        }
    }

    @Test
    void decryptTriesEveryKeyAndRefusesTampering() {
        byte[] a = key(32, 1), b = key(32, 2), c = key(16, 3);
        byte[] sealed = Crypto.encrypt(1, b, "hello".getBytes(), null);
        assertThat(Crypto.decrypt(List.of(a, c, b), sealed, null)).isEqualTo("hello".getBytes());
        assertThatThrownBy(() -> Crypto.decrypt(List.of(a, c), sealed, null)).isInstanceOf(WireException.class);
        for (int i = 0; i < sealed.length; i++) {
            byte[] t = sealed.clone();
            t[i] ^= 0x40;
            assertThatThrownBy(() -> Crypto.decrypt(List.of(b), t, null)).isInstanceOf(WireException.class);
        }
        for (int n = 0; n < 29; n++) {
            byte[] shortOne = Arrays.copyOf(sealed, n);
            assertThatThrownBy(() -> Crypto.decrypt(List.of(b), shortOne, null)).isInstanceOf(WireException.class);
        }
    }

    @Test
    void keyringRotatesWithoutDowntime() {
        byte[] k1 = key(32, 1), k2 = key(32, 2);
        Keyring a = Keyring.of(k1), b = Keyring.of(k1);
        Codec.Options oa = new Codec.Options("", a, false, false), ob = new Codec.Options("", b, false, false);
        List<Message> ping = List.of(new Message.Nack(1));
        // install the new key everywhere: still on k1
        a.install(k2);
        b.install(k2);
        assertThat(a.primary()).isEqualTo(k1);
        assertThat(Codec.decodePacket(Codec.encodePacket(ping, oa), ob)).hasSize(1);
        // a switches first: b still reads a (k2 installed), a still reads b (k1 installed)
        a.use(k2);
        assertThat(a.primary()).isEqualTo(k2);
        assertThat(Codec.decodePacket(Codec.encodePacket(ping, oa), ob)).hasSize(1);
        assertThat(Codec.decodePacket(Codec.encodePacket(ping, ob), oa)).hasSize(1);
        b.use(k2);
        // the primary cannot be removed; the old one can
        assertThatThrownBy(() -> a.remove(k2)).isInstanceOf(IllegalArgumentException.class);
        a.remove(k1);
        b.remove(k1);
        assertThat(a.list()).hasSize(1);
        assertThat(a.list().get(0)).isEqualTo(k2);
        assertThat(Codec.decodePacket(Codec.encodePacket(ping, oa), ob)).hasSize(1);
        // a node still on k1 only is now refused
        Codec.Options old = new Codec.Options("", Keyring.of(k1), false, false);
        assertThatThrownBy(() -> Codec.decodePacket(Codec.encodePacket(ping, old), ob)).isInstanceOf(WireException.class);
        // bad keys, using a key not installed
        assertThatThrownBy(() -> a.install(new byte[15])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> a.use(k1)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Keyring.ofBase64("ev/tB9Jhdadbl4C2a5Cx0fXYP3VwXFexA8kQqjU6bAU=").primary()).hasSize(32);
        // install is idempotent, list is primary first and a copy
        a.install(k2);
        assertThat(a.list()).hasSize(1);
        a.list().get(0)[0] = 99;
        assertThat(a.primary()).isEqualTo(k2);
    }
}

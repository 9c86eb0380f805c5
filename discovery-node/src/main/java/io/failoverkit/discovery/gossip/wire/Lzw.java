package io.failoverkit.discovery.gossip.wire;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * LZW as Go's {@code compress/lzw} does it with {@code LSB} bit order and literal width 8 (memberlist's lzwAlgo):
 * codes are packed least significant bit first; 0..255 are literals, 256 clears the table, 257 ends the data, new
 * codes start at 258; the code width starts at 9 bits and grows when the next code to assign reaches 512, 1024, 2048;
 * at 12 bits the encoder emits a clear when its next code would be 4095, and the decoder freezes its table if a
 * stream never clears. The encoder starts with a clear code and ends with the last pending code, the end code and
 * the remaining bits padded to a byte, exactly as Go's Writer.Close. Decoding requires the end code; what follows it
 * is ignored, as in Go.
 */
public final class Lzw {
    private static final int CLEAR = 256;
    private static final int EOF = 257;
    private static final int MAX_WIDTH = 12;
    private static final int MAX_CODE = (1 << MAX_WIDTH) - 1; // 4095
    private static final int INVALID = -1;

    private Lzw() {}

    /** Compresses {@code in} as Go's {@code lzw.NewWriter(w, lzw.LSB, 8)} followed by Close. */
    public static byte[] encode(byte[] in) {
        BitWriter out = new BitWriter(in.length / 2 + 16);
        // table: key (prefix code << 8 | byte) -> code; open addressing over int arrays
        int[] keys = new int[1 << 14];
        int[] vals = new int[1 << 14];
        Arrays.fill(keys, INVALID);
        int width = 9;
        int hi = EOF;
        int overflow = 512;
        out.write(CLEAR, width);
        if (in.length == 0) {
            out.write(EOF, width);
            return out.finish();
        }
        int code = in[0] & 0xff;
        for (int i = 1; i < in.length; i++) {
            int literal = in[i] & 0xff;
            int key = code << 8 | literal;
            int slot = find(keys, key);
            if (keys[slot] == key) {
                code = vals[slot];
                continue;
            }
            out.write(code, width);
            code = literal;
            // the next implied code
            hi++;
            if (hi == overflow) {
                width++;
                overflow <<= 1;
            }
            if (hi == MAX_CODE) {
                out.write(CLEAR, width);
                width = 9;
                hi = EOF;
                overflow = 512;
                Arrays.fill(keys, INVALID);
                continue;
            }
            keys[slot] = key;
            vals[slot] = hi;
        }
        out.write(code, width);
        hi++;
        if (hi == overflow) {
            width++;
            overflow <<= 1;
        }
        if (hi == MAX_CODE) {
            out.write(CLEAR, width);
            width = 9;
        }
        out.write(EOF, width);
        return out.finish();
    }

    private static int find(int[] keys, int key) {
        int mask = keys.length - 1;
        int h = (key * 0x9E3779B1) >>> 18 & mask;
        while (keys[h] != INVALID && keys[h] != key) h = (h + 1) & mask;
        return h;
    }

    /**
     * Decompresses {@code in} as Go's {@code lzw.NewReader(r, lzw.LSB, 8)} read to its end.
     *
     * @param maxOut the largest output accepted; more is a {@link WireException} (a small packet can claim a lot)
     */
    public static byte[] decode(byte[] in, int maxOut) {
        int[] prefix = new int[1 << MAX_WIDTH];
        byte[] suffix = new byte[1 << MAX_WIDTH];
        byte[] scratch = new byte[1 << MAX_WIDTH];
        ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(maxOut, Math.max(64, in.length * 3)));
        int width = 9;
        int hi = EOF;
        int overflow = 512;
        int last = INVALID;
        long bits = 0;
        int nBits = 0;
        int pos = 0;
        while (true) {
            while (nBits < width) {
                if (pos >= in.length) throw new WireException("lzw: data ends before the end code");
                bits |= (long) (in[pos++] & 0xff) << nBits;
                nBits += 8;
            }
            int code = (int) (bits & ((1L << width) - 1));
            bits >>>= width;
            nBits -= width;
            if (code < CLEAR) {
                out.write(code);
                if (last != INVALID) {
                    suffix[hi] = (byte) code;
                    prefix[hi] = last;
                }
            } else if (code == CLEAR) {
                width = 9;
                hi = EOF;
                overflow = 512;
                last = INVALID;
                continue;
            } else if (code == EOF) {
                return out.toByteArray();
            } else if (code <= hi) {
                int c = code;
                int i = scratch.length - 1;
                if (code == hi && last != INVALID) {
                    // the code being defined right now: the last expansion followed by its own first byte
                    c = last;
                    while (c >= CLEAR) c = prefix[c];
                    scratch[i--] = (byte) c;
                    c = last;
                }
                while (c >= CLEAR) {
                    if (i < 0) throw new WireException("lzw: corrupt code chain");
                    scratch[i--] = suffix[c];
                    c = prefix[c];
                }
                if (i < 0) throw new WireException("lzw: corrupt code chain");
                scratch[i] = (byte) c;
                out.write(scratch, i, scratch.length - i);
                if (last != INVALID) {
                    suffix[hi] = (byte) c;
                    prefix[hi] = last;
                }
            } else {
                throw new WireException("lzw: invalid code " + code);
            }
            if (out.size() > maxOut) throw new WireException("lzw: decompresses to more than " + maxOut + " bytes");
            last = code;
            hi++;
            if (hi >= overflow) {
                if (width == MAX_WIDTH) {
                    last = INVALID;
                    hi--;
                } else {
                    width++;
                    overflow = 1 << width;
                }
            }
        }
    }

    private static final class BitWriter {
        private final ByteArrayOutputStream out;
        private long bits;
        private int nBits;

        BitWriter(int size) {
            out = new ByteArrayOutputStream(size);
        }

        void write(int code, int width) {
            bits |= (long) code << nBits;
            nBits += width;
            while (nBits >= 8) {
                out.write((int) (bits & 0xff));
                bits >>>= 8;
                nBits -= 8;
            }
        }

        byte[] finish() {
            if (nBits > 0) out.write((int) (bits & 0xff));
            return out.toByteArray();
        }
    }
}

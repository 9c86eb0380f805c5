package io.failoverkit.discovery.state;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.JsonDeserializer;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.SerializerProvider;

import java.io.IOException;
import java.math.BigInteger;

/**
 * A Go uint64 kept in a Java long (two's complement): written as the unsigned decimal, read back from either spelling.
 * Consul's KV Flags are uint64, and its own lock and semaphore flags use the top bit (the semaphore's is
 * 0xe0f69a2baa414de0), so a stock client must read back exactly the number it wrote.
 */
public final class UnsignedLong {
    private static final BigInteger MAX = BigInteger.ONE.shiftLeft(64).subtract(BigInteger.ONE);

    private UnsignedLong() {}

    /** Parses 0..2^64-1 in decimal; anything else is an IllegalArgumentException. */
    public static long parse(String text) {
        try {
            return Long.parseUnsignedLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("must be an unsigned 64-bit integer, got \"" + text + "\"");
        }
    }

    /** The value of an integral JSON number in 0..2^64-1, or an IllegalArgumentException. */
    public static long of(BigInteger v) {
        if (v.signum() < 0 || v.compareTo(MAX) > 0) throw new IllegalArgumentException("must be an unsigned 64-bit integer, got " + v);
        return v.longValue();
    }

    /** Writes {@code value} as the unsigned decimal (what {@link Serializer} writes). */
    public static void write(long value, JsonGenerator gen) throws IOException {
        if (value >= 0) gen.writeNumber(value);
        else gen.writeNumber(new BigInteger(Long.toUnsignedString(value)));
    }

    public static final class Serializer extends JsonSerializer<Long> {
        @Override
        public void serialize(Long value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            write(value, gen);
        }
    }

    public static final class Deserializer extends JsonDeserializer<Long> {
        @Override
        public Long deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
            if (p.currentToken() != JsonToken.VALUE_NUMBER_INT) return (Long) ctxt.handleUnexpectedToken(Long.class, p);
            BigInteger v = p.getBigIntegerValue();
            // A signed spelling (an older image) is taken as it is; an unsigned one above Long.MAX_VALUE folds back.
            if (v.signum() < 0 && v.bitLength() < 64) return v.longValue();
            try {
                return of(v);
            } catch (IllegalArgumentException e) {
                return (Long) ctxt.handleWeirdNumberValue(Long.class, v, e.getMessage());
            }
        }
    }
}

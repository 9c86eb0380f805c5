package io.failoverkit.discovery.gossip.wire;

/**
 * Bytes that are not a valid gossip message: truncated, malformed, oversized, of the wrong type, failing a checksum or
 * failing decryption. The only exception any decoder in this package throws on bad input; callers drop and count.
 */
public class WireException extends RuntimeException {
    public WireException(String message) {
        super(message);
    }

    public WireException(String message, Throwable cause) {
        super(message, cause);
    }
}

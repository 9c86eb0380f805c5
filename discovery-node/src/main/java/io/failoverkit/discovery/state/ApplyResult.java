package io.failoverkit.discovery.state;

/**
 * What applying a command returned. {@code status} 200 with {@code value} (a boolean for KV, a session id...),
 * or a 4xx with an {@code error} message; a refused command changed nothing.
 */
public record ApplyResult(int status, Object value, String error, long index) {
    public static ApplyResult ok(Object value, long index) { return new ApplyResult(200, value, null, index); }
    public static ApplyResult refused(int status, String error, long index) { return new ApplyResult(status, null, error, index); }
    public boolean isOk() { return status == 200; }
}

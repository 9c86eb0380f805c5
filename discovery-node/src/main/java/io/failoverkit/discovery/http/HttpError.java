package io.failoverkit.discovery.http;

/** A request refused with an HTTP status and a message for the operator; nothing was changed. */
public final class HttpError extends RuntimeException {
    final int status;

    public HttpError(int status, String message) {
        super(message, null, false, false);
        this.status = status;
    }

    public static HttpError badRequest(String message) { return new HttpError(400, message); }
    public static HttpError notFound(String message) { return new HttpError(404, message); }
}

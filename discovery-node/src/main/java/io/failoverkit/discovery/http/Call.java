package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.state.Json;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

/** One HTTP request and its single response; answered once, possibly later (blocking queries), from any thread. */
public final class Call {
    /** Consul's limit on a KV value, and our limit on any request body. */
    public static final int MAX_BODY = 512 * 1024;

    final Request request;
    final Response response;
    final Callback callback;
    public final String method;
    /** The decoded path below /v1/ with its endpoint prefix removed by the router (e.g. the KV key). */
    public final String path;
    private final Fields query;
    private final AtomicBoolean answered = new AtomicBoolean();

    Call(Request request, Response response, Callback callback, String path) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.method = request.getMethod();
        this.path = path;
        this.query = Request.extractQueryParameters(request, StandardCharsets.UTF_8);
    }

    Call withPath(String newPath) {
        return new Call(request, response, callback, newPath);
    }

    public boolean has(String param) { return query.get(param) != null; }

    public String param(String name) {
        Fields.Field f = query.get(name);
        return f == null ? null : f.getValue();
    }

    /** Every non-empty value of a repeated parameter ({@code ?tag=a&tag=b}), in order; empty when absent. */
    public java.util.List<String> params(String name) {
        Fields.Field f = query.get(name);
        return f == null ? java.util.List.of() : f.getValues().stream().filter(v -> v != null && !v.isEmpty()).toList();
    }

    public long longParam(String name, long dflt) {
        String v = param(name);
        if (v == null || v.isEmpty()) return dflt;
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw HttpError.badRequest("query parameter \"" + name + "\" must be an integer, got \"" + v + "\"");
        }
    }

    public String rawQuery() { return request.getHttpURI().getQuery(); }

    /** The request's path as sent (still encoded), with its /v1 prefix: what a forwarded request asks for. */
    public String rawPath() { return request.getHttpURI().getPath(); }

    /** True when another agent forwarded this request here (it must not be forwarded again). */
    public boolean forwarded() { return request.getHeaders().get(Forwarder.FORWARDED_HEADER) != null; }

    /** True when another server forwarded this request here (a client agent's hop does not count). */
    public boolean forwardedByServer() {
        String hop = request.getHeaders().get(Forwarder.FORWARDED_HEADER);
        return hop != null && !hop.equals(Forwarder.FROM_CLIENT_AGENT);
    }

    public String header(String name) { return request.getHeaders().get(name); }

    /** The body, at most {@link #MAX_BODY} bytes (larger: 413, nothing applied). */
    public byte[] body() {
        return body(MAX_BODY);
    }

    /** The body, at most {@code max} bytes (larger: 413, nothing applied). */
    public byte[] body(int max) {
        try (InputStream in = Content.Source.asInputStream(request)) {
            byte[] data = in.readNBytes(max + 1);
            if (data.length > max) throw new HttpError(413, "request body exceeds the " + max + " byte limit");
            return data;
        } catch (IOException e) {
            throw HttpError.badRequest("could not read the request body: " + e.getMessage());
        }
    }

    /** The body as JSON; an empty body is an error unless {@code optional}. */
    public JsonNode jsonBody(boolean optional) {
        byte[] data = body();
        if (data.length == 0 || new String(data, StandardCharsets.UTF_8).isBlank()) {
            if (optional) return null;
            throw HttpError.badRequest("request body must be a JSON object");
        }
        try {
            return Json.MAPPER.readTree(data);
        } catch (IOException e) {
            throw HttpError.badRequest("request body is not valid JSON: " + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
        }
    }

    public void header(String name, String value) { response.getHeaders().put(name, value); }

    public void json(int status, Object body) {
        try {
            byte[] bytes = has("pretty") ? Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsBytes(body) : Json.MAPPER.writeValueAsBytes(body);
            send(status, bytes, "application/json");
        } catch (IOException e) {
            text(500, "could not encode the response: " + e.getMessage());
        }
    }

    public void text(int status, String message) {
        send(status, (message.endsWith("\n") ? message : message + "\n").getBytes(StandardCharsets.UTF_8), "text/plain; charset=utf-8");
    }

    public void send(int status, byte[] bytes, String contentType) {
        if (!answered.compareAndSet(false, true)) return;
        response.setStatus(status);
        if (contentType != null) response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        response.write(true, ByteBuffer.wrap(bytes), callback);
    }

    public boolean answered() { return answered.get(); }
}

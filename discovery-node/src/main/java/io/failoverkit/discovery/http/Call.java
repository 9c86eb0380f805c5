package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.acl.Identity;
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
import java.util.function.IntConsumer;

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
    /** The longest token taken from a request (Consul's are 36-character UUIDs); longer ones are refused with 400. */
    static final int MAX_TOKEN_CHARS = 256;

    private final Fields query;
    /** What every view of this request (see {@link #withPath}) shares: answered once, body read once, one identity. */
    private final Shared shared;

    private static final class Shared {
        final AtomicBoolean answered = new AtomicBoolean();
        byte[] body;
        volatile Identity identity = Identity.ACL_DISABLED;
        volatile IntConsumer onAnswer;
        /** The request carried no token (Consul then never says that results were filtered: it would tell too much). */
        volatile boolean tokenless;
        /** The request's body was read whole ({@link #body}). */
        volatile boolean bodyRead;
        /** Its answer is never shared with another request (see {@link #notShared}). */
        volatile boolean notShared;
    }

    /**
     * Marks this request's answer as its own: never taken from, nor kept for, another request's (SharedAnswers). For
     * routes whose answer depends on more than the state, the request and who asks: the ACL routes read the clock
     * (a token expires without a change of state) and the token secret itself (token/self).
     */
    void notShared() { shared.notShared = true; }

    boolean shareable() { return !shared.notShared; }

    /**
     * A render being recorded on this thread for other callers ({@link #record}): the headers it set on its request,
     * then the answer it sent, if this thread's answer is the one the request got. On the thread, not the request:
     * a blocking query's timer and its wake may both answer one request, and only the winner's answer is recorded.
     */
    static final class Recording {
        private final Shared owner;
        private final java.util.List<java.util.Map.Entry<String, String>> headers = new java.util.ArrayList<>();
        private SharedAnswers.Answer answer;

        private Recording(Shared owner) { this.owner = owner; }

        /** The answer this thread sent for the request, or null. */
        SharedAnswers.Answer answer() { return answer; }
    }

    private static final ThreadLocal<Recording> RECORDING = new ThreadLocal<>();

    Call(Request request, Response response, Callback callback, String path) {
        this(request, response, callback, path, Request.extractQueryParameters(request, StandardCharsets.UTF_8), new Shared());
    }

    private Call(Request request, Response response, Callback callback, String path, Fields query, Shared shared) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.method = request.getMethod();
        this.path = path;
        this.query = query;
        this.shared = shared;
    }

    Call withPath(String newPath) {
        return new Call(request, response, callback, newPath, query, shared);
    }

    /** Who this request runs as (resolved once, before the route runs; {@link Identity#ACL_DISABLED} when ACLs are off). */
    public Identity identity() { return shared.identity; }

    void identity(Identity identity, boolean tokenless) {
        shared.identity = identity;
        shared.tokenless = tokenless;
    }

    /** Called once with the status when the answer is sent (the audit log). */
    void onAnswer(IntConsumer listener) { shared.onAnswer = listener; }

    /**
     * The token secret the request carries, as Consul reads it: ?token=, then X-Consul-Token, then
     * {@code Authorization: Bearer <token>} (another scheme, e.g. a proxy's Basic, is not a token and is ignored).
     * Null when there is none. A malformed one (empty Bearer, control characters, oversized) is a 400.
     */
    String token() {
        String t = param("token");
        String from = "?token";
        if (t == null || t.isEmpty()) {
            t = header("X-Consul-Token");
            from = "X-Consul-Token";
        }
        if (t == null || t.isEmpty()) {
            t = bearer(header("Authorization"));
            from = "Authorization";
        }
        // A request another agent passed on without a token is anonymous: the first hop already added its own default
        // token when it had one, so this server's default token must not stand in (it would widen the caller's view).
        if (t == null || t.isEmpty()) return forwarded() ? io.failoverkit.discovery.acl.StoreTokenResolver.ANONYMOUS_SECRET : null;
        if (t.length() > MAX_TOKEN_CHARS) throw HttpError.badRequest("the token in " + from + " is longer than " + MAX_TOKEN_CHARS + " characters");
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c < 0x21 || c == 0x7f) throw HttpError.badRequest("the token in " + from + " contains a space or control character");
        }
        return t;
    }

    /** True when the request itself carries a token (?token=, X-Consul-Token or Authorization: Bearer). */
    boolean carriesToken() {
        String q = param("token");
        if (q != null && !q.isEmpty()) return true;
        String h = header("X-Consul-Token");
        if (h != null && !h.isEmpty()) return true;
        String a = header("Authorization");
        return a != null && a.strip().regionMatches(true, 0, "Bearer ", 0, 7);
    }

    private static String bearer(String authorization) {
        if (authorization == null || authorization.isBlank()) return null;
        String a = authorization.strip();
        int sp = a.indexOf(' ');
        String scheme = sp < 0 ? a : a.substring(0, sp);
        if (!scheme.equalsIgnoreCase("Bearer")) return null;
        String value = sp < 0 ? "" : a.substring(sp + 1).strip();
        if (value.isEmpty()) throw HttpError.badRequest("the Authorization header says Bearer but carries no token");
        int end = value.indexOf(' ');
        return end < 0 ? value : value.substring(0, end);
    }

    /** The address the request came from (for the audit log). */
    String remoteAddress() {
        var a = request.getConnectionMetaData().getRemoteSocketAddress();
        return a instanceof java.net.InetSocketAddress i ? i.getAddress().getHostAddress() + ":" + i.getPort() : String.valueOf(a);
    }

    /**
     * {@code items} without those the request's token may not read; says so in X-Consul-Results-Filtered-By-ACLs when
     * anything was removed, as Consul does.
     */
    <T> java.util.List<T> visible(java.util.List<T> items, java.util.function.Predicate<T> mayRead) {
        if (items == null || shared.identity.authorizer() == io.failoverkit.discovery.acl.Authorizer.ALLOW_ALL) return items;
        java.util.List<T> out = items.stream().filter(mayRead).toList();
        if (out.size() != items.size()) filtered();
        return out;
    }

    /**
     * Marks the answer as filtered by ACLs, unless the request carried no token: as Consul (maskResultsFilteredByACLs),
     * an unauthenticated caller is not told that there is more than it sees.
     */
    void filtered() {
        if (!shared.tokenless) header(Permissions.FILTERED_HEADER, "true");
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
        // Read once and kept: the permission check may need it (the names a registration or transaction touches).
        synchronized (shared) {
            if (shared.body != null) {
                if (shared.body.length > max) throw new HttpError(413, "request body exceeds the " + max + " byte limit");
                return shared.body;
            }
            try (InputStream in = Content.Source.asInputStream(request)) {
                long declared = request.getLength();
                byte[] data;
                if (declared >= 0 && declared <= max) {
                    // The usual case (a Content-Length): one array of the body's size. readNBytes(int) would allocate
                    // 16 KB chunks and copy them into the result, for every request (a fifth of the leader's
                    // allocation under KV PUT load, JFR).
                    data = new byte[(int) declared];
                    int n = in.readNBytes(data, 0, data.length);
                    if (n < data.length) data = java.util.Arrays.copyOf(data, n);
                } else {
                    data = in.readNBytes(max + 1);
                }
                if (data.length > max) throw new HttpError(413, "request body exceeds the " + max + " byte limit");
                shared.body = data;
                shared.bodyRead = true;
                return data;
            } catch (IOException e) {
                throw HttpError.badRequest("could not read the request body: " + e.getMessage());
            }
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

    public void header(String name, String value) {
        // Once answered, the response's headers are its connection's, and may already be the next request's.
        if (shared.answered.get()) return;
        response.getHeaders().put(name, value);
        Recording r = RECORDING.get();
        if (r != null && r.owner == shared) r.headers.add(java.util.Map.entry(name, value));
    }

    /**
     * Until {@link #stopRecording}, the headers this thread sets on this request and the answer it sends are
     * recorded as well, to be handed to other callers.
     */
    Recording record() {
        Recording r = new Recording(shared);
        RECORDING.set(r);
        return r;
    }

    static void stopRecording() {
        RECORDING.remove();
    }

    /** Answers with an answer another call recorded (its headers, status, body and content type). */
    void replay(SharedAnswers.Answer a) {
        write(a.status(), ByteBuffer.wrap(a.body()).asReadOnlyBuffer(), a.contentType(), a.headers());
    }

    /**
     * The request as far as it shapes a read's answer: method, path and every query parameter (sorted, with all
     * its values) but a blocking query's own {@code index} and {@code wait}; who it runs as and whether it carried a
     * token (see {@link SharedAnswers}).
     */
    SharedAnswers.Key shareKey(long stateVersion) {
        java.util.TreeMap<String, java.util.List<String>> params = new java.util.TreeMap<>();
        for (Fields.Field f : query) {
            // ?token is not kept (a secret, held here until the state moves): who asks is in the key as the identity.
            if (!f.getName().equals("index") && !f.getName().equals("wait") && !f.getName().equals("token")) params.put(f.getName(), java.util.Collections.unmodifiableList(new java.util.ArrayList<>(f.getValues())));
        }
        return new SharedAnswers.Key(stateVersion, method, rawPath(), java.util.Collections.unmodifiableMap(params), shared.identity, shared.tokenless);
    }

    private static final byte[] TRUE = "true".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] FALSE = "false".getBytes(StandardCharsets.US_ASCII);

    public void json(int status, Object body) {
        // A KV write's, a session renewal's answer: no encoder needed.
        if (body instanceof Boolean b) {
            send(status, b ? TRUE.clone() : FALSE.clone(), "application/json");
            return;
        }
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
        if (!write(status, ByteBuffer.wrap(bytes), contentType, java.util.List.of())) return;
        Recording r = RECORDING.get();
        if (r != null && r.owner == shared && r.answer == null) {
            r.answer = new SharedAnswers.Answer(status, java.util.List.copyOf(r.headers), bytes, contentType);
        }
    }

    /** Sends the answer (with {@code headers} besides those set) unless the request was answered already; true when this was its answer. */
    private boolean write(int status, ByteBuffer bytes, String contentType, java.util.List<java.util.Map.Entry<String, String>> headers) {
        if (!shared.answered.compareAndSet(false, true)) return false;
        for (java.util.Map.Entry<String, String> h : headers) response.getHeaders().put(h.getKey(), h.getValue());
        IntConsumer listener = shared.onAnswer;
        if (listener != null) listener.accept(status);
        response.setStatus(status);
        if (contentType != null) response.getHeaders().put(HttpHeader.CONTENT_TYPE, contentType);
        if (!shared.bodyRead && hasBody()) {
            // A body left unread (the answer was decided before it was needed: a 400 on a query parameter, a 403, a
            // 413) may not have all arrived when the answer ends; Jetty then closes the connection after an answer
            // that did not say so, and a client that already put the connection back in its pool sends its next
            // request there and gets no answer at all ("HTTP/1.1 header parser received no bytes" on a PUT right
            // after a refused one: ApiContractTest.kvCasRules in a CI run, the JDK client writing the body after the
            // head). Said in the answer, the client opens a new connection (as Go's server, Consul's, does for a body
            // it does not drain). A body that had arrived would have been drained; one reconnect after a refusal is
            // the price.
            response.getHeaders().put(HttpHeader.CONNECTION, "close");
        }
        response.write(true, bytes, callback);
        return true;
    }

    /** True when the request carries a body (a length above zero, or chunked). */
    private boolean hasBody() {
        long length = request.getLength();
        return length > 0 || (length < 0 && request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING));
    }

    public boolean answered() { return shared.answered.get(); }
}

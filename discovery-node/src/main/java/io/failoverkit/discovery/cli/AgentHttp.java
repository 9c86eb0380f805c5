package io.failoverkit.discovery.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.tls.ClientTls;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * How a CLI command talks to the agent's HTTP API, as Consul's commands do.
 *
 * <p>Use it as a picocli mixin: {@code @CommandLine.Mixin AgentHttp http;} gives the command {@code -http-addr} and
 * {@code -token-file}. The address comes from {@code -http-addr} (HOST:PORT or http://HOST:PORT), else
 * {@code $CONSUL_HTTP_ADDR}, else 127.0.0.1:8500. The ACL token comes from {@code $CONSUL_HTTP_TOKEN}, else from the file
 * named by {@code -token-file} or {@code $CONSUL_HTTP_TOKEN_FILE}; it is sent as {@code X-Consul-Token}. A token is never
 * taken from argv (every local user can read a process's argv): {@code -token} is refused with a usage error that says
 * what to use instead. The token is never printed or logged.
 *
 * <p>TLS as Consul's CLI: an https:// address, or {@code CONSUL_HTTP_SSL=true} with a bare HOST:PORT, speaks HTTPS; the
 * server is verified against {@code CONSUL_CACERT} (else the JDK's CAs) and must name {@code CONSUL_TLS_SERVER_NAME}
 * (else the host dialled); {@code CONSUL_CLIENT_CERT} and {@code CONSUL_CLIENT_KEY} give the client certificate an
 * agent with verify_incoming asks for; {@code CONSUL_HTTP_SSL_VERIFY=false} turns verification off. See {@link ClientTls}.
 *
 * <p>Errors: {@link #call} throws {@link Failure} on a transport error or a non-2xx answer, with Consul's wording
 * ("Error reading key: Unexpected response code: 500 (reason)"). {@code Main.commandLine()} prints a Failure's message on
 * stderr and exits 1, so a command just lets it propagate. Usage errors are picocli ParameterExceptions (exit 64):
 * {@link #usage(String)} makes one for the command the mixin is in.
 *
 * <p>Outside picocli (a test, another tool), {@link #to(String)} builds one for a fixed address.
 */
public final class AgentHttp {
    public static final String DEFAULT_ADDR = "127.0.0.1:8500";

    @Spec(Spec.Target.MIXEE) CommandSpec mixee;

    @Option(names = "-http-addr", paramLabel = "ADDR",
            description = "The agent's HTTP address, HOST:PORT or http://HOST:PORT (default $CONSUL_HTTP_ADDR, else " + DEFAULT_ADDR + ").")
    String httpAddr;

    @Option(names = "-token-file", paramLabel = "FILE",
            description = "A file holding the ACL token (default $CONSUL_HTTP_TOKEN_FILE). $CONSUL_HTTP_TOKEN takes precedence. A token is never accepted on the command line.")
    Path tokenFile;

    /** Refused, with the reason: a token in argv is visible to every user of the machine. */
    @Option(names = "-token", paramLabel = "TOKEN", hidden = true)
    void refuseToken(String ignored) {
        throw usage("-token is not accepted: a token on the command line is visible to every local user (ps);"
                + " set CONSUL_HTTP_TOKEN or use -token-file FILE");
    }

    /** Where the environment comes from; tests in the same JVM may replace it. */
    static volatile Map<String, String> environment = System.getenv();

    private URI base;
    private String token;
    private HttpClient client;

    /** A client for a fixed address (HOST:PORT or http://HOST:PORT), token from the environment. */
    public static AgentHttp to(String addr) {
        AgentHttp h = new AgentHttp();
        h.httpAddr = addr;
        return h;
    }

    /** An answer: status, body, and X-Consul-Index (0 when absent). */
    public record Response(int status, String body, long index) {
        public boolean ok() {
            return status >= 200 && status < 300;
        }

        public JsonNode json() throws IOException {
            return Json.MAPPER.readTree(body.isBlank() ? "null" : body);
        }
    }

    /** An operational error: its message ("Error doing X: reason") is printed on stderr and the command exits 1. */
    public static final class Failure extends RuntimeException {
        public Failure(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The base URI: the flag, else {@code CONSUL_HTTP_ADDR}, else the default; a bare HOST:PORT gets http://.
     * @throws IllegalArgumentException when it is not an http(s) address
     */
    public static URI resolveAddress(String flag, Map<String, String> env) {
        String a = flag != null && !flag.isBlank() ? flag.strip() : env.getOrDefault("CONSUL_HTTP_ADDR", "").strip();
        if (a.isEmpty()) a = DEFAULT_ADDR;
        if (!a.contains("://")) a = (ClientTls.sslRequested(env) ? "https://" : "http://") + a;
        URI u;
        try {
            u = URI.create(a);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad HTTP address \"" + a + "\": " + e.getMessage());
        }
        if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
            throw new IllegalArgumentException("bad HTTP address \"" + a + "\": only http:// and https:// are supported");
        }
        if (u.getHost() == null) throw new IllegalArgumentException("bad HTTP address \"" + a + "\": no host");
        if (u.getRawPath() != null && !u.getRawPath().isEmpty() && !u.getRawPath().equals("/")) {
            throw new IllegalArgumentException("bad HTTP address \"" + a + "\": no path expected");
        }
        return URI.create(u.getScheme() + "://" + u.getRawAuthority());
    }

    /** The token: {@code CONSUL_HTTP_TOKEN}, else the file's first line ({@code fileFlag}, else {@code CONSUL_HTTP_TOKEN_FILE}); null when none. */
    static String resolveToken(Path fileFlag, Map<String, String> env) {
        String t = env.get("CONSUL_HTTP_TOKEN");
        if (t != null && !t.isBlank()) return t.strip();
        Path f = fileFlag;
        if (f == null && env.get("CONSUL_HTTP_TOKEN_FILE") != null && !env.get("CONSUL_HTTP_TOKEN_FILE").isBlank()) {
            f = Path.of(env.get("CONSUL_HTTP_TOKEN_FILE").strip());
        }
        if (f == null) return null;
        try {
            String s = Files.readString(f).strip();
            return s.isEmpty() ? null : s;
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the token file " + f + ": " + e.getMessage());
        }
    }

    /** The agent's base URI (http://host:port). A bad address is a usage error. */
    public synchronized URI base() {
        if (base == null) {
            try {
                base = resolveAddress(httpAddr, environment);
                token = resolveToken(tokenFile, environment);
            } catch (IllegalArgumentException e) {
                throw usage(e.getMessage());
            }
            HttpClient.Builder cb = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10));
            if ("https".equals(base.getScheme())) {
                try {
                    cb.sslContext(ClientTls.context(environment));
                } catch (IOException | IllegalArgumentException e) {
                    throw usage("TLS settings: " + e.getMessage());
                }
            }
            client = cb.build();
        }
        return base;
    }

    /** One request; transport errors propagate as IOException. {@code timeout} bounds the whole exchange. */
    public Response send(String method, String pathAndQuery, byte[] body, Duration timeout) throws IOException, InterruptedException {
        HttpResponse<String> r = exchange(method, pathAndQuery,
                body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body),
                HttpResponse.BodyHandlers.ofString(), timeout);
        return new Response(r.statusCode(), r.body(), index(r));
    }

    /**
     * One request whose answer goes to the caller's body handler (a file, bytes): the address, the token and the retry of
     * a stale pooled connection are {@link #send}'s. Transport errors propagate; {@link #transportFailure} words them.
     */
    public <T> HttpResponse<T> exchange(String method, String pathAndQuery, HttpRequest.BodyPublisher body,
                                        HttpResponse.BodyHandler<T> handler, Duration timeout) throws IOException, InterruptedException {
        URI b = base();
        HttpRequest.Builder rb = HttpRequest.newBuilder(URI.create(b + pathAndQuery)).timeout(timeout).method(method, body);
        if (token != null) rb.header("X-Consul-Token", token);
        HttpRequest req = rb.build();
        try {
            return client.send(req, handler);
        } catch (IOException e) {
            // A pooled keep-alive connection the other side had already closed: the request got no answer at all, and
            // the JDK does not retry it. Once more, on a new connection.
            if (!String.valueOf(e.getMessage()).contains("received no bytes") && !(e instanceof java.io.EOFException)) throw e;
            return client.send(req, handler);
        }
    }

    /** An answer's X-Consul-Index, 0 when absent or not a number. */
    public static long index(HttpResponse<?> r) {
        try {
            return Long.parseUnsignedLong(r.headers().firstValue("X-Consul-Index").orElse("0").strip());
        } catch (NumberFormatException e) {
            return 0; // not a blocking endpoint
        }
    }

    /** {@link #send} with a 30 s timeout. */
    public Response send(String method, String pathAndQuery, byte[] body) throws IOException, InterruptedException {
        return send(method, pathAndQuery, body, Duration.ofSeconds(30));
    }

    /**
     * One request that must succeed: a transport error or a non-2xx answer throws {@link Failure} with message
     * "Error {what}: reason". {@code what} reads as Consul's, e.g. "retrieving members", "acquiring lock".
     */
    public Response call(String what, String method, String pathAndQuery, byte[] body, Duration timeout) {
        Response r;
        try {
            r = send(method, pathAndQuery, body, timeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failure("Error " + what + ": interrupted");
        } catch (IOException e) {
            throw transportFailure(what, method, pathAndQuery, e);
        }
        if (!r.ok()) throw new Failure("Error " + what + ": " + statusReason(r));
        return r;
    }

    public Response call(String what, String method, String pathAndQuery, byte[] body) {
        return call(what, method, pathAndQuery, body, Duration.ofSeconds(30));
    }

    public Response call(String what, String method, String pathAndQuery) {
        return call(what, method, pathAndQuery, null);
    }

    /** GET that must answer 2xx, parsed as JSON. */
    public JsonNode getJson(String what, String pathAndQuery) {
        Response r = call(what, "GET", pathAndQuery);
        try {
            return r.json();
        } catch (IOException e) {
            throw new Failure("Error " + what + ": the agent's answer is not JSON: " + e.getMessage());
        }
    }

    /** Consul's wording for an HTTP error: "Unexpected response code: 403 (body)". */
    public static String statusReason(Response r) {
        return statusReason(r.status(), r.body());
    }

    /** Consul's wording for an HTTP error: "Unexpected response code: 403 (body)". */
    public static String statusReason(int status, String body) {
        String b = body == null ? "" : body.strip();
        return "Unexpected response code: " + status + (b.isEmpty() ? "" : " (" + b + ")");
    }

    /** The Failure for a transport error: "Error {what}: METHOD http://host:port/path: connection refused (...)". */
    public Failure transportFailure(String what, String method, String pathAndQuery, IOException e) {
        return new Failure("Error " + what + ": " + transportReason(method, pathAndQuery, e));
    }

    private String transportReason(String method, String pathAndQuery, IOException e) {
        String m = e.getMessage();
        if (e instanceof java.net.ConnectException) m = "connection refused" + (m == null || m.isBlank() ? "" : " (" + m + ")");
        else if (e instanceof java.net.http.HttpTimeoutException) m = "request timed out";
        else if (m == null || m.isBlank()) m = e.getClass().getSimpleName();
        String path = pathAndQuery.contains("?") ? pathAndQuery.substring(0, pathAndQuery.indexOf('?')) : pathAndQuery;
        return method + " " + base + path + ": " + m;
    }

    /** A usage error (exit 64, with the usage) for the command this mixin belongs to. */
    public CommandLine.ParameterException usage(String message) {
        if (mixee == null) throw new IllegalArgumentException(message);
        return new CommandLine.ParameterException(mixee.commandLine(), message);
    }

    /** The command's stderr (the CommandLine's err writer; System.err outside picocli). */
    public PrintWriter err() {
        return mixee != null ? mixee.commandLine().getErr() : new PrintWriter(System.err, true);
    }

    /** The command's stdout (the CommandLine's out writer; System.out outside picocli). */
    public PrintWriter out() {
        return mixee != null ? mixee.commandLine().getOut() : new PrintWriter(System.out, true);
    }

    /** A path segment, percent-encoded (a space is %20, a slash is kept only when {@code keepSlash}). */
    public static String encode(String segment, boolean keepSlash) {
        String e = URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
        return keepSlash ? e.replace("%2F", "/") : e;
    }

    /** A query parameter value, percent-encoded. */
    public static String q(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    /**
     * Installs the exit codes on a command line: a {@link Failure}'s message on stderr and exit 1; any other exception
     * from a command keeps picocli's default (stack trace, exit 1). Main.commandLine() calls it.
     */
    public static CommandLine installErrorHandling(CommandLine cl) {
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof Failure) {
                cmd.getErr().println(ex.getMessage());
                cmd.getErr().flush();
                return 1;
            }
            throw ex;
        });
        return cl;
    }
}

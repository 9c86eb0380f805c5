package io.failoverkit.discovery.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The web UI (issue 15) at {@code /ui/}: a page of plain JavaScript modules built into the jar (resources under
 * {@code ui/}), nothing loaded from elsewhere (the Content-Security-Policy says so to the browser too). Assets live
 * under {@code /ui/assets/}; every other path under {@code /ui/} is a route of the page ({@code /ui/clusters/x},
 * {@code /ui/kv/a/b}) and gets its index, so a deep link loads directly. The page reads everything through this
 * agent's /v1 API with the visitor's token, so it shows what that token may read and nothing else.
 */
final class UiEndpoint {
    private static final Pattern ASSET = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Map<String, String> TYPES = Map.of(
            "js", "text/javascript; charset=utf-8", "css", "text/css; charset=utf-8", "html", "text/html; charset=utf-8",
            "svg", "image/svg+xml", "json", "application/json", "png", "image/png", "ico", "image/x-icon");
    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"
            + " base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    private static final Map<String, Optional<byte[]>> CACHE = new ConcurrentHashMap<>();

    private UiEndpoint() {}

    /** True when this endpoint serves {@code path}. */
    static boolean serves(String path) {
        return path.equals("/ui") || path.startsWith("/ui/");
    }

    static void handle(Call call, String path) {
        if (!call.method.equals("GET") && !call.method.equals("HEAD")) {
            call.header("Allow", "GET, HEAD");
            throw new HttpError(405, "method " + call.method + " not allowed on the web UI");
        }
        if (path.equals("/ui")) {
            call.header("Location", "/ui/");
            call.send(301, new byte[0], null);
            return;
        }
        String rest = path.substring("/ui/".length());
        String resource;
        if (rest.startsWith("assets/")) {
            String name = rest.substring("assets/".length());
            if (!ASSET.matcher(name).matches()) throw HttpError.notFound("no such UI asset: " + name);
            resource = "ui/assets/" + name;
        } else {
            resource = "ui/index.html";
        }
        byte[] bytes = load(resource).orElseThrow(() -> HttpError.notFound("no such UI asset: " + rest));
        String ext = resource.substring(resource.lastIndexOf('.') + 1);
        call.header("Cache-Control", "no-cache");
        call.header("X-Content-Type-Options", "nosniff");
        call.header("Referrer-Policy", "no-referrer");
        call.header("Content-Security-Policy", CSP);
        call.send(200, call.method.equals("HEAD") ? new byte[0] : bytes, TYPES.getOrDefault(ext, "application/octet-stream"));
    }

    private static Optional<byte[]> load(String resource) {
        return CACHE.computeIfAbsent(resource, r -> {
            try (InputStream in = UiEndpoint.class.getClassLoader().getResourceAsStream(r)) {
                return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}

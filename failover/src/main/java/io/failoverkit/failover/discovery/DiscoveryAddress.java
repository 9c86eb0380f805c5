package io.failoverkit.failover.discovery;

import java.util.Map;

/**
 * Where the failover commands find the discovery node, as Consul's own tools do: {@code --discovery} when given, else
 * {@code CONSUL_HTTP_ADDR} ({@code host:port} or {@code http[s]://host:port}), else 127.0.0.1:8500; and the token
 * {@code CONSUL_HTTP_TOKEN}, else the first line of a token file ({@code --token-file}, else
 * {@code CONSUL_HTTP_TOKEN_FILE}), the same order as discovery-node's commands. {@link DiscoveryClient} sends it as
 * {@code X-Consul-Token}. Never from a command line (every local user can read argv), never logged. TLS (https://,
 * CONSUL_HTTP_SSL, CONSUL_CACERT, CONSUL_CLIENT_CERT / CONSUL_CLIENT_KEY, ...): {@link DiscoveryTls}.
 */
public final class DiscoveryAddress {
    public static final String DEFAULT = "127.0.0.1:8500";
    public static final String ADDR_ENV = "CONSUL_HTTP_ADDR";
    public static final String TOKEN_ENV = "CONSUL_HTTP_TOKEN";
    public static final String TOKEN_FILE_ENV = "CONSUL_HTTP_TOKEN_FILE";

    private DiscoveryAddress() {}

    /** The default of every {@code --discovery}: {@code CONSUL_HTTP_ADDR} when set and not blank, else {@link #DEFAULT}. */
    public static String fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    static String fromEnvironment(Map<String, String> env) {
        String v = env.get(ADDR_ENV);
        return v == null || v.isBlank() ? DEFAULT : v.strip();
    }

    /** The token to send, from {@code CONSUL_HTTP_TOKEN} or {@code CONSUL_HTTP_TOKEN_FILE}; null when neither gives one. */
    public static String tokenFromEnvironment() {
        return tokenFromEnvironment(System.getenv());
    }

    static String tokenFromEnvironment(Map<String, String> env) {
        return token(null, env);
    }

    /**
     * The token: {@code CONSUL_HTTP_TOKEN} when set, else the first line of {@code file} (a --token-file), else of the
     * file {@code CONSUL_HTTP_TOKEN_FILE} names; null when none gives one.
     * @throws IllegalArgumentException when the token file cannot be read (the message names the file, not its content)
     */
    public static String token(java.nio.file.Path file, Map<String, String> env) {
        String v = env.get(TOKEN_ENV);
        if (v != null && !v.isBlank()) return v.strip();
        java.nio.file.Path f = file;
        String fromEnv = env.get(TOKEN_FILE_ENV);
        if (f == null && fromEnv != null && !fromEnv.isBlank()) f = java.nio.file.Path.of(fromEnv.strip());
        if (f == null) return null;
        try {
            String text = java.nio.file.Files.readString(f, java.nio.charset.StandardCharsets.UTF_8);
            String line = text.lines().findFirst().orElse("").strip();
            return line.isEmpty() ? null : line;
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            String why = e instanceof java.nio.file.NoSuchFileException ? "no such file"
                    : e instanceof java.nio.file.AccessDeniedException ? "permission denied" : e.getMessage();
            throw new IllegalArgumentException("cannot read the token file " + f + ": " + why);
        }
    }

    /**
     * The base URL for an address given as {@code host:port} or {@code http[s]://host:port[/]}. Anything else (a unix
     * socket, a path, another scheme) is refused with the reason, for the caller's usage error. A bare host:port is
     * http://; see {@link DiscoveryTls#baseUrl} for CONSUL_HTTP_SSL.
     */
    public static String baseUrl(String address) {
        return baseUrl(address, false);
    }

    /** As {@link #baseUrl(String)}; a bare host:port is https:// when {@code httpsWhenBare} (Consul's CONSUL_HTTP_SSL=true). */
    public static String baseUrl(String address, boolean httpsWhenBare) {
        String a = address.strip();
        while (a.endsWith("/")) a = a.substring(0, a.length() - 1);
        String rest;
        if (a.startsWith("http://") || a.startsWith("https://")) {
            rest = a.substring(a.indexOf("://") + 3);
        } else if (a.contains("://")) {
            throw new IllegalArgumentException("unsupported discovery address " + address + " (use host:port or http://host:port)");
        } else {
            rest = a;
            a = (httpsWhenBare ? "https://" : "http://") + a;
        }
        if (rest.isEmpty() || rest.contains("/")) {
            throw new IllegalArgumentException("bad discovery address " + address + " (use host:port or http://host:port)");
        }
        return a;
    }
}

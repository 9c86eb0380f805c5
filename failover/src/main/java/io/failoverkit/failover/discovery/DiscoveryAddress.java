package io.failoverkit.failover.discovery;

import java.util.Map;

/**
 * Where the failover commands find the discovery node, as Consul's own tools do: {@code --discovery} when given, else
 * {@code CONSUL_HTTP_ADDR} ({@code host:port} or {@code http[s]://host:port}), else 127.0.0.1:8500; and the token
 * {@code CONSUL_HTTP_TOKEN}, which {@link DiscoveryClient} sends as {@code X-Consul-Token} (never on a command line, never
 * logged).
 */
public final class DiscoveryAddress {
    public static final String DEFAULT = "127.0.0.1:8500";
    public static final String ADDR_ENV = "CONSUL_HTTP_ADDR";
    public static final String TOKEN_ENV = "CONSUL_HTTP_TOKEN";

    private DiscoveryAddress() {}

    /** The default of every {@code --discovery}: {@code CONSUL_HTTP_ADDR} when set and not blank, else {@link #DEFAULT}. */
    public static String fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    static String fromEnvironment(Map<String, String> env) {
        String v = env.get(ADDR_ENV);
        return v == null || v.isBlank() ? DEFAULT : v.strip();
    }

    /** The token to send, from {@code CONSUL_HTTP_TOKEN}; null when unset or blank. */
    public static String tokenFromEnvironment() {
        return tokenFromEnvironment(System.getenv());
    }

    static String tokenFromEnvironment(Map<String, String> env) {
        String v = env.get(TOKEN_ENV);
        return v == null || v.isBlank() ? null : v.strip();
    }

    /**
     * The base URL for an address given as {@code host:port} or {@code http[s]://host:port[/]}. Anything else (a unix
     * socket, a path, another scheme) is refused with the reason, for the caller's usage error.
     */
    public static String baseUrl(String address) {
        String a = address.strip();
        while (a.endsWith("/")) a = a.substring(0, a.length() - 1);
        String rest;
        if (a.startsWith("http://") || a.startsWith("https://")) {
            rest = a.substring(a.indexOf("://") + 3);
        } else if (a.contains("://")) {
            throw new IllegalArgumentException("unsupported discovery address " + address + " (use host:port or http://host:port)");
        } else {
            rest = a;
            a = "http://" + a;
        }
        if (rest.isEmpty() || rest.contains("/")) {
            throw new IllegalArgumentException("bad discovery address " + address + " (use host:port or http://host:port)");
        }
        return a;
    }
}

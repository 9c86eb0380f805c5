package io.failoverkit.failover.discovery;

import io.failoverkit.tls.ClientTls;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.net.http.HttpClient;
import java.util.Map;

/**
 * How failover speaks HTTPS to the discovery node: Consul's environment variables, read as Consul's tools and
 * discovery-node's commands read them ({@link ClientTls}, the same code). An https:// address, or a bare host:port
 * with {@code CONSUL_HTTP_SSL=true}, is HTTPS; the node's certificate must be signed by {@code CONSUL_CACERT} (else a
 * CA the JDK trusts) and name the host dialled (or {@code CONSUL_TLS_SERVER_NAME}); {@code CONSUL_CLIENT_CERT} and
 * {@code CONSUL_CLIENT_KEY} (files: the key is never read from argv or the environment itself) are the client
 * certificate a node with verify_incoming asks for; {@code CONSUL_HTTP_SSL_VERIFY=false} turns the check off.
 * The files are read once, on the first https use, and kept for this instance's life.
 */
public final class DiscoveryTls {
    private final Map<String, String> env;
    private SSLContext context;

    private DiscoveryTls(Map<String, String> env) {
        this.env = env;
    }

    /** From this process's environment. */
    public static DiscoveryTls fromEnvironment() {
        return new DiscoveryTls(System.getenv());
    }

    /** From the given variables (a test, a child process's environment). */
    public static DiscoveryTls of(Map<String, String> env) {
        return new DiscoveryTls(Map.copyOf(env));
    }

    /** None of the variables: a bare host:port is http, https trusts the JDK's CAs. For the drills' own loopback nodes. */
    public static DiscoveryTls none() {
        return new DiscoveryTls(Map.of());
    }

    /** The base URL of {@code address}: host:port is https:// with CONSUL_HTTP_SSL=true, else http://. See {@link DiscoveryAddress#baseUrl(String, boolean)}. */
    public String baseUrl(String address) {
        return DiscoveryAddress.baseUrl(address, ClientTls.sslRequested(env));
    }

    /**
     * The SSL context the variables describe (its files read on the first call).
     * @throws IllegalArgumentException "TLS settings: ..." when they are inconsistent (a client certificate without its
     *     key) or a file cannot be read: for the caller's usage error (exit 64), before anything is done
     */
    public synchronized SSLContext context() {
        if (context == null) {
            try {
                context = ClientTls.context(env);
            } catch (IOException | IllegalArgumentException e) {
                throw new IllegalArgumentException("TLS settings: " + e.getMessage(), e);
            }
        }
        return context;
    }

    /** Reads the settings now when {@code baseUrl} is https, so that a bad one is refused before anything is done. */
    public void check(String baseUrl) {
        if (baseUrl.startsWith("https://")) context();
    }

    /** An HTTP client builder for {@code baseUrl}: with the SSL context when it is https. */
    public HttpClient.Builder builder(String baseUrl) {
        HttpClient.Builder b = HttpClient.newBuilder();
        if (baseUrl.startsWith("https://")) b.sslContext(context());
        return b;
    }

    /**
     * A TLS failure in words that name the variable to set ("... is not trusted ...: set CONSUL_CACERT ..."), or null
     * when {@code e} is not one.
     */
    public static String explain(Throwable e) {
        return ClientTls.explain(e, "the discovery node");
    }
}

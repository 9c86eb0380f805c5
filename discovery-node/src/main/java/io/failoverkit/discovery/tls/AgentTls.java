package io.failoverkit.discovery.tls;

import io.failoverkit.discovery.config.TlsConfig;
import io.failoverkit.tls.PeerTrust;
import org.eclipse.jetty.util.ssl.SslContextFactory;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;
import java.io.IOException;
import java.net.http.HttpClient;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;

/**
 * One agent's TLS: the files of its {@code tls} stanza as last read, and what is built on them. Every user asks for
 * the files' current contents at each new handshake (Jetty's factory is reloaded, the others go through
 * {@link SwappableKeyManager} and {@link PeerTrust}), so {@link #reload} changes what new connections use.
 */
public final class AgentTls {
    private final TlsConfig config;
    private final String serverName;
    private volatile Material current;
    private final List<SslContextFactory.Server> jettyFactories = new ArrayList<>();

    /** A reading of the files and the managers built on them. */
    private record Material(KeyMaterial files, X509ExtendedKeyManager keyManager, X509ExtendedTrustManager caTrust) {
        static Material of(KeyMaterial m) {
            return new Material(m, m.keyManager(), m.caTrust());
        }
    }

    private AgentTls(TlsConfig config, String serverName, Material m) {
        this.config = config;
        this.serverName = serverName;
        this.current = m;
    }

    /** Reads the files the config names (none named: TLS off). {@code serverName} is server.DC.DOMAIN. */
    public static AgentTls load(TlsConfig config, String datacenter, String domain) throws IOException {
        String d = domain.endsWith(".") ? domain.substring(0, domain.length() - 1) : domain;
        return new AgentTls(config, "server." + datacenter + "." + d,
                Material.of(KeyMaterial.read(config.caFile, config.certFile, config.keyFile)));
    }

    public TlsConfig config() { return config; }

    /** True when the agent has a CA to verify other agents' HTTPS with. */
    public boolean canVerifyPeers() { return current.caTrust() != null; }

    public boolean hasKeyPair() { return current.files().hasKeyPair(); }

    /** The certificate this agent presents now (null without one). */
    public X509Certificate certificate() {
        var chain = current.files().chain();
        return chain.isEmpty() ? null : chain.get(0);
    }

    /**
     * Reads the files again. Nothing changes when one cannot be read, or a key does not match its certificate: the
     * IOException says which. Returns a commit action, so a reload that fails elsewhere applies nothing.
     */
    public Runnable prepareReload() throws IOException {
        KeyMaterial next = KeyMaterial.read(config.caFile, config.certFile, config.keyFile);
        Material m = Material.of(next);
        return () -> {
            current = m;
            synchronized (jettyFactories) {
                for (SslContextFactory.Server f : jettyFactories) {
                    try {
                        f.reload(x -> configure((SslContextFactory.Server) x, m));
                    } catch (Exception e) {
                        throw new IllegalStateException("reloading the HTTPS listener's certificates: " + e.getMessage(), e);
                    }
                }
            }
        };
    }

    /** Jetty's TLS for the HTTPS API; a client certificate signed by the CA is required with verify_incoming. */
    public SslContextFactory.Server httpsFactory() {
        SslContextFactory.Server f = new SslContextFactory.Server();
        configure(f, current);
        f.setNeedClientAuth(config.httpsVerifyIncoming());
        synchronized (jettyFactories) {
            jettyFactories.add(f);
        }
        return f;
    }

    private static void configure(SslContextFactory.Server f, Material m) {
        f.setKeyStore(m.files().keyStore());
        f.setKeyStorePassword(new String(m.files().storePassword()));
        f.setKeyManagerPassword(new String(m.files().storePassword()));
        var ts = m.files().trustStore();
        if (ts != null) f.setTrustStore(ts);
    }

    /** Presents the current certificate (for client authentication and for Raft's server side). */
    public KeyManager keyManager() {
        return new SwappableKeyManager(() -> current.keyManager());
    }

    /**
     * Trusts other agents: the chain must lead to the current CA, and a server must be server.DC.DOMAIN when
     * verify_server_hostname is on (Consul's rule for server RPC).
     */
    public TrustManager peerTrust() {
        return peerTrust(true);
    }

    /** {@code servers}: the peer must be a server, so verify_server_hostname applies; else the CA's signature suffices. */
    private TrustManager peerTrust(boolean servers) {
        PeerTrust.Names names = servers && config.verifyServerHostname ? new PeerTrust.Names.Fixed(serverName) : new PeerTrust.Names.Any();
        return new PeerTrust(() -> current.caTrust(), names);
    }

    /** An SSL context for this agent's calls to other agents' HTTPS API: it verifies them and presents its certificate. */
    private SSLContext clientContext(boolean servers) {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(hasKeyPair() ? new KeyManager[]{keyManager()} : null, new TrustManager[]{peerTrust(servers)}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("building the TLS client context: " + e.getMessage(), e);
        }
    }

    /**
     * An HTTP client builder for calls to servers (forwarding, anti-entropy, DNS lookups, the bootstrap probe): with
     * this agent's TLS when it has a CA to verify them with; with verify_server_hostname they must be server.DC.DOMAIN.
     */
    public HttpClient.Builder httpClient() {
        // HTTP/1.1: agents serve nothing else; the JDK client's default (HTTP/2) offers every new plain connection an
        // h2c upgrade (extra headers, an Upgrade exchange the server declines) before it settles on 1.1.
        HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1);
        if (canVerifyPeers()) b.sslContext(clientContext(true));
        return b;
    }

    /** As {@link #httpClient()} for calls to any agent, client agents included (the CA's signature is what is checked). */
    public HttpClient.Builder anyAgentHttpClient() {
        HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1);
        if (canVerifyPeers()) b.sslContext(clientContext(false));
        return b;
    }

    /**
     * TLS for Raft (Ratis' gRPC), or null when Raft runs in the clear; mutual when verify_incoming is on. Only servers
     * use the Raft port, so with verify_server_hostname a connecting peer must be server.DC.DOMAIN as well: a client
     * agent's or the CLI's certificate, signed by the same CA, does not get in.
     */
    public org.apache.ratis.grpc.GrpcTlsConfig raftTls() {
        if (!config.raftTls()) return null;
        PeerTrust.Names names = config.verifyServerHostname ? new PeerTrust.Names.Fixed(serverName) : new PeerTrust.Names.Any();
        return new org.apache.ratis.grpc.GrpcTlsConfig(keyManager(), new PeerTrust(() -> current.caTrust(), names, true), config.rpcVerifyIncoming());
    }

    /** No TLS at all (an agent without a tls stanza). */
    public static AgentTls none() {
        return new AgentTls(new TlsConfig(), "server.dc1.consul", new Material(new KeyMaterial(null, List.of(), List.of(), new char[0]), null, null));
    }
}

package io.failoverkit.discovery.tls;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.function.Supplier;

/**
 * Presents the key and certificate of the moment: each new TLS handshake asks the supplier, so a reload changes what
 * new connections present without restarting the listener (Raft's gRPC server and clients, the agent's HTTPS client).
 */
final class SwappableKeyManager extends X509ExtendedKeyManager {
    private final Supplier<X509ExtendedKeyManager> current;

    SwappableKeyManager(Supplier<X509ExtendedKeyManager> current) {
        this.current = current;
    }

    private X509ExtendedKeyManager km() {
        return current.get();
    }

    @Override public String[] getClientAliases(String keyType, Principal[] issuers) {
        var k = km(); return k == null ? null : k.getClientAliases(keyType, issuers);
    }
    @Override public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        var k = km(); return k == null ? null : k.chooseClientAlias(keyType, issuers, socket);
    }
    @Override public String[] getServerAliases(String keyType, Principal[] issuers) {
        var k = km(); return k == null ? null : k.getServerAliases(keyType, issuers);
    }
    @Override public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        var k = km(); return k == null ? null : k.chooseServerAlias(keyType, issuers, socket);
    }
    @Override public X509Certificate[] getCertificateChain(String alias) {
        var k = km(); return k == null ? null : k.getCertificateChain(alias);
    }
    @Override public PrivateKey getPrivateKey(String alias) {
        var k = km(); return k == null ? null : k.getPrivateKey(alias);
    }
    @Override public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
        var k = km(); return k == null ? null : k.chooseEngineClientAlias(keyType, issuers, engine);
    }
    @Override public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        var k = km(); return k == null ? null : k.chooseEngineServerAlias(keyType, issuers, engine);
    }
}

package io.failoverkit.discovery.config;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Consul's {@code tls} stanza: {@code defaults} (ca_file, cert_file, key_file, verify_incoming, verify_outgoing), and
 * the per-interface overrides {@code https { verify_incoming }} and {@code internal_rpc { verify_incoming,
 * verify_outgoing, verify_server_hostname }}. Files are PEM, paths as given (relative to the working directory).
 */
public final class TlsConfig {
    public String caFile;
    public String certFile;
    public String keyFile;
    public boolean verifyIncoming;
    public boolean verifyOutgoing;
    /** https.verify_incoming, when set: overrides defaults.verify_incoming for the HTTPS API. */
    public Boolean httpsVerifyIncoming;
    /** internal_rpc.verify_incoming / verify_outgoing, when set: override the defaults for Raft between servers. */
    public Boolean rpcVerifyIncoming;
    public Boolean rpcVerifyOutgoing;
    /** internal_rpc.verify_server_hostname: a server's certificate must name server.DC.DOMAIN. */
    public boolean verifyServerHostname;

    /** True when this agent has a certificate and key of its own (what HTTPS and TLS Raft need). */
    public boolean hasKeyPair() {
        return certFile != null && keyFile != null;
    }

    public boolean httpsVerifyIncoming() {
        return httpsVerifyIncoming != null ? httpsVerifyIncoming : verifyIncoming;
    }

    public boolean rpcVerifyIncoming() {
        return rpcVerifyIncoming != null ? rpcVerifyIncoming : verifyIncoming;
    }

    public boolean rpcVerifyOutgoing() {
        return rpcVerifyOutgoing != null ? rpcVerifyOutgoing : verifyOutgoing;
    }

    /** Raft between servers runs over TLS: this server has a key pair and a CA and verifies one way or the other. */
    public boolean raftTls() {
        return hasKeyPair() && caFile != null && (rpcVerifyIncoming() || rpcVerifyOutgoing());
    }

    void apply(JsonNode root) {
        JsonNode tls = Definitions.field(root, "tls");
        if (tls == null) return;
        if (!tls.isObject()) throw new IllegalArgumentException("\"tls\" must be an object");
        JsonNode d = Definitions.field(tls, "defaults");
        if (d != null) {
            if (!d.isObject()) throw new IllegalArgumentException("\"tls.defaults\" must be an object");
            caFile = Definitions.text(d, "ca_file", caFile);
            certFile = Definitions.text(d, "cert_file", certFile);
            keyFile = Definitions.text(d, "key_file", keyFile);
            verifyIncoming = Definitions.bool(d, "verify_incoming", verifyIncoming);
            verifyOutgoing = Definitions.bool(d, "verify_outgoing", verifyOutgoing);
        }
        JsonNode h = Definitions.field(tls, "https");
        if (h != null) {
            if (!h.isObject()) throw new IllegalArgumentException("\"tls.https\" must be an object");
            if (Definitions.field(h, "verify_incoming") != null) httpsVerifyIncoming = Definitions.bool(h, "verify_incoming", false);
        }
        JsonNode r = Definitions.field(tls, "internal_rpc");
        if (r != null) {
            if (!r.isObject()) throw new IllegalArgumentException("\"tls.internal_rpc\" must be an object");
            if (Definitions.field(r, "verify_incoming") != null) rpcVerifyIncoming = Definitions.bool(r, "verify_incoming", false);
            if (Definitions.field(r, "verify_outgoing") != null) rpcVerifyOutgoing = Definitions.bool(r, "verify_outgoing", false);
            verifyServerHostname = Definitions.bool(r, "verify_server_hostname", verifyServerHostname);
        }
    }

    /** The settings make sense together (Consul refuses the same combinations); the message says what to add. */
    void validate(int httpsPort) {
        if ((certFile == null) != (keyFile == null)) {
            throw new IllegalArgumentException("tls.defaults: cert_file and key_file go together (one is set, the other is not)");
        }
        if (httpsPort > 0 && !hasKeyPair()) {
            throw new IllegalArgumentException("ports.https / -https-port needs tls.defaults.cert_file and key_file");
        }
        if ((verifyIncoming || httpsVerifyIncoming()) && httpsPort > 0 && caFile == null) {
            throw new IllegalArgumentException("tls verify_incoming needs tls.defaults.ca_file (the CA client certificates must be signed by)");
        }
        if ((rpcVerifyIncoming() || rpcVerifyOutgoing()) && (caFile == null || !hasKeyPair())) {
            throw new IllegalArgumentException("tls verify_incoming / verify_outgoing need tls.defaults.ca_file, cert_file and key_file");
        }
        if (verifyServerHostname && !rpcVerifyOutgoing()) {
            throw new IllegalArgumentException("tls.internal_rpc.verify_server_hostname needs verify_outgoing");
        }
    }
}

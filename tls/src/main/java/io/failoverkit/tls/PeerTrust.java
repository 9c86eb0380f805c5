package io.failoverkit.tls;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Trusts a peer whose chain leads to the CA of the moment (read again on reload) and, for a server, whose
 * certificate names what {@link Names} asks: nothing more (Consul's verify_outgoing), a fixed name such as
 * server.dc1.consul (verify_server_hostname, or CONSUL_TLS_SERVER_NAME), or the host that was dialled (a CLI).
 * The JDK's own host name check is not applied: it would compare the dialled IP, which agent certificates need not list.
 */
public final class PeerTrust extends X509ExtendedTrustManager {
    /** What a server's certificate must name. */
    public sealed interface Names {
        record Any() implements Names {}
        record Fixed(String name) implements Names {}
        record DialledHost() implements Names {}
    }

    private final Supplier<X509ExtendedTrustManager> ca;
    private final Names names;
    /** A connecting client must name {@link Names.Fixed} too (Raft: only servers may connect). */
    private final boolean clientsToo;

    public PeerTrust(Supplier<X509ExtendedTrustManager> ca, Names names) {
        this(ca, names, false);
    }

    public PeerTrust(Supplier<X509ExtendedTrustManager> ca, Names names, boolean clientsToo) {
        this.ca = ca;
        this.names = names;
        this.clientsToo = clientsToo;
    }

    private void checkClient(X509Certificate[] chain, String authType) throws CertificateException {
        ca().checkClientTrusted(chain, authType);
        if (clientsToo && names instanceof Names.Fixed f && !certificateNames(chain[0], f.name())) {
            throw new CertificateException("the client's certificate does not name " + f.name() + " (it names " + subjectAltNames(chain[0]) + ")");
        }
    }

    private X509ExtendedTrustManager ca() throws CertificateException {
        X509ExtendedTrustManager tm = ca.get();
        if (tm == null) throw new CertificateException("no CA configured to verify the peer's certificate (tls.defaults.ca_file)");
        return tm;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkClient(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        checkServer(chain, authType, null);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        checkClient(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        String host = socket == null || socket.getInetAddress() == null ? null : socket.getInetAddress().getHostAddress();
        checkServer(chain, authType, host);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        checkClient(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        checkServer(chain, authType, engine == null ? null : engine.getPeerHost());
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        X509ExtendedTrustManager tm = ca.get();
        return tm == null ? new X509Certificate[0] : tm.getAcceptedIssuers();
    }

    private void checkServer(X509Certificate[] chain, String authType, String dialledHost) throws CertificateException {
        ca().checkServerTrusted(chain, authType);
        String wanted = switch (names) {
            case Names.Any any -> null;
            case Names.Fixed f -> f.name();
            case Names.DialledHost d -> dialledHost;
        };
        if (wanted == null) return;
        if (!certificateNames(chain[0], wanted)) {
            throw new CertificateException("the server's certificate does not name " + wanted + " (it names " + subjectAltNames(chain[0]) + ")");
        }
    }

    /** True when the certificate's subject alternative names hold {@code name} (a DNS name, wildcards allowed, or an IP). */
    public static boolean certificateNames(X509Certificate cert, String name) {
        String n = name.toLowerCase(Locale.ROOT);
        if (n.startsWith("[") && n.endsWith("]")) n = n.substring(1, n.length() - 1);
        for (List<?> san : sans(cert)) {
            int type = (Integer) san.get(0);
            String v = String.valueOf(san.get(1)).toLowerCase(Locale.ROOT);
            if (type == 7 && sameIp(v, n)) return true;
            if (type == 2 && (v.equals(n) || wildcardMatch(v, n))) return true;
        }
        return false;
    }

    private static boolean sameIp(String a, String b) {
        try {
            return ipLiteral(a).equals(ipLiteral(b));
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** An IP address written as a literal (never looked up in DNS); IllegalArgumentException otherwise. */
    public static java.net.InetAddress ipLiteral(String s) {
        boolean v4 = s.matches("\\d{1,3}(\\.\\d{1,3}){3}");
        boolean v6 = s.contains(":") && s.matches("[0-9A-Fa-f:.]+");
        if (!v4 && !v6) throw new IllegalArgumentException("not an IP address: " + s);
        try {
            return java.net.InetAddress.getByName(s); // a literal: parsed, not resolved
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address: " + s);
        }
    }

    private static boolean wildcardMatch(String pattern, String name) {
        if (!pattern.startsWith("*.")) return false;
        int dot = name.indexOf('.');
        return dot > 0 && name.substring(dot).equals(pattern.substring(1));
    }

    private static List<List<?>> sans(X509Certificate cert) {
        try {
            var all = cert.getSubjectAlternativeNames();
            return all == null ? List.of() : List.copyOf(all);
        } catch (CertificateParsingException e) {
            return List.of();
        }
    }

    static List<String> subjectAltNames(X509Certificate cert) {
        return sans(cert).stream().map(s -> String.valueOf(s.get(1))).toList();
    }
}

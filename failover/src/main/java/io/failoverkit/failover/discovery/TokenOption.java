package io.failoverkit.failover.discovery;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Map;

/**
 * The ACL token of a failover command that talks to the discovery node, as a picocli mixin: {@code --token-file FILE}
 * (else {@code CONSUL_HTTP_TOKEN_FILE}), with {@code CONSUL_HTTP_TOKEN} first (see {@link DiscoveryAddress#token}).
 * {@code --token} is refused with a usage error (exit 64): argv is readable by every local user ({@code ps}).
 * The command's TLS settings come from the same environment ({@link DiscoveryTls}).
 */
public final class TokenOption {
    @Spec(Spec.Target.MIXEE) CommandSpec mixee;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "A file holding the discovery ACL token (default $CONSUL_HTTP_TOKEN_FILE); $CONSUL_HTTP_TOKEN comes first. "
                    + "A token is never taken from the command line.")
    Path tokenFile;

    /** Where the environment comes from; tests in the same JVM replace it. */
    static volatile Map<String, String> environment = System.getenv();

    @Option(names = {"--token", "-token"}, paramLabel = "TOKEN", hidden = true)
    void refuseToken(String ignored) {
        throw new CommandLine.ParameterException(mixee.commandLine(), "--token is not accepted: a token on the command line is "
                + "visible to every local user (ps); set CONSUL_HTTP_TOKEN, or use --token-file FILE (or CONSUL_HTTP_TOKEN_FILE)");
    }

    /** The token to send, or null; an unreadable token file is a usage error that names the file. */
    public String token() {
        try {
            return DiscoveryAddress.token(tokenFile, environment);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(mixee.commandLine(), e.getMessage());
        }
    }

    /** The --token-file given, or null (a playbook passes it on to its steps as CONSUL_HTTP_TOKEN_FILE). */
    public Path tokenFile() {
        return tokenFile;
    }

    /** The TLS settings of this command's environment (Consul's variables: CONSUL_CACERT, CONSUL_CLIENT_CERT, ...). */
    public DiscoveryTls tls() {
        return DiscoveryTls.of(environment);
    }

    /**
     * Reads the TLS settings now for every https address of {@code discovery} (a,b,c allowed): a client certificate
     * without its key, or a file that cannot be read, is a usage error (exit 64) before anything is done.
     */
    public void checkTls(String discovery) {
        DiscoveryTls tls = tls();
        for (String a : discovery.split(",")) {
            try {
                tls.check(tls.baseUrl(a));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(mixee.commandLine(), e.getMessage());
            }
        }
    }

    /** A client for {@code address} with this command's token and TLS settings; bad TLS settings are a usage error. */
    public DiscoveryClient client(String address) {
        String token = token();
        try {
            return new DiscoveryClient(address, token, tls());
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(mixee.commandLine(), e.getMessage());
        }
    }
}

package io.failoverkit.discovery.acl;

/**
 * Turns the secret a request carries (X-Consul-Token, Authorization: Bearer, ?token=; {@code null} or empty when it
 * carries none, then the agent's default token, then anonymous) into an {@link Identity}. A secret that names no token
 * (unknown, deleted, expired) throws {@link AclNotFound}: the HTTP layer answers 403 "ACL not found", as Consul does.
 * With ACLs disabled every secret resolves to {@link Identity#ACL_DISABLED}.
 */
public interface TokenResolver {
    Identity resolve(String secret) throws AclNotFound;

    /** Resolves nothing: ACLs are off. */
    TokenResolver DISABLED = secret -> Identity.ACL_DISABLED;

    /** The secret names no token. The message never contains the secret. */
    final class AclNotFound extends Exception {
        public AclNotFound() { super("ACL not found"); }
    }
}

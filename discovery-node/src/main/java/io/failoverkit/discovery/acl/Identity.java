package io.failoverkit.discovery.acl;

/**
 * Who a request runs as: the token's AccessorID (never its secret; what the audit log and error messages may name),
 * and its authorizer. {@code accessorId} is {@code "00000000-0000-0000-0000-000000000002"} for the anonymous token
 * (Consul's fixed ID), and {@code null} when ACLs are disabled.
 */
public record Identity(String accessorId, Authorizer authorizer) {
    public static final String ANONYMOUS_ACCESSOR = "00000000-0000-0000-0000-000000000002";

    /** Every request's identity when ACLs are disabled. */
    public static final Identity ACL_DISABLED = new Identity(null, Authorizer.ALLOW_ALL);
}

package io.failoverkit.discovery.acl;

/**
 * The decision for one token: may it do {@code needed} on the resource {@code kind} called {@code name}?
 * For {@link Resource#OPERATOR} and {@link Resource#ACL} the name is ignored. Implementations are immutable and cheap
 * to call (enforcement asks once per route and once per item when filtering lists).
 */
@FunctionalInterface
public interface Authorizer {
    boolean allows(Resource kind, String name, Access needed);

    /** The management token's view (and every request's when ACLs are disabled). */
    Authorizer ALLOW_ALL = (kind, name, needed) -> true;

    /** Nothing at all. */
    Authorizer DENY_ALL = (kind, name, needed) -> false;
}

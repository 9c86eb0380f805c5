package io.failoverkit.discovery.acl;

/**
 * What a rule grants on a resource, as Consul's policy language names it. Ordered: a grant covers every level
 * below it ({@code write} covers {@code list} and {@code read}; {@code list} covers {@code read}); {@code deny}
 * grants nothing and, as the most specific matching rule, overrides a broader grant.
 */
public enum Access {
    DENY, READ, LIST, WRITE;

    /** True when a rule granting {@code this} allows a request that needs {@code needed}. */
    public boolean covers(Access needed) {
        return this != DENY && needed != DENY && compareTo(needed) >= 0;
    }
}

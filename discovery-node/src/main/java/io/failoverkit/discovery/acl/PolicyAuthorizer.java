package io.failoverkit.discovery.acl;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * A token's authorizer: its policies' rules merged ({@link Rules#merge}: the same name in two policies keeps deny over
 * write over list over read, as Consul's policy merger does), then for each request the most specific matching rule
 * decides, as Consul's radix-tree lookup does: the exact-name rule if there is one, else the longest matching prefix
 * rule (the empty prefix matches everything). Only when no rule matches does the configured {@code default_policy}
 * decide ({@code allow}: everything, {@code deny}: nothing), so a {@code deny} rule refuses even under default allow.
 */
public final class PolicyAuthorizer implements Authorizer {
    /** The builtin global-management policy's ID: a token linked to it may do everything. */
    public static final String GLOBAL_MANAGEMENT_ID = "00000000-0000-0000-0000-000000000001";
    public static final String GLOBAL_MANAGEMENT_NAME = "global-management";

    private final EnumMap<Resource, Map<String, Access>> exact = new EnumMap<>(Resource.class);
    private final EnumMap<Resource, Map<String, Access>> prefix = new EnumMap<>(Resource.class);
    private final EnumMap<Resource, Access> unnamed = new EnumMap<>(Resource.class);
    private final boolean defaultAllow;

    private PolicyAuthorizer(Rules merged, boolean defaultAllow) {
        this.defaultAllow = defaultAllow;
        for (Resource k : Resource.values()) {
            if (k.named()) {
                exact.put(k, Map.copyOf(merged.exact(k)));
                prefix.put(k, Map.copyOf(merged.prefix(k)));
            } else if (merged.unnamed(k) != null) {
                unnamed.put(k, merged.unnamed(k));
            }
        }
    }

    /** The authorizer for a token with these policies' rules; {@code defaultAllow} is {@code default_policy = allow}. */
    public static Authorizer of(List<Rules> policies, boolean defaultAllow) {
        return new PolicyAuthorizer(Rules.merge(policies), defaultAllow);
    }

    /** The configured default alone: what a token with no matching rule (or no policy) gets. */
    public static Authorizer defaultOnly(boolean defaultAllow) {
        return defaultAllow ? Authorizer.ALLOW_ALL : Authorizer.DENY_ALL;
    }

    @Override
    public boolean allows(Resource kind, String name, Access needed) {
        Access rule = match(kind, name == null ? "" : name);
        if (rule == null) return defaultAllow;
        return rule.covers(needed);
    }

    /** The rule that decides for {@code name}: exact first, then the longest prefix; null when none matches. */
    Access match(Resource kind, String name) {
        if (!kind.named()) return unnamed.get(kind);
        Access e = exact.get(kind).get(name);
        if (e != null) return e;
        Map<String, Access> p = prefix.get(kind);
        // The prefixes of name, longest first: at most name.length() + 1 lookups (names are short).
        for (int i = name.length(); i >= 0; i--) {
            Access a = p.get(name.substring(0, i));
            if (a != null) return a;
        }
        return null;
    }
}

package io.failoverkit.discovery.testing;

import io.failoverkit.discovery.acl.Access;
import io.failoverkit.discovery.acl.Authorizer;
import io.failoverkit.discovery.acl.Identity;
import io.failoverkit.discovery.acl.Resource;
import io.failoverkit.discovery.acl.TokenResolver;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A token resolver for tests of the enforcement: tokens (secret → accessor, rules) held in memory, each rule Consul's
 * {@code <kind>_prefix "p" { policy = ... }} or exact {@code <kind> "n"}; the exact rule wins over prefixes, the longest
 * prefix over shorter ones, and nothing matching means the default policy (deny, as {@code default_policy = "deny"}).
 * The anonymous token is used for a request without a token unless {@link #defaultToken} names another.
 */
public final class RuleTableAcl implements TokenResolver {
    /** One rule: {@code exact} for {@code service "x"}, else {@code service_prefix "x"}; unnamed kinds ignore the name. */
    public record Rule(Resource kind, String name, boolean exact, Access policy) {
        public static Rule prefix(Resource kind, String prefix, Access policy) { return new Rule(kind, prefix, false, policy); }
        public static Rule exact(Resource kind, String name, Access policy) { return new Rule(kind, name, true, policy); }
    }

    private final Map<String, Identity> bySecret = new ConcurrentHashMap<>();
    private final Identity anonymous;
    private volatile String defaultSecret;

    public RuleTableAcl(List<Rule> anonymousRules) {
        this.anonymous = new Identity(Identity.ANONYMOUS_ACCESSOR, authorizer(anonymousRules));
    }

    /** Adds a token; returns its secret. */
    public RuleTableAcl token(String secret, String accessor, List<Rule> rules) {
        bySecret.put(secret, new Identity(accessor, authorizer(rules)));
        return this;
    }

    /** A management token (allows everything). */
    public RuleTableAcl management(String secret, String accessor) {
        bySecret.put(secret, new Identity(accessor, Authorizer.ALLOW_ALL));
        return this;
    }

    /** The agent's default token (what a request without a token, and DNS, run as); null: anonymous. */
    public void defaultToken(String secret) { this.defaultSecret = secret; }

    @Override
    public Identity resolve(String secret) throws AclNotFound {
        if (secret == null || secret.isEmpty()) {
            String d = defaultSecret;
            if (d == null) return anonymous;
            secret = d;
        }
        Identity id = bySecret.get(secret);
        if (id == null) throw new AclNotFound();
        return id;
    }

    static Authorizer authorizer(List<Rule> rules) {
        List<Rule> copy = List.copyOf(rules);
        return (kind, name, needed) -> {
            Rule best = null;
            for (Rule r : copy) {
                if (r.kind() != kind) continue;
                boolean matches = !kind.named() || (r.exact() ? name.equals(r.name()) : name.startsWith(r.name()));
                if (!matches) continue;
                if (best == null || moreSpecific(r, best)) best = r;
            }
            return best != null && best.policy().covers(needed);
        };
    }

    private static boolean moreSpecific(Rule a, Rule b) {
        if (a.exact() != b.exact()) return a.exact();
        return a.name().length() > b.name().length();
    }
}

package io.failoverkit.discovery.acl;

import io.failoverkit.discovery.config.AclConfig;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A server's token resolver: tokens and policies from its own state store (as Consul's servers resolve from their
 * replicated state). A request without a token runs as the agent's {@code default} token, else as the anonymous
 * token. Compiled authorizers are cached per token and dropped as soon as the token or one of its policies changes
 * (the cache key holds their modify indexes), so a policy update takes effect on the next request.
 */
public final class StoreTokenResolver implements TokenResolver {
    private static final Logger LOG = LoggerFactory.getLogger(StoreTokenResolver.class);
    /** The anonymous token's SecretID, as Consul's. */
    public static final String ANONYMOUS_SECRET = "anonymous";

    private final Supplier<StateStore> store;
    private final AclConfig config;
    private final LongSupplier wallClock;
    private final Map<String, Compiled> cache = new ConcurrentHashMap<>();

    private record Compiled(String signature, Identity identity) {}

    public StoreTokenResolver(Supplier<StateStore> store, AclConfig config) {
        this(store, config, System::currentTimeMillis);
    }

    public StoreTokenResolver(Supplier<StateStore> store, AclConfig config, LongSupplier wallClock) {
        this.store = store;
        this.config = config;
        this.wallClock = wallClock;
    }

    @Override
    public Identity resolve(String secret) throws AclNotFound {
        StateStore s = store.get();
        if (secret == null || secret.isEmpty()) secret = config.defaultToken;
        if (s == null) {
            // This server has no state yet (it has not taken its Raft seat): it can vouch for nobody.
            return new Identity(Identity.ANONYMOUS_ACCESSOR, Authorizer.DENY_ALL);
        }
        if (secret == null || secret.isEmpty() || ANONYMOUS_SECRET.equals(secret)) {
            Model.AclToken anon = s.aclToken(Identity.ANONYMOUS_ACCESSOR).value();
            // Before the leader has created it, the anonymous token is what it will be: no policies.
            if (anon == null) return new Identity(Identity.ANONYMOUS_ACCESSOR, PolicyAuthorizer.defaultOnly(config.defaultAllow));
            return identity(s, anon);
        }
        Model.AclToken t = s.aclTokenBySecretHash(Secrets.hash(secret));
        if (t == null || t.expiredAt(wallClock.getAsLong())) throw new AclNotFound();
        return identity(s, t);
    }

    /** The token with this secret as stored (null when unknown or expired): for /v1/acl/token/self. */
    public static Model.AclToken lookup(StateStore s, String secret, long nowMillis) {
        if (secret == null || secret.isEmpty()) return null;
        Model.AclToken t = s.aclTokenBySecretHash(Secrets.hash(secret));
        return t == null || t.expiredAt(nowMillis) ? null : t;
    }

    private Identity identity(StateStore s, Model.AclToken t) {
        List<Model.AclPolicy> policies = new ArrayList<>();
        StringBuilder sig = new StringBuilder().append(t.modifyIndex());
        boolean management = false;
        for (String id : t.policyIds()) {
            if (PolicyAuthorizer.GLOBAL_MANAGEMENT_ID.equals(id)) management = true;
            Model.AclPolicy p = s.aclPolicy(id).value();
            if (p == null) continue; // deleted since: the link no longer grants anything
            policies.add(p);
            sig.append(',').append(p.id()).append('@').append(p.modifyIndex());
        }
        String signature = sig.toString();
        Compiled c = cache.get(t.accessorId());
        if (c != null && c.signature.equals(signature)) return c.identity;
        Identity id = new Identity(t.accessorId(), management ? Authorizer.ALLOW_ALL : compile(policies, config.defaultAllow));
        cache.put(t.accessorId(), new Compiled(signature, id));
        return id;
    }

    /** The authorizer for these policies; rules that no longer parse (they were checked when written) grant nothing. */
    public static Authorizer compile(List<Model.AclPolicy> policies, boolean defaultAllow) {
        List<Rules> rules = new ArrayList<>();
        for (Model.AclPolicy p : policies) {
            if (PolicyAuthorizer.GLOBAL_MANAGEMENT_ID.equals(p.id())) return Authorizer.ALLOW_ALL;
            try {
                rules.add(Rules.parse(p.rules()));
            } catch (Rules.ParseError e) {
                LOG.warn("ACL policy {} ({}) has rules that do not parse, ignored: {}", p.name(), p.id(), e.getMessage());
            }
        }
        return PolicyAuthorizer.of(rules, defaultAllow);
    }
}

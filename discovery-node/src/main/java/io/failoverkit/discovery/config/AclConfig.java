package io.failoverkit.discovery.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.util.Iterator;
import java.util.Set;

/**
 * Consul's {@code acl} block, in the JSON form of its config files:
 * {@code "acl": {"enabled": true, "default_policy": "deny", "down_policy": "extend-cache", "enable_token_persistence": true,
 * "token_ttl": "30s", "tokens": {"initial_management": "...", "agent": "...", "default": "..."}}}. Defaults are
 * Consul's. The tokens are secrets: {@link #toString} never shows them and no log line names them.
 */
public final class AclConfig {
    private static final Set<String> FIELDS = Set.of("enabled", "default_policy", "down_policy", "enable_token_persistence", "token_ttl", "tokens");
    private static final Set<String> TOKEN_FIELDS = Set.of("initial_management", "agent", "default");

    public boolean enabled;
    /** {@code default_policy}: true for "allow" (Consul's default), false for "deny". */
    public boolean defaultAllow = true;
    /** {@code down_policy}: what a client agent does when no server answers (extend-cache, async-cache, allow, deny). */
    public String downPolicy = "extend-cache";
    public boolean enableTokenPersistence;
    /** How long a client agent caches a resolved token ({@code token_ttl}). */
    public Duration tokenTtl = Duration.ofSeconds(30);
    /** {@code tokens.initial_management}: created by the leader as a management token; null when not set. */
    public String initialManagement;
    /** {@code tokens.agent}: the token the agent uses for its own requests; null when not set. */
    public volatile String agentToken;
    /** {@code tokens.default}: the token of requests that carry none; null: the anonymous token. */
    public volatile String defaultToken;

    void apply(JsonNode root) {
        JsonNode acl = Definitions.field(root, "acl");
        if (acl == null) return;
        if (!acl.isObject()) throw new IllegalArgumentException("\"acl\" must be an object");
        for (Iterator<String> it = acl.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) throw new IllegalArgumentException("\"acl\": unknown field \"" + f + "\" (known: " + String.join(", ", new java.util.TreeSet<>(FIELDS)) + ")");
        }
        enabled = Definitions.bool(acl, "enabled", enabled);
        String dp = Definitions.text(acl, "default_policy", defaultAllow ? "allow" : "deny");
        if (!dp.equals("allow") && !dp.equals("deny")) throw new IllegalArgumentException("\"acl.default_policy\" must be \"allow\" or \"deny\", got \"" + dp + "\"");
        defaultAllow = dp.equals("allow");
        String down = Definitions.text(acl, "down_policy", downPolicy);
        if (!Set.of("extend-cache", "async-cache", "allow", "deny").contains(down)) {
            throw new IllegalArgumentException("\"acl.down_policy\" must be extend-cache, async-cache, allow or deny, got \"" + down + "\"");
        }
        downPolicy = down;
        enableTokenPersistence = Definitions.bool(acl, "enable_token_persistence", enableTokenPersistence);
        Duration ttl = Definitions.duration(acl, "token_ttl");
        if (ttl != null) {
            if (ttl.isNegative()) throw new IllegalArgumentException("\"acl.token_ttl\" must not be negative");
            tokenTtl = ttl;
        }
        JsonNode tokens = Definitions.field(acl, "tokens");
        if (tokens != null) {
            if (!tokens.isObject()) throw new IllegalArgumentException("\"acl.tokens\" must be an object");
            for (Iterator<String> it = tokens.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!TOKEN_FIELDS.contains(f)) throw new IllegalArgumentException("\"acl.tokens\": unknown field \"" + f + "\" (known: agent, default, initial_management)");
            }
            initialManagement = secret(tokens, "initial_management", initialManagement);
            agentToken = secret(tokens, "agent", agentToken);
            defaultToken = secret(tokens, "default", defaultToken);
        }
    }

    private static String secret(JsonNode tokens, String name, String dflt) {
        JsonNode v = Definitions.field(tokens, name);
        if (v == null) return dflt;
        // The message names the field, never the value.
        if (!v.isTextual()) throw new IllegalArgumentException("\"acl.tokens." + name + "\" must be a string");
        String s = v.asText().strip();
        if (s.length() > 256) throw new IllegalArgumentException("\"acl.tokens." + name + "\" is longer than 256 characters");
        return s.isEmpty() ? null : s;
    }

    /** The settings with every token shown only as set or not: safe to log. */
    @Override
    public String toString() {
        return "acl{enabled=" + enabled + ", default_policy=" + (defaultAllow ? "allow" : "deny") + ", down_policy=" + downPolicy
                + ", enable_token_persistence=" + enableTokenPersistence + ", token_ttl=" + Durations.format(tokenTtl)
                + ", tokens{initial_management=" + (initialManagement == null ? "unset" : "set") + ", agent=" + (agentToken == null ? "unset" : "set")
                + ", default=" + (defaultToken == null ? "unset" : "set") + "}}";
    }
}

package io.failoverkit.discovery.acl;

/**
 * The kinds of resource Consul's rules name. Named kinds are matched by the longest {@code <kind>_prefix} or the exact
 * {@code <kind>} rule; {@link #OPERATOR}, {@link #ACL} and {@link #KEYRING} take no name (one rule each). The rule words are
 * {@link #ruleWord()}: {@code key}/{@code key_prefix}, {@code service}/{@code service_prefix}, ...
 */
public enum Resource {
    KEY("key"), SERVICE("service"), NODE("node"), SESSION("session"), EVENT("event"), AGENT("agent"), QUERY("query"),
    OPERATOR("operator"), ACL("acl"),
    /** Consul's {@code keyring = "read"|"write"} rule: the gossip keyring (/v1/operator/keyring). Takes no name. */
    KEYRING("keyring");

    private final String word;

    Resource(String word) { this.word = word; }

    public String ruleWord() { return word; }

    /** True for the kinds matched against a name (every kind but operator, acl and keyring). */
    public boolean named() { return this != OPERATOR && this != ACL && this != KEYRING; }
}

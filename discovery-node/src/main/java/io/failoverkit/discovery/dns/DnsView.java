package io.failoverkit.discovery.dns;

import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;

import java.util.List;

/** What the DNS interface reads: a node, and the instances of a service (each with the checks that concern it). */
public interface DnsView {
    Model.Node node(String name);

    List<StateStore.Instance> instances(String service, String tag);

    /** False until there is state to answer from (a server before it joined its Raft group): answers are SERVFAIL. */
    default boolean ready() { return true; }

    /**
     * A number that moves whenever anything an answer is made of may have changed (the catalog generation), read
     * before the data: answers may be reused while it stays the same. Negative: nothing may be reused (the default).
     */
    default long generation() { return -1; }

    /**
     * {@code inner} as the token whose authorizer {@code authorizer} gives (the agent's default token) may see it:
     * denied nodes and services are not there.
     */
    static DnsView filtered(DnsView inner, java.util.function.Supplier<io.failoverkit.discovery.acl.Authorizer> authorizer) {
        return new AclDnsView(inner, authorizer);
    }

    /** A client agent's view: a server's state over HTTP. */
    static DnsView remote(java.util.function.Supplier<java.util.Optional<String>> server) { return new RemoteDnsView(server, () -> null); }

    /** A client agent's view, asking with {@code token} (the agent's default token). */
    static DnsView remote(java.util.function.Supplier<java.util.Optional<String>> server, java.util.function.Supplier<String> token) {
        return new RemoteDnsView(server, token);
    }

    /** As above, through the agent's client (its TLS); {@code server} gives a base URL (http:// or https://). */
    static DnsView remote(java.util.function.Supplier<java.util.Optional<String>> server, java.util.function.Supplier<String> token,
                          java.net.http.HttpClient http) {
        return new RemoteDnsView(server, token, http);
    }

    /**
     * A view over this server's own replicated state (null until the server joined its Raft group): answers from
     * local state, as Consul's allow_stale.
     */
    static DnsView local(java.util.function.Supplier<StateStore> store) { return new CachingDnsView(store); }
}

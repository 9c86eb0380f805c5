package io.failoverkit.discovery.http;

import io.failoverkit.discovery.acl.Access;
import io.failoverkit.discovery.acl.Authorizer;
import io.failoverkit.discovery.acl.Resource;
import io.failoverkit.discovery.cluster.Member;
import io.failoverkit.discovery.cluster.Membership;
import io.failoverkit.discovery.state.Json;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The body of GET /v1/agent/members, encoded once per membership change and per ACL authorizer, then served as the
 * same bytes to every request until the membership changes again ({@link Membership#version()}). A poller that asks
 * every 50 ms (bench/gossip.sh, a dashboard, consul-template) then costs the agent no encoding at all while nothing
 * changes. When it does change, only the members that changed are encoded again (each member's JSON is kept, keyed by
 * its whole value). Each authorizer (tokens' authorizers are immutable and cached per token by the resolvers) has its
 * own view: the members its token may read (node:read), and whether any were left out (Consul's
 * X-Consul-Results-Filtered-By-ACLs). At most {@value #MAX_VIEWS} views are kept, least recently used dropped.
 * Safe from any thread.
 */
final class MembersCache {
    static final int MAX_VIEWS = 32;

    /** One authorizer's answer: the JSON array's bytes (shared, never written to) and whether ACLs removed members. */
    record View(byte[] json, boolean filtered) {}

    private final Membership membership;
    private final Object lock = new Object();
    /** The membership version the views below were built at (guarded by lock). */
    private long version = Long.MIN_VALUE;
    private final Map<Authorizer, View> views = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Authorizer, View> eldest) { return size() > MAX_VIEWS; }
    };
    /** Each member's encoded entry, by name, with the value it was encoded from (guarded by lock). */
    private Map<String, Encoded> encoded = new HashMap<>();
    private long encodings;

    private record Encoded(Member member, byte[] json) {}

    MembersCache(Membership membership) {
        this.membership = membership;
    }

    /** The members {@code who} may read, as /v1/agent/members' JSON array. */
    View view(Authorizer who) {
        long v = membership.version(); // before members(): what is read after it is at least this new
        synchronized (lock) {
            if (v > version) {
                views.clear();
                version = v;
            }
            if (v == version) {
                View hit = views.get(who);
                if (hit != null) return hit;
            }
            View fresh = build(membership.members(), who);
            if (v == version) views.put(who, fresh);
            return fresh;
        }
    }

    /** How many member entries were encoded so far (a test's view of the cache's work). */
    long encodings() {
        synchronized (lock) { return encodings; }
    }

    private View build(Collection<Member> members, Authorizer who) {
        Map<String, Encoded> next = new HashMap<>();
        ByteArrayOutputStream out = new ByteArrayOutputStream(64 + members.size() * 320);
        out.write('[');
        boolean filtered = false;
        boolean first = true;
        for (Member m : members) {
            Encoded e = encoded.get(m.name());
            if (e == null || !e.member().equals(m)) {
                e = new Encoded(m, encode(m));
                encodings++;
            }
            next.put(m.name(), e);
            if (who != Authorizer.ALLOW_ALL && !who.allows(Resource.NODE, m.name(), Access.READ)) {
                filtered = true;
                continue;
            }
            if (!first) out.write(',');
            out.writeBytes(e.json());
            first = false;
        }
        out.write(']');
        encoded = next; // members reaped since are forgotten
        return new View(out.toByteArray(), filtered);
    }

    private static byte[] encode(Member m) {
        try {
            return Json.MAPPER.writeValueAsBytes(AgentEndpoint.member(m));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package io.failoverkit.discovery.dns;

import io.failoverkit.discovery.acl.Access;
import io.failoverkit.discovery.acl.Authorizer;
import io.failoverkit.discovery.acl.Resource;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;

import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * What DNS may answer, as Consul's: the view of the agent's default token (DNS queries carry no token). A node the
 * token may not read is not there (NXDOMAIN); a service it may not read has no instances (NXDOMAIN), and an instance
 * on a node it may not read is left out. Answers are reused only while both the catalog generation and the
 * authorizer stay the same, so a changed token or policy is obeyed by the next query.
 */
final class AclDnsView implements DnsView {
    private final DnsView inner;
    private final Supplier<Authorizer> authorizer;

    /** The last authorizer and catalog generation seen, and the generation this view reported for them. */
    private record Seen(Authorizer authorizer, long inner, long reported) {}

    private final AtomicReference<Seen> seen = new AtomicReference<>(new Seen(null, Long.MIN_VALUE, 0));

    AclDnsView(DnsView inner, Supplier<Authorizer> authorizer) {
        this.inner = inner;
        this.authorizer = authorizer;
    }

    @Override
    public Model.Node node(String name) {
        Model.Node n = inner.node(name);
        return n != null && authorizer.get().allows(Resource.NODE, name, Access.READ) ? n : null;
    }

    @Override
    public List<StateStore.Instance> instances(String service, String tag) {
        Authorizer a = authorizer.get();
        if (!a.allows(Resource.SERVICE, service, Access.READ)) return List.of();
        List<StateStore.Instance> all = inner.instances(service, tag);
        if (a == Authorizer.ALLOW_ALL) return all;
        return all.stream().filter(i -> a.allows(Resource.NODE, i.node().node(), Access.READ)).toList();
    }

    @Override
    public boolean ready() {
        return inner.ready();
    }

    @Override
    public long generation() {
        long g = inner.generation();
        if (g < 0) return -1;
        Authorizer a = authorizer.get();
        while (true) {
            Seen s = seen.get();
            if (s.authorizer() == a && s.inner() == g) return s.reported();
            // A new number for every new (authorizer, catalog) pair: an answer made under an old one is never reused.
            Seen next = new Seen(a, g, s.reported() + 1);
            if (seen.compareAndSet(s, next)) return next.reported();
        }
    }
}

package io.failoverkit.failover.act;

import io.failoverkit.failover.discovery.Discovery;
import io.failoverkit.failover.topology.InstanceState;
import io.failoverkit.failover.topology.Topology;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The catalog entries of a cluster's service, as the manager keeps them: who `master.<service>.service.consul` and
 * `replica.<service>.service.consul` name. Each member is a catalog node of its own (named from its address) with one
 * instance of the service tagged master or replica, and a catalog check on that instance that the manager keeps in
 * step with what it observes: passing for the master and for a replica that replicates from it with a live link,
 * critical for a replica that stopped (Consul's DNS leaves critical instances out). A member that never replicated
 * from the current master (a fenced old primary waiting for `failover rejoin`) is not registered as a replica at all.
 */
public final class Catalog {
    private final Discovery discovery;
    private final String service;

    public Catalog(Discovery discovery, String service) {
        this.discovery = discovery;
        this.service = service;
    }

    /** The catalog node a member is registered on (one per member: `failover acl-policy` grants exactly these). */
    public static String nodeName(String service, String address) {
        return service + "-" + address.replace('.', '-').replace(':', '-');
    }

    static String serviceId(String service, String address) {
        return service + "-" + address.replace(':', '-');
    }

    static String checkId(String service, String address) {
        return serviceId(service, address) + "-role";
    }

    /** Before hook: no instance is tagged master any more, so DNS answers no master rather than the old one. */
    public void deregisterMaster() throws IOException {
        for (Discovery.Instance i : discovery.instances(service, "master")) discovery.deregisterService(i.node(), i.serviceId());
    }

    /** After hook: {@code master} tagged master (passing); the replicas follow with {@link #sync}. */
    public void registerMaster(String master) throws IOException {
        register(master, "master", new Discovery.Check(checkId(service, master), Discovery.Check.PASSING, "the epoch's master, writable"));
    }

    /**
     * The master and replicas known to replicate from it (passing checks), for labs and tests that set a cluster up by
     * hand; the manager uses {@link #registerMaster} and {@link #sync}.
     */
    public void register(String master, List<String> replicas) throws IOException {
        registerMaster(master);
        for (String r : replicas) {
            register(r, "replica", new Discovery.Check(checkId(service, r), Discovery.Check.PASSING, "replicates from " + master));
        }
    }

    private void register(String address, String tag, Discovery.Check check) throws IOException {
        int colon = address.lastIndexOf(':');
        discovery.register(nodeName(service, address), address.substring(0, colon), serviceId(service, address), service, List.of(tag),
                Integer.parseInt(address.substring(colon + 1)), check);
    }

    /** The addresses (host:port) the catalog tags master now. */
    public List<String> masters() throws IOException {
        return discovery.instances(service, "master").stream().map(i -> i.address() + ":" + i.port()).toList();
    }

    /**
     * Makes the catalog follow what was observed, writing only what differs: {@code master} tagged master; each other
     * member that replicates from it with a live link tagged replica with a passing check; a registered replica that
     * does not, critical (with why); a member tagged master that is not the master, deregistered. Returns what it
     * changed, for the log (empty when nothing).
     */
    public List<String> sync(String master, Topology topology) throws IOException {
        Map<String, Discovery.Health> registered = new HashMap<>();
        for (Discovery.Health h : discovery.health(service)) registered.put(h.instance().serviceId(), h);
        List<String> changes = new ArrayList<>();
        Discovery.Health m = registered.get(serviceId(service, master));
        if (m == null || !m.instance().tags().equals(List.of("master")) || !Discovery.Check.PASSING.equals(m.status())) {
            registerMaster(master);
            changes.add(master + " registered as master");
        }
        for (InstanceState i : topology.instances()) {
            if (i.address().equals(master)) continue;
            Discovery.Health e = registered.get(serviceId(service, i.address()));
            boolean live = i.isReplica() && master.equals(i.masterAddress()) && i.masterLinkUp();
            if (live) {
                if (e == null || !e.instance().tags().equals(List.of("replica")) || !Discovery.Check.PASSING.equals(e.status())) {
                    register(i.address(), "replica", new Discovery.Check(checkId(service, i.address()), Discovery.Check.PASSING,
                            "replicates from " + master + ", link up"));
                    changes.add(i.address() + " registered as a replica (passing)");
                }
                continue;
            }
            if (e == null) continue;
            if (e.instance().tags().contains("master")) {
                discovery.deregisterService(e.instance().node(), e.instance().serviceId());
                changes.add(i.address() + " deregistered (tagged master, but " + master + " is the master)");
            } else if (!Discovery.Check.CRITICAL.equals(e.status())) {
                String why = whyNotReplicating(i, master);
                register(i.address(), "replica", new Discovery.Check(checkId(service, i.address()), Discovery.Check.CRITICAL, why));
                changes.add(i.address() + " replica check critical: " + why);
            }
        }
        return changes;
    }

    private static String whyNotReplicating(InstanceState i, String master) {
        if (!i.reachable()) return "unreachable: " + i.error();
        if (!i.isReplica()) return "not a replica (" + (i.writable() ? "writable " : "read-only ") + i.role().name().toLowerCase() + ")";
        if (!master.equals(i.masterAddress())) return "replicates from " + i.masterAddress() + ", not from " + master;
        return "its link to " + master + " is down";
    }
}

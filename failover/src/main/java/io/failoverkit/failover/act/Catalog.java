package io.failoverkit.failover.act;

import io.failoverkit.failover.discovery.DiscoveryClient;

import java.io.IOException;
import java.util.List;

/**
 * The built-in hook actions on the discovery catalog: who `master.<service>.service.consul` names. Each member is a
 * catalog node of its own (named from its address), with one instance of the service tagged master or replica.
 */
public final class Catalog {
    private final DiscoveryClient discovery;
    private final String service;

    public Catalog(DiscoveryClient discovery, String service) {
        this.discovery = discovery;
        this.service = service;
    }

    static String nodeName(String service, String address) {
        return service + "-" + address.replace('.', '-').replace(':', '-');
    }

    static String serviceId(String service, String address) {
        return service + "-" + address.replace(':', '-');
    }

    /** Before hook: no instance is tagged master any more, so DNS answers no master rather than the old one. */
    public void deregisterMaster() throws IOException {
        for (DiscoveryClient.Instance i : discovery.instances(service, "master")) discovery.deregisterService(i.node(), i.serviceId());
    }

    /** After hook: the new master tagged master, every other member tagged replica. */
    public void register(String master, List<String> replicas) throws IOException {
        register(master, "master");
        for (String r : replicas) register(r, "replica");
    }

    private void register(String address, String tag) throws IOException {
        int colon = address.lastIndexOf(':');
        discovery.register(nodeName(service, address), address.substring(0, colon), serviceId(service, address), service, List.of(tag),
                Integer.parseInt(address.substring(colon + 1)));
    }

    /** The addresses (host:port) the catalog tags master now. */
    public List<String> masters() throws IOException {
        return discovery.instances(service, "master").stream().map(i -> i.address() + ":" + i.port()).toList();
    }
}

package io.failoverkit.failover.topology;

import java.util.List;
import java.util.Optional;

/** Every member of a cluster as observed in one pass. */
public record Topology(List<InstanceState> instances) {
    public Optional<InstanceState> get(String address) {
        return instances.stream().filter(i -> i.address().equals(address)).findFirst();
    }

    public List<InstanceState> masters() {
        return instances.stream().filter(InstanceState::isMaster).toList();
    }

    public List<InstanceState> replicasOf(String master) {
        return instances.stream().filter(i -> i.isReplica() && master.equals(i.masterAddress())).toList();
    }
}

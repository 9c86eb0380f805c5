package io.failoverkit.failover.guard;

import io.failoverkit.failover.inst.Servers;
import io.failoverkit.failover.topology.InstanceState;

/**
 * The local instance seen and fenced through the kind's {@link Servers}: MySQL/MariaDB's observation (read_only, and
 * super_read_only on MySQL) and its fence (clients killed, read-only, killed again, left for `failover rejoin`).
 * {@code address} is where the guard dials it (usually the same as the member's address).
 */
public final class ServersLocalInstance implements Guard.LocalInstance {
    private final Servers servers;
    private final String address;

    public ServersLocalInstance(Servers servers, String address) {
        this.servers = servers;
        this.address = address;
    }

    @Override
    public LocalView observe() {
        InstanceState s = servers.observe(address);
        if (!s.reachable()) return LocalView.unreachable(s.error());
        if (s.isReplica()) return new LocalView(LocalView.State.REPLICA, "of " + s.masterAddress());
        if (s.isMaster()) return new LocalView(LocalView.State.WRITABLE, s.detail());
        return new LocalView(LocalView.State.FENCED, s.detail());
    }

    @Override
    public void fence(String epochMaster, String reason) {
        servers.fence(address);
    }

    @Override
    public void close() { servers.close(); }
}

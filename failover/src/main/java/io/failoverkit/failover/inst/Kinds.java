package io.failoverkit.failover.inst;

import io.failoverkit.failover.cluster.ClusterDefinition;
import io.failoverkit.failover.redis.RedisServers;

import java.io.IOException;

/** The {@link Servers} for a cluster's kind, with the cluster's timeout and credentials. */
public final class Kinds {
    private Kinds() {}

    public static Servers open(ClusterDefinition c) throws IOException {
        return switch (c.kind()) {
            case "redis" -> new RedisServers(c.detection().timeoutMs(), c.password(), c.fencing().maxLagSeconds(), java.util.function.UnaryOperator.identity());
            case "mysql" -> new io.failoverkit.failover.mysql.MySqlServers(c.detection().timeoutMs(), c.mysql().user(), c.password(),
                    c.mysql().replicationUser(), c.mysql().replicationPassword());
            default -> throw new IOException("cluster kind \"" + c.kind() + "\" is not supported yet");
        };
    }
}

package io.failoverkit.failover.drill;

import java.util.List;

/**
 * Redis servers for a drill, wherever they run (local processes, containers): the first instance starts as master,
 * the others as its replicas. A drill only ever signals instances of its own lab.
 */
public interface RedisLab extends AutoCloseable {
    /**
     * What failoverkit asks every managed Redis to start with (its config file): a server that (re)starts as a master
     * refuses writes until a replica is attached, so an old master that returns after a failover cannot take a write
     * before the manager demotes it. The manager lowers min-replicas-to-write to 0 on a healthy master that has no
     * live replica, and keeps max-lag and the ping period on every master it guards.
     */
    List<String> RECOMMENDED_CONFIG = List.of("--min-replicas-to-write", "1", "--min-replicas-max-lag", "2");

    interface Instance {
        String address();

        /** SIGKILL: the server dies at once, with whatever it had not replicated. */
        void kill() throws Exception;

        /** SIGSTOP: the server stops answering but keeps its connections open (a hung host, a long GC, a frozen VM). */
        void freeze() throws Exception;

        /** SIGCONT after {@link #freeze}. */
        void thaw() throws Exception;

        /** Starts it again on the same address, as a master (null) or as a replica of {@code replicaOf}. */
        void start(String replicaOf) throws Exception;
    }

    List<? extends Instance> instances();

    default List<String> addresses() { return instances().stream().map(Instance::address).toList(); }

    @Override
    void close() throws Exception;
}

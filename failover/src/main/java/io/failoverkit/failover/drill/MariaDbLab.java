package io.failoverkit.failover.drill;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * MariaDB (or MySQL) servers for a drill, wherever they run (local processes now, containers later): the first
 * instance starts as the primary, the others as its GTID replicas. The lab creates three accounts: an admin for the
 * manager, a replication account, and a non-admin application account whose writes read_only refuses (root's are
 * not refused: read_only does not stop a user with READ ONLY ADMIN, so a drill writing as root proves nothing).
 * The application writes into {@code drill.probe (seq BIGINT PRIMARY KEY)}. A drill only signals its own instances.
 */
public interface MariaDbLab extends AutoCloseable {
    record Account(String user, String password) {}

    interface Instance {
        String address();

        /** SIGKILL: the server dies at once, with whatever it had not replicated. */
        void kill() throws Exception;

        /** SIGSTOP: it stops answering but keeps its connections and its port (a hung host, a frozen VM). */
        void freeze() throws Exception;

        /** SIGCONT after {@link #freeze}. */
        void thaw() throws Exception;

        /**
         * Starts a killed instance again the way an operator brings back an old primary: read-only, replication not
         * started, and (with semi-sync) its binlog tail that no replica acknowledged truncated on recovery.
         */
        void restartFenced() throws Exception;

        /**
         * The drill's operator connection for its own checks: every privilege but READ ONLY ADMIN (so read_only stops
         * its writes and a fence does not lock it); replicated writes through it need sql_log_bin=0.
         */
        Connection admin() throws SQLException;
    }

    List<? extends Instance> instances();

    /** The manager's account: least privileged (see {@link MariaDbLabRecipe#managerGrants}). */
    Account admin();

    Account operator();

    Account replication();

    Account application();

    boolean semiSync();

    default List<String> addresses() { return instances().stream().map(Instance::address).toList(); }

    @Override
    void close() throws Exception;
}

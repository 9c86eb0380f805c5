package io.failoverkit.failover.client;

import com.zaxxer.hikari.HikariDataSource;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * For HikariCP on {@code master.<cluster>.service.consul}: a connection whose statement was refused because its server
 * is read-only has reached a server that is no longer the primary (the old primary, back and fenced by failoverkit);
 * evict it, so that the next borrow opens a connection to where the name points now.
 *
 * <p>Why settings are not enough (the client-stack drill, docs/clients.md): HikariCP evicts a connection on a broken
 * link (SQLState 08...), not on MySQL/MariaDB's read-only refusals (1290, 1836: SQLState HY000), so a connection that
 * reached the returning old primary kept failing every insert until {@code maxLifetime} (31.8 s in a drill run with
 * the tuned settings, against 1.1 s for the failover itself). HikariCP 5.1's {@code SQLExceptionOverride} can only
 * prevent an eviction, not ask for one.
 */
public final class ReadOnlyEviction {
    /** ER_OPTION_PREVENTS_STATEMENT (read_only / super_read_only) and ER_READ_ONLY_MODE. */
    static final int READ_ONLY = 1290, READ_ONLY_MODE = 1836;

    private ReadOnlyEviction() {}

    /**
     * Call in the application's catch block, with the connection still in hand: evicts {@code connection} from
     * {@code pool} when {@code e} (or a cause) is a read-only refusal, and the pool's other connections as they come
     * back, and says whether it did. A read-only refusal applied nothing: that write may be retried on a new connection.
     */
    public static boolean evictIfReadOnly(HikariDataSource pool, Connection connection, SQLException e) {
        if (!isReadOnly(e)) return false;
        pool.evictConnection(connection);
        // The pool's other connections opened in the same DNS window reached the same server: each is closed once
        // returned (or at once if idle), instead of failing one write each first.
        var mx = pool.getHikariPoolMXBean();
        if (mx != null) mx.softEvictConnections();
        return true;
    }

    /** How deep a cause chain is followed (a chain that loops back on itself ends too). */
    private static final int MAX_CAUSES = 32;

    /**
     * Whether {@code e} or one of its causes is MySQL/MariaDB refusing a write because the server is read-only: 1836,
     * or 1290 naming the read-only option (1290 is also how the server refuses what --secure-file-priv,
     * --skip-grant-tables and other options forbid, which says nothing about where the primary is).
     */
    public static boolean isReadOnly(Throwable e) {
        java.util.Set<Throwable> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        for (Throwable t = e; t != null && seen.size() < MAX_CAUSES && seen.add(t); t = t.getCause()) {
            if (!(t instanceof SQLException s)) continue;
            if (s.getErrorCode() == READ_ONLY_MODE) return true;
            if (s.getErrorCode() == READ_ONLY && namesReadOnly(s.getMessage())) return true;
        }
        return false;
    }

    private static boolean namesReadOnly(String message) {
        if (message == null) return false;
        String m = message.toLowerCase(java.util.Locale.ROOT);
        return m.contains("read-only") || m.contains("read_only");
    }
}

package io.failoverkit.failover.client;

import org.apache.commons.pool2.PooledObject;
import org.apache.commons.pool2.impl.GenericObjectPoolConfig;
import redis.clients.jedis.Connection;
import redis.clients.jedis.ConnectionFactory;
import redis.clients.jedis.DefaultJedisSocketFactory;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPooled;
import redis.clients.jedis.JedisSocketFactory;

import java.net.InetAddress;
import java.net.Socket;
import java.net.UnknownHostException;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * A {@link JedisPooled} on {@code master.<cluster>.service.consul} that follows the name: a pooled connection is
 * handed out only while the name still resolves to the address it was opened to; otherwise it is closed and a new
 * one is opened to the address the name has now.
 *
 * <p>Why settings are not enough (the client-stack drill, docs/clients.md): a pool's connections are never re-resolved.
 * After a failover a connection opened while the runtime's DNS cache still named the old master reaches the old
 * master when it comes back (a supervisor restarts it); failoverkit demotes it, its writes fail with READONLY, and the
 * connection, healthy as far as the pool can tell, stays in the pool for ever.
 *
 * <p>The check costs no round trip and never waits for DNS: one background thread asks {@link InetAddress} (the JVM's
 * resolver and cache; keep {@code networkaddress.cache.ttl} at 1 s, see the guide) every {@link #REFRESH}, and a
 * borrow compares the connection's address with the last answer. A resolver that is slow, down or frozen therefore
 * costs no borrow anything (the last answer stands until a new one comes); a name that does not resolve (between two
 * masters: deregistered, not yet moved) keeps the connections the pool has, and a write will tell. Closing the pool
 * stops the thread.
 *
 * <p>Left as Jedis has it: the borrow check replaces Jedis's own {@code validateObject} (a PING and, for token-based
 * credentials, re-authentication); the pool's idle test therefore checks the socket only.
 */
public final class MasterFollowingJedis {
    private MasterFollowingJedis() {}

    /** How often the background thread asks for the name's addresses. */
    static final java.time.Duration REFRESH = java.time.Duration.ofMillis(250);

    /**
     * @param master {@code master.<cluster>.service.consul} and the port every member listens on
     * @param pool   the pool's settings; test-on-borrow is switched on (that is where the check runs)
     */
    public static JedisPooled pooled(HostAndPort master, JedisClientConfig config, GenericObjectPoolConfig<Connection> pool) {
        GenericObjectPoolConfig<Connection> p = pool.clone();
        p.setTestOnBorrow(true);
        Factory factory = new Factory(master, config, InetAddress::getAllByName);
        factory.refreshEvery(REFRESH);
        return new JedisPooled(p, factory) {
            @Override
            public void close() {
                try {
                    factory.close();
                } finally {
                    super.close();
                }
            }
        };
    }

    /** How the name is resolved (the JVM's resolver and cache; a test's own). */
    interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    /** Remembers the address each connection's socket reached; validates a connection by that address and the name's last answer. */
    static final class Factory extends ConnectionFactory implements AutoCloseable {
        private static final ThreadLocal<InetAddress> OPENED_TO = new ThreadLocal<>();

        private final String host;
        private final Resolver resolver;
        private final Map<Connection, InetAddress> reached = Collections.synchronizedMap(new WeakHashMap<>());
        /** The name's last answer; null: none yet, or the name did not resolve the last time it was asked. */
        private volatile InetAddress[] answer;
        private volatile Thread refresher;
        private volatile boolean closed;

        Factory(HostAndPort master, JedisClientConfig config, Resolver resolver) {
            super(recordingSocketFactory(master, config), config);
            this.host = master.getHost();
            this.resolver = resolver;
        }

        private static JedisSocketFactory recordingSocketFactory(HostAndPort master, JedisClientConfig config) {
            DefaultJedisSocketFactory sockets = new DefaultJedisSocketFactory(master, config);
            return () -> {
                OPENED_TO.remove();
                Socket s = sockets.createSocket();
                OPENED_TO.set(s.getInetAddress());
                return s;
            };
        }

        /** Asks for the name once now, then every {@code every} on a daemon thread until {@link #close()}. */
        void refreshEvery(java.time.Duration every) {
            refresh();
            refresher = Thread.ofPlatform().daemon().name("master-following-dns " + host).start(() -> {
                while (!closed) {
                    try {
                        Thread.sleep(every);
                    } catch (InterruptedException e) {
                        return;
                    }
                    refresh();
                }
            });
        }

        /** One lookup: its answer replaces the last (a failed lookup leaves none: connections are then kept). */
        void refresh() {
            try {
                answer = resolver.resolve(host);
            } catch (UnknownHostException e) {
                answer = null; // the name is between masters (deregistered, not yet moved)
            } catch (RuntimeException e) {
                answer = null; // a resolver failure tells nothing about where the master is
            }
        }

        @Override
        public void close() {
            closed = true;
            Thread t = refresher;
            if (t != null) t.interrupt();
        }

        @Override
        public PooledObject<Connection> makeObject() throws Exception {
            OPENED_TO.remove();
            try {
                PooledObject<Connection> c = super.makeObject();
                InetAddress to = OPENED_TO.get();
                if (to != null) reached.put(c.getObject(), to);
                return c;
            } finally {
                OPENED_TO.remove();
            }
        }

        @Override
        public boolean validateObject(PooledObject<Connection> pooled) {
            Connection c = pooled.getObject();
            if (!c.isConnected() || c.isBroken()) return false;
            InetAddress to = reached.get(c);
            InetAddress[] now = answer;
            if (to == null || now == null) return true; // not known where it went, or where the name points: keep it, a write will tell
            for (InetAddress a : now) if (a.equals(to)) return true;
            return false;
        }
    }
}

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
 * connection, healthy as far as the pool can tell, stays in the pool for ever. The check costs no round trip: it asks
 * {@link InetAddress} (the JVM's DNS cache; keep {@code networkaddress.cache.ttl} at 1 s, see the guide) on each
 * borrow.
 */
public final class MasterFollowingJedis {
    private MasterFollowingJedis() {}

    /**
     * @param master {@code master.<cluster>.service.consul} and the port every member listens on
     * @param pool   the pool's settings; test-on-borrow is switched on (that is where the check runs)
     */
    public static JedisPooled pooled(HostAndPort master, JedisClientConfig config, GenericObjectPoolConfig<Connection> pool) {
        GenericObjectPoolConfig<Connection> p = pool.clone();
        p.setTestOnBorrow(true);
        return new JedisPooled(p, new Factory(master, config, InetAddress::getAllByName));
    }

    /** How the name is resolved when a connection is borrowed (the JVM's resolver and cache; a test's own). */
    interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    /** Remembers the address each connection's socket reached; validates a connection by that address and the name's now. */
    static final class Factory extends ConnectionFactory {
        private static final ThreadLocal<InetAddress> OPENED_TO = new ThreadLocal<>();

        private final String host;
        private final Resolver resolver;
        private final Map<Connection, InetAddress> reached = Collections.synchronizedMap(new WeakHashMap<>());

        Factory(HostAndPort master, JedisClientConfig config, Resolver resolver) {
            super(recordingSocketFactory(master, config), config);
            this.host = master.getHost();
            this.resolver = resolver;
        }

        private static JedisSocketFactory recordingSocketFactory(HostAndPort master, JedisClientConfig config) {
            DefaultJedisSocketFactory sockets = new DefaultJedisSocketFactory(master, config);
            return () -> {
                Socket s = sockets.createSocket();
                OPENED_TO.set(s.getInetAddress());
                return s;
            };
        }

        @Override
        public PooledObject<Connection> makeObject() throws Exception {
            OPENED_TO.remove();
            PooledObject<Connection> c = super.makeObject();
            InetAddress to = OPENED_TO.get();
            OPENED_TO.remove();
            if (to != null) reached.put(c.getObject(), to);
            return c;
        }

        @Override
        public boolean validateObject(PooledObject<Connection> pooled) {
            Connection c = pooled.getObject();
            if (!c.isConnected() || c.isBroken()) return false;
            InetAddress to = reached.get(c);
            if (to == null) return true; // not opened yet: it resolves the name when it connects
            try {
                for (InetAddress now : resolver.resolve(host)) if (now.equals(to)) return true;
                return false;
            } catch (UnknownHostException e) {
                return true; // the name is between masters (deregistered, not yet moved): keep what we have, a write will tell
            }
        }
    }
}

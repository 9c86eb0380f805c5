package io.failoverkit.failover.drill;

import org.xbill.DNS.ARecord;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import java.time.Duration;

/**
 * How the drills' applications find their master: {@code master.<service>.service.consul} asked of our DNS on
 * 127.0.0.1 (SRV for the port, then the SRV target's A record), without any cache, so every lookup sees the name as
 * the discovery node serves it at that moment.
 */
public final class MasterResolver {
    private final String name;
    private final int dnsPort;

    public MasterResolver(String service, int dnsPort) {
        this.name = "master." + service + ".service.consul.";
        this.dnsPort = dnsPort;
    }

    /** The master's host:port as our DNS names it now, or null (no single SRV answer, no A record, or no answer at all). */
    public String resolve() {
        try {
            SimpleResolver r = new SimpleResolver("127.0.0.1");
            r.setPort(dnsPort);
            r.setTimeout(Duration.ofMillis(500));
            Lookup l = new Lookup(name, Type.SRV);
            l.setResolver(r);
            l.setCache(null);
            Record[] srv = l.run();
            if (srv == null || srv.length != 1) return null;
            SRVRecord s = (SRVRecord) srv[0];
            Lookup a = new Lookup(s.getTarget(), Type.A);
            a.setResolver(r);
            a.setCache(null);
            Record[] addrs = a.run();
            if (addrs == null || addrs.length == 0) return null;
            return ((ARecord) addrs[0]).getAddress().getHostAddress() + ":" + s.getPort();
        } catch (Exception e) {
            return null;
        }
    }
}

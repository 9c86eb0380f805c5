package io.failoverkit.discovery.config;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Consul's {@code dns_config} (and {@code recursors}): TTLs, health filtering, staleness and SOA settings.
 * Defaults are Consul's: TTL 0, warning instances answered, stale answers allowed.
 */
public final class DnsConfig {
    public boolean allowStale = true;
    public Duration maxStale = Duration.ofDays(3650);
    public Duration nodeTtl = Duration.ZERO;
    /** Per service name, with "*" as the default. */
    public final Map<String, Duration> serviceTtl = new LinkedHashMap<>();
    public boolean onlyPassing;
    public long soaMinTtl = 0;
    public long soaRefresh = 3600;
    public long soaRetry = 600;
    public long soaExpire = 86400;
    public final List<String> recursors = new ArrayList<>();
    /**
     * {@code udp_answer_limit}: answers in a UDP response to a query without EDNS0 (or offering at most 512 bytes),
     * at most 8 whatever is configured (Consul's cap). Default 3.
     */
    public int udpAnswerLimit = 3;
    /** {@code a_record_limit}: A/AAAA/ANY answers for a service over UDP and TCP (not SRV); 0: no limit. */
    public int aRecordLimit;
    /** {@code enable_truncate}: set TC when records were left out of an answer to fit it (UDP or TCP). */
    public boolean enableTruncate;

    /**
     * What an operator should hear about these settings when the DNS interface starts (accepted, as Consul accepts
     * them, but likely not meant).
     */
    public List<String> warnings() {
        List<String> w = new ArrayList<>();
        if (udpAnswerLimit == 0) {
            w.add("dns_config.udp_answer_limit is 0: over UDP without EDNS0, a name with more than one record gets an"
                    + " empty NOERROR answer (Consul answers the same); set it between 1 and 8 (default 3)");
        }
        return w;
    }

    public Duration serviceTtl(String service) {
        Duration d = serviceTtl.get(service);
        if (d == null) d = serviceTtl.get("*");
        return d == null ? Duration.ZERO : d;
    }

    void apply(JsonNode root) {
        List<String> rec = Definitions.strings(root, "recursors");
        if (rec != null) {
            recursors.clear();
            recursors.addAll(rec);
        }
        JsonNode dns = Definitions.field(root, "dns_config");
        if (dns == null) return;
        if (!dns.isObject()) throw new IllegalArgumentException("\"dns_config\" must be an object");
        allowStale = Definitions.bool(dns, "allow_stale", allowStale);
        Duration ms = Definitions.duration(dns, "max_stale");
        if (ms != null) maxStale = ms;
        Duration nt = Definitions.duration(dns, "node_ttl");
        if (nt != null) nodeTtl = nt;
        onlyPassing = Definitions.bool(dns, "only_passing", onlyPassing);
        int udpLimit = Definitions.integer(dns, "udp_answer_limit", udpAnswerLimit);
        if (udpLimit < 0) throw new IllegalArgumentException("\"dns_config.udp_answer_limit\" must not be negative, not " + udpLimit);
        int aLimit = Definitions.integer(dns, "a_record_limit", aRecordLimit);
        if (aLimit < 0) throw new IllegalArgumentException("\"dns_config.a_record_limit\" must not be negative, not " + aLimit);
        udpAnswerLimit = udpLimit;
        aRecordLimit = aLimit;
        enableTruncate = Definitions.bool(dns, "enable_truncate", enableTruncate);
        JsonNode st = Definitions.field(dns, "service_ttl");
        if (st != null) {
            if (!st.isObject()) throw new IllegalArgumentException("\"dns_config.service_ttl\" must be an object of service name to duration");
            for (Iterator<String> it = st.fieldNames(); it.hasNext(); ) {
                String name = it.next();
                serviceTtl.put(name, Definitions.duration(st, name));
            }
        }
        JsonNode soa = Definitions.field(dns, "soa");
        if (soa != null) {
            soaMinTtl = Definitions.integer(soa, "min_ttl", (int) soaMinTtl);
            soaRefresh = Definitions.integer(soa, "refresh", (int) soaRefresh);
            soaRetry = Definitions.integer(soa, "retry", (int) soaRetry);
            soaExpire = Definitions.integer(soa, "expire", (int) soaExpire);
        }
        for (String r : recursors) {
            if (!r.matches("[0-9a-fA-F:.\\[\\]]+(:\\d+)?")) throw new IllegalArgumentException("recursor \"" + r + "\" must be an IP address, optionally with :port");
        }
    }
}

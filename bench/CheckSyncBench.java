// bench/CheckSyncBench.java: the Java half of bench/checksync.sh (run by it with the source launcher and the
// discovery-node jar's lib/ on the class path, for dnsjava; bench-only, not part of any module). Against one discovery
// node, registers a service with a TTL check, then flips the check (pass, fail, pass, ...) through /v1/agent/check/*
// and measures, from just before each PUT, how long until
//   http  a blocking query on /v1/health/service/NAME?passing (held open before the PUT, as a watcher holds it)
//         returns with the new set (one instance after a pass, none after a fail);
//   dns   an A query for NAME.service.consul answers the same (polled back to back after the PUT).
// Every update is a status change. Prints p50, p90, p99 and max of each over the measured updates.

import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

public class CheckSyncBench {
    private static final String SERVICE = "syncbench";
    private static HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
    private static String base;

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new TreeMap<>();
        for (String a : args) {
            if (!a.startsWith("--") || !a.contains("=")) throw new IllegalArgumentException("usage: --http=H:P --dns=H:P [--updates=N] [--warmup=N]");
            opt.put(a.substring(2, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
        }
        base = "http://" + opt.get("http");
        String[] dnsAddr = opt.get("dns").split(":");
        int updates = Integer.parseInt(opt.getOrDefault("updates", "1000"));
        int warmup = Integer.parseInt(opt.getOrDefault("warmup", "100"));
        SimpleResolver dns = new SimpleResolver(dnsAddr[0]);
        dns.setPort(Integer.parseInt(dnsAddr[1]));
        dns.setTimeout(Duration.ofSeconds(2));
        Message query = Message.newQuery(Record.newRecord(Name.fromString(SERVICE + ".service.consul."), Type.A, DClass.IN));

        for (int i = 0; i < 600; i++) {
            HttpResponse<String> r = send("PUT", "/v1/agent/service/register",
                    "{\"ID\":\"" + SERVICE + "-1\",\"Name\":\"" + SERVICE + "\",\"Port\":9999,\"Check\":{\"CheckID\":\"" + SERVICE + "-ttl\",\"TTL\":\"10m\"}}");
            if (r.statusCode() == 200) break;
            Thread.sleep(100);
        }
        // Wait for the service in the catalog (the first anti-entropy sync).
        while (!send("GET", "/v1/health/service/" + SERVICE, null).body().contains(SERVICE + "-1")) Thread.sleep(50);

        long[] httpNanos = new long[updates];
        long[] dnsNanos = new long[updates];
        for (int i = -warmup; i < updates; i++) {
            boolean pass = ((i + warmup) & 1) == 0;
            int want = pass ? 1 : 0;
            HttpResponse<String> now = send("GET", "/v1/health/service/" + SERVICE + "?passing", null);
            long index = Long.parseLong(now.headers().firstValue("X-Consul-Index").orElse("0"));
            long t0 = System.nanoTime();
            CompletableFuture<Long> httpSeen = CompletableFuture.supplyAsync(() -> watch(index, want, t0));
            HttpResponse<String> put = send("PUT", "/v1/agent/check/" + (pass ? "pass" : "fail") + "/" + SERVICE + "-ttl", "");
            if (put.statusCode() != 200) throw new IllegalStateException("check update: HTTP " + put.statusCode() + " " + put.body());
            long dnsAt;
            while (true) {
                Message answer = dns.send(query);
                if (answer.getSection(Section.ANSWER).size() == want) { dnsAt = System.nanoTime(); break; }
                if (System.nanoTime() - t0 > TimeUnit.SECONDS.toNanos(30)) throw new IllegalStateException("DNS did not follow update " + i + " in 30 s");
            }
            long httpAt = httpSeen.get(60, TimeUnit.SECONDS);
            if (i >= 0) {
                httpNanos[i] = httpAt - t0;
                dnsNanos[i] = dnsAt - t0;
            }
        }
        report("http ?passing", httpNanos);
        report("dns A", dnsNanos);
        // The node's own view of the Raft side (totals since it started, warm-up and registration included).
        String m = send("GET", "/v1/agent/metrics", null).body();
        System.out.println("node metrics:  " + field(m, "consul.raft.commitTime", "Mean") + " ms mean Raft commit over "
                + field(m, "consul.raft.commitTime", "Count") + " entries (max " + field(m, "consul.raft.commitTime", "Max") + " ms)");
    }

    /** A number field of the named metric in /v1/agent/metrics' JSON (a plain scan: the harness has no JSON library). */
    private static String field(String json, String name, String key) {
        int at = json.indexOf("\"Name\":\"" + name + "\"");
        if (at < 0) return "?";
        int k = json.indexOf("\"" + key + "\":", at);
        if (k < 0) return "?";
        int end = k + key.length() + 3;
        int stop = end;
        while (stop < json.length() && "0123456789.eE+-".indexOf(json.charAt(stop)) >= 0) stop++;
        String v = json.substring(end, stop);
        try {
            return String.format("%.2f", Double.parseDouble(v));
        } catch (NumberFormatException e) {
            return v;
        }
    }

    /** Holds a blocking query until the passing set has {@code want} instances; returns when it saw that. */
    private static long watch(long index, int want, long t0) {
        try {
            long idx = index;
            while (true) {
                HttpResponse<String> r = send("GET", "/v1/health/service/" + SERVICE + "?passing&index=" + idx + "&wait=30s", null);
                long seen = System.nanoTime();
                int count = r.body().strip().equals("[]") ? 0 : r.body().split("\"ServiceID\":\"" + SERVICE + "-1\"", -1).length - 1;
                if (count == want) return seen;
                idx = Long.parseLong(r.headers().firstValue("X-Consul-Index").orElse("0"));
                if (seen - t0 > TimeUnit.SECONDS.toNanos(30)) throw new IllegalStateException("the blocking query did not follow in 30 s");
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static HttpResponse<String> send(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60));
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static void report(String what, long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        System.out.printf("%-14s n=%d  p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms  max %6.2f ms%n", what, s.length,
                ms(s, 0.50), ms(s, 0.90), ms(s, 0.99), s[s.length - 1] / 1e6);
    }

    private static double ms(long[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))] / 1e6;
    }
}

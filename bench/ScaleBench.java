// bench/ScaleBench.java: the Java half of bench/scale.sh (run by it with the source launcher and the discovery-node
// jar's lib/ on the class path, for dnsjava; bench-only, not part of any module). Against a 3-server cluster:
//   load      registers NODES nodes with PER_NODE service instances each (over SERVICES service names, with tags, node
//             meta and one service check each) through /v1/catalog/register, CONCURRENCY requests in flight to the
//             leader, plus KV_KEYS keys under KV_PREFIXES prefixes; prints the load rate.
//   steady    parks WATCHERS blocking queries spread over the three servers (70% /v1/health/service/X?index=, 10%
//             /v1/catalog/services?index=, 20% /v1/kv/P?recurse&index=), each re-parked at its new index when it
//             returns; drives a steady change rate (RATE/s: 70% check flips, 10% new instances, 20% KV puts) and, at
//             the same time, HTTP readers (/v1/health/service/X and /v1/catalog/service/X, default consistency, to
//             the leader) and DNS readers (X.service.consul, A, each server in turn: over UDP without EDNS, so at
//             most udp_answer_limit answers as from Consul, TCP on TC; and over TCP, every instance); prints p50/p99 of the
//             reads, of the writes and of the blocked queries' wake-ups (from just before the change's PUT to the
//             watcher's answer with a higher X-Consul-Index).
//   served    polls one server (?stale) until it answers svc-0's catalog read with the expected instance count at an
//             X-Consul-Index of at least INDEX: how long a restarted server takes to serve its state again.
// Figures only; the ratios and the comparison with Consul's published figures are printed by scale.sh.

import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class ScaleBench {
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).executor(Executors.newVirtualThreadPerTaskExecutor()).build();
    private static final String[] TAG_SETS = {"\"v1\",\"primary\"", "\"v1\",\"replica\"", "\"v2\",\"replica\"", "\"v2\",\"canary\""};

    private static Map<String, String> opt;

    public static void main(String[] args) throws Exception {
        opt = new TreeMap<>();
        for (String a : args.length > 0 ? Arrays.copyOfRange(args, 1, args.length) : new String[0]) {
            if (!a.startsWith("--") || !a.contains("=")) throw new IllegalArgumentException("options are --name=value, not " + a);
            opt.put(a.substring(2, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
        }
        String mode = args.length == 0 ? "" : args[0];
        switch (mode) {
            case "load" -> load();
            case "steady" -> steady();
            case "served" -> served();
            default -> throw new IllegalArgumentException("usage: ScaleBench load|steady|served --http=H:P,... [options]");
        }
        System.exit(0);
    }

    private static int num(String name, int dflt) { return Integer.parseInt(opt.getOrDefault(name, Integer.toString(dflt))); }

    private static List<String> https() { return List.of(opt.get("http").split(",")); }

    static String nodeName(int i) { return String.format("node-%05d", i); }

    static String serviceName(int s) { return "svc-" + s; }

    /** Instance j of node i runs service (i * perNode + j) mod services: distinct names on one node, spread evenly. */
    static int serviceOf(int node, int j, int perNode, int services) { return (node * perNode + j) % services; }

    static String registration(int node, int j, int perNode, int services, String status) {
        int s = serviceOf(node, j, perNode, services);
        String id = serviceName(s) + "-" + j;
        return "{\"Node\":\"" + nodeName(node) + "\",\"Address\":\"10." + (node >> 16 & 255) + "." + (node >> 8 & 255) + "." + (node & 255)
                + "\",\"NodeMeta\":{\"rack\":\"r" + (node % 40) + "\",\"zone\":\"z" + (node % 3) + "\"}"
                + ",\"Service\":{\"ID\":\"" + id + "\",\"Service\":\"" + serviceName(s) + "\",\"Tags\":[" + TAG_SETS[(node + j) % TAG_SETS.length]
                + "],\"Port\":" + (20000 + j) + ",\"Meta\":{\"version\":\"" + (node % 7) + "\"}}"
                + ",\"Check\":{\"CheckID\":\"chk-" + id + "\",\"Name\":\"tcp " + id + "\",\"ServiceID\":\"" + id + "\",\"Status\":\"" + status + "\"}}";
    }

    static HttpResponse<String> send(String method, String url, String body, Duration timeout) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(timeout);
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> put(String url, String body) throws Exception {
        for (int attempt = 0; ; attempt++) {
            HttpResponse<String> r = send("PUT", url, body, Duration.ofSeconds(60));
            if (r.statusCode() == 200) return r;
            if (attempt >= 5) throw new IllegalStateException("PUT " + url + " answered " + r.statusCode() + ": " + r.body());
            Thread.sleep(200L << attempt);
        }
    }

    /** The HTTP address of the server that leads now, from /v1/status/leader (a Raft address) and --raft's order. */
    static String leaderHttp() throws Exception {
        List<String> http = https();
        List<String> raft = List.of(opt.get("raft").split(","));
        for (int round = 0; round < 200; round++) {
            for (String h : http) {
                try {
                    String leader = send("GET", "http://" + h + "/v1/status/leader", null, Duration.ofSeconds(5)).body().replace("\"", "").trim();
                    int at = raft.indexOf(leader);
                    if (at >= 0) return http.get(at);
                } catch (Exception e) {
                    // that one is down or starting: ask the next
                }
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("no leader among " + http);
    }

    // ------------------------------------------------------------------------------------------------ load

    static void load() throws Exception {
        int nodes = num("nodes", 10_000), perNode = num("per-node", 5), services = num("services", 300);
        int conc = num("concurrency", 64), kvKeys = num("kv-keys", 2_000), prefixes = num("kv-prefixes", 100);
        String leader = leaderHttp();
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        Semaphore inFlight = new Semaphore(conc);
        AtomicLong failed = new AtomicLong();
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        long t0 = System.nanoTime();
        long total = (long) nodes * perNode;
        for (int i = 0; i < nodes; i++) {
            for (int j = 0; j < perNode; j++) {
                String body = registration(i, j, perNode, services, "passing");
                inFlight.acquire();
                pool.execute(() -> {
                    try {
                        put("http://" + leader + "/v1/catalog/register", body);
                    } catch (Exception e) {
                        failed.incrementAndGet();
                        if (errors.size() < 3) errors.add(e.toString());
                    } finally {
                        inFlight.release();
                    }
                });
            }
        }
        inFlight.acquire(conc);
        inFlight.release(conc);
        double catalogSeconds = (System.nanoTime() - t0) / 1e9;
        long k0 = System.nanoTime();
        for (int k = 0; k < kvKeys; k++) {
            String key = "scale/p" + (k % prefixes) + "/key-" + k;
            inFlight.acquire();
            pool.execute(() -> {
                try {
                    put("http://" + leader + "/v1/kv/" + key, "value of " + key);
                } catch (Exception e) {
                    failed.incrementAndGet();
                } finally {
                    inFlight.release();
                }
            });
        }
        inFlight.acquire(conc);
        double kvSeconds = (System.nanoTime() - k0) / 1e9;
        if (failed.get() > 0) throw new IllegalStateException(failed.get() + " writes failed, e.g. " + errors);
        System.out.printf("RESULT load registrations=%d seconds=%.1f per_s=%.0f kv_keys=%d kv_seconds=%.1f concurrency=%d%n",
                total, catalogSeconds, total / catalogSeconds, kvKeys, kvSeconds, conc);
        // Every server must hold the whole catalog before the steady phase measures it.
        for (String h : https()) awaitCount(h, serviceName(0), expectedInstances(0, nodes, perNode, services), false, 0, 300);
    }

    static int expectedInstances(int service, int nodes, int perNode, int services) {
        int n = 0;
        for (int i = 0; i < nodes; i++) for (int j = 0; j < perNode; j++) if (serviceOf(i, j, perNode, services) == service) n++;
        return n;
    }

    private static final Pattern SERVICE_ID = Pattern.compile("\"ServiceID\"\\s*:\\s*\"");

    static int countInstances(String body) {
        Matcher m = SERVICE_ID.matcher(body);
        int n = 0;
        while (m.find()) n++;
        return n;
    }

    /**
     * Seconds until {@code http} answers svc's catalog read (?stale) with {@code want} instances ({@code atLeast}: that
     * many or more, as a server that has applied past minIndex may hold later registrations) at index >= minIndex.
     */
    static double awaitCount(String http, String svc, int want, boolean atLeast, long minIndex, int maxSeconds) throws Exception {
        long t0 = System.nanoTime();
        long end = t0 + TimeUnit.SECONDS.toNanos(maxSeconds);
        String last = "no answer";
        while (System.nanoTime() < end) {
            try {
                HttpResponse<String> r = send("GET", "http://" + http + "/v1/catalog/service/" + svc + "?stale", null, Duration.ofSeconds(10));
                long idx = r.headers().firstValueAsLong("X-Consul-Index").orElse(0);
                int n = r.statusCode() == 200 ? countInstances(r.body()) : -1;
                if ((atLeast ? n >= want : n == want) && idx >= minIndex) return (System.nanoTime() - t0) / 1e9;
                last = "status " + r.statusCode() + ", " + n + " instances at index " + idx;
            } catch (Exception e) {
                last = e.toString();
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException(http + " did not serve " + want + " instances of " + svc + " at index >= " + minIndex + " within "
                + maxSeconds + " s (last: " + last + ")");
    }

    static void served() throws Exception {
        int nodes = num("nodes", 10_000), perNode = num("per-node", 5), services = num("services", 300);
        long minIndex = Long.parseLong(opt.getOrDefault("index", "0"));
        // --want: the instances the leader served when the restart began (the steady phase adds some to random services).
        int want = opt.containsKey("want") ? num("want", 0) : expectedInstances(0, nodes, perNode, services);
        double s = awaitCount(opt.get("target"), serviceName(0), want, true, minIndex, num("max-seconds", 600));
        System.out.printf("RESULT served seconds=%.2f%n", s);
    }

    // ------------------------------------------------------------------------------------------------ steady

    /** Latency samples in nanoseconds, thread-safe. */
    static final class Samples {
        private long[] xs = new long[1024];
        private int n;

        synchronized void add(long v) {
            if (n == xs.length) xs = Arrays.copyOf(xs, n * 2);
            xs[n++] = v;
        }

        synchronized long count() { return n; }

        synchronized String summary() {
            if (n == 0) return "n=0";
            long[] s = Arrays.copyOf(xs, n);
            Arrays.sort(s);
            return String.format("n=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f", n, pct(s, 50) / 1e6, pct(s, 99) / 1e6, s[n - 1] / 1e6);
        }

        private static long pct(long[] s, double p) { return s[Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1)]; }
    }

    /** When the last change to each watched thing (service name, "catalog", KV prefix) was sent, nanoTime. */
    static final ConcurrentHashMap<String, Long> lastChange = new ConcurrentHashMap<>();

    static void steady() throws Exception {
        int nodes = num("nodes", 10_000), perNode = num("per-node", 5), services = num("services", 300);
        int watchers = num("watchers", 5_000), rate = num("rate", 20), seconds = num("seconds", 60), prefixes = num("kv-prefixes", 100);
        int httpReaders = num("http-readers", 4), dnsReaders = num("dns-readers", 4), dnsTcpReaders = num("dns-tcp-readers", 1);
        List<String> http = https();
        List<String> dns = List.of(opt.get("dns").split(","));
        String leader = leaderHttp();
        AtomicBoolean measuring = new AtomicBoolean(false);
        AtomicBoolean stop = new AtomicBoolean(false);
        Samples wakeHealth = new Samples(), wakeCatalog = new Samples(), wakeKv = new Samples();
        AtomicLong parkedNow = new AtomicLong(), watchErrors = new AtomicLong(), wakes = new AtomicLong();
        CountDownLatch firstAnswers = new CountDownLatch(watchers);
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();

        // 1. Park the watchers: each loops read -> park at the index it got -> wake -> read ... until stop.
        for (int w = 0; w < watchers; w++) {
            int kind = w % 10; // 0-6 health, 7 catalog/services, 8-9 kv
            String target = http.get(w % http.size());
            String key;
            String path;
            Samples into;
            if (kind < 7) {
                key = serviceName(ThreadLocalRandom.current().nextInt(services));
                path = "/v1/health/service/" + key;
                into = wakeHealth;
            } else if (kind < 8) {
                key = "catalog";
                path = "/v1/catalog/services";
                into = wakeCatalog;
            } else {
                key = "scale/p" + ThreadLocalRandom.current().nextInt(prefixes) + "/";
                path = "/v1/kv/" + key + "?recurse";
                into = wakeKv;
            }
            pool.execute(() -> {
                long index = 0;
                boolean first = true;
                while (!stop.get()) {
                    String url = "http://" + target + path + (path.contains("?") ? "&" : "?") + "index=" + index + "&wait=10m";
                    try {
                        if (index > 0) parkedNow.incrementAndGet();
                        HttpResponse<String> r;
                        try {
                            r = send("GET", url, null, Duration.ofMinutes(11));
                        } finally {
                            if (index > 0) parkedNow.decrementAndGet();
                        }
                        long now = System.nanoTime();
                        long got = r.headers().firstValueAsLong("X-Consul-Index").orElse(0);
                        if (r.statusCode() != 200 && r.statusCode() != 404) throw new IllegalStateException(r.statusCode() + " " + r.body());
                        if (index > 0 && got > index) {
                            wakes.incrementAndGet();
                            Long sent = lastChange.get(key);
                            if (measuring.get() && sent != null) into.add(now - sent);
                        }
                        index = got;
                        if (first) { first = false; firstAnswers.countDown(); }
                    } catch (Exception e) {
                        if (watchErrors.incrementAndGet() <= 3) System.err.println("watcher on " + target + path + ": " + e);
                        try { Thread.sleep(500); } catch (InterruptedException ie) { return; }
                    }
                }
            });
        }
        if (!firstAnswers.await(300, TimeUnit.SECONDS)) throw new IllegalStateException("the watchers' first reads did not all return in 300 s");
        for (int i = 0; i < 600 && parkedNow.get() < watchers * 99L / 100; i++) Thread.sleep(100);
        System.out.printf("RESULT parked watchers=%d parked_now=%d errors=%d%n", watchers, parkedNow.get(), watchErrors.get());

        // 2. Readers: HTTP catalog/health to the leader, DNS over UDP to every server.
        Samples readHealth = new Samples(), readCatalog = new Samples(), readDns = new Samples(), writes = new Samples();
        Samples readDnsTcp = new Samples();
        AtomicLong readErrors = new AtomicLong(), dnsErrors = new AtomicLong(), dnsEmpty = new AtomicLong(), dnsTruncated = new AtomicLong();
        AtomicLong dnsAnswers = new AtomicLong(), dnsTcpAnswers = new AtomicLong(), dnsTcpErrors = new AtomicLong();
        List<Thread> readers = new ArrayList<>();
        for (int r = 0; r < httpReaders; r++) {
            boolean health = r % 2 == 0;
            readers.add(Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    String svc = serviceName(ThreadLocalRandom.current().nextInt(services));
                    String url = "http://" + leader + (health ? "/v1/health/service/" : "/v1/catalog/service/") + svc;
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<String> resp = send("GET", url, null, Duration.ofSeconds(30));
                        long took = System.nanoTime() - t0;
                        if (resp.statusCode() != 200 || countInstances(resp.body()) == 0) readErrors.incrementAndGet();
                        else if (measuring.get()) (health ? readHealth : readCatalog).add(took);
                    } catch (Exception e) {
                        readErrors.incrementAndGet();
                    }
                }
            }));
        }
        for (int r = 0; r < dnsReaders; r++) {
            int which = r;
            readers.add(Thread.ofPlatform().start(() -> {
                try (DatagramSocket socket = new DatagramSocket()) {
                    socket.setSoTimeout(2000);
                    byte[] buf = new byte[4096];
                    int id = 0;
                    int k = which;
                    while (!stop.get()) {
                        String[] hp = dns.get(k++ % dns.size()).split(":");
                        InetSocketAddress to = new InetSocketAddress(hp[0], Integer.parseInt(hp[1]));
                        String svc = serviceName(ThreadLocalRandom.current().nextInt(services));
                        Message q = Message.newQuery(Record.newRecord(Name.fromString(svc + ".service.consul."), Type.A, 1));
                        q.getHeader().setID(id = (id + 1) & 0xFFFF);
                        byte[] wire = q.toWire();
                        long t0 = System.nanoTime();
                        try {
                            socket.send(new DatagramPacket(wire, wire.length, to));
                            DatagramPacket p;
                            Message a;
                            do {
                                p = new DatagramPacket(buf, buf.length);
                                socket.receive(p);
                                a = new Message(Arrays.copyOf(p.getData(), p.getLength()));
                            } while (a.getHeader().getID() != id);
                            if (a.getHeader().getFlag(org.xbill.DNS.Flags.TC)) {
                                // As a stub resolver (dig) does: the answer did not fit in UDP, ask again over TCP.
                                dnsTruncated.incrementAndGet();
                                a = overTcp(to, wire);
                            }
                            long took = System.nanoTime() - t0;
                            if (a.getRcode() != Rcode.NOERROR || a.getSection(Section.ANSWER).isEmpty()) dnsEmpty.incrementAndGet();
                            else if (measuring.get()) {
                                readDns.add(took);
                                dnsAnswers.addAndGet(a.getSection(Section.ANSWER).size());
                            }
                        } catch (java.io.IOException e) { // a timeout, or TCP refused
                            dnsErrors.incrementAndGet();
                        }
                    }
                } catch (Exception e) {
                    dnsErrors.incrementAndGet();
                }
            }));
        }

        // A client that wants every instance asks over TCP from the start (UDP without EDNS gets udp_answer_limit, 3, as
        // from Consul): ~N/services A records per answer, each server in turn.
        for (int r = 0; r < dnsTcpReaders; r++) {
            int which = r;
            readers.add(Thread.ofPlatform().start(() -> {
                int id = 0;
                int k = which;
                while (!stop.get()) {
                    String[] hp = dns.get(k++ % dns.size()).split(":");
                    InetSocketAddress to = new InetSocketAddress(hp[0], Integer.parseInt(hp[1]));
                    String svc = serviceName(ThreadLocalRandom.current().nextInt(services));
                    try {
                        Message q = Message.newQuery(Record.newRecord(Name.fromString(svc + ".service.consul."), Type.A, 1));
                        q.getHeader().setID(id = (id + 1) & 0xFFFF);
                        long t0 = System.nanoTime();
                        Message a = overTcp(to, q.toWire());
                        long took = System.nanoTime() - t0;
                        if (a.getRcode() != Rcode.NOERROR || a.getSection(Section.ANSWER).isEmpty()) dnsEmpty.incrementAndGet();
                        else if (measuring.get()) {
                            readDnsTcp.add(took);
                            dnsTcpAnswers.addAndGet(a.getSection(Section.ANSWER).size());
                        }
                    } catch (Exception e) {
                        dnsTcpErrors.incrementAndGet();
                    }
                }
            }));
        }

        // 3. The change driver: RATE changes a second, each timed from just before its PUT.
        AtomicLong extra = new AtomicLong();
        Semaphore inFlight = new Semaphore(64);
        Thread.sleep(2000); // the readers' first requests (JIT) are not measured
        measuring.set(true);
        long start = System.nanoTime();
        long total = (long) rate * seconds;
        long flipped = 0, registered = 0, kvPuts = 0;
        for (long c = 0; c < total; c++) {
            long due = start + c * 1_000_000_000L / rate;
            long sleep = due - System.nanoTime();
            if (sleep > 0) TimeUnit.NANOSECONDS.sleep(sleep);
            int roll = (int) (c % 10);
            String url;
            String body;
            List<String> keys = new ArrayList<>(2);
            if (roll < 7) {
                int node = ThreadLocalRandom.current().nextInt(nodes);
                int j = ThreadLocalRandom.current().nextInt(perNode);
                int s = serviceOf(node, j, perNode, services);
                String id = serviceName(s) + "-" + j;
                // Check-only registration (the node's content unchanged): one check flips.
                url = "/v1/catalog/register";
                body = "{\"Node\":\"" + nodeName(node) + "\",\"Address\":\"10." + (node >> 16 & 255) + "." + (node >> 8 & 255) + "." + (node & 255)
                        + "\",\"NodeMeta\":{\"rack\":\"r" + (node % 40) + "\",\"zone\":\"z" + (node % 3) + "\"},\"SkipNodeUpdate\":true"
                        + ",\"Check\":{\"CheckID\":\"chk-" + id + "\",\"Name\":\"tcp " + id + "\",\"ServiceID\":\"" + id + "\",\"Status\":\""
                        + (c % 20 < 10 ? "critical" : "passing") + "\"}}";
                keys.add(serviceName(s));
                flipped++;
            } else if (roll < 8) {
                long n = extra.getAndIncrement();
                int node = (int) (n % nodes);
                int s = ThreadLocalRandom.current().nextInt(services);
                String id = "extra-" + n;
                url = "/v1/catalog/register";
                body = "{\"Node\":\"" + nodeName(node) + "\",\"Address\":\"10." + (node >> 16 & 255) + "." + (node >> 8 & 255) + "." + (node & 255)
                        + "\",\"NodeMeta\":{\"rack\":\"r" + (node % 40) + "\",\"zone\":\"z" + (node % 3) + "\"},\"SkipNodeUpdate\":true"
                        + ",\"Service\":{\"ID\":\"" + id + "\",\"Service\":\"" + serviceName(s) + "\",\"Tags\":[\"extra\"],\"Port\":30000}}";
                keys.add(serviceName(s));
                keys.add("catalog");
                registered++;
            } else {
                String prefix = "scale/p" + ThreadLocalRandom.current().nextInt(prefixes) + "/";
                url = "/v1/kv/" + prefix + "key-" + ThreadLocalRandom.current().nextInt(1_000_000);
                body = "changed at " + c;
                keys.add(prefix);
                kvPuts++;
            }
            inFlight.acquire();
            String u = "http://" + leader + url;
            pool.execute(() -> {
                long t0 = System.nanoTime();
                for (String k : keys) lastChange.put(k, t0);
                try {
                    put(u, body);
                    writes.add(System.nanoTime() - t0);
                } catch (Exception e) {
                    readErrors.incrementAndGet();
                } finally {
                    inFlight.release();
                }
            });
        }
        double took = (System.nanoTime() - start) / 1e9;
        Thread.sleep(3000); // the last changes' wake-ups
        measuring.set(false);
        stop.set(true);
        for (Thread t : readers) t.join(5000);
        System.out.printf("RESULT steady seconds=%.1f changes=%d rate_per_s=%.1f check_flips=%d registrations=%d kv_puts=%d wakes=%d watch_errors=%d%n",
                took, total, total / took, flipped, registered, kvPuts, wakes.get(), watchErrors.get());
        System.out.println("RESULT write " + writes.summary());
        System.out.println("RESULT wake_health " + wakeHealth.summary());
        System.out.println("RESULT wake_catalog_services " + wakeCatalog.summary());
        System.out.println("RESULT wake_kv " + wakeKv.summary());
        System.out.println("RESULT http_health " + readHealth.summary() + " errors=" + readErrors.get());
        System.out.println("RESULT http_catalog " + readCatalog.summary());
        System.out.println("RESULT dns " + readDns.summary() + " timeouts=" + dnsErrors.get() + " empty=" + dnsEmpty.get()
                + " udp_truncated_then_tcp=" + dnsTruncated.get() + " answers_per_reply=" + perReply(dnsAnswers, readDns));
        System.out.println("RESULT dns_tcp " + readDnsTcp.summary() + " errors=" + dnsTcpErrors.get()
                + " answers_per_reply=" + perReply(dnsTcpAnswers, readDnsTcp));
    }

    static String perReply(AtomicLong answers, Samples samples) {
        long n = samples.count();
        return n == 0 ? "-" : String.format("%.1f", answers.get() / (double) n);
    }

    /** One DNS query over TCP (two-byte length prefix), as a resolver retries a truncated UDP answer. */
    static Message overTcp(InetSocketAddress to, byte[] wire) throws java.io.IOException {
        try (java.net.Socket s = new java.net.Socket()) {
            s.connect(to, 2000);
            s.setSoTimeout(2000);
            var out = new java.io.DataOutputStream(s.getOutputStream());
            out.writeShort(wire.length);
            out.write(wire);
            out.flush();
            var in = new java.io.DataInputStream(s.getInputStream());
            byte[] answer = new byte[in.readUnsignedShort()];
            in.readFully(answer);
            return new Message(answer);
        }
    }
}

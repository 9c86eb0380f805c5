import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePacker;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.Value;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.FileInputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The measuring half of bench/gossip.sh (which starts and stops the agents, by PID). One invocation does one step and
 * prints its result as key=value lines on stdout; progress goes to stderr.
 *
 * Sides: "serf" talks to stock serf agents over their RPC port (serf's IPC protocol: msgpack, handshake, members,
 * join, event on one persistent TCP connection per agent, as the serf CLI does); "fk" talks to failoverkit agents over
 * HTTP (/v1/agent/members, PUT /v1/agent/join/ADDR, PUT /v1/event/fire/NAME).
 *
 * Polling: every agent is asked in parallel once per round; a round starts every --interval ms (or right after the
 * previous one when a round takes longer). A condition is timed at the END of the round in which it is first seen
 * (the moment the last answer of that round arrived): an upper bound, late by at most one round. The rounds' median
 * and max duration are printed as the resolution.
 *
 * Steps:
 *   wait-up [--count K]                     every agent (the first K) answers its API (bounded by --timeout)
 *   join-warm --warm S                      polls every agent for S seconds, untimed (the join's warm-up)
 *   join                                    t0, then every agent but #0 is told (in parallel) to join #0's gossip
 *                                           address; time until every agent lists all N members alive
 *   converged                               wait until every agent lists all N alive (after a restart), time it
 *   kill --victim I --pid P --work DIR      (P's command line must name a file in DIR) all N alive everywhere first; t0; SIGKILL P; time until every other agent
 *                                           lists agent I failed (per agent: first round it is seen failed; the step's
 *                                           figure is the max). Counts any OTHER member seen not alive meanwhile.
 *   event --name E --events-dir D           one members call to agent #0 (warms this new JVM's client), then t0;
 *                                           fire user event E through agent #0 (serf: coalesce=false); poll D until
 *                                           every agent's handler file (D/NAME) has a line "E <epoch>"; figure = the
 *                                           latest handler timestamp minus t0 (handler clock, not polling)
 *   pcap --file F --seconds S --n N         sums a tcpdump capture (pcap, link type EN10MB or Linux SLL): IP bytes
 *                                           (IP header included, link header not), UDP and TCP separately
 */
public class GossipBench {
    static final ObjectMapper JSON = new ObjectMapper();

    // ---------------------------------------------------------------------------------------------------- args
    final Map<String, String> opt = new HashMap<>();
    String side;
    List<String> names;
    int[] apiPorts;
    int[] gossipPorts;
    long intervalMs;
    long timeoutMs;

    interface Api extends AutoCloseable {
        /** name -> status ("alive", "failed", "left", "leaving", or the raw value) */
        Map<String, String> members() throws IOException;
        void join(String addr) throws IOException;
        void fire(String name) throws IOException;
        @Override void close();
    }

    public static void main(String[] args) throws Exception {
        GossipBench b = new GossipBench();
        String step = args[0];
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) throw new IllegalArgumentException("bad argument " + a);
            int eq = a.indexOf('=');
            if (eq > 0) b.opt.put(a.substring(2, eq), a.substring(eq + 1));
            else b.opt.put(a.substring(2), args[++i]);
        }
        if (step.equals("pcap")) { b.pcap(); return; }
        b.side = b.opt.get("side");
        b.names = Arrays.asList(b.opt.get("names").split(","));
        b.apiPorts = Arrays.stream(b.opt.get("api-ports").split(",")).mapToInt(Integer::parseInt).toArray();
        b.gossipPorts = Arrays.stream(b.opt.get("gossip-ports").split(",")).mapToInt(Integer::parseInt).toArray();
        b.intervalMs = Long.parseLong(b.opt.getOrDefault("interval", "50"));
        b.timeoutMs = Long.parseLong(b.opt.getOrDefault("timeout", "120")) * 1000;
        int code = switch (step) {
            case "wait-up" -> b.waitUp();
            case "join" -> b.join();
            case "join-warm" -> b.joinWarm();
            case "converged" -> b.converged();
            case "kill" -> b.kill();
            case "event" -> b.event();
            default -> throw new IllegalArgumentException("unknown step " + step);
        };
        System.out.flush();
        System.exit(code);
    }

    static void log(String s) { System.err.println("  [harness] " + s); }

    static double now() { // epoch seconds, microsecond precision (comparable with `date +%s.%N`)
        java.time.Instant i = java.time.Instant.now();
        return i.getEpochSecond() + i.getNano() / 1e9;
    }

    // ---------------------------------------------------------------------------------------------------- APIs
    Api api(int i) throws IOException {
        return side.equals("serf") ? new SerfRpc(apiPorts[i]) : new FkHttp(apiPorts[i]);
    }

    /** Serf's IPC: go-msgpack maps; request header {Command, Seq} [+ body]; response header {Seq, Error} [+ body]. */
    static final class SerfRpc implements Api {
        final Socket s;
        final MessagePacker out;
        final MessageUnpacker in;
        long seq;

        SerfRpc(int port) throws IOException {
            s = new Socket();
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(10_000);
            s.setTcpNoDelay(true);
            out = MessagePack.newDefaultPacker(new BufferedOutputStream(s.getOutputStream()));
            in = MessagePack.newDefaultUnpacker(new BufferedInputStream(s.getInputStream()));
            header("handshake");
            out.packMapHeader(1).packString("Version").packInt(1);
            out.flush();
            reply();
        }

        void header(String cmd) throws IOException {
            out.packMapHeader(2).packString("Command").packString(cmd).packString("Seq").packLong(seq++);
        }

        void reply() throws IOException {
            Map<String, Value> h = map(in.unpackValue());
            String err = str(h.get("Error"));
            if (!err.isEmpty()) throw new IOException("serf rpc: " + err);
        }

        @Override public Map<String, String> members() throws IOException {
            header("members");
            out.flush();
            reply();
            Map<String, String> r = new HashMap<>();
            for (Value m : map(in.unpackValue()).get("Members").asArrayValue()) {
                Map<String, Value> mm = map(m);
                r.put(str(mm.get("Name")), str(mm.get("Status")));
            }
            return r;
        }

        @Override public void join(String addr) throws IOException {
            header("join");
            out.packMapHeader(2).packString("Existing").packArrayHeader(1).packString(addr).packString("Replay").packBoolean(false);
            out.flush();
            reply();
            in.unpackValue(); // {Num}
        }

        @Override public void fire(String name) throws IOException {
            header("event");
            out.packMapHeader(3).packString("Name").packString(name).packString("Payload").packBinaryHeader(0)
                    .packString("Coalesce").packBoolean(false);
            out.flush();
            reply();
        }

        @Override public void close() { try { s.close(); } catch (IOException ignored) { } }

        static Map<String, Value> map(Value v) {
            Map<String, Value> r = new HashMap<>();
            v.asMapValue().map().forEach((k, x) -> r.put(str(k), x));
            return r;
        }

        static String str(Value v) {
            if (v == null || v.isNilValue()) return "";
            if (v.isRawValue()) return v.asRawValue().asString();
            return v.toString();
        }
    }

    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    static final class FkHttp implements Api {
        final String base;

        FkHttp(int port) { base = "http://127.0.0.1:" + port; }

        HttpResponse<String> send(String method, String path) throws IOException {
            HttpRequest req = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10))
                    .method(method, HttpRequest.BodyPublishers.noBody()).build();
            try {
                HttpResponse<String> r = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) throw new IOException(method + " " + path + ": " + r.statusCode() + " " + r.body());
                return r;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }

        @Override public Map<String, String> members() throws IOException {
            Map<String, String> r = new HashMap<>();
            for (JsonNode m : JSON.readTree(send("GET", "/v1/agent/members").body())) {
                int st = m.path("Status").asInt(-1);
                r.put(m.path("Name").asText(), switch (st) {
                    case 1 -> "alive";
                    case 2 -> "leaving";
                    case 3 -> "left";
                    case 4 -> "failed";
                    default -> "status-" + st;
                });
            }
            return r;
        }

        @Override public void join(String addr) throws IOException { send("PUT", "/v1/agent/join/" + addr); }

        @Override public void fire(String name) throws IOException { send("PUT", "/v1/event/fire/" + name); }

        @Override public void close() { }
    }

    // ---------------------------------------------------------------------------------------------------- polling
    final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
    final List<Long> roundNanos = new ArrayList<>();

    /** One round: every agent's member list (null where the agent did not answer), and when the last answer came. */
    record Round(List<Map<String, String>> views, double end, boolean[] asked) { }

    Round round(Api[] apis) throws InterruptedException {
        long t = System.nanoTime();
        List<Future<Map<String, String>>> fs = new ArrayList<>();
        for (Api a : apis) fs.add(a == null ? null : pool.submit(a::members));
        List<Map<String, String>> views = new ArrayList<>();
        for (Future<Map<String, String>> f : fs) {
            try { views.add(f == null ? null : f.get()); } catch (Exception e) { views.add(null); }
        }
        double end = now();
        roundNanos.add(System.nanoTime() - t);
        boolean[] asked = new boolean[apis.length];
        for (int i = 0; i < apis.length; i++) asked[i] = apis[i] != null;
        return new Round(views, end, asked);
    }

    void pace(long roundStartNanos) throws InterruptedException {
        long left = intervalMs - (System.nanoTime() - roundStartNanos) / 1_000_000;
        if (left > 0) Thread.sleep(left);
    }

    void printResolution() {
        if (roundNanos.isEmpty()) return;
        long[] r = roundNanos.stream().mapToLong(Long::longValue).sorted().toArray();
        System.out.printf("poll_interval_ms=%d%npoll_round_median_ms=%.1f%npoll_round_max_ms=%.1f%npoll_rounds=%d%n",
                intervalMs, r[r.length / 2] / 1e6, r[r.length - 1] / 1e6, r.length);
    }

    Api[] connectAll(long deadline) throws Exception {
        Api[] apis = new Api[names.size()];
        for (int i = 0; i < apis.length; i++) {
            while (true) {
                try {
                    apis[i] = api(i);
                    apis[i].members();
                    break;
                } catch (IOException e) {
                    if (apis[i] != null) { apis[i].close(); apis[i] = null; }
                    if (System.currentTimeMillis() > deadline) throw new IOException(names.get(i) + " (API port " + apiPorts[i] + ") does not answer: " + e.getMessage());
                    Thread.sleep(200);
                }
            }
        }
        return apis;
    }

    boolean allAlive(Map<String, String> view, int skip) {
        if (view == null) return false;
        for (int i = 0; i < names.size(); i++) {
            if (i == skip) continue;
            if (!"alive".equals(view.get(names.get(i)))) return false;
        }
        return true;
    }

    /**
     * Polls until every agent lists all N alive; returns the round end at which that was first seen, or -1. Every 5 s
     * without convergence, and at the end when it took more than 2 s, says on stderr who still lacks what.
     */
    double untilAllAlive(Api[] apis, long deadline) throws InterruptedException {
        long start = System.nanoTime(), lastReport = start;
        Round last = null;
        while (System.currentTimeMillis() < deadline) {
            long rs = System.nanoTime();
            Round r = round(apis);
            last = r;
            boolean ok = true;
            for (Map<String, String> v : r.views) ok &= allAlive(v, -1);
            if (ok) {
                if (rs - start > 2_000_000_000L) log(String.format("converged after %.1f s of polling", (rs - start) / 1e9));
                return r.end;
            }
            if (rs - lastReport > 5_000_000_000L) {
                lastReport = rs;
                log(String.format("not converged after %.1f s: %s", (rs - start) / 1e9, lacking(r)));
            }
            pace(rs);
        }
        if (last != null) log("never converged: " + lacking(last));
        return -1;
    }

    /**
     * The join's wait: polls, in each round, only the agents that have not yet listed all N alive; the figure is the
     * end of the round in which the last of them first did (when every agent had learned every member). Agents that
     * are done are not asked again, so the polling's own load falls as the pool converges, on both sides alike. Once
     * all are done, one round of every agent checks that they all still list N alive (else it goes on).
     */
    double untilEachSawAllAlive(Api[] apis, long deadline) throws InterruptedException {
        boolean[] done = new boolean[apis.length];
        double end = -1;
        Round last = null;
        long start = System.nanoTime(), lastReport = start;
        while (System.currentTimeMillis() < deadline) {
            long rs = System.nanoTime();
            Api[] ask = new Api[apis.length];
            boolean any = false;
            for (int i = 0; i < apis.length; i++) if (!done[i]) { ask[i] = apis[i]; any = true; }
            if (!any) {
                Round check = round(apis);
                boolean ok = true;
                for (int i = 0; i < apis.length; i++) if (!allAlive(check.views.get(i), -1)) { done[i] = false; ok = false; }
                if (ok) return end;
                log("an agent no longer lists all alive after converging: " + lacking(check));
                continue;
            }
            Round r = round(ask);
            last = r;
            for (int i = 0; i < apis.length; i++) {
                if (!done[i] && allAlive(r.views.get(i), -1)) { done[i] = true; end = r.end; }
            }
            if (rs - lastReport > 5_000_000_000L) {
                lastReport = rs;
                log(String.format("not converged after %.1f s: %s", (rs - start) / 1e9, lacking(r)));
            }
            pace(rs);
        }
        if (last != null) log("never converged: " + lacking(last));
        return -1;
    }

    /** Who does not list whom alive in that round: "viewer: name=status|missing ...". */
    String lacking(Round r) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < names.size(); i++) {
            Map<String, String> v = r.views.get(i);
            if (v == null) { if (i < r.asked.length && r.asked[i]) sb.append(names.get(i)).append(": no answer; "); continue; }
            StringBuilder miss = new StringBuilder();
            for (String n : names) {
                String st = v.get(n);
                if (!"alive".equals(st)) miss.append(' ').append(n).append('=').append(st == null ? "missing" : st);
            }
            if (miss.length() > 0) sb.append(names.get(i)).append(':').append(miss).append("; ");
        }
        return sb.toString();
    }

    int waitUp() throws Exception {
        int count = Integer.parseInt(opt.getOrDefault("count", String.valueOf(names.size())));
        names = names.subList(0, count);
        Api[] apis = connectAll(System.currentTimeMillis() + timeoutMs);
        for (Api a : apis) a.close();
        System.out.println("up=" + apis.length);
        return 0;
    }

    /** Polls every agent at the polling rate for --warm seconds, untimed (the join step's warm-up, run on its own). */
    int joinWarm() throws Exception {
        Api[] apis = connectAll(System.currentTimeMillis() + timeoutMs);
        long warmEnd = System.nanoTime() + (long) (Double.parseDouble(opt.getOrDefault("warm", "0")) * 1e9);
        while (System.nanoTime() < warmEnd) { long rs = System.nanoTime(); round(apis); pace(rs); }
        printResolution();
        for (Api a : apis) a.close();
        return 0;
    }

    int join() throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        Api[] apis = connectAll(deadline);
        String seed = "127.0.0.1:" + gossipPorts[0];
        Api[] joiners = new Api[apis.length];
        for (int i = 1; i < apis.length; i++) joiners[i] = api(i); // own connections: the pollers stay free
        // Both sides' API paths (and this harness's client code) are exercised first, at the polling rate, for
        // --warm seconds: the timed polls then cost each side what a warm poll costs, not a cold one's first runs.
        long warmEnd = System.nanoTime() + (long) (Double.parseDouble(opt.getOrDefault("warm", "0")) * 1e9);
        while (System.nanoTime() < warmEnd) { long rs = System.nanoTime(); round(apis); pace(rs); }
        roundNanos.clear();
        double t0 = now();
        List<Future<?>> fs = new ArrayList<>();
        for (int i = 1; i < apis.length; i++) {
            Api a = joiners[i];
            fs.add(pool.submit(() -> { a.join(seed); return null; }));
        }
        double end = untilEachSawAllAlive(apis, deadline);
        for (Future<?> f : fs) {
            try { f.get(); } catch (Exception e) { log("a join call failed: " + e.getCause()); System.out.println("join_call_failed=" + e.getCause()); }
        }
        printResolution();
        System.out.printf("join_t0=%.6f%n", t0);
        if (end < 0) { System.out.println("join_s=timeout"); return 1; }
        System.out.printf("join_s=%.3f%n", end - t0);
        if (opt.containsKey("logs")) inProcessJoin(Path.of(opt.get("logs")), t0, end);
        return 0;
    }

    /**
     * The in-process convergence time of our agents, from their own logs (Serf's logger at INFO: "TIMESTAMP ... serf
     * NAME: member-join OTHER ADDR", the agent's clock to the millisecond): for each agent, the last member-join of
     * another member logged between t0 and the polled convergence; the figure is the latest of those minus t0, the
     * moment the last agent learned the last member, with no polling delay in it. Stock serf logs to the second only,
     * so its side has the polled figure alone.
     */
    void inProcessJoin(Path dir, double t0, double polledEnd) throws IOException {
        double last = -1, first = Double.MAX_VALUE;
        int agentsWithJoins = 0;
        for (String n : names) {
            Path f = dir.resolve(n + ".log");
            if (!Files.exists(f)) continue;
            String marker = "serf " + n + ": member-join ";
            double mine = -1;
            for (String line : Files.readAllLines(f)) {
                int at = line.indexOf(marker);
                if (at < 0 || line.length() < 29) continue;
                String other = line.substring(at + marker.length()).split(" ")[0];
                if (other.equals(n)) continue;
                double ts;
                try {
                    java.time.Instant i = java.time.OffsetDateTime.parse(line.substring(0, line.indexOf(' '))).toInstant();
                    ts = i.getEpochSecond() + i.getNano() / 1e9;
                } catch (RuntimeException e) { continue; }
                if (ts < t0 - 0.001 || ts > polledEnd + 0.001) continue;
                mine = Math.max(mine, ts);
                first = Math.min(first, ts);
            }
            if (mine >= 0) agentsWithJoins++;
            last = Math.max(last, mine);
        }
        if (agentsWithJoins < names.size()) { System.out.println("join_inproc_s=n/a"); return; }
        System.out.printf("join_inproc_first_s=%.3f%njoin_inproc_s=%.3f%n", first - t0, last - t0);
    }

    int converged() throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        double t0 = now();
        Api[] apis = connectAll(deadline);
        double end = untilAllAlive(apis, deadline);
        if (end < 0) {
            Round r = round(apis);
            for (int i = 0; i < names.size(); i++) log(names.get(i) + " sees " + r.views.get(i));
            System.out.println("converged_s=timeout");
            return 1;
        }
        System.out.printf("converged_s=%.3f%n", end - t0);
        return 0;
    }

    int kill() throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        int victim = Integer.parseInt(opt.get("victim"));
        long pid = Long.parseLong(opt.get("pid"));
        String vname = names.get(victim);
        Api[] apis = connectAll(deadline);
        if (untilAllAlive(apis, deadline) < 0) { System.out.println("fail_s=not-converged-before"); return 1; }
        roundNanos.clear();
        apis[victim].close();
        apis[victim] = null;
        ProcessHandle ph = ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException("no process " + pid));
        String cmdline = Files.readString(Path.of("/proc/" + pid + "/cmdline")).replace('\0', ' ');
        if (!cmdline.contains(opt.get("work") + "/")) throw new IllegalStateException("process " + pid + " is not one of the bench's: " + cmdline);
        double t0 = now();
        ph.destroyForcibly();
        double[] seen = new double[names.size()];
        Arrays.fill(seen, -1);
        seen[victim] = 0;
        int falsePositives = 0;
        List<String> fpSeen = new ArrayList<>();
        while (System.currentTimeMillis() < deadline) {
            long rs = System.nanoTime();
            Round r = round(apis);
            boolean done = true;
            for (int i = 0; i < names.size(); i++) {
                if (i == victim) continue;
                Map<String, String> v = r.views.get(i);
                if (v != null) {
                    if (seen[i] < 0 && "failed".equals(v.get(vname))) seen[i] = r.end;
                    for (int j = 0; j < names.size(); j++) {
                        if (j == victim) continue;
                        String st = v.get(names.get(j));
                        if (st != null && !st.equals("alive")) {
                            String fp = names.get(i) + " saw " + names.get(j) + " " + st;
                            if (!fpSeen.contains(fp)) { fpSeen.add(fp); falsePositives++; log("FALSE POSITIVE: " + fp); }
                        }
                    }
                }
                done &= seen[i] >= 0;
            }
            if (done) break;
            pace(rs);
        }
        printResolution();
        double first = Double.MAX_VALUE, last = 0;
        for (int i = 0; i < names.size(); i++) {
            if (i == victim) continue;
            if (seen[i] < 0) { System.out.println("fail_s=timeout"); System.out.println("false_positives=" + falsePositives); return 1; }
            first = Math.min(first, seen[i] - t0);
            last = Math.max(last, seen[i] - t0);
        }
        System.out.printf("fail_first_s=%.3f%nfail_s=%.3f%nfalse_positives=%d%n", first, last, falsePositives);
        return 0;
    }

    int event() throws Exception {
        long deadline = System.currentTimeMillis() + timeoutMs;
        String ev = opt.get("name");
        Path dir = Path.of(opt.get("events-dir"));
        Api a = api(0);
        // One call on the same connection first, on both sides: this harness is a new JVM per event, and its first
        // request (the HTTP client's or the RPC codec's classes loaded and linked) is not the agent's propagation.
        a.members();
        double t0 = now();
        a.fire(ev);
        double fired = now();
        a.close();
        double[] ts = new double[names.size()];
        Arrays.fill(ts, -1);
        while (System.currentTimeMillis() < deadline) {
            boolean done = true;
            for (int i = 0; i < names.size(); i++) {
                if (ts[i] >= 0) continue;
                Path f = dir.resolve(names.get(i));
                if (Files.exists(f)) {
                    for (String line : Files.readAllLines(f)) {
                        String[] p = line.trim().split("\\s+");
                        if (p.length == 2 && p[0].equals(ev)) {
                            if (ts[i] >= 0) { System.out.println("duplicate_handler_runs=" + names.get(i)); }
                            ts[i] = Double.parseDouble(p[1]);
                        }
                    }
                }
                done &= ts[i] >= 0;
            }
            if (done) break;
            Thread.sleep(intervalMs);
        }
        double last = 0, first = Double.MAX_VALUE;
        int missing = 0;
        for (double t : ts) {
            if (t < 0) { missing++; continue; }
            last = Math.max(last, t - t0);
            first = Math.min(first, t - t0);
        }
        System.out.printf("fire_call_s=%.3f%n", fired - t0);
        if (missing > 0) { System.out.println("event_s=timeout"); System.out.println("event_missing=" + missing); return 1; }
        System.out.printf("event_first_s=%.3f%nevent_s=%.3f%n", first, last);
        return 0;
    }

    // ---------------------------------------------------------------------------------------------------- pcap
    void pcap() throws IOException {
        Path f = Path.of(opt.get("file"));
        double seconds = Double.parseDouble(opt.get("seconds"));
        int n = Integer.parseInt(opt.get("n"));
        long udp = 0, tcp = 0, other = 0, udpPkts = 0, tcpPkts = 0, tcpPayload = 0, udpPayload = 0;
        double firstTs = -1, lastTs = -1;
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(new FileInputStream(f.toFile())))) {
            byte[] gh = new byte[24];
            in.readFully(gh);
            ByteBuffer g = ByteBuffer.wrap(gh);
            int magic = g.order(ByteOrder.BIG_ENDIAN).getInt(0);
            ByteOrder bo = (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
            boolean nanos = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
            g.order(bo);
            int linkType = g.getInt(20);
            int linkHdr = switch (linkType) { case 1 -> 14; case 113 -> 16; case 0 -> 4; default -> throw new IOException("link type " + linkType); };
            byte[] rh = new byte[16];
            while (true) {
                try { in.readFully(rh); } catch (EOFException e) { break; }
                ByteBuffer r = ByteBuffer.wrap(rh).order(bo);
                double ts = (r.getInt(0) & 0xffffffffL) + (r.getInt(4) & 0xffffffffL) / (nanos ? 1e9 : 1e6);
                int incl = r.getInt(8), orig = r.getInt(12);
                byte[] pkt = new byte[incl];
                in.readFully(pkt);
                if (firstTs < 0) firstTs = ts;
                lastTs = ts;
                int ipLen = orig - linkHdr;
                if (incl < linkHdr + 20) { other += ipLen; continue; }
                int ihl = (pkt[linkHdr] & 0x0f) * 4;
                int proto = pkt[linkHdr + 9] & 0xff;
                if (proto == 17) { udp += ipLen; udpPkts++; udpPayload += ipLen - ihl - 8; }
                else if (proto == 6) {
                    tcp += ipLen; tcpPkts++;
                    int doff = incl >= linkHdr + ihl + 13 ? ((pkt[linkHdr + ihl + 12] & 0xf0) >> 4) * 4 : 20;
                    tcpPayload += ipLen - ihl - doff;
                } else other += ipLen;
            }
        }
        System.out.printf("pcap_seconds=%.1f%npcap_span_s=%.1f%nudp_bytes=%d%nudp_packets=%d%ntcp_bytes=%d%ntcp_packets=%d%nother_bytes=%d%n",
                seconds, lastTs - firstTs, udp, udpPkts, tcp, tcpPkts, other);
        System.out.printf("ip_bytes_per_s_per_agent=%.0f%npayload_bytes_per_s_per_agent=%.0f%n",
                (udp + tcp + other) / seconds / n, (udpPayload + tcpPayload) / seconds / n);
    }
}

// bench/TxnLatencyBench.java: the Java half of bench/txn.sh (run by it with the source launcher, the failover jar and
// its lib/ on the class path; bench-only, not part of any module). Against one discovery node, measures sequential
// request latency of three ways to write, interleaved round by round so load drifts hit all three alike:
//   put    one PUT /v1/kv (the anchor);
//   cas2   the epoch write as it was: PUT ?cas on the epoch key, then PUT of the audit record (two requests);
//   txn    the epoch write as EpochStore.bump(..., session) makes it: one PUT /v1/txn with check-session on the lock
//          key, cas on the epoch key and set of the audit record.
// Prints median, p90, p99 per kind and the ratios of the medians to put's.

import io.failoverkit.failover.discovery.DiscoveryClient;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

public class TxnLatencyBench {
    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new TreeMap<>();
        for (String a : args) {
            if (!a.startsWith("--") || !a.contains("=")) throw new IllegalArgumentException("usage: --discovery-http=H:P [--rounds=N] [--warmup=N]");
            opt.put(a.substring(2, a.indexOf('=')), a.substring(a.indexOf('=') + 1));
        }
        String http = opt.get("discovery-http");
        if (http == null) throw new IllegalArgumentException("--discovery-http=H:P is required");
        int rounds = Integer.parseInt(opt.getOrDefault("rounds", "2000"));
        int warmup = Integer.parseInt(opt.getOrDefault("warmup", "2000"));
        DiscoveryClient d = new DiscoveryClient(http);
        String session = null;
        for (int i = 0; i < 300 && session == null; i++) {
            try {
                session = d.createSession("txn-bench", Duration.ofSeconds(60), Duration.ZERO);
            } catch (java.io.IOException e) {
                Thread.sleep(100); // the node registers itself in the catalog a moment after it leads
            }
        }
        if (session == null) throw new IllegalStateException("no session could be created");
        if (!d.acquire("bench/txn/leader", session, "bench")) throw new IllegalStateException("could not take the bench lock");
        byte[] doc = ("{\"epoch\":0,\"master\":\"127.0.0.1:6380\",\"reason\":\"bench\",\"timeline\":[" + "\"x\",".repeat(40) + "\"x\"]}")
                .getBytes(StandardCharsets.UTF_8);
        String text = new String(doc, StandardCharsets.UTF_8);
        long[][] samples = new long[3][rounds];
        long epochIndex = 0;
        for (int r = -warmup; r < rounds; r++) {
            long t0 = System.nanoTime();
            d.put("bench/txn/plain", text);
            long t1 = System.nanoTime();
            if (!d.cas("bench/txn/epoch", text, epochIndex)) throw new IllegalStateException("cas refused");
            d.put("bench/txn/audit/" + (r & 1023), text);
            long t2 = System.nanoTime();
            epochIndex = d.get("bench/txn/epoch").orElseThrow().modifyIndex(); // not timed: both epoch writes read first
            long t3 = System.nanoTime();
            DiscoveryClient.TxnResult res = d.txn(List.of(
                    DiscoveryClient.TxnOp.checkSession("bench/txn/leader", session),
                    DiscoveryClient.TxnOp.cas("bench/txn/epoch", doc, epochIndex),
                    DiscoveryClient.TxnOp.set("bench/txn/audit/" + (r & 1023), doc)));
            long t4 = System.nanoTime();
            if (!res.applied()) throw new IllegalStateException("txn rolled back: " + res.errors());
            epochIndex = res.results().get(1).modifyIndex();
            if (r >= 0) {
                samples[0][r] = t1 - t0;
                samples[1][r] = t2 - t1;
                samples[2][r] = t4 - t3;
            }
        }
        d.destroySession(session);
        String[] names = {"put", "cas2", "txn"};
        double putMedian = pct(samples[0], 50);
        System.out.printf("%d rounds after %d warm-up rounds, sequential, one connection each way; value %d bytes%n", rounds, warmup, doc.length);
        System.out.printf("%-6s %10s %10s %10s %14s%n", "kind", "median ms", "p90 ms", "p99 ms", "median / put");
        for (int k = 0; k < 3; k++) {
            System.out.printf("%-6s %10.3f %10.3f %10.3f %14.2f%n", names[k], pct(samples[k], 50) / 1e6, pct(samples[k], 90) / 1e6,
                    pct(samples[k], 99) / 1e6, pct(samples[k], 50) / putMedian);
        }
    }

    private static double pct(long[] xs, int p) {
        long[] s = xs.clone();
        Arrays.sort(s);
        return s[Math.min(s.length - 1, (int) Math.ceil(p / 100.0 * s.length) - 1)];
    }
}

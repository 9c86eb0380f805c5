import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * bench/members.sh's client: the agent's CPU time per GET /v1/agent/members, as bench/gossip.sh's join polling asks it
 * (one keep-alive HTTP/1.1 connection, one request after the other).
 *
 *   java MembersLoop.java URL PID CLK_TCK REQUESTS ROUNDS
 *
 * First 300 requests (the agent's CPU per request while its JVM is cold: first300_cpu_ms_per_request), then REQUESTS requests untimed (the agent's JIT and the client's), then ROUNDS times: the agent's idle CPU over a
 * quiet second (its gossip at rest, subtracted), then REQUESTS requests while /proc/PID/stat's utime+stime is read
 * before and after. Prints key=value lines: per round, and the medians (cpu_ms_per_request, wall_ms_per_request),
 * the body's size and member count.
 */
public class MembersLoop {
    public static void main(String[] args) throws Exception {
        URI uri = URI.create(args[0]);
        long pid = Long.parseLong(args[1]);
        double hz = Double.parseDouble(args[2]);
        int requests = Integer.parseInt(args[3]);
        int rounds = Integer.parseInt(args[4]);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest req = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build();
        String body = null;
        // The first COLD requests (bench/gossip.sh's join warm-up polls each agent about 60 times, then the join more): a JVM's first
        // requests run interpreted, and C1 compiles the path meanwhile (its compiler thread is the agent's CPU too).
        final int cold = 300; // fewer would be a handful of 10 ms clock ticks: noise
        long k0 = ticks(pid);
        long s0 = System.nanoTime();
        Thread.sleep(1000);
        double idle0 = (ticks(pid) - k0) / ((System.nanoTime() - s0) / 1e9);
        k0 = ticks(pid);
        s0 = System.nanoTime();
        for (int i = 0; i < cold; i++) body = get(http, req);
        double coldSecs = (System.nanoTime() - s0) / 1e9;
        double coldMs = Math.max(0, (ticks(pid) - k0) - idle0 * coldSecs) / hz * 1000 / cold;
        System.out.printf("first%d_cpu_ms_per_request=%.3f%n", cold, coldMs);
        for (int i = 0; i < requests; i++) body = get(http, req);
        int members = body.split("\"Name\"", -1).length - 1;
        System.out.println("body_bytes=" + body.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        System.out.println("members=" + members);
        List<Double> cpu = new ArrayList<>();
        List<Double> wall = new ArrayList<>();
        for (int r = 1; r <= rounds; r++) {
            long i0 = ticks(pid);
            long q0 = System.nanoTime();
            Thread.sleep(1000);
            double idlePerSecond = (ticks(pid) - i0) / ((System.nanoTime() - q0) / 1e9);
            long c0 = ticks(pid);
            long t0 = System.nanoTime();
            for (int i = 0; i < requests; i++) get(http, req);
            long t1 = System.nanoTime();
            long c1 = ticks(pid);
            double secs = (t1 - t0) / 1e9;
            double busyTicks = Math.max(0, (c1 - c0) - idlePerSecond * secs);
            double cpuMs = busyTicks / hz * 1000 / requests;
            double wallMs = secs * 1000 / requests;
            cpu.add(cpuMs);
            wall.add(wallMs);
            System.out.printf("round%d_cpu_ms_per_request=%.3f%nround%d_wall_ms_per_request=%.3f%nround%d_idle_ticks_per_s=%.1f%n",
                    r, cpuMs, r, wallMs, r, idlePerSecond);
        }
        System.out.printf("cpu_ms_per_request=%.3f%nwall_ms_per_request=%.3f%n", median(cpu), median(wall));
    }

    static String get(HttpClient http, HttpRequest req) throws Exception {
        HttpResponse<String> res = http.send(req, HttpResponse.BodyHandlers.ofString());
        if (res.statusCode() != 200) throw new IllegalStateException("HTTP " + res.statusCode() + ": " + res.body());
        return res.body();
    }

    /** utime + stime of the process, in clock ticks (fields 14 and 15 of /proc/PID/stat). */
    static long ticks(long pid) throws Exception {
        String s = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    static double median(List<Double> xs) {
        List<Double> s = new ArrayList<>(xs);
        s.sort(null);
        int n = s.size();
        return n % 2 == 1 ? s.get(n / 2) : (s.get(n / 2 - 1) + s.get(n / 2)) / 2;
    }
}

package io.failoverkit.discovery.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.testing.DevAgent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code discovery-node lock} against a real agent, each contender a separate `discovery-node lock` process (signals,
 * exit codes and the child's lifetime are a process's business). Children record "start ID" / "end ID" lines in a
 * file; the assertions are on that record (never on timings): a lock never has two children running, a semaphore
 * never more than N, and a holder whose session is destroyed loses its child.
 */
class LockCommandTest {
    /** Consul's Flags values for a lock key and a semaphore key, as a stock client writes and reads them (uint64). */
    private static final String LOCK_FLAG = "3304740253564472344";
    private static final String SEMAPHORE_FLAG = "16210313421097356768";

    /** argv of a child: appends "start ID HELD" to RECORD, waits for GATE to exist, appends "end ID". No data is interpolated: it comes as $1..$3. */
    private static final String GATED_CHILD = "echo \"start $1 $CONSUL_LOCK_HELD\" >> \"$2\"; while [ ! -e \"$3\" ]; do sleep 0.1; done; echo \"end $1\" >> \"$2\"";

    @TempDir Path dir;
    private final List<Process> started = new ArrayList<>();

    @AfterEach
    void stopWhatWeStarted() throws InterruptedException {
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private Process lock(DevAgent a, String id, String... args) throws IOException {
        // env --default-signal=HUP: SIGHUP not ignored even when the tests run under nohup (the JVM would keep ignoring it).
        List<String> cmd = new ArrayList<>(List.of("env", "--default-signal=HUP", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx96m", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), "io.failoverkit.discovery.Main",
                "lock", "-http-addr=127.0.0.1:" + a.httpPort, "-verbose"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(id + ".out").toFile()).start();
        started.add(p);
        return p;
    }

    private String log(String id) throws IOException {
        Path f = dir.resolve(id + ".out");
        return Files.exists(f) ? Files.readString(f) : "";
    }

    private List<String> record(Path f) throws IOException {
        return Files.exists(f) ? Files.readAllLines(f, StandardCharsets.UTF_8) : List.of();
    }

    private static long count(List<String> lines, String prefix) {
        return lines.stream().filter(l -> l.startsWith(prefix)).count();
    }

    /** Walks the record: at no point more than {@code max} children between their start and end; every child held the lock. */
    private static void assertAtMostRunning(List<String> lines, int max) {
        int running = 0;
        for (String l : lines) {
            if (l.startsWith("start ")) {
                running++;
                assertThat(l).as("the child saw CONSUL_LOCK_HELD").endsWith(" true");
                assertThat(running).as("children running at once, record %s", lines).isLessThanOrEqualTo(max);
            } else if (l.startsWith("end ")) {
                running--;
            }
        }
        assertThat(running).isZero();
    }

    private int exitOf(Process p, String id) throws Exception {
        await().atMost(Duration.ofSeconds(90)).until(() -> !p.isAlive());
        int code = p.exitValue();
        if (code != 0) System.err.println(id + " exited " + code + ":\n" + log(id));
        return code;
    }

    @Test
    void twoLockContendersNeverRunTheirChildrenAtOnce() throws Exception {
        Path rec = dir.resolve("record");
        Path gateA = dir.resolve("gate-a");
        Path gateB = dir.resolve("gate-b");
        Files.createFile(gateB);
        try (DevAgent a = DevAgent.start("lock-1")) {
            Process pa = lock(a, "A", "-shell=false", "jobs/backup", "sh", "-c", GATED_CHILD, "child", "A", rec.toString(), gateA.toString());
            await().atMost(Duration.ofSeconds(60)).until(() -> count(record(rec), "start A") == 1);
            JsonNode held = a.http.get("/v1/kv/jobs/backup/.lock").json().get(0);
            assertThat(held.get("Flags").asText()).as("Consul's lock flag, so a stock client sees a lock").isEqualTo(LOCK_FLAG);
            assertThat(held.path("Session").asText()).isNotEmpty();

            Process pb = lock(a, "B", "-shell=false", "jobs/backup", "sh", "-c", GATED_CHILD, "child", "B", rec.toString(), gateB.toString());
            await().atMost(Duration.ofSeconds(60)).until(() -> log("B").contains("Attempting lock acquisition"));
            Thread.sleep(2000); // B is contending: whatever it does meanwhile, its child must not start
            assertThat(record(rec)).containsExactly("start A true");
            assertThat(a.http.get("/v1/session/list").json()).hasSize(2);

            Files.createFile(gateA);
            assertThat(exitOf(pa, "A")).isZero();
            assertThat(exitOf(pb, "B")).isZero();
            assertThat(record(rec)).containsExactly("start A true", "end A", "start B true", "end B");
            // Both released, sessions destroyed, and the last one out removed the lock key.
            assertThat(a.http.get("/v1/session/list").json()).isEmpty();
            assertThat(a.http.get("/v1/kv/jobs/backup/.lock").status()).isEqualTo(404);

            // Three more contenders at once, children that hold for a moment: still one at a time.
            Path rec2 = dir.resolve("record2");
            Path open = dir.resolve("open");
            Files.createFile(open);
            String shortChild = "echo \"start $1 $CONSUL_LOCK_HELD\" >> \"$2\"; sleep 0.5; echo \"end $1\" >> \"$2\"";
            List<Process> ps = new ArrayList<>();
            for (String id : List.of("C", "D", "E")) ps.add(lock(a, id, "-shell=false", "jobs/backup", "sh", "-c", shortChild, "child", id, rec2.toString()));
            for (int i = 0; i < ps.size(); i++) assertThat(exitOf(ps.get(i), List.of("C", "D", "E").get(i))).isZero();
            List<String> lines = record(rec2);
            assertThat(count(lines, "start ")).isEqualTo(3);
            assertAtMostRunning(lines, 1);
        }
    }

    @Test
    void theHoldersChildIsKilledWhenItsSessionIsDestroyed() throws Exception {
        Path pidFile = dir.resolve("pid");
        try (DevAgent a = DevAgent.start("lock-2")) {
            // Consul's default -shell: the operator's command line run by sh -c (here it starts a long sleep and says its PID).
            Process p = lock(a, "H", "-child-exit-code", "jobs/report", "echo $$ > " + pidFile + "; exec sleep 600");
            await().atMost(Duration.ofSeconds(60)).until(() -> Files.exists(pidFile) && !Files.readString(pidFile).isBlank());
            long pid = Long.parseLong(Files.readString(pidFile).strip());
            ProcessHandle child = ProcessHandle.of(pid).orElseThrow();
            assertThat(child.isAlive()).isTrue();

            // A second contender waits; its child will say whether the first child was still alive when it started.
            Path rec = dir.resolve("after");
            Process q = lock(a, "Q", "-shell=false", "jobs/report", "sh", "-c",
                    "if kill -0 \"$1\" 2>/dev/null; then echo overlap >> \"$2\"; else echo alone >> \"$2\"; fi", "child", Long.toString(pid), rec.toString());
            await().atMost(Duration.ofSeconds(60)).until(() -> log("Q").contains("Attempting lock acquisition"));

            String session = a.http.get("/v1/kv/jobs/report/.lock").json().get(0).get("Session").asText();
            assertThat(a.http.put("/v1/session/destroy/" + session, (String) null).status()).isEqualTo(200);

            await().atMost(Duration.ofSeconds(60)).until(() -> !child.isAlive());
            await().atMost(Duration.ofSeconds(60)).until(() -> !p.isAlive());
            assertThat(p.exitValue()).as("-child-exit-code: the child was killed").isEqualTo(2);
            assertThat(log("H")).contains("Lock lost, killing child");

            // The waiting contender saw the key free at once, was refused during the lock-delay (15s, Consul's default
            // for the destroyed session), retried, and ran its child only then, after the first child was dead.
            assertThat(exitOf(q, "Q")).isZero();
            assertThat(log("Q")).contains("lock-delay");
            assertThat(record(rec)).containsExactly("alone");
        }
    }

    @Test
    void signalsReachTheChildAndTermEndsTheHold() throws Exception {
        Path rec = dir.resolve("signals");
        // The child says which signals it got; on TERM it exits 0. Its record file comes as $1, never pasted into the script.
        String child = "trap 'echo HUP >> \"$1\"' HUP; trap 'echo TERM >> \"$1\"; exit 0' TERM; echo ready >> \"$1\"; while true; do sleep 0.1; done";
        try (DevAgent a = DevAgent.start("lock-5")) {
            Process p = lock(a, "G", "-shell=false", "jobs/signals", "sh", "-c", child, "child", rec.toString());
            await().atMost(Duration.ofSeconds(60)).until(() -> record(rec).contains("ready"));
            new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).start().waitFor();
            await().atMost(Duration.ofSeconds(30)).until(() -> record(rec).contains("HUP"));
            assertThat(p.isAlive()).as("SIGHUP is only forwarded").isTrue();
            assertThat(a.http.get("/v1/kv/jobs/signals/.lock").json().get(0).path("Session").asText()).isNotEmpty();

            p.destroy(); // SIGTERM to the lock command
            await().atMost(Duration.ofSeconds(60)).until(() -> !p.isAlive());
            assertThat(p.exitValue()).isZero();
            assertThat(record(rec)).contains("TERM");
            assertThat(a.http.get("/v1/session/list").json()).as("session destroyed on the way out").isEmpty();
            assertThat(a.http.get("/v1/kv/jobs/signals/.lock").status()).as("released and removed").isEqualTo(404);
        }
    }

    @Test
    void aSemaphoreOfTwoNeverRunsMoreThanTwoChildren() throws Exception {
        Path rec = dir.resolve("record");
        Path gate = dir.resolve("gate");
        try (DevAgent a = DevAgent.start("lock-3")) {
            List<String> ids = List.of("S1", "S2", "S3");
            List<Process> ps = new ArrayList<>();
            for (String id : ids) ps.add(lock(a, id, "-n", "2", "-shell=false", "pool/workers", "sh", "-c", GATED_CHILD, "child", id, rec.toString(), gate.toString()));

            // Two children run; the third contender is in (its contender key exists) and waits.
            await().atMost(Duration.ofSeconds(90)).until(() -> count(record(rec), "start ") == 2 && contenders(a).size() == 3);
            Thread.sleep(2000);
            assertThat(count(record(rec), "start ")).isEqualTo(2);

            JsonNode lockKey = a.http.get("/v1/kv/pool/workers/.lock").json().get(0);
            assertThat(lockKey.get("Flags").asText()).as("Consul's semaphore flag").isEqualTo(SEMAPHORE_FLAG);
            JsonNode slots = Json.MAPPER.readTree(Base64.getDecoder().decode(lockKey.get("Value").asText()));
            assertThat(slots.get("Limit").asInt()).isEqualTo(2);
            Set<String> holders = new HashSet<>();
            slots.get("Holders").fieldNames().forEachRemaining(holders::add);
            assertThat(holders).hasSize(2);
            assertThat(contenders(a)).containsAll(holders);

            Files.createFile(gate);
            for (int i = 0; i < ps.size(); i++) assertThat(exitOf(ps.get(i), ids.get(i))).isZero();
            List<String> lines = record(rec);
            assertThat(count(lines, "start ")).isEqualTo(3);
            assertThat(count(lines, "end ")).isEqualTo(3);
            assertAtMostRunning(lines, 2);
            // Released and cleaned up: no contender keys, no .lock, no sessions.
            assertThat(a.http.get("/v1/kv/pool/workers/?recurse").status()).isEqualTo(404);
            assertThat(a.http.get("/v1/session/list").json()).isEmpty();
        }
    }

    /** The sessions of the contender keys PREFIX/SESSION (Consul's semaphore layout). */
    private static Set<String> contenders(DevAgent a) {
        Set<String> out = new HashSet<>();
        var r = a.http.get("/v1/kv/pool/workers/?recurse");
        if (r.status() != 200) return out;
        for (JsonNode n : r.json()) {
            String key = n.get("Key").asText();
            if (!key.endsWith("/.lock")) {
                assertThat(n.get("Flags").asText()).isEqualTo(SEMAPHORE_FLAG);
                assertThat(key).isEqualTo("pool/workers/" + n.path("Session").asText());
                out.add(n.path("Session").asText());
            }
        }
        return out;
    }

    @Test
    void aHolderInConsulsLayoutExcludesUsAndMismatchesAreRefused() throws Exception {
        try (DevAgent a = DevAgent.start("lock-4")) {
            // A lock held the way Consul's Go API takes it: a session, ?acquire with the lock flag on PREFIX/.lock.
            String s = a.http.put("/v1/session/create", "{\"Name\":\"stock client\",\"TTL\":\"30s\"}").json().get("ID").asText();
            assertThat(a.http.put("/v1/kv/svc/leader/.lock?acquire=" + s + "&flags=" + LOCK_FLAG, "").body()).isEqualTo("true");
            Process p = lock(a, "T", "-timeout=3s", "-shell=false", "svc/leader", "true");
            assertThat(exitOf(p, "T")).isEqualTo(1);
            assertThat(log("T")).contains("timeout during lock acquisition");
            assertThat(a.http.put("/v1/kv/svc/leader/.lock?release=" + s + "&flags=" + LOCK_FLAG, "").body()).isEqualTo("true"); // as the Go API releases: flags kept
            Process ok = lock(a, "U", "-timeout=30s", "-shell=false", "svc/leader", "true");
            assertThat(exitOf(ok, "U")).isZero();

            // A plain key where the lock should be: refused, nothing run.
            assertThat(a.http.put("/v1/kv/svc/plain/.lock", "x").status()).isEqualTo(200);
            Process c = lock(a, "V", "-shell=false", "svc/plain", "touch", dir.resolve("ran").toString());
            assertThat(exitOf(c, "V")).isEqualTo(1);
            assertThat(log("V")).contains("Existing key does not match lock use");
            assertThat(dir.resolve("ran")).doesNotExist();

            // A semaphore whose contenders agreed on 2: a contender with -n 3 is refused.
            String s2 = a.http.put("/v1/session/create", "{\"Name\":\"stock semaphore\",\"TTL\":\"30s\",\"Behavior\":\"delete\"}").json().get("ID").asText();
            assertThat(a.http.put("/v1/kv/svc/pool/" + s2 + "?acquire=" + s2 + "&flags=" + SEMAPHORE_FLAG, "").body()).isEqualTo("true");
            assertThat(a.http.put("/v1/kv/svc/pool/.lock?cas=0&flags=" + SEMAPHORE_FLAG, "{\"Limit\":2,\"Holders\":{\"" + s2 + "\":true}}").body()).isEqualTo("true");
            Process d = lock(a, "W", "-n", "3", "-shell=false", "svc/pool", "touch", dir.resolve("ran").toString());
            assertThat(exitOf(d, "W")).isEqualTo(1);
            assertThat(log("W")).contains("semaphore limit conflict (lock: 2, local: 3)");
            assertThat(dir.resolve("ran")).doesNotExist();
            // With the same limit it joins the stock holder (one slot left), runs, and leaves the stock holder in place.
            Process e = lock(a, "X", "-n", "2", "-timeout=30s", "-shell=false", "svc/pool", "touch", dir.resolve("ran").toString());
            assertThat(exitOf(e, "X")).isZero();
            assertThat(dir.resolve("ran")).exists();
            JsonNode after = Json.MAPPER.readTree(Base64.getDecoder().decode(a.http.get("/v1/kv/svc/pool/.lock").json().get(0).get("Value").asText()));
            List<String> left = new ArrayList<>();
            after.get("Holders").fieldNames().forEachRemaining(left::add);
            assertThat(left).containsExactly(s2);
        }
    }
}

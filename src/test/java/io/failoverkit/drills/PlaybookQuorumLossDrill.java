package io.failoverkit.drills;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.drill.LocalProcesses;
import io.failoverkit.failover.playbook.Playbook;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The discovery-quorum-loss playbook for real: three discovery servers as separate processes (started the way an
 * operator's script starts them: in the background, PID in a file), KV written, a snapshot saved, more written, then
 * two servers SIGKILLed for good. `failover playbook run discovery-quorum-loss --yes` runs as a child process with the
 * survivor's stop and start commands; afterwards the survivor leads a one-server configuration, its peers.json is
 * gone, the KV is the snapshot's (the writes after it are undone), every step passed and every step is in the audit.
 */
class PlaybookQuorumLossDrill {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String AUDIT = "failoverkit/playbooks/audit/";
    static final String PAGE = "discovery-quorum-loss";
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private Path work;
    private final List<Server> servers = new ArrayList<>();

    /** A server with its launch script: it starts the agent in the background and writes its PID to DIR/pid. */
    final class Server {
        final String name;
        final Path dir, data, pidFile, log, startScript, stopScript, readyScript;
        final int http, dns, rpc, serf;

        Server(String name) throws IOException {
            this.name = name;
            this.dir = Files.createDirectories(work.resolve(name));
            this.data = dir.resolve("data");
            this.pidFile = dir.resolve("pid");
            this.log = dir.resolve("agent.log");
            this.startScript = dir.resolve("start.sh");
            this.stopScript = dir.resolve("stop.sh");
            this.readyScript = dir.resolve("ready.sh");
            this.http = LocalProcesses.freePort();
            this.dns = LocalProcesses.freePort();
            this.rpc = LocalProcesses.freePort();
            this.serf = LocalProcesses.freePort();
        }

        String httpAddr() { return "127.0.0.1:" + http; }

        /** Written once every server's ports are known (each joins the others). */
        void writeScripts(Path bin) throws IOException {
            StringBuilder join = new StringBuilder();
            for (Server o : servers) if (o != this) join.append(" -retry-join=127.0.0.1:").append(o.serf);
            Files.writeString(startScript, "#!/usr/bin/env bash\nset -eu\n"
                    + "nohup '" + bin.resolve("discovery-node") + "' agent -server -bootstrap-expect=3 -node=" + name + " -data-dir='" + data + "'"
                    + " -bind=127.0.0.1 -http-port=" + http + " -dns-port=" + dns + " -server-port=" + rpc + " -serf-lan-port=" + serf + join
                    + " </dev/null >>'" + log + "' 2>&1 &\n"
                    + "echo $! >'" + pidFile + "'\n");
            // SIGTERM, then wait until the process is gone (a zombie nobody reaps counts as gone).
            Files.writeString(stopScript, "#!/usr/bin/env bash\nset -eu\npid=$(cat '" + pidFile + "')\n"
                    + "kill \"$pid\" 2>/dev/null || true\n"
                    + "for i in $(seq 1 300); do\n"
                    + "  st=$(sed 's/.*) //' \"/proc/$pid/stat\" 2>/dev/null | cut -d' ' -f1) || st=''\n"
                    + "  if [ -z \"$st\" ] || [ \"$st\" = Z ]; then echo \"" + name + " (pid $pid) stopped\"; exit 0; fi\n"
                    + "  sleep 0.2\n"
                    + "done\n"
                    + "echo \"" + name + " (pid $pid) did not stop\"; exit 1\n");
        }

        /**
         * Waits until this server's agent reports a leader (as `systemctl start` of a unit that notifies readiness
         * returns once the service serves), then another 16 s, as a slow host takes: by the playbook's next step the
         * runner's audit retry window (15 s) has passed, so the entries it kept during the outage are written before
         * the snapshot restore replaces the KV, and the end of the run must write them again.
         */
        void writeReadyScript() throws IOException {
            Files.writeString(readyScript, "#!/usr/bin/env bash\nset -u\n"
                    + "end=$((SECONDS + 95))\n"
                    + "while [ $SECONDS -lt $end ]; do\n"
                    + "  l=$(curl -sS --max-time 5 http://" + httpAddr() + "/v1/status/leader 2>/dev/null) || l=''\n"
                    + "  if [ -n \"$l\" ] && [ \"$l\" != '\"\"' ]; then echo \"" + name + " serves, leader $l\"; sleep 16; exit 0; fi\n"
                    + "  sleep 1\n"
                    + "done\n"
                    + "echo \"" + name + " has no leader after 95 s\"; exit 1\n");
        }

        void start() throws Exception {
            Process p = new ProcessBuilder("bash", startScript.toString()).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
        }

        long pid() throws IOException { return Long.parseLong(Files.readString(pidFile).strip()); }

        boolean running() throws IOException { return Files.exists(pidFile) && alive(pid()); }

        void kill() throws Exception {
            long pid = pid();
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            await().atMost(Duration.ofSeconds(30)).until(() -> !alive(pid));
        }

        String logTail() {
            try {
                List<String> l = Files.readAllLines(log, StandardCharsets.UTF_8);
                return String.join("\n", l.subList(Math.max(0, l.size() - 30), l.size()));
            } catch (IOException e) {
                return "(no log: " + e + ")";
            }
        }
    }

    /** Alive unless gone or a zombie: the launch script's shell has exited, so the agent is not this JVM's child. */
    static boolean alive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
        } catch (IOException e) {
            return false;
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Server s : servers) {
            if (!s.running()) continue;
            long pid = s.pid();
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
            await().atMost(Duration.ofSeconds(30)).until(() -> !alive(pid));
        }
        PlaybookLab.delete(work);
    }

    private HttpResponse<String> get(Server s, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://" + s.httpAddr() + path)).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> put(Server s, String path, String body) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://" + s.httpAddr() + path)).timeout(Duration.ofSeconds(10))
                .PUT(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> delete(Server s, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://" + s.httpAddr() + path)).timeout(Duration.ofSeconds(10))
                .DELETE().build(), HttpResponse.BodyHandlers.ofString());
    }

    private String leader(Server s) throws Exception { return get(s, "/v1/status/leader").body().strip(); }

    /** The KV outside the playbooks' audit: key to "flags value" (indexes left out: a restore moves them forward). */
    private Map<String, String> kv(Server s, String consistency) throws Exception {
        HttpResponse<String> r = get(s, "/v1/kv/?recurse&" + consistency);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        Map<String, String> out = new TreeMap<>();
        for (JsonNode e : JSON.readTree(r.body())) {
            String key = e.path("Key").asText();
            if (key.startsWith(AUDIT)) continue;
            String value = e.path("Value").isNull() ? "" : new String(Base64.getDecoder().decode(e.path("Value").asText()), StandardCharsets.UTF_8);
            out.put(key, e.path("Flags").asLong() + " " + value);
        }
        return out;
    }

    /** A `discovery-node` command through this build's wrapper, against {@code s}. */
    private String discoveryNode(Path bin, Server s, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(bin.resolve("discovery-node").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        pb.environment().put("CONSUL_HTTP_ADDR", s.httpAddr());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join(" ", args) + ": " + out).isZero();
        return out;
    }

    @Test
    void theQuorumLossPlaybookRecoversTheSurvivorWithTheLastSnapshotsKv() throws Exception {
        work = Files.createTempDirectory("playbook-quorum-loss");
        Path bin = PlaybookLab.bin(work), pages = PlaybookLab.pages();
        for (String n : List.of("ql1", "ql2", "ql3")) servers.add(new Server(n));
        for (Server s : servers) s.writeScripts(bin);
        for (Server s : servers) s.start();
        await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
                .until(() -> leader(servers.get(0)).matches("\"[^\"]+\"") && put(servers.get(0), "/v1/kv/lab/ready", "1").statusCode() == 200);
        Server any = servers.get(0);

        // The state the snapshot keeps.
        for (int i = 0; i < 30; i++) assertThat(put(any, "/v1/kv/app/k" + i, "v" + i).statusCode()).isEqualTo(200);
        assertThat(put(any, "/v1/kv/app/flagged?flags=42", "f").statusCode()).isEqualTo(200);
        assertThat(delete(any, "/v1/kv/app/k3").statusCode()).isEqualTo(200);
        Map<String, String> atSnapshot = kv(any, "consistent");
        assertThat(atSnapshot).hasSize(31).containsEntry("app/flagged", "42 f").doesNotContainKey("app/k3");
        Path snapshot = work.resolve("last.snap");
        assertThat(discoveryNode(bin, any, "snapshot", "save", snapshot.toString())).contains("Saved and verified snapshot");

        // Later writes, which the restore undoes.
        for (int i = 0; i < 10; i++) assertThat(put(any, "/v1/kv/app/k" + i, "changed" + i).statusCode()).isEqualTo(200);
        assertThat(put(any, "/v1/kv/app/after-snapshot", "x").statusCode()).isEqualTo(200);
        assertThat(delete(any, "/v1/kv/app/k20").statusCode()).isEqualTo(200);
        Map<String, String> beforeLoss = kv(any, "consistent");
        assertThat(beforeLoss).isNotEqualTo(atSnapshot).containsEntry("app/k0", "0 changed0").containsKey("app/after-snapshot");

        // The survivor is a follower (the leader is among the dead): wait until it has applied every write.
        String leaderAddr = leader(any).replace("\"", "");
        Server survivor = servers.stream().filter(s -> !leaderAddr.equals("127.0.0.1:" + s.rpc)).findFirst().orElseThrow();
        await().atMost(Duration.ofSeconds(60)).ignoreExceptions().until(() -> kv(survivor, "stale").equals(beforeLoss));
        String nodeId = Files.readString(survivor.data.resolve("node-id")).strip();
        survivor.writeReadyScript();
        for (Server s : servers) if (s != survivor) s.kill();
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
                .until(() -> leader(survivor).equals("\"\""));
        int duringLoss;
        try {
            duringLoss = put(survivor, "/v1/kv/app/during-loss", "lost").statusCode();
        } catch (java.net.http.HttpTimeoutException e) {
            duringLoss = -1;
        }
        assertThat(duringLoss).as("no quorum: writes fail").isNotEqualTo(200);

        // The playbook, for real, as an operator runs it: failover as a child process, no terminal, --yes.
        Path out = work.resolve("playbook.out");
        List<String> cmd = List.of(bin.resolve("failover").toString(), "playbook", "run", PAGE, "--yes",
                "--set", "SURVIVORS=" + nodeId + "=127.0.0.1:" + survivor.rpc,
                "--set", "DATA_DIRS=" + survivor.data,
                "--set", "STOP_SERVERS=bash " + survivor.stopScript,
                "--set", "START_SERVERS=bash " + survivor.startScript + " && bash " + survivor.readyScript,
                "--set", "SNAPSHOT=" + snapshot,
                "--dir", pages.toString(), "--bin", bin.toString(), "--discovery", survivor.httpAddr());
        Process run = new ProcessBuilder(cmd).directory(work.toFile()).redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        boolean ended = run.waitFor(15, TimeUnit.MINUTES);
        String output = Files.readString(out);
        System.out.println(output);
        assertThat(ended).as("the run ends: " + output).isTrue();
        assertThat(run.exitValue()).as(output + "\n--- survivor's log:\n" + survivor.logTail()).isZero();

        // Every step ran and passed.
        Playbook page = Playbook.read(pages.resolve(PAGE + ".md"));
        List<Playbook.Step> steps = page.runSteps(false);
        assertThat(output).contains("DONE: " + steps.size() + " steps of " + PAGE + " passed").contains("Restored snapshot")
                .contains("new configuration: 1 server(s)").containsPattern("KVs +31\\n");
        for (Playbook.Step s : steps) {
            assertThat(output).as(s.name()).containsPattern("step \\d+/\\d+ " + s.name() + " \\[[\\s\\S]*?\\n  -> ok \\(exit 0\\)");
        }

        // The survivor leads a one-server configuration of itself; its peers.json was read and removed.
        assertThat(leader(survivor)).isEqualTo("\"127.0.0.1:" + survivor.rpc + "\"");
        JsonNode config = JSON.readTree(get(survivor, "/v1/operator/raft/configuration").body()).path("Servers");
        assertThat(config).hasSize(1);
        assertThat(config.get(0).path("ID").asText()).isEqualTo(nodeId);
        assertThat(config.get(0).path("Leader").asBoolean()).isTrue();
        assertThat(survivor.data.resolve("raft").resolve("peers.json")).doesNotExist();
        assertThat(Files.readString(survivor.log)).contains("quorum-loss recovery done");

        // The KV is the snapshot's: the writes after it are undone.
        assertThat(kv(survivor, "consistent")).isEqualTo(atSnapshot);
        assertThat(put(survivor, "/v1/kv/app/after-recovery", "yes").statusCode()).as("it takes writes again").isEqualTo(200);

        // Every step is in the audit, with its outcome, and the run's end.
        Map<String, JsonNode> audit = PlaybookLab.audit(survivor.httpAddr(), AUDIT, PAGE);
        for (Playbook.Step s : steps) {
            JsonNode e = audit.entrySet().stream().filter(a -> a.getKey().endsWith(String.format("-%02d-%s", s.number(), s.name())))
                    .map(Map.Entry::getValue).findFirst().orElse(null);
            assertThat(e).as("the audit has step " + s.name() + ": " + audit.keySet()).isNotNull();
            assertThat(e.path("outcome").asText()).isEqualTo("ok");
            assertThat(e.path("exitCode").asInt()).isZero();
            assertThat(e.path("dryRun").asBoolean()).isFalse();
            assertThat(e.path("destructive").asBoolean()).isEqualTo(s.destructive());
            assertThat(e.path("by").asText()).contains("@");
        }
        assertThat(audit.entrySet()).anyMatch(a -> a.getKey().endsWith("-end") && a.getValue().path("outcome").asText().equals("done"));
        assertThat(output).doesNotContain("audit entries could not be written");
        // The entries written between the start and the restore were erased by it and written again at the end.
        java.util.regex.Matcher again = java.util.regex.Pattern.compile("note: (\\d+) audit entries of this run were no longer in the KV").matcher(output);
        assertThat(again.find()).as("the restore erased the audit written before it: " + output).isTrue();
        int restoreStep = steps.stream().filter(s -> s.name().equals("restore-snapshot")).findFirst().orElseThrow().number();
        assertThat(Integer.parseInt(again.group(1))).as("at least the steps up to the start of the survivors").isGreaterThanOrEqualTo(restoreStep - 3);
    }
}

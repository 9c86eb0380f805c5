package io.failoverkit.drills;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.Main;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the playbook drills share: `failover` and `discovery-node` wrappers that start this build's classes in a JVM
 * of their own (the steps call them by name on PATH), the repository's playbooks/, `failover playbook run` in this
 * JVM with its output captured, and the audit entries a page's runs wrote to the KV.
 */
final class PlaybookLab {
    static final ObjectMapper JSON = new ObjectMapper();

    private PlaybookLab() {}

    record Run(int exit, String out, String err) {}

    static Path bin(Path work) throws IOException {
        Path bin = Files.createDirectories(work.resolve("bin"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Path cp = Files.writeString(work.resolve("classpath"), System.getProperty("java.class.path"));
        for (String[] tool : new String[][]{{"failover", "io.failoverkit.failover.Main"}, {"discovery-node", "io.failoverkit.discovery.Main"}}) {
            Path w = bin.resolve(tool[0]);
            Files.writeString(w, "#!/usr/bin/env bash\nexec '" + java + "' -XX:TieredStopAtLevel=1 -Xshare:auto --sun-misc-unsafe-memory-access=allow"
                    + " --enable-native-access=ALL-UNNAMED -cp \"$(cat '" + cp + "')\" " + tool[1] + " \"$@\"\n");
            Files.setPosixFilePermissions(w, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return bin;
    }

    static Path pages() {
        Path dir = Path.of("").toAbsolutePath();
        while (dir != null && !Files.isRegularFile(dir.resolve("playbooks/README.md"))) dir = dir.getParent();
        if (dir == null) throw new IllegalStateException("no playbooks/README.md above " + Path.of("").toAbsolutePath());
        return dir.resolve("playbooks");
    }

    /** `failover playbook run ARGS --dir PAGES --bin BIN --discovery HTTP`; its output is also echoed to the test's log. */
    static synchronized Run run(String http, Path pages, Path bin, String... args) {
        List<String> all = new ArrayList<>(List.of("playbook", "run"));
        all.addAll(List.of(args));
        all.addAll(List.of("--dir", pages.toString(), "--bin", bin.toString(), "--discovery", http));
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        PrintStream saved = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            int exit = cl.execute(all.toArray(String[]::new));
            return new Run(exit, captured.toString(StandardCharsets.UTF_8) + out, err.toString());
        } finally {
            System.setOut(saved);
            System.out.println(captured.toString(StandardCharsets.UTF_8) + err);
        }
    }

    /** Removes a drill's work dir (its servers' data) once everything in it has stopped; best effort. */
    static void delete(Path dir) {
        if (dir == null) return;
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a leftover temp dir
        }
    }

    /** The audit entries under {@code prefix} that runs of {@code page} wrote, by key (values parsed). */
    static Map<String, JsonNode> audit(String http, String prefix, String page) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://" + http + "/v1/kv/" + prefix + "?recurse")).build(),
                HttpResponse.BodyHandlers.ofString());
        Map<String, JsonNode> out = new LinkedHashMap<>();
        if (r.statusCode() != 200) return out;
        for (JsonNode e : JSON.readTree(r.body())) {
            String key = e.path("Key").asText();
            if (key.matches(".*/playbook-\\d+-" + page + "-.*")) out.put(key, JSON.readTree(Base64.getDecoder().decode(e.path("Value").asText())));
        }
        return out;
    }
}

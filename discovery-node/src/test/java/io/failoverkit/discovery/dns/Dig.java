package io.failoverkit.discovery.dns;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real dig (Debian's dnsutils) against our DNS port and returns what it printed. */
final class Dig {
    private Dig() {}

    static String run(int port, String... args) {
        List<String> cmd = new ArrayList<>(List.of("dig", "@127.0.0.1", "-p", Integer.toString(port), "+time=3", "+tries=1"));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("dig did not finish: " + cmd);
            }
            return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("could not run dig (install Debian's dnsutils; bin/setup does): " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** dig +short: one line per answer. */
    static List<String> shortAnswers(int port, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("+short");
        return run(port, all.toArray(String[]::new)).lines().filter(l -> !l.isBlank() && !l.startsWith(";")).toList();
    }
}

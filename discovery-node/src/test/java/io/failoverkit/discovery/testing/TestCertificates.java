package io.failoverkit.discovery.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A CA and certificates made in a test with discovery-node's own `tls ca create` and `tls cert create` (as an
 * operator makes them), in Consul's file names under {@code dir}.
 */
public final class TestCertificates {
    public final Path dir;
    public final Path ca;
    public final Path caKey;

    private TestCertificates(Path dir) {
        this.dir = dir;
        this.ca = dir.resolve("consul-agent-ca.pem");
        this.caKey = dir.resolve("consul-agent-ca-key.pem");
    }

    /** A certificate file and its key. */
    public record Pair(Path cert, Path key) {}

    public static TestCertificates create(Path dir) {
        Cli.Run r = Cli.run("tls", "ca", "create", "-output-dir", dir.toString());
        if (r.code() != 0) throw new IllegalStateException("tls ca create failed: " + r.err() + r.out());
        return new TestCertificates(dir);
    }

    /** `tls cert create -server|-client|-cli`; returns the files it reported as saved. */
    public Pair cert(String kind, String... extra) {
        List<String> args = new ArrayList<>(List.of("tls", "cert", "create", kind, "-output-dir", dir.toString()));
        args.addAll(List.of(extra));
        Cli.Run r = Cli.run(args.toArray(new String[0]));
        if (r.code() != 0) throw new IllegalStateException("tls cert create " + kind + " failed: " + r.err() + r.out());
        List<Path> saved = new ArrayList<>();
        for (String line : r.out().split("\n")) {
            if (line.startsWith("==> Saved ")) saved.add(dir.resolve(line.substring("==> Saved ".length()).strip()));
        }
        if (saved.size() != 2) throw new IllegalStateException("expected two files saved: " + r.out());
        return new Pair(saved.get(0), saved.get(1));
    }
}

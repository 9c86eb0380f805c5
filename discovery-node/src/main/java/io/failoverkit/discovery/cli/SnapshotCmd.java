package io.failoverkit.discovery.cli;

import io.failoverkit.discovery.state.SnapshotArchive;
import io.failoverkit.discovery.state.StateStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code discovery-node snapshot save|restore|inspect FILE}, as {@code consul snapshot}: save writes the archive the
 * servers return to a temporary file, checks it, and only then renames it to FILE; restore sends FILE to be restored
 * on every server; inspect reads FILE offline and prints its metadata and what it holds.
 */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
        description = "Saves, restores and inspects snapshots of the discovery servers' state.",
        subcommands = {SnapshotCommand.Save.class, SnapshotCommand.Restore.class, SnapshotCommand.Inspect.class})
public final class SnapshotCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    /** Largest archive the CLI reads from disk (the servers take at most this too). */
    static final long MAX_FILE_BYTES = 64L * 1024 * 1024;
    static final long MAX_UNCOMPRESSED_BYTES = 512L * 1024 * 1024;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: save, restore or inspect");
    }

    /** The agent's HTTP address: -http-addr, else CONSUL_HTTP_ADDR, else 127.0.0.1:8500. */
    static class HttpOptions {
        @Option(names = "-http-addr", paramLabel = "HOST:PORT", description = "The agent's HTTP address (default $CONSUL_HTTP_ADDR or 127.0.0.1:8500).")
        String httpAddr;

        URI uri(String pathAndQuery) {
            String addr = httpAddr != null ? httpAddr : System.getenv().getOrDefault("CONSUL_HTTP_ADDR", "127.0.0.1:8500");
            if (addr.startsWith("http://")) addr = addr.substring("http://".length());
            if (addr.startsWith("https://")) throw new IllegalArgumentException("https is not supported: " + addr);
            return URI.create("http://" + addr + pathAndQuery);
        }

        static HttpClient client() {
            return HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        }
    }

    @Command(name = "save", mixinStandardHelpOptions = true, description = "Saves a snapshot of the servers' state to FILE (verified, then renamed into place).")
    static final class Save extends HttpOptions implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Option(names = "-stale", description = "Let any server answer, not only the leader (works without a leader; may be behind).") boolean stale;
        @Parameters(index = "0", paramLabel = "FILE") Path file;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            Path dir = file.toAbsolutePath().getParent();
            Path tmp = null;
            try {
                tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
                HttpResponse<Path> r = client().send(HttpRequest.newBuilder(uri("/v1/snapshot" + (stale ? "?stale" : ""))).timeout(Duration.ofMinutes(5)).GET().build(),
                        HttpResponse.BodyHandlers.ofFile(tmp));
                if (r.statusCode() != 200) {
                    String body = Files.readString(tmp).strip();
                    err.println("Error saving snapshot: Unexpected response code: " + r.statusCode() + " (" + body + ")");
                    return 1;
                }
                if (Files.size(tmp) > MAX_FILE_BYTES) throw new SnapshotArchive.InvalidSnapshotException("the snapshot is larger than " + MAX_FILE_BYTES + " bytes");
                SnapshotArchive.Archive a = SnapshotArchive.read(Files.readAllBytes(tmp), MAX_UNCOMPRESSED_BYTES);
                StateStore.counts(a.state());
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                tmp = null;
                spec.commandLine().getOut().println("Saved and verified snapshot to index " + a.meta().index());
                spec.commandLine().getOut().flush();
                return 0;
            } catch (SnapshotArchive.InvalidSnapshotException e) {
                err.println("Error verifying snapshot: " + e.getMessage() + " (" + file + " was not written)");
                return 1;
            } catch (IOException | IllegalArgumentException e) {
                err.println("Error saving snapshot: " + describe(e));
                return 1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                err.println("Error saving snapshot: interrupted");
                return 1;
            } finally {
                err.flush();
                if (tmp != null) {
                    try { Files.deleteIfExists(tmp); } catch (IOException ignored) { /* best effort */ }
                }
            }
        }
    }

    @Command(name = "restore", mixinStandardHelpOptions = true, description = "Restores FILE on every server: it replaces the whole state (KV, catalog, sessions).")
    static final class Restore extends HttpOptions implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "FILE") Path file;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            try {
                byte[] data = readFile(file);
                // Checked here first for a clear message; the server checks it again before it changes anything.
                SnapshotArchive.Archive a = SnapshotArchive.read(data, MAX_UNCOMPRESSED_BYTES);
                StateStore.counts(a.state());
                HttpResponse<String> r = client().send(HttpRequest.newBuilder(uri("/v1/snapshot")).timeout(Duration.ofMinutes(5))
                        .PUT(HttpRequest.BodyPublishers.ofByteArray(data)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                    err.println("Error restoring snapshot: Unexpected response code: " + r.statusCode() + " (" + r.body().strip() + ")");
                    return 1;
                }
                spec.commandLine().getOut().println("Restored snapshot");
                spec.commandLine().getOut().flush();
                return 0;
            } catch (SnapshotArchive.InvalidSnapshotException e) {
                err.println("Error restoring snapshot: " + file + " is not a valid snapshot, nothing was sent: " + e.getMessage());
                return 1;
            } catch (IOException | IllegalArgumentException e) {
                err.println("Error restoring snapshot: " + describe(e));
                return 1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                err.println("Error restoring snapshot: interrupted");
                return 1;
            } finally {
                err.flush();
            }
        }
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true, description = "Prints a snapshot file's metadata and record counts (offline; verifies its checksums).")
    static final class Inspect implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;
        @Parameters(index = "0", paramLabel = "FILE") Path file;

        @Override
        public Integer call() {
            PrintWriter err = spec.commandLine().getErr();
            PrintWriter out = spec.commandLine().getOut();
            try {
                SnapshotArchive.Archive a = SnapshotArchive.read(readFile(file), MAX_UNCOMPRESSED_BYTES);
                Map<String, Long> counts = StateStore.counts(a.state());
                SnapshotArchive.Meta m = a.meta();
                out.printf(" %-12s %s%n", "ID", m.id());
                out.printf(" %-12s %d%n", "Size", m.size());
                out.printf(" %-12s %d%n", "Index", m.index());
                out.printf(" %-12s %d%n", "Term", m.term());
                out.printf(" %-12s %d%n", "Version", m.version());
                out.println();
                out.printf(" %-12s %s%n", "Type", "Count");
                out.printf(" %-12s %s%n", "----", "-----");
                counts.forEach((k, v) -> out.printf(" %-12s %d%n", k, v));
                out.flush();
                return 0;
            } catch (SnapshotArchive.InvalidSnapshotException e) {
                err.println("Error verifying snapshot: " + e.getMessage());
                return 1;
            } catch (IOException e) {
                err.println("Error opening snapshot file: " + describe(e));
                return 1;
            } finally {
                err.flush();
            }
        }
    }

    static byte[] readFile(Path file) throws IOException, SnapshotArchive.InvalidSnapshotException {
        if (Files.size(file) > MAX_FILE_BYTES) throw new SnapshotArchive.InvalidSnapshotException("the file is larger than " + MAX_FILE_BYTES + " bytes");
        return Files.readAllBytes(file);
    }

    static String describe(Exception e) {
        if (e instanceof java.nio.file.NoSuchFileException) return "no such file: " + e.getMessage();
        if (e instanceof java.net.ConnectException) return "cannot reach the agent (" + e.getClass().getSimpleName() + "): is it running, and is -http-addr right?";
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}

package io.failoverkit.discovery.cli;

import io.failoverkit.discovery.state.SnapshotArchive;
import io.failoverkit.discovery.state.StateStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
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
        subcommands = {SnapshotCmd.Save.class, SnapshotCmd.Restore.class, SnapshotCmd.Inspect.class})
public final class SnapshotCmd implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    /** Largest archive the CLI reads from disk (the servers take at most this too). */
    static final long MAX_FILE_BYTES = 64L * 1024 * 1024;
    static final long MAX_UNCOMPRESSED_BYTES = 512L * 1024 * 1024;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: save, restore or inspect");
    }

    @Command(name = "save", mixinStandardHelpOptions = true, description = "Saves a snapshot of the servers' state to FILE (verified, then renamed into place).")
    static final class Save implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @Option(names = "-stale", description = "Let any server answer, not only the leader (works without a leader; may be behind).") boolean stale;
        @Parameters(index = "0", paramLabel = "FILE") Path file;

        @Override
        public Integer call() {
            PrintWriter err = http.err();
            String path = "/v1/snapshot" + (stale ? "?stale" : "");
            Path dir = file.toAbsolutePath().getParent();
            Path tmp = null;
            try {
                http.base(); // a bad -http-addr is a usage error, before any file is created
                tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
                HttpResponse<Path> r;
                try {
                    r = http.exchange("GET", path, HttpRequest.BodyPublishers.noBody(), HttpResponse.BodyHandlers.ofFile(tmp), Duration.ofMinutes(5));
                } catch (IOException e) {
                    throw http.transportFailure("saving snapshot", "GET", path, e);
                }
                if (r.statusCode() != 200) throw new AgentHttp.Failure("Error saving snapshot: " + AgentHttp.statusReason(r.statusCode(), Files.readString(tmp)));
                if (Files.size(tmp) > MAX_FILE_BYTES) throw new SnapshotArchive.InvalidSnapshotException("the snapshot is larger than " + MAX_FILE_BYTES + " bytes");
                SnapshotArchive.Archive a = SnapshotArchive.read(Files.readAllBytes(tmp), MAX_UNCOMPRESSED_BYTES);
                StateStore.counts(a.state());
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                tmp = null;
                http.out().println("Saved and verified snapshot to index " + a.meta().index());
                http.out().flush();
                return 0;
            } catch (SnapshotArchive.InvalidSnapshotException e) {
                err.println("Error verifying snapshot: " + e.getMessage() + " (" + file + " was not written)");
                return 1;
            } catch (IOException e) {
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
    static final class Restore implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @Parameters(index = "0", paramLabel = "FILE") Path file;

        @Override
        public Integer call() {
            PrintWriter err = http.err();
            byte[] data;
            try {
                data = readFile(file);
                // Checked here first for a clear message; the server checks it again before it changes anything.
                StateStore.counts(SnapshotArchive.read(data, MAX_UNCOMPRESSED_BYTES).state());
            } catch (SnapshotArchive.InvalidSnapshotException e) {
                err.println("Error restoring snapshot: " + file + " is not a valid snapshot, nothing was sent: " + e.getMessage());
                err.flush();
                return 1;
            } catch (IOException e) {
                err.println("Error restoring snapshot: " + describe(e));
                err.flush();
                return 1;
            }
            http.call("restoring snapshot", "PUT", "/v1/snapshot", data, Duration.ofMinutes(5));
            http.out().println("Restored snapshot");
            http.out().flush();
            return 0;
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

    /** A local file error, worded for the operator. */
    static String describe(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) return "no such file: " + e.getMessage();
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}

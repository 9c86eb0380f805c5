package io.failoverkit.discovery.raft;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.state.StateStore;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.raftlog.segmented.LogSegment;
import org.apache.ratis.server.raftlog.segmented.LogSegmentPath;
import org.apache.ratis.util.MD5FileUtil;
import org.apache.ratis.util.SizeInBytes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Manual recovery after a quorum loss, as Consul documents it: the operator writes {@code raft/peers.json} in the data
 * dir of each surviving server (Consul's v3 format, {@code [{"id": ..., "address": "host:port", "non_voter": false}]}),
 * and at its next start the server forms a new configuration of only those servers.
 *
 * <p>Why a fresh group: Ratis takes its configuration from its own log and the {@code raft-meta.conf} beside it, and
 * has no way to replace a configuration without a quorum of the old one (hashicorp/raft's RecoverCluster writes one
 * outside the protocol). Editing Ratis' files in place would mean rewriting configuration entries inside log
 * segments. Instead the server (1) rebuilds its state from its own storage, the latest snapshot and then every entry
 * of its log after it (as RecoverCluster does: entries that were not known to be committed are applied too), (2) sets
 * the old group's storage aside, untouched, and (3) starts the group afresh with the peers.json servers, its first
 * snapshot being the recovered state at the old log's last term and index ({@link RaftNode.Mode#RECOVERED}). Indexes
 * go on from there, so the KV's ModifyIndex values and blocking queries stay valid, and a new server joining later
 * gets the state by snapshot install.
 */
public final class RaftRecovery {
    private static final Logger LOG = LoggerFactory.getLogger(RaftRecovery.class);
    public static final String PEERS_FILE = "peers.json";
    private static final Pattern SNAPSHOT = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");
    private static final Pattern HOST_PORT = Pattern.compile("(\\[[0-9A-Fa-f:.]+]|[A-Za-z0-9.-]+):(\\d{1,5})");

    private RaftRecovery() {}

    /** One line of peers.json. */
    public record Entry(String id, String address) {}

    /**
     * Reads and checks peers.json (Consul's v3 format). IllegalArgumentException, naming the file and the fault, when
     * it is not a non-empty array of objects with an "id" and a "host:port" "address", unique both, all voters.
     */
    public static List<Entry> parse(Path file) throws IOException {
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(Files.readAllBytes(file));
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + e.getOriginalMessage());
        }
        String v3 = " (expected Consul's v3 format: [{\"id\": \"NODE-ID\", \"address\": \"HOST:PORT\", \"non_voter\": false}, ...])";
        if (root == null || !root.isArray() || root.isEmpty()) throw new IllegalArgumentException(file + " must be a non-empty JSON array" + v3);
        List<Entry> out = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        Set<String> addresses = new HashSet<>();
        int i = 0;
        for (JsonNode n : root) {
            String where = file + ": entry " + i++;
            if (n.isTextual()) throw new IllegalArgumentException(where + " is a bare address, the old v1 format, which needs Raft IDs" + v3);
            if (!n.isObject()) throw new IllegalArgumentException(where + " is not an object" + v3);
            var names = n.fieldNames();
            while (names.hasNext()) {
                String f = names.next();
                if (!Set.of("id", "address", "non_voter").contains(f)) throw new IllegalArgumentException(where + " has an unknown field \"" + f + "\"" + v3);
            }
            JsonNode id = n.get("id");
            JsonNode address = n.get("address");
            JsonNode nonVoter = n.get("non_voter");
            if (id == null || !id.isTextual() || id.asText().isBlank()) throw new IllegalArgumentException(where + " needs a non-empty string \"id\"" + v3);
            if (address == null || !address.isTextual()) throw new IllegalArgumentException(where + " needs a string \"address\"" + v3);
            Matcher m = HOST_PORT.matcher(address.asText());
            if (!m.matches() || Integer.parseInt(m.group(2)) < 1 || Integer.parseInt(m.group(2)) > 65535) {
                throw new IllegalArgumentException(where + ": address \"" + address.asText() + "\" is not HOST:PORT (the server RPC address)");
            }
            if (nonVoter != null && !nonVoter.isBoolean()) throw new IllegalArgumentException(where + ": \"non_voter\" must be true or false");
            if (nonVoter != null && nonVoter.asBoolean()) {
                throw new IllegalArgumentException(where + " (" + id.asText() + ") is a non-voter: this agent's servers are all voters, list only voters");
            }
            if (!ids.add(id.asText())) throw new IllegalArgumentException(where + ": id \"" + id.asText() + "\" is listed twice");
            if (!addresses.add(address.asText())) throw new IllegalArgumentException(where + ": address \"" + address.asText() + "\" is listed twice");
            out.add(new Entry(id.asText(), address.asText()));
        }
        return List.copyOf(out);
    }

    /** The storage directory of the group of {@code groupId} under the Raft dir. */
    public static Path groupDir(Path raftDir, RaftGroupId groupId) {
        return raftDir.resolve(groupId.getUuid().toString());
    }

    /**
     * Rebuilds the state the server had from its own storage: the latest snapshot (its MD5 checked), then every log
     * entry after it, in order, into {@code store} (which must be empty). Returns the last entry's term and index.
     * Nothing on disk changes. IOException when the storage is missing or cannot be read whole.
     */
    public static RaftNode.Seed recoverState(Path groupDir, StateStore store) throws IOException {
        if (!Files.isDirectory(groupDir.resolve("current"))) {
            throw new IOException("no Raft storage to recover from at " + groupDir + " (" + asideHint(groupDir) + ")");
        }
        long term = 0;
        long index = 0;
        Path sm = groupDir.resolve("sm");
        File snapshot = null;
        if (Files.isDirectory(sm)) {
            try (Stream<Path> files = Files.list(sm)) {
                for (Path f : files.toList()) {
                    Matcher m = SNAPSHOT.matcher(f.getFileName().toString());
                    if (!m.matches()) continue;
                    long t = Long.parseLong(m.group(1));
                    long i = Long.parseLong(m.group(2));
                    if (i > index) { index = i; term = t; snapshot = f.toFile(); }
                }
            }
        }
        if (snapshot != null) {
            File md5 = MD5FileUtil.getDigestFileForFile(snapshot);
            if (md5.exists()) MD5FileUtil.verifySavedMD5(snapshot, MD5FileUtil.readStoredMd5ForFile(snapshot));
            store.loadSnapshot(snapshot.toPath());
            LOG.info("recovery: loaded snapshot {} (term {}, index {})", snapshot.getName(), term, index);
        }
        List<LogSegmentPath> segments = new ArrayList<>();
        try (Stream<Path> files = Files.list(groupDir.resolve("current"))) {
            for (Path f : files.sorted().toList()) {
                LogSegmentPath p = LogSegmentPath.matchLogSegment(f);
                if (p != null) segments.add(p);
            }
        }
        // By first index: closed segments are log_FIRST-LAST, the open one log_inprogress_FIRST.
        segments.sort(java.util.Comparator.comparingLong(p -> {
            Matcher m = Pattern.compile("log_(?:inprogress_)?(\\d+)").matcher(p.getPath().getFileName().toString());
            return m.lookingAt() ? Long.parseLong(m.group(1)) : Long.MAX_VALUE;
        }));
        long[] last = {term, index};
        long[] applied = {0, 0};
        for (LogSegmentPath seg : segments) {
            LogSegment.readSegmentFile(seg.getPath().toFile(), seg.getStartEnd(), SizeInBytes.valueOf("64MB"),
                    org.apache.ratis.server.RaftServerConfigKeys.Log.CorruptionPolicy.EXCEPTION, null, entry -> {
                        if (entry.getIndex() <= last[1]) return; // in the snapshot already
                        if (entry.getIndex() != last[1] + 1 && last[1] > 0) {
                            throw new IllegalStateException("gap in the Raft log: entry " + entry.getIndex() + " after " + last[1]);
                        }
                        apply(store, entry);
                        last[0] = entry.getTerm();
                        last[1] = entry.getIndex();
                        applied[entry.hasStateMachineLogEntry() ? 0 : 1]++;
                    });
        }
        LOG.info("recovery: replayed {} state entries and {} other entries from {} log segment(s); the state is at term {}, index {}",
                applied[0], applied[1], segments.size(), last[0], last[1]);
        if (snapshot == null && applied[0] == 0) {
            // A server's state is never empty (its own catalog registration is the first write): an empty storage is
            // a half-formatted group dir (a crash during an earlier recovery) or the wrong one. Serving it would be
            // serving an empty catalog and KV as if it were the cluster's.
            throw new IOException("no snapshot and no state entries in " + groupDir + ": refusing to recover an empty state ("
                    + asideHint(groupDir) + ")");
        }
        return new RaftNode.Seed(last[0], last[1]);
    }

    private static String asideHint(Path groupDir) throws IOException {
        String hint = "is this the server's -data-dir?";
        if (Files.isDirectory(groupDir.getParent())) {
            try (Stream<Path> dirs = Files.list(groupDir.getParent())) {
                List<String> aside = dirs.filter(Files::isDirectory).map(d -> d.getFileName().toString())
                        .filter(n -> n.startsWith(groupDir.getFileName() + ".")).sorted().toList();
                if (!aside.isEmpty()) hint = "storage set aside earlier: " + aside + "; move the one to recover from back to " + groupDir.getFileName();
            }
        }
        return hint;
    }

    private static void apply(StateStore store, LogEntryProto entry) {
        if (!entry.hasStateMachineLogEntry()) return; // configuration and metadata entries: no state
        try {
            Command command = Json.MAPPER.readValue(entry.getStateMachineLogEntry().getLogData().toByteArray(), Command.class);
            store.apply(entry.getIndex(), entry.getTerm(), command);
        } catch (IOException e) {
            // As the state machine does: a command that cannot be read changes nothing.
            LOG.warn("recovery: entry {} is not a readable command ({}), skipped as it was when applied", entry.getIndex(), e.getMessage());
        }
    }

    /** Moves the old group's storage aside (kept, never deleted) as GROUP.WHY-MILLIS; returns where it went. */
    public static Path setAside(Path groupDir, String why) throws IOException {
        Path aside = groupDir.resolveSibling(groupDir.getFileName() + "." + why + "-" + System.currentTimeMillis());
        Files.move(groupDir, aside, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        return aside;
    }

    /**
     * Whether the group's storage holds anything a voter must not forget: a snapshot or a log segment. A server
     * without it has an empty log and must not take a voting seat in a configuration that lists it already.
     */
    public static boolean hasState(Path groupDir) throws IOException {
        if (Files.isDirectory(groupDir.resolve("sm"))) {
            try (Stream<Path> files = Files.list(groupDir.resolve("sm"))) {
                if (files.anyMatch(f -> SNAPSHOT.matcher(f.getFileName().toString()).matches())) return true;
            }
        }
        if (Files.isDirectory(groupDir.resolve("current"))) {
            try (Stream<Path> files = Files.list(groupDir.resolve("current"))) {
                return files.anyMatch(f -> LogSegmentPath.matchLogSegment(f) != null);
            }
        }
        return false;
    }

    /** The marker naming the storage a peers.json recovery set aside, there until the recovery is done. */
    public static Path markerFile(Path groupDir) {
        return groupDir.resolveSibling(groupDir.getFileName() + "-recovery-in-progress");
    }

    /**
     * Sets the old group's storage aside for a peers.json recovery, resumably: first a marker naming the aside dir
     * (fsynced, with its dir), then the move (the dir fsynced again), so that a crash before {@link #recoveryDone}
     * leaves a marker that {@link #interrupted} finds at the next start.
     */
    public static Path setAsideForRecovery(Path groupDir) throws IOException {
        Path aside = groupDir.resolveSibling(groupDir.getFileName() + ".before-recovery-" + System.currentTimeMillis());
        Path marker = markerFile(groupDir);
        Path tmp = marker.resolveSibling(marker.getFileName() + ".tmp");
        try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE,
                java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(java.nio.ByteBuffer.wrap((aside.getFileName() + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
            ch.force(true);
        }
        Files.move(tmp, marker, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        fsyncDir(groupDir.getParent());
        Files.move(groupDir, aside, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        fsyncDir(groupDir.getParent());
        return aside;
    }

    /**
     * The storage an earlier peers.json recovery set aside and did not finish with (its marker is there and names a
     * dir that exists), or empty. Only the marker counts: aside dirs of finished recoveries are never picked.
     */
    public static java.util.Optional<Path> interrupted(Path groupDir) throws IOException {
        Path marker = markerFile(groupDir);
        if (!Files.exists(marker)) return java.util.Optional.empty();
        String name = Files.readString(marker).strip();
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || !name.startsWith(groupDir.getFileName() + ".before-recovery-")) {
            throw new IOException(marker + " names \"" + name + "\", not a storage set aside by a recovery: check it and remove it");
        }
        Path aside = groupDir.resolveSibling(name);
        return Files.isDirectory(aside.resolve("current")) ? java.util.Optional.of(aside) : java.util.Optional.empty();
    }

    /** The recovery is over (done or undone): its marker goes. */
    public static void recoveryDone(Path groupDir) throws IOException {
        if (Files.deleteIfExists(markerFile(groupDir))) fsyncDir(groupDir.getParent());
    }

    /** Makes renames and deletions in {@code dir} durable (a no-op where directories cannot be opened, as on Windows). */
    public static void fsyncDir(Path dir) throws IOException {
        try (var ch = java.nio.channels.FileChannel.open(dir, java.nio.file.StandardOpenOption.READ)) {
            ch.force(true);
        } catch (java.nio.file.AccessDeniedException | UnsupportedOperationException e) {
            LOG.debug("cannot fsync directory {}: {}", dir, e.getMessage());
        }
    }

    /** Undoes {@link #setAside} after the new group failed to start: its partial storage goes, the old comes back. */
    public static void putBack(Path groupDir, Path aside) throws IOException {
        if (Files.exists(groupDir)) {
            Path failed = groupDir.resolveSibling(groupDir.getFileName() + ".failed-recovery-" + System.currentTimeMillis());
            Files.move(groupDir, failed, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        Files.move(aside, groupDir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        fsyncDir(groupDir.getParent());
        recoveryDone(groupDir);
    }
}

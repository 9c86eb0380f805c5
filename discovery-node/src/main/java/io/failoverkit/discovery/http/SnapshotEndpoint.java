package io.failoverkit.discovery.http;

import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.SnapshotArchive;
import io.failoverkit.discovery.state.StateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * /v1/snapshot, as Consul's: GET returns a snapshot archive of the whole state (served by the leader, or by this
 * server with ?stale), with the state's Raft index in X-Consul-Index; PUT takes an archive as the body and replaces
 * the whole state with it through one Raft entry, after checking the archive fully (nothing changes when it is
 * damaged, cut short, not a snapshot, or too large for one Raft entry).
 */
final class SnapshotEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotEndpoint.class);

    /** The largest archive body taken (the state is compressed in the archive and again in the entry). */
    static final int MAX_ARCHIVE_BYTES = 64 * 1024 * 1024;
    /** The largest tar inside an archive (state.bin is JSON and compresses well; beyond this the entry would not fit). */
    static final long MAX_UNCOMPRESSED_BYTES = 512L * 1024 * 1024;

    private final ServerSide server;

    SnapshotEndpoint(ServerSide server) {
        this.server = server;
    }

    void handle(Call call) {
        if (!call.path.isEmpty()) throw HttpError.notFound("unknown endpoint /v1/snapshot/" + call.path);
        switch (call.method) {
            case "GET" -> save(call);
            case "PUT", "POST" -> restore(call);
            default -> throw new HttpError(405, "method " + call.method + " not allowed on /v1/snapshot (GET saves, PUT restores)");
        }
    }

    private void save(Call call) {
        server.readOnce(call, null, () -> {
            StateStore.Capture c = server.store.capture();
            byte[] archive = SnapshotArchive.write(SnapshotArchive.meta(c.index(), c.term(), c.state().length, System.currentTimeMillis()), c.state());
            return new StateStore.Read<>(archive, Math.max(1, c.index()), c.index());
        }, (c, r) -> c.send(200, r.value(), "application/x-gzip"));
    }

    private void restore(Call call) {
        byte[] body = call.body(MAX_ARCHIVE_BYTES);
        SnapshotArchive.Archive archive;
        try {
            archive = SnapshotArchive.read(body, MAX_UNCOMPRESSED_BYTES);
            StateStore.counts(archive.state());
        } catch (SnapshotArchive.InvalidSnapshotException e) {
            throw HttpError.badRequest("snapshot not restored, nothing changed: " + e.getMessage());
        }
        SnapshotArchive.Meta m = archive.meta();
        Command.Restore command = new Command.Restore(m.id(), m.index(), m.term(), StateStore.compress(archive.state()));
        int entryBytes = command.entryBytes();
        if (entryBytes > Command.Restore.MAX_ENTRY_BYTES) {
            throw new HttpError(413, "snapshot not restored, nothing changed: its state (" + m.size() + " bytes, " + command.state().length
                    + " compressed) needs a Raft entry of " + entryBytes + " bytes, more than the " + Command.Restore.MAX_ENTRY_BYTES + " one entry may carry");
        }
        LOG.warn("restoring snapshot {} (index {}, term {}, {} bytes of state) on an operator's request from {}: it will replace the whole state",
                m.id(), m.index(), m.term(), m.size(), call.request.getConnectionMetaData().getRemoteSocketAddress());
        server.write(call, command, r -> call.text(200, ""));
    }
}

package io.failoverkit.discovery.state;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;

import java.util.List;

/**
 * Every change to the replicated state is one of these, proposed through Raft and applied by {@link StateStore#apply}.
 * Commands are validated and normalized before they are proposed; apply only decides what depends on the state.
 * Wall-clock time enters only as {@code nowMillis} chosen by the proposer, so apply is deterministic on every server.
 * Lock-delay is not decided here: the server that proposes an acquire checks its own in-memory {@link LockDelays}
 * first and records in {@code lockCheckedIndex} how far its state had been applied when it checked; apply refuses an
 * acquire of a key that an invalidation released after that index (the check could not have seen it).
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "op")
@JsonSubTypes({
        @JsonSubTypes.Type(value = Command.KvPut.class, name = "kv-put"),
        @JsonSubTypes.Type(value = Command.KvDelete.class, name = "kv-delete"),
        @JsonSubTypes.Type(value = Command.Register.class, name = "register"),
        @JsonSubTypes.Type(value = Command.Deregister.class, name = "deregister"),
        @JsonSubTypes.Type(value = Command.SessionCreate.class, name = "session-create"),
        @JsonSubTypes.Type(value = Command.SessionDestroy.class, name = "session-destroy"),
        @JsonSubTypes.Type(value = Command.Batch.class, name = "batch"),
        @JsonSubTypes.Type(value = Command.Txn.class, name = "txn"),
        @JsonSubTypes.Type(value = Command.InTerm.class, name = "in-term"),
        @JsonSubTypes.Type(value = Command.Restore.class, name = "restore"),
        @JsonSubTypes.Type(value = Command.AclBootstrap.class, name = "acl-bootstrap"),
        @JsonSubTypes.Type(value = Command.AclInit.class, name = "acl-init"),
        @JsonSubTypes.Type(value = Command.AclPolicySet.class, name = "acl-policy-set"),
        @JsonSubTypes.Type(value = Command.AclPolicyDelete.class, name = "acl-policy-delete"),
        @JsonSubTypes.Type(value = Command.AclTokenSet.class, name = "acl-token-set"),
        @JsonSubTypes.Type(value = Command.AclTokenDelete.class, name = "acl-token-delete"),
        @JsonSubTypes.Type(value = Command.TombstoneReap.class, name = "tombstone-reap"),
})
public sealed interface Command {

    /**
     * PUT /v1/kv: {@code cas} null means unconditional; {@code acquire}/{@code release} name a session.
     * {@code lockCheckedIndex}: for an acquire, the applied index at which the proposer checked lock-delay (null: not
     * checked, so a key released by an invalidation is refused).
     */
    record KvPut(String key, byte[] value, long flags, Long cas, String acquire, String release, Long lockCheckedIndex) implements Command {}

    /** DELETE /v1/kv: {@code cas} null means unconditional. */
    record KvDelete(String key, boolean recurse, Long cas) implements Command {}

    /** /v1/catalog/register, already normalized: service and checks may be null/empty. */
    record Register(Model.Node node, Model.Service service, List<Model.Check> checks, boolean skipNodeUpdate, long nowMillis) implements Command {}

    /** /v1/catalog/deregister: the whole node when both ids are null. */
    record Deregister(String node, String serviceId, String checkId, long nowMillis) implements Command {}

    record SessionCreate(Model.Session session) implements Command {}

    /**
     * Several clients' commands in one Raft entry (group commit): applied in order, each with its own result, all
     * with the entry's index. Never nested.
     */
    record Batch(List<Command> commands) implements Command {}

    /**
     * A command that holds only if it is committed in the Raft term it was proposed in: the leader's reconciler
     * writes what its own gossip view says, and a leader that lost its term must not have that view applied later
     * (a client retry or a NotLeader redirect would otherwise commit it under the next leader, marking a live node
     * critical and dropping its sessions). Entries replayed at start keep their terms, so replay decides alike.
     */
    record InTerm(long term, Command command) implements Command {}

    /**
     * /v1/txn with at least one write: every operation applied, or none (the first failing check or write makes the
     * whole entry a no-op, with one error per failing operation). {@code lockCheckedIndex} as for {@link KvPut}.
     */
    record Txn(List<TxnOp> ops, Long lockCheckedIndex) implements Command {}

    /**
     * The leader's tombstone GC: forget the KV tombstones at or below {@code upToIndex}, which have been kept long
     * enough for blocking queries on deleted keys to have seen them (Consul's tombstone GC).
     */
    record TombstoneReap(long upToIndex) implements Command {}

    /** Destroy (by an operator) or invalidate (TTL lapsed, proposed by the leader). */
    record SessionDestroy(String id, String reason, long nowMillis) implements Command {}

    /**
     * PUT /v1/snapshot: replaces the whole state with a verified snapshot archive's state.bin ({@code state}, gzip
     * compressed to keep the entry small). One entry, so every server replaces its state at the same index.
     * {@code id}, {@code snapshotIndex} and {@code snapshotTerm} are the archive's meta.json, for the log.
     */
    record Restore(String id, long snapshotIndex, long snapshotTerm, byte[] state) implements Command {
        /**
         * The largest encoded restore entry proposed. Measured with Ratis 3.2.1 on three servers
         * (RaftEntrySizeLimitTest): an entry over raft.server.log.appender.buffer.byte-limit (4 MiB, left at its
         * default) is refused ("Log entry size 4194413 exceeds the max buffer limit of 4194304"), and a 7 MiB one
         * exhausted the client's retries and left that server's Raft client closed for every later write. 64 KiB below
         * the limit leaves room for the log entry's own envelope.
         */
        public static final int MAX_ENTRY_BYTES = 4 * 1024 * 1024 - 64 * 1024;

        /** This command's size as a Raft entry (its JSON). */
        public int entryBytes() {
            try {
                return Json.MAPPER.writeValueAsBytes(this).length;
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    // ACL commands carry tokens with their secrets' hashes only (Model.AclToken): no secret ever enters the Raft log.

    /** PUT /v1/acl/bootstrap: the first management token, once (refused with 403 once bootstrapped). */
    record AclBootstrap(Model.AclToken token) implements Command {}

    /**
     * Proposed by a new leader when the ACL state lacks what every cluster has (as Consul's leader does): the builtin
     * global-management policy, the anonymous token, and the configured initial_management token ({@code null} when
     * none is configured). Apply creates only what is missing; creating the initial management token also ends the
     * bootstrap window, so a cluster started with it needs no bootstrap.
     */
    record AclInit(Model.AclToken anonymous, Model.AclToken initialManagement) implements Command {}

    /** PUT /v1/acl/policy ({@code create}) and PUT /v1/acl/policy/ID; the rules were parsed before proposing. */
    record AclPolicySet(Model.AclPolicy policy, boolean create) implements Command {}

    record AclPolicyDelete(String id) implements Command {}

    /**
     * PUT /v1/acl/token ({@code create}) and PUT /v1/acl/token/ACCESSOR. An update keeps the stored secret hash,
     * creation time and expiration; policy links must name existing policies.
     */
    record AclTokenSet(Model.AclToken token, boolean create) implements Command {}

    record AclTokenDelete(String accessorId) implements Command {}
}

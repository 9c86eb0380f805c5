package io.failoverkit.failover.decide;

/**
 * The last replication history the manager saw on a healthy master: which process ({@code runId}) held which stream
 * ({@code replid}) up to which {@code offset}. Kept in memory and in the KV ({@code failover/<cluster>/history}), so
 * that a master that comes back from a restart with less than this is recognised even by a manager that restarted too.
 */
public record MasterHistory(String address, String runId, String replid, long offset) {}

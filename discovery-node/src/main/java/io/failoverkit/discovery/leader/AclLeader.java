package io.failoverkit.discovery.leader;

import io.failoverkit.discovery.acl.Identity;
import io.failoverkit.discovery.acl.PolicyAuthorizer;
import io.failoverkit.discovery.acl.Secrets;
import io.failoverkit.discovery.acl.StoreTokenResolver;
import io.failoverkit.discovery.config.AclConfig;
import io.failoverkit.discovery.raft.RaftNode;
import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * What Consul's leader does for ACLs when it takes leadership: make sure the builtin global-management policy and the
 * anonymous token exist, and create the {@code initial_management} token from the config (so a fresh cluster with one
 * configured needs no bootstrap). The builtin policy and the anonymous token are checked on every tick while leading (a
 * snapshot restore may have removed them); the initial_management token only once per leadership term, as Consul's
 * leader does, so an operator who deletes a leaked one is not overruled a second later (it comes back at the next
 * election only while the config still names it). One proposal at a time, and apply creates only what is still
 * missing, so a retry or two leaders' proposals do no harm.
 */
public final class AclLeader {
    private static final Logger LOG = LoggerFactory.getLogger(AclLeader.class);

    private final StateStore store;
    private final BooleanSupplier isLeader;
    private final Function<Command, CompletableFuture<ApplyResult>> propose;
    private final String initialManagementHash;
    private final AtomicBoolean inFlight = new AtomicBoolean();
    /** Leading at the last tick; a new term (false to true) makes the initial_management token due again. */
    private volatile boolean leading;
    /** The initial_management token is still to be ensured in this leadership term. */
    private volatile boolean initialDue;
    /** Expired tokens whose deletion is proposed and not yet applied (not proposed twice). */
    private final java.util.Set<String> reaping = java.util.concurrent.ConcurrentHashMap.newKeySet();

    public AclLeader(StateStore store, RaftNode raft, AclConfig config) {
        this(store, raft::isLeader, raft::propose, config.initialManagement);
    }

    public AclLeader(StateStore store, BooleanSupplier isLeader, Function<Command, CompletableFuture<ApplyResult>> propose, String initialManagement) {
        this.store = store;
        this.isLeader = isLeader;
        this.propose = propose;
        this.initialManagementHash = initialManagement == null ? null : Secrets.hash(initialManagement);
    }

    public void tick() {
        if (!isLeader.getAsBoolean()) {
            leading = false;
            return;
        }
        if (!leading) {
            leading = true;
            initialDue = initialManagementHash != null;
        }
        reapExpired(System.currentTimeMillis());
        boolean withInitial = initialDue;
        String initialHash = withInitial ? initialManagementHash : null;
        if (!store.aclNeedsInit(Identity.ANONYMOUS_ACCESSOR, initialHash)) {
            initialDue = false;
            return;
        }
        if (!inFlight.compareAndSet(false, true)) return;
        long now = System.currentTimeMillis();
        Model.AclToken anonymous = new Model.AclToken(Identity.ANONYMOUS_ACCESSOR, Secrets.hash(StoreTokenResolver.ANONYMOUS_SECRET),
                "Anonymous Token", List.of(), false, null, now, 0, 0);
        Model.AclToken initial = initialHash == null ? null : new Model.AclToken(UUID.randomUUID().toString(), initialHash,
                "Initial Management Token", List.of(PolicyAuthorizer.GLOBAL_MANAGEMENT_ID), false, null, now, 0, 0);
        propose.apply(new Command.AclInit(anonymous, initial)).whenComplete((r, err) -> {
            inFlight.set(false);
            if (err != null) LOG.warn("ACL initialisation not committed (retried on the next tick): {}", err.getMessage());
            else if (r.isOk() && withInitial) initialDue = false;
            if (err == null && r.isOk()) LOG.info("ACLs initialised: builtin policy, anonymous token{}", initial == null ? "" : " and the initial management token from the config");
        });
    }

    /**
     * Deletes tokens past their expiration time, as Consul's leader reaps them (they are already refused and hidden
     * from the moment they expire; this only keeps the table from growing). At most 64 per tick.
     */
    void reapExpired(long nowMillis) {
        List<Model.AclToken> expired = store.aclTokens().value().stream().filter(t -> t.expiredAt(nowMillis))
                .filter(t -> !reaping.contains(t.accessorId())).limit(64).toList();
        for (Model.AclToken t : expired) {
            reaping.add(t.accessorId());
            propose.apply(new Command.AclTokenDelete(t.accessorId())).whenComplete((r, err) -> {
                reaping.remove(t.accessorId());
                if (err == null && r.isOk()) LOG.info("ACL token {} expired and was deleted", t.accessorId());
            });
        }
    }
}

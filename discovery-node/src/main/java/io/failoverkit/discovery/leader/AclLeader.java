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
 * configured needs no bootstrap). Checked on every tick while leading (a snapshot restore may have removed them); one
 * proposal at a time, and apply creates only what is still missing, so a retry or two leaders' proposals do no harm.
 */
public final class AclLeader {
    private static final Logger LOG = LoggerFactory.getLogger(AclLeader.class);

    private final StateStore store;
    private final BooleanSupplier isLeader;
    private final Function<Command, CompletableFuture<ApplyResult>> propose;
    private final String initialManagementHash;
    private final AtomicBoolean inFlight = new AtomicBoolean();

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
        if (!isLeader.getAsBoolean() || !store.aclNeedsInit(Identity.ANONYMOUS_ACCESSOR, initialManagementHash)) return;
        if (!inFlight.compareAndSet(false, true)) return;
        long now = System.currentTimeMillis();
        Model.AclToken anonymous = new Model.AclToken(Identity.ANONYMOUS_ACCESSOR, Secrets.hash(StoreTokenResolver.ANONYMOUS_SECRET),
                "Anonymous Token", List.of(), false, null, now, 0, 0);
        Model.AclToken initial = initialManagementHash == null ? null : new Model.AclToken(UUID.randomUUID().toString(), initialManagementHash,
                "Initial Management Token", List.of(PolicyAuthorizer.GLOBAL_MANAGEMENT_ID), false, null, now, 0, 0);
        propose.apply(new Command.AclInit(anonymous, initial)).whenComplete((r, err) -> {
            inFlight.set(false);
            if (err != null) LOG.warn("ACL initialisation not committed (retried on the next tick): {}", err.getMessage());
            else if (r.isOk()) LOG.info("ACLs initialised: builtin policy, anonymous token{}", initial == null ? "" : " and the initial management token from the config");
        });
    }
}

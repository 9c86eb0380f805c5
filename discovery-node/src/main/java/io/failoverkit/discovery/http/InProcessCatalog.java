package io.failoverkit.discovery.http;

import io.failoverkit.discovery.acl.Identity;
import io.failoverkit.discovery.acl.TokenResolver;
import io.failoverkit.discovery.agent.AntiEntropy;
import io.failoverkit.discovery.raft.RaftNode;
import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.state.StateStore;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * {@code PUT /v1/catalog/register} called in-process by a server agent's own check sync: the body is read by the
 * route's parser, the token checked against the route's ACL rule ({@link Permissions#registerNeeds}) and the command
 * proposed to this server's Raft node, as the route does, without the HTTP request to itself (its serialisation, the
 * loopback connection and two thread hand-offs on the path of every check status change). The audit log, which
 * records HTTP requests, does not see these writes, as Consul's does not see its agent's anti-entropy RPCs.
 */
final class InProcessCatalog implements AntiEntropy.CatalogWriter {
    private final StateStore store;
    /** This server's Raft proposal ({@link RaftNode#propose}). */
    private final Function<Command, CompletableFuture<ApplyResult>> propose;
    private final Supplier<TokenResolver> acl;
    private final String datacenter;

    InProcessCatalog(StateStore store, Function<Command, CompletableFuture<ApplyResult>> propose, Supplier<TokenResolver> acl, String datacenter) {
        this.store = store;
        this.propose = propose;
        this.acl = acl;
        this.datacenter = datacenter;
    }

    @Override
    public CompletableFuture<Void> register(Map<String, Object> body, String token) {
        Command.Register reg;
        try {
            reg = CatalogEndpoint.parseRegister(Json.MAPPER.valueToTree(body), datacenter);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(new IOException("400 " + e.getMessage()));
        }
        TokenResolver resolver = acl.get();
        if (resolver != TokenResolver.DISABLED) {
            Identity who;
            try {
                who = resolver.resolve(token);
            } catch (TokenResolver.AclNotFound e) {
                return CompletableFuture.failedFuture(new IOException("403 " + e.getMessage()));
            }
            Permissions.Need missing = Permissions.firstDenied(who, Permissions.registerNeeds(reg, store));
            if (missing != null) return CompletableFuture.failedFuture(new IOException("403 " + Permissions.denied(who, missing)));
        }
        return propose.apply(reg).thenCompose(result -> {
            if (!result.isOk()) throw new CompletionException(new IOException(result.status() + " " + result.error()));
            // Done once this server has applied it too: on a follower the leader answers first, and a full sync that
            // read this server's store before the entry arrived would find the older status and write nothing
            // (review: the catalog then kept it until the next 30 s full sync). Bounded: after 2 s it is done anyway.
            return appliedHere(result.index(), System.nanoTime() + APPLY_WAIT.toNanos());
        });
    }

    private static final java.time.Duration APPLY_WAIT = java.time.Duration.ofSeconds(2);

    private CompletableFuture<Void> appliedHere(long index, long deadline) {
        if (store.lastIndex() >= index || System.nanoTime() - deadline > 0) return CompletableFuture.completedFuture(null);
        return CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(1, java.util.concurrent.TimeUnit.MILLISECONDS))
                .thenCompose(x -> appliedHere(index, deadline));
    }
}

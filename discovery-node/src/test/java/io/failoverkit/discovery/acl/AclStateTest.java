package io.failoverkit.discovery.acl;

import io.failoverkit.discovery.config.AclConfig;
import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.SnapshotArchive;
import io.failoverkit.discovery.state.StateStore;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The replicated ACL tables: bootstrap once, policies and tokens with their rules of apply, secrets kept only as hashes,
 * both kinds of snapshot, and the server's resolver (default token, anonymous, expiry, a policy change seen at once).
 */
class AclStateTest {
    private static final String GM = PolicyAuthorizer.GLOBAL_MANAGEMENT_ID;
    private final StateStore store = new StateStore(Runnable::run);
    private long index;

    private ApplyResult apply(Command c) {
        return store.apply(++index, 1, c).get(0);
    }

    private static Model.AclToken token(String accessor, String secret, List<String> policies, Long expiration) {
        return new Model.AclToken(accessor, Secrets.hash(secret), "t " + accessor, policies, false, expiration, 1_000L, 0, 0);
    }

    private static Model.AclPolicy policy(String id, String name, String rules) {
        return new Model.AclPolicy(id, name, "", rules, List.of(), 0, 0);
    }

    @Test
    void bootstrapHappensOnceAndSaysItsResetIndex() {
        ApplyResult first = apply(new Command.AclBootstrap(token("a-1", "s-1", List.of(GM), null)));
        assertThat(first.isOk()).isTrue();
        long at = first.index();
        ApplyResult again = apply(new Command.AclBootstrap(token("a-2", "s-2", List.of(GM), null)));
        assertThat(again.status()).isEqualTo(403);
        assertThat(again.error()).isEqualTo("ACL bootstrap no longer allowed (reset index: " + at + ")");
        assertThat(store.aclToken("a-2").value()).isNull();
        assertThat(store.aclPolicy(GM).value().name()).isEqualTo("global-management");
    }

    @Test
    void initialManagementFromTheConfigEndsTheBootstrapWindow() {
        Model.AclToken anon = token(Identity.ANONYMOUS_ACCESSOR, StoreTokenResolver.ANONYMOUS_SECRET, List.of(), null);
        assertThat(store.aclNeedsInit(Identity.ANONYMOUS_ACCESSOR, Secrets.hash("root-secret"))).isTrue();
        apply(new Command.AclInit(anon, token("im", "root-secret", List.of(GM), null)));
        assertThat(store.aclNeedsInit(Identity.ANONYMOUS_ACCESSOR, Secrets.hash("root-secret"))).isFalse();
        assertThat(store.aclBootstrapIndex()).isEqualTo(index);
        assertThat(apply(new Command.AclBootstrap(token("a-1", "s-1", List.of(GM), null))).status()).isEqualTo(403);
        // A second init (another leader, a retry) creates nothing twice.
        long tokensIndex = store.aclTokens().index();
        apply(new Command.AclInit(anon, token("im-2", "root-secret", List.of(GM), null)));
        assertThat(store.aclTokens().value()).extracting(Model.AclToken::accessorId).containsExactlyInAnyOrder(Identity.ANONYMOUS_ACCESSOR, "im");
        assertThat(store.aclTokens().index()).isEqualTo(tokensIndex);
    }

    @Test
    void policiesAndTokensKeepTheirRules() {
        apply(new Command.AclInit(token(Identity.ANONYMOUS_ACCESSOR, "anonymous", List.of(), null), null));
        assertThat(apply(new Command.AclPolicySet(policy("p1", "kv-read", "key_prefix \"\" { policy = \"read\" }"), true)).isOk()).isTrue();
        assertThat(apply(new Command.AclPolicySet(policy("p2", "kv-read", ""), true)).error()).contains("already exists");
        assertThat(apply(new Command.AclPolicySet(policy(GM, "global-management", "acl = \"read\""), false)).error())
                .isEqualTo("Changing the Rules for the builtin global-management policy is not permitted");
        assertThat(apply(new Command.AclPolicyDelete(GM)).status()).isEqualTo(400);
        assertThat(apply(new Command.AclTokenSet(token("t1", "sec-1", List.of("nope"), null), true)).error()).contains("No such ACL policy");
        assertThat(apply(new Command.AclTokenSet(token("t1", "sec-1", List.of("p1"), null), true)).isOk()).isTrue();
        assertThat(apply(new Command.AclTokenSet(token("t2", "sec-1", List.of("p1"), null), true)).error()).contains("SecretID is already in use");
        // An update cannot change the secret: the stored hash stays.
        apply(new Command.AclTokenSet(token("t1", "another", List.of(), null), false));
        assertThat(store.aclTokenBySecretHash(Secrets.hash("sec-1")).accessorId()).isEqualTo("t1");
        assertThat(store.aclTokenBySecretHash(Secrets.hash("another"))).isNull();
        assertThat(apply(new Command.AclTokenDelete(Identity.ANONYMOUS_ACCESSOR)).status()).isEqualTo(400);
        apply(new Command.AclTokenDelete("t1"));
        assertThat(store.aclTokenBySecretHash(Secrets.hash("sec-1"))).isNull();
    }

    @Test
    void secretsAreNeverStoredInClear() throws Exception {
        apply(new Command.AclBootstrap(token("a-1", "the-bootstrap-secret", List.of(GM), null)));
        apply(new Command.AclTokenSet(token("t1", "the-app-secret", List.of(), null), true));
        String raftEntry = Json.MAPPER.writeValueAsString(new Command.AclTokenSet(token("t1", "the-app-secret", List.of(), null), true));
        ByteArrayOutputStream snap = new ByteArrayOutputStream();
        store.writeSnapshot(snap);
        String state = new String(store.capture().state(), StandardCharsets.UTF_8);
        for (String text : List.of(raftEntry, snap.toString(StandardCharsets.UTF_8), state)) {
            assertThat(text).doesNotContain("the-app-secret").doesNotContain("the-bootstrap-secret").contains(Secrets.hash("the-app-secret"));
        }
    }

    private void fill() {
        apply(new Command.AclInit(token(Identity.ANONYMOUS_ACCESSOR, "anonymous", List.of(), null), token("im", "root", List.of(GM), null)));
        apply(new Command.AclPolicySet(policy("p1", "web", "service \"web\" { policy = \"write\" }"), true));
        apply(new Command.AclTokenSet(token("t1", "web-secret", List.of("p1"), null), true));
    }

    private static void assertSameAcl(StateStore a, StateStore b) {
        assertThat(b.aclPolicies().value()).isEqualTo(a.aclPolicies().value());
        assertThat(b.aclTokens().value()).isEqualTo(a.aclTokens().value());
        assertThat(b.aclBootstrapIndex()).isEqualTo(a.aclBootstrapIndex());
        assertThat(b.aclTokenBySecretHash(Secrets.hash("web-secret")).accessorId()).isEqualTo("t1");
    }

    @Test
    void raftSnapshotCarriesPoliciesTokensAndTheBootstrapMark() throws Exception {
        fill();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        store.writeSnapshot(out);
        StateStore loaded = new StateStore(Runnable::run);
        loaded.loadSnapshot(new ByteArrayInputStream(out.toByteArray()));
        assertSameAcl(store, loaded);
    }

    @Test
    void snapshotArchiveSaveAndRestoreRoundTripsTheAclTables() throws Exception {
        fill();
        StateStore.Capture c = store.capture();
        byte[] archive = SnapshotArchive.write(SnapshotArchive.meta(c.index(), c.term(), c.state().length, 1_700_000_000_000L), c.state());
        assertThat(c.counts()).containsEntry("ACLPolicies", 2L).containsEntry("ACLTokens", 3L);
        // Restored into a cluster with a longer history than the archive's (the restore entry's index is larger).
        StateStore other = new StateStore(Runnable::run);
        for (int i = 1; i <= 50; i++) other.apply(i, 1, new Command.KvPut("k" + i, new byte[0], 0, null, null, null, null));
        other.apply(51, 1, new Command.AclPolicySet(policy("gone", "gone", ""), true));
        SnapshotArchive.Archive read = SnapshotArchive.read(archive, 1 << 20);
        ApplyResult r = other.apply(52, 1, new Command.Restore(read.meta().id(), read.meta().index(), 1, StateStore.compress(read.state()))).get(0);
        assertThat(r.isOk()).isTrue();
        assertThat(other.aclPolicy("gone").value()).isNull();
        assertThat(other.aclPolicies().value()).extracting(Model.AclPolicy::id).containsExactlyInAnyOrder(GM, "p1");
        assertThat(other.aclTokenBySecretHash(Secrets.hash("web-secret")).policyIds()).containsExactly("p1");
        assertThat(other.aclTokenBySecretHash(Secrets.hash("root")).accessorId()).isEqualTo("im");
        assertThat(other.aclBootstrapIndex()).isGreaterThan(0);
        assertThat(other.apply(53, 1, new Command.AclBootstrap(token("x", "y", List.of(GM), null))).get(0).status()).isEqualTo(403);
    }

    @Test
    void restoringAnArchiveWithoutAclTokensKeepsTheClustersAclsAndBootstrapStaysClosed() throws Exception {
        // An archive taken before ACLs were bootstrapped: data, no token.
        StateStore old = new StateStore(Runnable::run);
        old.apply(1, 1, new Command.KvPut("app/config", "v1".getBytes(StandardCharsets.UTF_8), 0, null, null, null, null));
        StateStore.Capture c = old.capture();
        SnapshotArchive.Archive read = SnapshotArchive.read(SnapshotArchive.write(SnapshotArchive.meta(c.index(), c.term(), c.state().length, 1_700_000_000_000L), c.state()), 1 << 20);
        fill();
        List<Model.AclPolicy> policies = store.aclPolicies().value();
        List<Model.AclToken> tokens = store.aclTokens().value();
        long bootstrapped = store.aclBootstrapIndex();

        ApplyResult r = apply(new Command.Restore(read.meta().id(), read.meta().index(), 1, StateStore.compress(read.state())));
        assertThat(r.isOk()).isTrue();
        assertThat(new String(store.kvGet("app/config").value().value(), StandardCharsets.UTF_8)).as("the data is restored").isEqualTo("v1");
        assertThat(store.aclPolicies().value()).isEqualTo(policies);
        assertThat(store.aclTokens().value()).isEqualTo(tokens);
        assertThat(store.aclBootstrapIndex()).isEqualTo(bootstrapped);
        assertThat(apply(new Command.AclBootstrap(token("x", "y", List.of(GM), null))).status()).as("bootstrap stays closed").isEqualTo(403);
        // Kept through the next Raft snapshot too.
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        store.writeSnapshot(out);
        StateStore loaded = new StateStore(Runnable::run);
        loaded.loadSnapshot(new ByteArrayInputStream(out.toByteArray()));
        assertSameAcl(store, loaded);
    }

    @Test
    void serverResolverUsesTheStateDefaultTokenAndExpiry() throws Exception {
        fill();
        long[] now = {10_000L};
        apply(new Command.AclTokenSet(token("t-exp", "short-lived", List.of("p1"), 70_000L), true));
        AclConfig cfg = new AclConfig();
        cfg.enabled = true;
        cfg.defaultAllow = false;
        StoreTokenResolver r = new StoreTokenResolver(() -> store, cfg, () -> now[0]);

        Identity web = r.resolve("web-secret");
        assertThat(web.accessorId()).isEqualTo("t1");
        assertThat(web.authorizer().allows(Resource.SERVICE, "web", Access.WRITE)).isTrue();
        assertThat(web.authorizer().allows(Resource.SERVICE, "db", Access.READ)).isFalse();
        assertThat(r.resolve("root").authorizer().allows(Resource.ACL, "", Access.WRITE)).isTrue();
        Identity anon = r.resolve(null);
        assertThat(anon.accessorId()).isEqualTo(Identity.ANONYMOUS_ACCESSOR);
        assertThat(anon.authorizer().allows(Resource.KEY, "x", Access.READ)).isFalse();
        assertThatThrownBy(() -> r.resolve("unknown")).isInstanceOf(TokenResolver.AclNotFound.class).hasMessage("ACL not found");

        assertThat(r.resolve("short-lived").accessorId()).isEqualTo("t-exp");
        now[0] = 70_000L;
        assertThatThrownBy(() -> r.resolve("short-lived")).isInstanceOf(TokenResolver.AclNotFound.class);

        // A policy change reaches the next request (the cached authorizer is keyed by the policy's modify index).
        apply(new Command.AclPolicySet(policy("p1", "web", "service \"web\" { policy = \"read\" }"), false));
        assertThat(r.resolve("web-secret").authorizer().allows(Resource.SERVICE, "web", Access.WRITE)).isFalse();

        cfg.defaultToken = "web-secret";
        assertThat(r.resolve("").accessorId()).isEqualTo("t1");
        cfg.defaultAllow = true;
        StoreTokenResolver allow = new StoreTokenResolver(() -> store, cfg, () -> now[0]);
        cfg.defaultToken = null;
        assertThat(allow.resolve(null).authorizer().allows(Resource.KEY, "x", Access.WRITE)).isTrue();
    }

    @Test
    void theLeaderInitialisesOnceAndReapsExpiredTokens() {
        boolean[] leading = {false};
        java.util.List<Command> proposed = new java.util.ArrayList<>();
        io.failoverkit.discovery.leader.AclLeader leader = new io.failoverkit.discovery.leader.AclLeader(store, () -> leading[0], c -> {
            proposed.add(c);
            return java.util.concurrent.CompletableFuture.completedFuture(apply(c));
        }, "root-secret");
        leader.tick();
        assertThat(proposed).isEmpty(); // not leading: nothing
        leading[0] = true;
        leader.tick();
        assertThat(proposed).hasSize(1).first().isInstanceOf(Command.AclInit.class);
        assertThat(store.aclTokenBySecretHash(Secrets.hash("root-secret")).policyIds()).containsExactly(GM);
        leader.tick();
        assertThat(proposed).hasSize(1); // nothing missing any more
        long past = System.currentTimeMillis() - 1;
        apply(new Command.AclTokenSet(token("t-old", "old-secret", List.of(), past), true));
        apply(new Command.AclTokenSet(token("t-new", "new-secret", List.of(), System.currentTimeMillis() + 3_600_000L), true));
        leader.tick();
        assertThat(proposed.get(proposed.size() - 1)).isEqualTo(new Command.AclTokenDelete("t-old"));
        assertThat(store.aclToken("t-old").value()).isNull();
        assertThat(store.aclToken("t-new").value()).isNotNull();

        // An operator revokes the (leaked) initial management token: the same leader does not bring it back...
        String initialAccessor = store.aclTokenBySecretHash(Secrets.hash("root-secret")).accessorId();
        apply(new Command.AclTokenDelete(initialAccessor));
        int before = proposed.size();
        leader.tick();
        leader.tick();
        assertThat(store.aclTokenBySecretHash(Secrets.hash("root-secret"))).isNull();
        assertThat(proposed).hasSize(before);
        // ...a new leadership term does, while the config still names it (as Consul's leader at election).
        leading[0] = false;
        leader.tick();
        leading[0] = true;
        leader.tick();
        assertThat(store.aclTokenBySecretHash(Secrets.hash("root-secret")).policyIds()).containsExactly(GM);
    }
}

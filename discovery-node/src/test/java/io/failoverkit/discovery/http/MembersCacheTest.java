package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.acl.Access;
import io.failoverkit.discovery.acl.Authorizer;
import io.failoverkit.discovery.acl.Resource;
import io.failoverkit.discovery.cluster.Membership;
import io.failoverkit.discovery.gossip.serf.MemberStatus;
import io.failoverkit.discovery.gossip.serf.Serf;
import io.failoverkit.discovery.gossip.serf.SerfConfig;
import io.failoverkit.discovery.gossip.serf.SerfMember;
import io.failoverkit.discovery.gossip.swim.SwimConfig;
import io.failoverkit.discovery.gossip.transport.sim.SimClock;
import io.failoverkit.discovery.gossip.transport.sim.SimNetwork;
import io.failoverkit.discovery.gossip.transport.sim.SimScheduler;
import io.failoverkit.discovery.state.Json;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * /v1/agent/members' cache over a real Membership whose Serf runs in a simulated pool (virtual clock, fixed seed): the
 * same bytes while nothing changes (gossip at rest included), a new body after a join, a tag change, a failure, a
 * leave and a force-leave -prune, only the changed member encoded again, and one view per ACL authorizer.
 */
class MembersCacheTest {
    private static final Duration STEP = Duration.ofMillis(100);

    private final SimClock clock = new SimClock();
    private final SimNetwork net = new SimNetwork(clock, 21);
    private final List<Serf> nodes = new ArrayList<>();
    private final List<InetSocketAddress> addrs = new ArrayList<>();
    private Membership membership;

    @AfterEach
    void close() throws Exception {
        if (membership != null) membership.close();
    }

    private Serf add() {
        int i = nodes.size();
        String name = "node-" + i;
        InetSocketAddress a = new InetSocketAddress("127.0.1." + (i + 1), 7946);
        SimScheduler s = new SimScheduler(clock, name, 21_000 + i);
        SerfConfig cfg = SerfConfig.defaults(SwimConfig.lan(name), Map.of("role", "node"))
                .withReaping(Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(60), Duration.ofSeconds(120));
        Serf serf = Serf.create(cfg, net.attach(a, s), s, e -> {});
        nodes.add(serf);
        addrs.add(a);
        return serf;
    }

    private void join(int i) {
        CompletableFuture<Integer> f = nodes.get(i).join(List.of(addrs.get(0)), false);
        assertThat(run(f::isDone)).isTrue();
        assertThat(f.join()).isEqualTo(1);
    }

    private boolean run(BooleanSupplier done) {
        return clock.runUntil(done, STEP, Duration.ofSeconds(120));
    }

    /** node-0's status of {@code name} (null: not listed). */
    private MemberStatus seen(String name) {
        return nodes.get(0).members().stream().filter(m -> m.name().equals(name)).map(SerfMember::status).findFirst().orElse(null);
    }

    /** A Membership over node-0's Serf (the stack the agent would build, minus the transport and keyring). */
    private Membership over(Serf serf) throws Exception {
        Membership.Stack stack = new Membership.Stack() {
            @Override public Serf serf() { return serf; }
            @Override public List<byte[]> keys() { return List.of(); }
            @Override public void installKey(byte[] key) { throw new UnsupportedOperationException(); }
            @Override public void useKey(byte[] key) { throw new UnsupportedOperationException(); }
            @Override public void removeKey(byte[] key) { throw new UnsupportedOperationException(); }
            @Override public long droppedPackets() { return 0; }
            @Override public void close() { }
        };
        Membership.Settings settings = new Membership.Settings("node-0", "127.0.1.1", 7946, Map.of("role", "node"), List.of(), null,
                List.of(), Duration.ofSeconds(1));
        return Membership.start(settings, (s, events) -> stack);
    }

    /** name -> entry, and the entry count (no duplicates). */
    private static Map<String, JsonNode> parse(MembersCache.View v) throws Exception {
        Map<String, JsonNode> out = new HashMap<>();
        JsonNode arr = Json.MAPPER.readTree(v.json());
        assertThat(arr.isArray()).isTrue();
        for (JsonNode m : arr) out.put(m.get("Name").asText(), m);
        assertThat(out).hasSize(arr.size());
        return out;
    }

    @Test
    void theSameBytesUntilTheMembershipChangesThenOnlyChangedMembersAreEncodedAgain() throws Exception {
        for (int i = 0; i < 3; i++) add();
        join(1);
        join(2);
        assertThat(run(() -> nodes.stream().allMatch(s -> s.members().size() == 3
                && s.members().stream().allMatch(m -> m.status() == MemberStatus.ALIVE)))).isTrue();
        membership = over(nodes.get(0));
        MembersCache cache = new MembersCache(membership);

        MembersCache.View first = cache.view(Authorizer.ALLOW_ALL);
        assertThat(parse(first)).containsOnlyKeys("node-0", "node-1", "node-2");
        assertThat(first.filtered()).isFalse();
        assertThat(parse(first).get("node-1").get("Status").asInt()).isEqualTo(1);
        assertThat(cache.encodings()).isEqualTo(3);
        // The body is byte for byte what the endpoint encoded before the cache (Consul's entry shape, sorted by name).
        assertThat(new String(first.json())).isEqualTo(Json.MAPPER.writeValueAsString(
                membership.members().stream().map(AgentEndpoint::member).toList()));

        // Gossip at rest (probes, acks, push-pull syncs that re-announce the same members) changes nothing.
        long before = membership.version();
        clock.runFor(Duration.ofSeconds(90));
        assertThat(membership.version()).isEqualTo(before);
        assertThat(cache.view(Authorizer.ALLOW_ALL)).isSameAs(first);
        assertThat(cache.encodings()).isEqualTo(3);

        // A tag change on another node: a new body, and only that member encoded again.
        nodes.get(2).setTags(Map.of("role", "node", "zone", "b"));
        assertThat(run(() -> nodes.get(0).members().stream().anyMatch(m -> m.name().equals("node-2") && "b".equals(m.tags().get("zone"))))).isTrue();
        MembersCache.View tagged = cache.view(Authorizer.ALLOW_ALL);
        assertThat(tagged).isNotSameAs(first);
        assertThat(parse(tagged).get("node-2").get("Tags").get("zone").asText()).isEqualTo("b");
        assertThat(cache.encodings()).isEqualTo(4);

        // A join.
        add();
        join(3);
        assertThat(run(() -> seen("node-3") == MemberStatus.ALIVE)).isTrue();
        MembersCache.View joined = cache.view(Authorizer.ALLOW_ALL);
        assertThat(parse(joined)).containsOnlyKeys("node-0", "node-1", "node-2", "node-3");
        assertThat(cache.encodings()).isEqualTo(5);

        // A failure: Consul's status 4.
        net.kill(addrs.get(3));
        assertThat(run(() -> seen("node-3") == MemberStatus.FAILED)).isTrue();
        assertThat(parse(cache.view(Authorizer.ALLOW_ALL)).get("node-3").get("Status").asInt()).isEqualTo(4);

        // A graceful leave: status 3.
        CompletableFuture<Void> left = nodes.get(1).leave();
        assertThat(run(left::isDone)).isTrue();
        nodes.get(1).shutdown();
        assertThat(run(() -> seen("node-1") == MemberStatus.LEFT)).isTrue();
        assertThat(parse(cache.view(Authorizer.ALLOW_ALL)).get("node-1").get("Status").asInt()).isEqualTo(3);

        // force-leave -prune: the failed node becomes left and leaves this agent's list.
        assertThat(membership.forceLeave("node-3", true)).isEqualTo(Membership.ForceLeave.LEFT);
        assertThat(run(() -> seen("node-3") == MemberStatus.LEFT)).isTrue();
        assertThat(parse(cache.view(Authorizer.ALLOW_ALL))).containsOnlyKeys("node-0", "node-1", "node-2");
        // and what the cache serves is what the membership lists, every time
        assertThat(parse(cache.view(Authorizer.ALLOW_ALL)).keySet()).containsExactlyInAnyOrderElementsOf(
                membership.members().stream().map(io.failoverkit.discovery.cluster.Member::name).toList());
    }

    @Test
    void eachAuthorizerHasItsOwnViewAndIsToldWhenMembersWereLeftOut() throws Exception {
        for (int i = 0; i < 3; i++) add();
        join(1);
        join(2);
        assertThat(run(() -> nodes.get(0).members().size() == 3)).isTrue();
        membership = over(nodes.get(0));
        MembersCache cache = new MembersCache(membership);
        Authorizer onlyNode1 = (kind, name, access) -> kind == Resource.NODE && name.startsWith("node-1") && access == Access.READ;

        MembersCache.View narrow = cache.view(onlyNode1);
        assertThat(parse(narrow)).containsOnlyKeys("node-1");
        assertThat(narrow.filtered()).isTrue();
        MembersCache.View none = cache.view(Authorizer.DENY_ALL);
        assertThat(new String(none.json())).isEqualTo("[]");
        assertThat(none.filtered()).isTrue();
        MembersCache.View all = cache.view(Authorizer.ALLOW_ALL);
        assertThat(parse(all)).hasSize(3);
        assertThat(all.filtered()).isFalse();
        assertThat(cache.view(onlyNode1)).isSameAs(narrow);
        assertThat(cache.view(Authorizer.ALLOW_ALL)).isSameAs(all);
        assertThat(cache.encodings()).as("the members are encoded once for every view").isEqualTo(3);

        // A change reaches every authorizer's view, still filtered for each.
        nodes.get(1).setTags(Map.of("role", "node", "rack", "r1"));
        assertThat(run(() -> nodes.get(0).members().stream().anyMatch(m -> "r1".equals(m.tags().get("rack"))))).isTrue();
        MembersCache.View narrow2 = cache.view(onlyNode1);
        assertThat(parse(narrow2)).containsOnlyKeys("node-1");
        assertThat(parse(narrow2).get("node-1").get("Tags").get("rack").asText()).isEqualTo("r1");
        assertThat(narrow2.filtered()).isTrue();
        assertThat(parse(cache.view(Authorizer.ALLOW_ALL)).get("node-1").get("Tags").get("rack").asText()).isEqualTo("r1");
        assertThat(new String(cache.view(Authorizer.DENY_ALL).json())).isEqualTo("[]");

        // Only the most recently used views are kept: many authorizers do not grow the cache without bound, and an
        // evicted one is built again, correctly.
        for (int i = 0; i < MembersCache.MAX_VIEWS + 5; i++) {
            String prefix = "node-" + (i % 3);
            Authorizer a = (kind, name, access) -> name.startsWith(prefix);
            assertThat(parse(cache.view(a))).containsOnlyKeys(prefix);
        }
        assertThat(parse(cache.view(onlyNode1))).containsOnlyKeys("node-1");
    }
}

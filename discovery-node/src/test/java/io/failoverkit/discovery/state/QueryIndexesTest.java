package io.failoverkit.discovery.state;

import io.failoverkit.discovery.leader.TombstoneGc;
import io.failoverkit.discovery.state.Model.Check;
import io.failoverkit.discovery.state.Model.Node;
import io.failoverkit.discovery.state.Model.Service;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The indexes blocking queries rest on: per-service catalog/health indexes (Consul's "service.&lt;name&gt;"), KV
 * tombstones kept for blocking queries on deleted keys and reaped later without an index going backwards, and
 * sessions' service checks.
 */
class QueryIndexesTest {
    static Node node(String name) {
        return new Node("", name, "10.0.0.1", "dc1", Map.of(), Map.of(), 0, 0);
    }

    static Service svc(String id, String name, String... tags) {
        return new Service(id, name, List.of(tags), "", Map.of(), 80, Model.Weights.DEFAULT, false, 0, 0);
    }

    static Check check(String node, String id, String serviceId, String status) {
        return new Check(node, id, id, status, "", "", serviceId, "", List.of(), "ttl", 0, 0);
    }

    static Command.Register reg(String node, Service s, Check... checks) {
        return new Command.Register(node(node), s, List.of(checks), false, 0);
    }

    @Test
    void perServiceIndexMovesOnlyWithThatServicesInstancesNodesAndChecks() throws Exception {
        StateStore store = new StateStore(Runnable::run);
        store.apply(1, reg("n1", svc("web-1", "web", "primary")));
        store.apply(2, reg("n2", svc("db-1", "db")));
        assertThat(store.serviceInstances("web", null).index()).isEqualTo(1);
        store.apply(3, reg("n2", svc("db-1", "db", "changed")));
        store.apply(4, reg("n2", null, check("n2", "mem", "", Model.WARNING)));
        assertThat(store.serviceInstances("web", null).index()).as("db's changes and n2's node check are not web's").isEqualTo(1);
        assertThat(store.serviceInstances("db", null).index()).isEqualTo(4);
        store.apply(5, reg("n1", null, check("n1", "service:web-1", "web-1", Model.PASSING)));
        assertThat(store.serviceInstances("web", null).index()).as("web's own check").isEqualTo(5);
        store.apply(6, new Command.Register(new Node("", "n1", "10.0.0.9", "dc1", Map.of(), Map.of(), 0, 0), null, List.of(), false, 0));
        assertThat(store.serviceInstances("web", null).index()).as("web's node changed address").isEqualTo(6);
        store.apply(7, reg("n1", null, check("n1", "disk", "", Model.CRITICAL)));
        assertThat(store.serviceInstances("web", null).index()).as("a node check of web's node").isEqualTo(7);

        // The index survives a Raft snapshot, and unknown names report the catalog's index.
        ByteArrayOutputStream img = new ByteArrayOutputStream();
        store.writeSnapshot(img);
        StateStore back = new StateStore(Runnable::run);
        back.loadSnapshot(new ByteArrayInputStream(img.toByteArray()));
        assertThat(back.serviceInstances("web", null).index()).isEqualTo(7);
        assertThat(back.serviceInstances("db", null).index()).isEqualTo(4);
        assertThat(back.serviceInstances("nope", null).index()).isEqualTo(7);
        // And in a snapshot archive's state.bin (the same image).
        assertThat(new String(store.capture().state(), StandardCharsets.UTF_8)).contains("\"serviceIndexes\":{\"db\":4,\"web\":7}");

        // Removing the last instance moves the index (the watcher must see the service go).
        store.apply(8, new Command.Deregister("n1", "web-1", null, 0));
        assertThat(store.serviceInstances("web", null).value()).isEmpty();
        assertThat(store.serviceInstances("web", null).index()).isEqualTo(8);
        store.apply(9, new Command.Deregister("n2", null, null, 0));
        assertThat(store.serviceInstances("db", null).index()).as("the whole node went").isEqualTo(9);
        assertThat(store.serviceInstances("web", null).index()).isEqualTo(8);
    }

    @Test
    void aServiceWatchWakesOnlyForThatServicesChanges() {
        StateStore store = new StateStore(Runnable::run);
        store.apply(1, reg("n1", svc("web-1", "web")));
        store.apply(2, reg("n2", svc("db-1", "db")));
        java.util.concurrent.atomic.AtomicInteger woke = new java.util.concurrent.atomic.AtomicInteger();
        java.util.Set<Table> tables = EnumSet.of(Table.NODES, Table.SERVICES, Table.CHECKS);
        StateStore.Parked p = store.watch(tables, null, "web", store.serviceInstances("web", null).observedTableIndex(), woke::incrementAndGet);
        store.apply(3, reg("n2", svc("db-1", "db", "x")));                              // db's instance
        store.apply(4, reg("n2", null, check("n2", "mem", "", Model.CRITICAL)));         // db's node check
        store.apply(5, reg("n3", null));                                                 // a node without web
        store.apply(6, new Command.KvPut("k", new byte[0], 0, null, null, null, null));   // not the catalog
        assertThat(woke).hasValue(0);
        assertThat(store.parkedCount()).as("still parked (counted once per table it watches)").isEqualTo(tables.size());
        store.apply(7, reg("n1", null, check("n1", "disk", "", Model.WARNING)));          // web's node check
        assertThat(woke).hasValue(1);
        p.cancel();
        // A watch without a service, and a restore-like "everything changed", still wake as before.
        java.util.concurrent.atomic.AtomicInteger any = new java.util.concurrent.atomic.AtomicInteger();
        store.watch(tables, null, null, store.serviceInstances("web", null).observedTableIndex(), any::incrementAndGet);
        store.apply(8, reg("n2", svc("db-1", "db", "y")));
        assertThat(any).hasValue(1);
    }

    @Test
    void repeatedTagsMeanAllOfThemCaseInsensitively() {
        StateStore store = new StateStore(Runnable::run);
        store.apply(1, reg("n1", svc("a", "web", "primary", "v2")));
        store.apply(2, reg("n2", svc("b", "web", "primary")));
        store.apply(3, reg("n3", svc("c", "web", "v2")));
        assertThat(store.serviceInstancesTagged("web", List.of("primary", "V2")).value()).extracting(i -> i.service().id()).containsExactly("a");
        assertThat(store.serviceInstancesTagged("web", List.of("primary")).value()).extracting(i -> i.service().id()).containsExactly("a", "b");
        assertThat(store.serviceInstancesTagged("web", List.of()).value()).hasSize(3);
    }

    @Test
    void tombstoneReapKeepsIndexesFromGoingBackwardsAndWakesNoWatcher() throws Exception {
        StateStore store = new StateStore(Runnable::run);
        store.apply(1, new Command.KvPut("a/1", "x".getBytes(StandardCharsets.UTF_8), 0, null, null, null, null));
        store.apply(2, new Command.KvPut("a/2", "y".getBytes(StandardCharsets.UTF_8), 0, null, null, null, null));
        store.apply(3, new Command.KvDelete("a/2", false, null));
        assertThat(store.kvList("a/").index()).isEqualTo(3);
        StateStore.Read<Model.KvEntry> gone = store.kvGet("a/2");
        assertThat(gone.value()).isNull();
        assertThat(gone.index()).isEqualTo(3);
        assertThat(store.tombstoneCount()).isEqualTo(1);

        // A reader blocked on the deleted key, at the delete's index.
        AtomicBoolean woke = new AtomicBoolean();
        store.watch(EnumSet.of(Table.KVS), "a/2", gone.observedTableIndex(), () -> woke.set(true));

        List<ApplyResult> r = store.apply(4, new Command.TombstoneReap(3));
        assertThat(r.get(0).value()).isEqualTo(1);
        assertThat(store.tombstoneCount()).isZero();
        assertThat(woke).as("a reap changes no read's content").isFalse();
        assertThat(store.kvList("a/").index()).as("the prefix does not fall back to a/1's index").isEqualTo(3);
        assertThat(store.kvGet("a/2").index()).isGreaterThanOrEqualTo(3);

        // The reaped floor is in the Raft snapshot.
        ByteArrayOutputStream img = new ByteArrayOutputStream();
        store.writeSnapshot(img);
        StateStore back = new StateStore(Runnable::run);
        back.loadSnapshot(new ByteArrayInputStream(img.toByteArray()));
        assertThat(back.kvList("a/").index()).isEqualTo(3);

        // The blocked reader wakes when the key comes back, with an index past the one it waited on.
        store.apply(5, new Command.KvPut("a/2", "z".getBytes(StandardCharsets.UTF_8), 0, null, null, null, null));
        assertThat(woke).isTrue();
        assertThat(store.kvGet("a/2").index()).isEqualTo(5);
    }

    @Test
    void tombstoneGcReapsOnlyWhatItNotedATtlAgoAndOnlyOnTheLeader() {
        StateStore store = new StateStore(Runnable::run);
        AtomicLong clock = new AtomicLong();
        AtomicBoolean leader = new AtomicBoolean(true);
        AtomicLong nextIndex = new AtomicLong(1);
        List<Command> proposed = new ArrayList<>();
        TombstoneGc gc = new TombstoneGc(store, leader::get, c -> {
            proposed.add(c);
            return CompletableFuture.completedFuture(store.apply(nextIndex.getAndIncrement(), c).get(0));
        }, clock::get, Duration.ofSeconds(60));
        store.apply(nextIndex.getAndIncrement(), new Command.KvPut("k1", new byte[0], 0, null, null, null, null));
        store.apply(nextIndex.getAndIncrement(), new Command.KvDelete("k1", false, null)); // tombstone at 2
        gc.tick();                                       // t=0: notes index 2
        clock.addAndGet(Duration.ofSeconds(30).toNanos());
        store.apply(nextIndex.getAndIncrement(), new Command.KvPut("k2", new byte[0], 0, null, null, null, null));
        store.apply(nextIndex.getAndIncrement(), new Command.KvDelete("k2", false, null)); // tombstone at 4
        gc.tick();                                       // t=30: notes index 4
        assertThat(proposed).isEmpty();
        clock.addAndGet(Duration.ofSeconds(31).toNanos());
        gc.tick();                                       // t=61: index 2 is a TTL old, 4 is not
        assertThat(proposed).containsExactly(new Command.TombstoneReap(2));
        assertThat(store.tombstoneCount()).isEqualTo(1);
        leader.set(false);
        clock.addAndGet(Duration.ofSeconds(120).toNanos());
        gc.tick();
        assertThat(proposed).as("a follower proposes nothing").hasSize(1);
        leader.set(true);
        gc.tick();                                       // a new term starts afresh: notes 4 now
        assertThat(proposed).hasSize(1);
        clock.addAndGet(Duration.ofSeconds(60).toNanos());
        gc.tick();
        assertThat(proposed).last().isEqualTo(new Command.TombstoneReap(4));
        assertThat(store.tombstoneCount()).isZero();
    }

    @Test
    void sessionServiceChecksGuardTheSessionAndOldRecordsStillLoad() throws Exception {
        StateStore store = new StateStore(Runnable::run);
        store.apply(1, reg("n1", svc("web-1", "web"), check("n1", "serfHealth", "", Model.PASSING), check("n1", "service:web-1", "web-1", Model.PASSING)));
        Model.Session s = new Model.Session("11111111-2222-3333-4444-555555555555", "", "n1", List.of("serfHealth"), 0, "release", "", 0, 0,
                List.of(new Model.ServiceCheck("service:web-1", "")));
        assertThat(store.apply(2, new Command.SessionCreate(s)).get(0).isOk()).isTrue();
        String json = Json.MAPPER.writeValueAsString(store.sessions(x -> true).value().get(0));
        assertThat(json).contains("\"Checks\":[\"serfHealth\"]", "\"NodeChecks\":[\"serfHealth\"]", "\"ServiceChecks\":[{\"ID\":\"service:web-1\",\"Namespace\":\"\"}]");
        // A service check going critical invalidates the session, as a node check does.
        store.apply(3, reg("n1", null, check("n1", "service:web-1", "web-1", Model.CRITICAL)));
        assertThat(store.sessions(x -> true).value()).isEmpty();
        // A service check that is critical already refuses the session.
        assertThat(store.apply(4, new Command.SessionCreate(s)).get(0).status()).isEqualTo(400);
        // A session record from before ServiceChecks existed loads, with its checks as node checks.
        Model.Session old = Json.MAPPER.readValue("{\"ID\":\"x\",\"Name\":\"\",\"Node\":\"n1\",\"Checks\":[\"serfHealth\"],\"LockDelay\":0,"
                + "\"Behavior\":\"release\",\"TTL\":\"\",\"CreateIndex\":1,\"ModifyIndex\":1}", Model.Session.class);
        assertThat(old.checks()).containsExactly("serfHealth");
        assertThat(old.serviceChecks()).isNull();
        assertThat(old.allChecks()).containsExactly("serfHealth");
    }
}

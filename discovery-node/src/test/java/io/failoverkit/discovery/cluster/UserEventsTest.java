package io.failoverkit.discovery.cluster;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Consul's user event envelope, its filters, the event buffer and its index. */
class UserEventsTest {
    private final List<UserEvents.LocalService> services = new ArrayList<>();
    private final UserEvents events = new UserEvents("web-1", () -> services);

    @Test
    void envelopeRoundTripsWithConsulsFieldNames() {
        UserEvents.Event e = UserEvents.newEvent("deploy", "v2".getBytes(StandardCharsets.UTF_8), "web-.*", "api", "prod");
        byte[] wire = UserEvents.encode(e);
        // Consul's codec tags: ID, n, p, nf, sf, tf, v (no LTime: it is the Serf event's).
        String text = new String(wire, StandardCharsets.ISO_8859_1);
        assertThat(text).contains("ID").contains("\u00a1n").contains("\u00a1p").contains("\u00a2nf").contains("\u00a2sf").contains("\u00a2tf").contains("\u00a1v");
        UserEvents.Event back = UserEvents.decode(wire, 42).orElseThrow();
        assertThat(back.id()).isEqualTo(e.id());
        assertThat(back.name()).isEqualTo("deploy");
        assertThat(back.payload()).isEqualTo("v2".getBytes(StandardCharsets.UTF_8));
        assertThat(back.nodeFilter()).isEqualTo("web-.*");
        assertThat(back.serviceFilter()).isEqualTo("api");
        assertThat(back.tagFilter()).isEqualTo("prod");
        assertThat(back.version()).isEqualTo(1);
        assertThat(back.ltime()).isEqualTo(42);
    }

    @Test
    void emptyPayloadAndFiltersAreOmittedAsConsulOmitsThem() {
        UserEvents.Event e = UserEvents.newEvent("ping", new byte[0], null, null, null);
        assertThat(e.payload()).isNull();
        UserEvents.Event back = UserEvents.decode(UserEvents.encode(e), 1).orElseThrow();
        assertThat(back.payload()).isNull();
        assertThat(back.nodeFilter()).isEmpty();
    }

    @Test
    void garbageIsNoEventAndNeverThrows() {
        Random r = new Random(7);
        for (int i = 0; i < 2000; i++) {
            byte[] b = new byte[r.nextInt(64)];
            r.nextBytes(b);
            assertThat(events.receive(UserEvents.PREFIX + "x", b, i)).isNotNull();
        }
        byte[] good = UserEvents.encode(UserEvents.newEvent("deploy", "abc".getBytes(), null, null, null));
        for (int cut = 0; cut < good.length; cut++) {
            assertThat(UserEvents.decode(java.util.Arrays.copyOf(good, cut), 1)).as("truncated at %d", cut).isEmpty();
        }
        assertThat(UserEvents.decode(null, 1)).isEmpty();
    }

    @Test
    void aPlainSerfEventIsTakenAsItIs() {
        var got = events.receive("deploy", "x".getBytes(), 9).orElseThrow();
        assertThat(got.name()).isEqualTo("deploy");
        assertThat(got.payload()).isEqualTo("x".getBytes());
        assertThat(got.ltime()).isEqualTo(9);
        assertThat(events.list()).containsExactly(got);
    }

    @Test
    void filtersSelectNodesAsConsulDoes() {
        services.add(new UserEvents.LocalService("api", List.of("prod", "v1")));
        assertThat(accepts(UserEvents.newEvent("e", null, "web", null, null))).as("node regex is a search").isTrue();
        assertThat(accepts(UserEvents.newEvent("e", null, "^db", null, null))).isFalse();
        assertThat(accepts(UserEvents.newEvent("e", null, null, "ap", null))).isTrue();
        assertThat(accepts(UserEvents.newEvent("e", null, null, "cache", null))).isFalse();
        assertThat(accepts(UserEvents.newEvent("e", null, null, "api", "^prod$"))).isTrue();
        assertThat(accepts(UserEvents.newEvent("e", null, null, "api", "staging"))).isFalse();
    }

    /** Whether a fresh agent named web-1 with {@link #services} acts on the event; one it does not act on is not listed. */
    private boolean accepts(UserEvents.Event e) {
        UserEvents fresh = new UserEvents("web-1", () -> services);
        boolean took = fresh.receive(UserEvents.serfName(e), UserEvents.encode(e), 1).isPresent();
        assertThat(fresh.list()).hasSize(took ? 1 : 0);
        return took;
    }

    @Test
    void badRequestsSayWhy() {
        assertThatThrownBy(() -> UserEvents.newEvent("", null, null, null, null)).hasMessageContaining("missing name");
        assertThatThrownBy(() -> UserEvents.newEvent("e", null, null, null, "prod")).hasMessageContaining("tag filter without service filter");
        assertThatThrownBy(() -> UserEvents.newEvent("e", null, "(", null, null)).hasMessageContaining("Invalid node filter");
    }

    @Test
    void bufferKeepsTheLast256AndTheIndexIsConsulsHashOfTheLastId() {
        assertThat(UserEvents.index(events.list())).as("no event: 1, as Consul").isEqualTo(1);
        for (int i = 0; i < 300; i++) events.receive("e" + i, null, i);
        List<UserEvents.Event> l = events.list();
        assertThat(l).hasSize(256);
        assertThat(l.get(0).name()).isEqualTo("e44");
        assertThat(l.get(255).name()).isEqualTo("e299");
        // uuidToUint64: first 16 hex digits XOR the last 16.
        assertThat(UserEvents.uuidToLong("00000000-0000-0001-0000-000000000003")).isEqualTo(1L ^ 3L);
        assertThat(UserEvents.uuidToLong("ffffffff-ffff-ffff-0000-000000000000")).isEqualTo(-1L);
        assertThat(UserEvents.index(l)).isEqualTo(UserEvents.uuidToLong(l.get(255).id()));
    }

    @Test
    void aWaiterWakesAtTheNextEvent() {
        CompletableFuture<Void> next = events.nextEvent();
        assertThat(next).isNotDone();
        events.receive("x", null, 1);
        assertThat(next).isDone();
    }

    /** A filter crafted to backtrack for ages selects nothing, and returns (the bound only stops a hang). */
    @Test
    @org.junit.jupiter.api.Timeout(120)
    void aCatastrophicallyBacktrackingFilterSelectsNothingInsteadOfHoldingTheThread() {
        UserEvents longName = new UserEvents("a".repeat(40), () -> services);
        UserEvents.Event evil = UserEvents.newEvent("e", null, "(a|a)*!", null, null);
        assertThat(longName.receive(UserEvents.serfName(evil), UserEvents.encode(evil), 1)).isEmpty();
        UserEvents.Event fine = UserEvents.newEvent("e2", null, "^a+$", null, null);
        assertThat(longName.receive(UserEvents.serfName(fine), UserEvents.encode(fine), 2)).isPresent();
    }
}

package io.failoverkit.discovery.leader;

import io.failoverkit.discovery.state.ApplyResult;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** The leader's TTL timers, on a fake clock, proposing straight into a store. */
class SessionTimersTest {
    private final long[] clock = {5_000_000_000_000L};
    private final StateStore store = new StateStore(Runnable::run);
    private final List<Command> proposed = new ArrayList<>();
    private long index;
    private final SessionTimers timers = new SessionTimers(store, () -> true, c -> {
        proposed.add(c);
        return CompletableFuture.completedFuture(store.apply(++index, 2, c).get(0));
    }, () -> clock[0]);

    private void session(String id, String ttl) {
        ApplyResult r = store.apply(++index, 2, new Command.SessionCreate(new Model.Session(id, "", "n1", List.of(), 0, "release", ttl, 0, 0))).get(0);
        assertThat(r.isOk()).as(r.error()).isTrue();
    }

    private List<String> destroyed() {
        return proposed.stream().map(c -> ((Command.SessionDestroy) c).id()).toList();
    }

    /**
     * Review 6: a session whose TTL does not parse or is out of range (from an old snapshot) made every tick throw, so
     * the sessions after it were never invalidated, and made renew fail.
     */
    @Test
    void aSessionWithAnUnusableTtlDoesNotStopTheOthersFromExpiring() {
        store.apply(++index, 2, new Command.Register(new Model.Node("", "n1", "127.0.0.1", "dc1", Map.of(), Map.of(), 0, 0), null, List.of(), false, 0));
        // Sessions are visited in ID order: the unusable ones come first.
        session("a-bad", "10x");
        session("a-overflow", "99999999999999999999");
        session("a-huge", "9999999999999h");
        session("b-good", "10s");
        session("c-good", "15s");

        timers.tick();
        timers.tick();
        assertThat(proposed).isEmpty();
        assertThat(timers.renew("a-bad")).as("renew of a session with an unusable TTL does not throw").isTrue();
        assertThat(timers.renew("a-overflow")).isTrue();
        assertThat(timers.renew("b-good")).isTrue();

        clock[0] += 16_000_000_000L;
        timers.tick();
        assertThat(destroyed()).containsExactlyInAnyOrder("b-good", "c-good");
        assertThat(store.session("b-good")).isNull();
        assertThat(store.session("c-good")).isNull();
        assertThat(store.session("a-bad")).as("its TTL cannot be enforced; it is left, and logged").isNotNull();
        assertThat(timers.renew("nope")).isFalse();
    }

    @Test
    void aRenewedSessionLivesAFullTtlFromTheRenewal() {
        store.apply(++index, 2, new Command.Register(new Model.Node("", "n1", "127.0.0.1", "dc1", Map.of(), Map.of(), 0, 0), null, List.of(), false, 0));
        session("s", "10s");
        timers.tick();
        clock[0] += 9_000_000_000L;
        assertThat(timers.renew("s")).isTrue();
        clock[0] += 9_000_000_000L;
        timers.tick();
        assertThat(proposed).as("renewed 9 s ago, TTL 10 s").isEmpty();
        clock[0] += 2_000_000_000L;
        timers.tick();
        assertThat(destroyed()).containsExactly("s");
    }
}

package io.failoverkit.drills;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.failover.act.EpochStore;
import io.failoverkit.failover.decide.StoredState;
import io.failoverkit.failover.discovery.DiscoveryClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The epoch write tied to lock ownership, against a real discovery node: a manager whose session lost the lock
 * cannot write the next epoch even with the right CAS index, and the epoch, its audit record and the check are one
 * transaction (nothing half-written).
 */
class EpochStoreLockedBumpTest {
    static Agent node;
    static DiscoveryClient discovery;

    @BeforeAll
    static void start() throws Exception {
        node = DiscoveryLab.start("epoch-discovery");
        discovery = new DiscoveryClient("127.0.0.1:" + node.httpPort());
    }

    @AfterAll
    static void stop() { node.close(); }

    /** A session of a manager; waits until the node is in the catalog (sessions need it). */
    private static String session(String name) {
        String[] id = new String[1];
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> {
            id[0] = discovery.createSession(name, Duration.ofSeconds(10), Duration.ZERO);
            return true;
        });
        return id[0];
    }

    @Test
    void aManagerThatLostTheLockCannotBumpTheEpochEvenWithTheRightCasIndex() throws Exception {
        EpochStore epochs = new EpochStore(discovery, "locked-redis");
        String first = session("manager-1");
        assertThat(discovery.acquire(epochs.lockKey(), first, "manager-1")).isTrue();

        EpochStore.Bump one = epochs.bump(epochs.read(), new StoredState(1, "127.0.0.1:6380", 0, true), List.of(), "first", first);
        assertThat(one.written()).as(one.why()).isTrue();
        assertThat(epochs.read().state().epoch()).isEqualTo(1);
        DiscoveryClient.KvEntry audit1 = discovery.get("failover/locked-redis/audit/1").orElseThrow();
        assertThat(audit1.modifyIndex()).as("epoch and audit written by one entry").isEqualTo(epochs.read().modifyIndex());

        // The first manager reads the epoch, then loses its session (TTL lapsed, node failed); a second one takes the lock.
        EpochStore.Read read = epochs.read();
        discovery.destroySession(first);
        String second = session("manager-2");
        assertThat(discovery.acquire(epochs.lockKey(), second, "manager-2")).isTrue();

        EpochStore.Bump stale = epochs.bump(read, new StoredState(2, "127.0.0.1:6381", System.currentTimeMillis(), false), List.of(), "late", first);
        assertThat(stale.written()).isFalse();
        assertThat(stale.why()).contains("no longer holds failover/locked-redis/leader").doesNotContain("epoch changed");
        assertThat(epochs.read()).as("the epoch is untouched").isEqualTo(read);
        assertThat(discovery.get("failover/locked-redis/audit/2")).as("no audit record for an epoch never written").isEmpty();

        // The lock holder, with the same read, writes it.
        EpochStore.Bump two = epochs.bump(read, new StoredState(2, "127.0.0.1:6381", System.currentTimeMillis(), false), List.of(), "failover", second);
        assertThat(two.written()).as(two.why()).isTrue();
        assertThat(epochs.read().state().master()).isEqualTo("127.0.0.1:6381");

        // Holding the lock is not enough either: a read from before that write is stale.
        EpochStore.Bump again = epochs.bump(read, new StoredState(3, "127.0.0.1:6382", 0, true), List.of(), "stale read", second);
        assertThat(again.written()).isFalse();
        assertThat(again.why()).contains("the epoch changed since it was read");
        assertThat(epochs.read().state().epoch()).isEqualTo(2);
    }

    @Test
    void aSessionThatNeverHeldTheLockCannotBumpAndTheClientReportsEachFailingOperation() throws Exception {
        EpochStore epochs = new EpochStore(discovery, "never-held");
        String s = session("bystander");
        EpochStore.Bump b = epochs.bump(epochs.read(), new StoredState(1, "127.0.0.1:6380", 0, true), List.of(), "x", s);
        assertThat(b.written()).isFalse();
        assertThat(b.why()).contains("does not exist");
        assertThat(epochs.read().state()).isEqualTo(StoredState.NONE);

        DiscoveryClient.TxnResult r = discovery.txn(List.of(
                DiscoveryClient.TxnOp.set("never-held/a", "a".getBytes()),
                DiscoveryClient.TxnOp.checkIndex("never-held/missing", 5),
                DiscoveryClient.TxnOp.checkSession("never-held/a", s)));
        assertThat(r.applied()).isFalse();
        assertThat(r.errors()).extracting(DiscoveryClient.TxnError::opIndex).containsExactly(1, 2);
        assertThat(discovery.get("never-held/a")).isEmpty();
        DiscoveryClient.TxnResult ok = discovery.txn(List.of(DiscoveryClient.TxnOp.set("never-held/a", "a".getBytes()),
                DiscoveryClient.TxnOp.get("never-held/a")));
        assertThat(ok.applied()).isTrue();
        assertThat(new String(ok.results().get(1).value())).isEqualTo("a");
    }
}

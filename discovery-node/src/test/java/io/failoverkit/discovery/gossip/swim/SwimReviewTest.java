package io.failoverkit.discovery.gossip.swim;

import io.failoverkit.discovery.gossip.transport.Scheduler;
import io.failoverkit.discovery.gossip.transport.Transport;
import io.failoverkit.discovery.gossip.transport.sim.SimClock;
import io.failoverkit.discovery.gossip.transport.sim.SimNetwork;
import io.failoverkit.discovery.gossip.transport.sim.SimScheduler;
import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.Message;
import io.failoverkit.discovery.gossip.wire.NodeState;
import io.failoverkit.discovery.gossip.wire.PushPull;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.random.RandomGenerator;

import static org.assertj.core.api.Assertions.assertThat;

/** Paths an adversarial review walked: each test failed before its fix. Simulated, fixed seeds, deterministic. */
class SwimReviewTest {
    private static final Duration STEP = Duration.ofMillis(50);

    /**
     * A node paused (GC, SIGSTOP, an overloaded box) while it suspects another: the suspect refutes at once, and the
     * refutation waits in the paused node's socket buffer. On resume the paused node's overdue timers run before it
     * reads a single packet (they were due earlier). Its suspicion timer must not declare the live node dead then:
     * what is overdue is this node's own view, not the suspect.
     */
    @Test
    void aNodeResumingFromAPauseDoesNotDeclareDeadANodeWhoseRefutationWaitedInItsBuffer() {
        SimPool pool = new SimPool(5005, SwimConfig::agent);
        pool.grow(10, Duration.ofMillis(50));
        assertThat(pool.runUntil(() -> pool.converged(10), STEP, Duration.ofSeconds(30))).isGreaterThanOrEqualTo(0);
        pool.clock.runFor(Duration.ofSeconds(5));
        SimPool.SimNode accuser = pool.nodes.get(2);
        SimPool.SimNode x = pool.nodes.get(7);
        long inc = x.memberlist.localNode().incarnation();

        // a stranger's suspicion of x reaches the accuser and x itself (x refutes at once)
        Transport raw = pool.net.attach(SimPool.address(60), new SimScheduler(pool.clock, "raw", 3));
        raw.start(new SwimSimulationTest.NullInbox());
        raw.sendPacket(accuser.address, List.of(new Message.Suspect(inc, x.name, "raw")));
        pool.clock.runFor(Duration.ofMillis(5));
        assertThat(accuser.stateOf(x.name)).isEqualTo(NodeState.SUSPECT);
        accuser.scheduler.pause();
        raw.sendPacket(x.address, List.of(new Message.Suspect(inc, x.name, "raw")));

        // paused longer than the longest suspicion (6 x 1.5 s at N = 10)
        pool.clock.runFor(Duration.ofSeconds(12));
        assertThat(x.memberlist.localNode().incarnation()).as("x refuted").isGreaterThan(inc);
        accuser.scheduler.resume();
        pool.clock.runFor(Duration.ofSeconds(10));

        // (the accuser itself, paused past the suspicion timeout, is rightly declared dead by the others; it refutes)
        assertThat(pool.deadObservers(x.name)).as("no one, the resumed accuser included, declared x dead").isEmpty();
        assertThat(pool.allSee(x.name, Set.of(NodeState.ALIVE))).isTrue();
        assertThat(pool.converged(10)).isTrue();
    }

    /**
     * Packets are decoded on the transport's thread and queued for the scheduler. When the scheduler falls behind (a
     * flood, a slow delegate, a stall) that queue must stay bounded, as memberlist's handoff queue (1,024 messages,
     * the rest dropped and counted), or a flood of small valid messages fills the heap and takes the agent down.
     */
    @Test
    void messagesWaitingForTheSchedulerAreBoundedAndTheRestDroppedAndCounted() {
        SimClock clock = new SimClock();
        SimScheduler scheduler = new SimScheduler(clock, "n0", 1);
        Stub transport = new Stub(SimPool.address(0));
        Memberlist m = Memberlist.create(SwimConfig.agent("n0"), transport, scheduler, null, null);
        m.start();
        clock.runFor(Duration.ofMillis(1));
        assertThat(transport.inbox).isNotNull();

        // the scheduler does not run while 100,000 pings arrive (the clock is not advanced)
        InetSocketAddress from = SimPool.address(9);
        byte[] addr = from.getAddress().getAddress();
        for (int i = 1; i <= 100_000; i++) transport.inbox.packet(from, new Message.Ping(i, "n0", addr, 7946, "x"));
        clock.runFor(Duration.ofMillis(1));

        assertThat(transport.acks).as("only what the bounded queue held was handled").isBetween(1, Memberlist.MAX_PENDING_ARRIVALS);
        assertThat(m.droppedArrivals()).isEqualTo(100_000L - transport.acks);
        // and it goes on working afterwards
        transport.inbox.packet(from, new Message.Ping(100_001, "n0", addr, 7946, "x"));
        int before = transport.acks;
        clock.runFor(Duration.ofMillis(1));
        assertThat(transport.acks).isEqualTo(before + 1);
        m.shutdown();
    }

    /**
     * The other side of the stall rule: a node that is slow all the time (every timer of it runs 600 ms late, more
     * than a probe interval) must still declare a killed node dead. Here it is the only one left to do it.
     */
    @Test
    void aNodeWhoseTimersAreAlwaysLateStillDeclaresAKilledNodeDead() {
        SimClock clock = new SimClock();
        SimNetwork net = new SimNetwork(clock, 21);
        SimScheduler sa = new SimScheduler(clock, "a", 1), sc = new SimScheduler(clock, "c", 2);
        Scheduler late = new Late(sa, 600_000_000L);
        Memberlist a = Memberlist.create(SwimConfig.agent("a"), net.attach(SimPool.address(0), sa), late, null, null);
        Memberlist c = Memberlist.create(SwimConfig.agent("c"), net.attach(SimPool.address(1), sc), sc, null, null);
        a.start();
        c.start();
        a.join(List.of(SimPool.address(1)));
        assertThat(clock.runUntil(() -> a.numAlive() == 2 && c.numAlive() == 2, STEP, Duration.ofSeconds(30))).isTrue();
        clock.runFor(Duration.ofSeconds(5));
        assertThat(a.stalls()).as("a does find itself late").isPositive();

        net.kill(SimPool.address(1));
        assertThat(clock.runUntil(() -> a.member("c").state() == NodeState.DEAD, STEP, Duration.ofSeconds(120)))
                .as("a declares the killed c dead").isTrue();
    }

    /** Runs every timer {@code extra} nanoseconds later than asked (a node slow all the time). */
    record Late(Scheduler inner, long extra) implements Scheduler {
        @Override public long nanoTime() { return inner.nanoTime(); }
        @Override public Cancellable schedule(long delayNanos, Runnable task) { return inner.schedule(delayNanos + extra, task); }
        @Override public void execute(Runnable task) { inner.execute(task); }
        @Override public RandomGenerator random() { return inner.random(); }
        @Override public void shutdown() { inner.shutdown(); }
    }

    /** A transport that only records what is sent. */
    static final class Stub implements Transport {
        final InetSocketAddress address;
        Inbox inbox;
        int acks;

        Stub(InetSocketAddress address) {
            this.address = address;
        }

        @Override public InetSocketAddress advertise() { return address; }
        @Override public void start(Inbox inbox) { this.inbox = inbox; }
        @Override public void sendPacket(InetSocketAddress to, List<Message> messages) {
            for (Message msg : messages) if (msg instanceof Message.Ack) acks++;
        }
        @Override public int packetLimit() { return 1400; }
        @Override public int sizeOf(Message message) { return Codec.sizeOf(message); }
        @Override public CompletableFuture<PushPull> pushPull(InetSocketAddress to, PushPull local, Duration timeout) {
            return CompletableFuture.failedFuture(new IOException("stub"));
        }
        @Override public CompletableFuture<Message.Ack> pingStream(InetSocketAddress to, Message.Ping ping, Duration timeout) {
            return CompletableFuture.failedFuture(new IOException("stub"));
        }
        @Override public CompletableFuture<Void> sendStream(InetSocketAddress to, Message message, Duration timeout) {
            return CompletableFuture.failedFuture(new IOException("stub"));
        }
        @Override public long droppedPackets() { return 0; }
        @Override public void close() {}
    }
}

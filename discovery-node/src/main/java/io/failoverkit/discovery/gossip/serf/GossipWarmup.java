package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.wire.Codec;

import java.time.Duration;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The agent's start-up warm-up of its gossip code: passes of {@link CodecWarmup} and {@link JoinWarmup} (in memory,
 * silent, nothing sent, no state of the real node touched), repeated until the JIT has compiled the join's paths, and
 * bounded by a number of passes and by the CPU time of the calling thread.
 *
 * <p>Why repeated: one pass loads and links the classes, but the JIT compiles a method only after a few hundred calls
 * (C1's thresholds), and one pass calls most of the join's methods a few dozen times. Logged with
 * -Xlog:jit+compilation in bench/gossip.sh (N=30 on two cores), the agents compiled ~150 methods each during the join
 * itself, ~80 of the gossip package's among them (LZW, msgpack, the alive/push-pull handling, the broadcast queues):
 * the join ran them interpreted, 30 JVMs at once. In a JVM with the bench's flags one pass covered 17 of those 79
 * gossip methods, 10 passes 68, 30 passes 70; the first pass costs ~250 ms of CPU (class loading, which a join would
 * pay anyway), each later one ~10 ms falling to ~5 ms as it compiles.
 */
public final class GossipWarmup {
    /** Passes run unless told otherwise: past ~10 hardly anything more gets compiled (see above). */
    public static final int DEFAULT_PASSES = 12;
    /** CPU the passes after the first may take in all, on the calling thread. */
    public static final Duration DEFAULT_BUDGET = Duration.ofMillis(200);

    private GossipWarmup() {}

    /** What a warm-up did: passes run (the first included) and the calling thread's CPU time they took. */
    public record Result(int passes, long cpuNanos) {}

    /**
     * Runs the first pass (the codec over a 32-member pool, then the 6-node scratch pool), then lighter passes (an
     * 8-member codec pool) until {@code maxPasses} in all or until the passes after the first have used {@code budget}
     * of {@code cpuClock} (nanoseconds; the calling thread's CPU time in the agent).
     */
    public static Result run(Codec.Options options, Map<String, String> tags, SerfConfig config, int maxPasses, Duration budget,
                             LongSupplier cpuClock) {
        long start = cpuClock.getAsLong();
        int passes = 0;
        if (maxPasses < 1) return new Result(0, 0);
        pass(options, tags, config, 32);
        passes++;
        long afterFirst = cpuClock.getAsLong();
        while (passes < maxPasses && cpuClock.getAsLong() - afterFirst < budget.toNanos()) {
            pass(options, tags, config, 8);
            passes++;
        }
        return new Result(passes, cpuClock.getAsLong() - start);
    }

    private static void pass(Codec.Options options, Map<String, String> tags, SerfConfig config, int codecNodes) {
        CodecWarmup.run(options, codecNodes, 8, tags);
        JoinWarmup.run(config, 6);
    }
}

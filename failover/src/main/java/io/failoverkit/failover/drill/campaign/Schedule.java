package io.failoverkit.failover.drill.campaign;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What one campaign run does, drawn from its seed alone: the same seed and kind (and fault set) give the same
 * schedule, so a failing run replays with {@code --seed S --runs 1}. Targets are roles ("the master", "replica 1 of
 * the master"), resolved when the run starts, so a schedule means the same on any healthy lab. Times are offsets
 * from the start of the run's writes.
 */
public record Schedule(long seed, String kind, FaultType fault, List<Step> steps) {
    /** One action at {@code atMillis} after the writes started. */
    public record Step(long atMillis, String action, String target) {
        String text() { return String.format("+%5d ms %-22s %s", atMillis, action, target); }
    }

    /** How long writes run before the first fault. */
    static final long WARMUP_MS = 1000;

    /** Draws the schedule of run {@code seed} among {@code faults} (in their declaration order, so the draw is stable). */
    public static Schedule draw(long seed, String kind, java.util.Set<FaultType> faults) {
        SplittableRandom r = new SplittableRandom(seed);
        List<FaultType> choices = faults.stream().sorted().toList();
        FaultType f = choices.get(r.nextInt(choices.size()));
        long t = WARMUP_MS + r.nextLong(0, 1000);
        List<Step> s = new ArrayList<>();
        switch (f) {
            case MASTER_SIGKILL -> s.add(new Step(t, "sigkill", "master"));
            case MASTER_SIGSTOP -> {
                // Below detection (a GC pause), around it, and well beyond the replicas' 3 s silence threshold.
                long pause = pick(r, 300, 1500, 4000, 8000) + r.nextLong(0, 500);
                s.add(new Step(t, "sigstop", "master"));
                s.add(new Step(t + pause, "sigcont", "master"));
            }
            case RESTART_EMPTY -> {
                s.add(new Step(t, "sigkill", "master"));
                s.add(new Step(t + r.nextLong(20, 400), "start-empty", "master"));
            }
            case PARTITION_MANAGER, PARTITION_REPLICAS, PARTITION_ALL_BUT_CLIENTS -> {
                long cut = pick(r, 1000, 4000, 8000) + r.nextLong(0, 1000);
                String who = switch (f) {
                    case PARTITION_MANAGER -> "manager";
                    case PARTITION_REPLICAS -> "replicas";
                    default -> "manager+replicas";
                };
                s.add(new Step(t, "cut " + who, "master"));
                s.add(new Step(t + cut, "heal", "master"));
            }
            case SQL_THREAD_STOPPED -> {
                String replica = "replica " + r.nextInt(2);
                s.add(new Step(t, "stop-sql-thread", replica));
                s.add(new Step(t + r.nextLong(300, 1500), "sigkill", "master"));
                // Restarted before the manager's drain limit (10 s) or after it: a candidate that cannot apply its relay log in time.
                s.add(new Step(t + (r.nextBoolean() ? r.nextLong(2000, 6000) : r.nextLong(12_000, 15_000)), "start-sql-thread", replica));
            }
            case MANAGER_SIGKILL -> {
                s.add(new Step(t, "sigkill", "manager"));
                if (r.nextBoolean()) s.add(new Step(t + r.nextLong(200, 2000), "sigkill", "master"));
                s.add(new Step(t + r.nextLong(0, 3000), "start", "manager"));
            }
            case DISCOVERY_LEADER_SIGKILL -> {
                s.add(new Step(t, "sigkill", "discovery leader"));
                if (r.nextBoolean()) s.add(new Step(t + r.nextLong(0, 1500), "sigkill", "master"));
                s.add(new Step(t + r.nextLong(1000, 4000), "restart", "discovery leader"));
            }
            case GUARD_HOST_CUT -> {
                long cut = 4000 + r.nextLong(0, 4000);
                s.add(new Step(t, "cut manager+replicas+discovery", "master"));
                s.add(new Step(t + cut, "heal", "master"));
            }
        }
        s.sort(java.util.Comparator.comparingLong(Step::atMillis));
        return new Schedule(seed, kind, f, List.copyOf(s));
    }

    private static long pick(SplittableRandom r, long... options) { return options[r.nextInt(options.length)]; }

    /** When the last fault step happens (the faults stop there). */
    public long faultsEndMillis() { return steps.get(steps.size() - 1).atMillis(); }

    /** The schedule as text, with the command line that replays it. */
    public String text() {
        StringBuilder b = new StringBuilder(String.format("seed=%d kind=%s fault=%s (replay: bin/failover drill --campaign --kind %s --seed %d --runs 1)%n",
                seed, kind, fault, kind, seed));
        for (Step s : steps) b.append("    ").append(s.text()).append('\n');
        return b.toString();
    }
}

package io.failoverkit.failover.drill.campaign;

import java.util.ArrayList;
import java.util.List;

/**
 * Samples every member's writability every 10 ms, one thread per member (a frozen server stalls only its own
 * thread), and answers how many 10 ms instants had two or more writable members: each member counts at an instant as
 * its latest sample then says; a sample older than 200 ms counts as not writable (its server did not answer).
 */
final class WritableSampler implements AutoCloseable {
    static final long PERIOD_MS = 10;
    private record Sample(long atMillis, boolean writable) {}

    private final List<String> members;
    private final List<List<Sample>> samples = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private volatile boolean stop;

    WritableSampler(CampaignLab lab) {
        this.members = lab.members();
        for (String m : members) {
            List<Sample> mine = new ArrayList<>();
            samples.add(mine);
            threads.add(Thread.ofPlatform().daemon().name("writable-" + m).start(() -> {
                while (!stop) {
                    boolean w = lab.writable(m);
                    synchronized (mine) { mine.add(new Sample(System.currentTimeMillis(), w)); }
                    try { Thread.sleep(PERIOD_MS); } catch (InterruptedException e) { return; }
                }
            }));
        }
    }

    /** The members writable at their latest sample, if it is fresh. */
    List<String> writableNow() {
        long now = System.currentTimeMillis();
        List<String> out = new ArrayList<>();
        for (int i = 0; i < members.size(); i++) {
            List<Sample> s = samples.get(i);
            synchronized (s) {
                if (!s.isEmpty() && s.get(s.size() - 1).writable() && now - s.get(s.size() - 1).atMillis() < 200) out.add(members.get(i));
            }
        }
        return out;
    }

    record SplitBrain(long instants, long firstAtMillis, List<String> members, long samples) {}

    /** The 10 ms instants in [from, to] with two or more writable members. */
    SplitBrain twoWritable(long from, long to) {
        long count = 0, first = -1, total = 0;
        List<String> who = List.of();
        int[] cursor = new int[members.size()];
        List<List<Sample>> copies = new ArrayList<>();
        for (List<Sample> s : samples) synchronized (s) { copies.add(List.copyOf(s)); total += s.size(); }
        for (long t = from; t <= to; t += PERIOD_MS) {
            List<String> writable = new ArrayList<>();
            for (int i = 0; i < copies.size(); i++) {
                List<Sample> s = copies.get(i);
                while (cursor[i] + 1 < s.size() && s.get(cursor[i] + 1).atMillis() <= t) cursor[i]++;
                if (s.isEmpty() || s.get(cursor[i]).atMillis() > t) continue;
                Sample latest = s.get(cursor[i]);
                if (latest.writable() && t - latest.atMillis() < 200) writable.add(members.get(i));
            }
            if (writable.size() >= 2) {
                count++;
                if (first < 0) { first = t; who = writable; }
            }
        }
        return new SplitBrain(count, first, who, total);
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        for (Thread t : threads) { t.interrupt(); t.join(2000); }
    }
}

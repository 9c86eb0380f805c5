package io.failoverkit.failover.act;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The steps of one failover with their times: logged as they happen, stored with the epoch, printed by drills. */
public final class Timeline {
    private static final Logger LOG = LoggerFactory.getLogger(Timeline.class);

    public record Step(String name, long atMillis, String detail) {}

    private final String cluster;
    private final List<Step> steps = new ArrayList<>();

    public Timeline(String cluster) {
        this.cluster = cluster;
    }

    public synchronized void add(String name, String detail) {
        Step s = new Step(name, System.currentTimeMillis(), detail);
        steps.add(s);
        LOG.warn("[{}] {}: {}", cluster, name, detail);
    }

    public synchronized List<Step> steps() {
        return List.copyOf(steps);
    }

    public synchronized List<Map<String, Object>> asRecords() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (Step s : steps) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("step", s.name());
            m.put("at", Instant.ofEpochMilli(s.atMillis()).toString());
            m.put("detail", s.detail());
            out.add(m);
        }
        return out;
    }
}

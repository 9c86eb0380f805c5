package io.failoverkit.failover.drill;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.failoverkit.failover.act.Timeline;

import java.io.PrintStream;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What `failover drill` prints for one drill: a header, the failover's timeline (the steps {@link Timeline} recorded),
 * the figures and PASS/FAIL; as text for a person (colours only when asked) or as one JSON object on one line.
 */
public record DrillResult(String kind, String title, String service, boolean passed, String message, long killedAtMillis,
                          List<Figure> figures, List<Timeline.Step> timeline, String log) {

    /** {@code key}: the JSON field; {@code label}: the text line; {@code unit}: "ms", or null for a count or yes/no. */
    public record Figure(String key, String label, Object value, String unit) {
        String text() {
            if (value instanceof Boolean b) return b ? "yes" : "no";
            return value + (unit == null ? "" : " " + unit);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss.SSS").withZone(ZoneId.of("UTC"));

    /** The Redis SIGKILL drill's result. */
    public static DrillResult of(RedisKillDrill.Report r, String log) {
        List<Figure> f = new ArrayList<>();
        f.add(new Figure("oldMaster", "killed master", r.oldMaster(), null));
        f.add(new Figure("newMaster", "new master", r.newMaster(), null));
        f.add(new Figure("killToFirstWriteMs", "kill -> first write on the new master", r.killToFirstWriteMillis(), "ms"));
        f.add(new Figure("acknowledged", "writes acknowledged", r.acknowledged(), null));
        f.add(new Figure("lost", "acknowledged writes lost", r.lostAcknowledged(), null));
        f.add(new Figure("twoWritableMs", "two writable masters", r.twoWritableMillis(), "ms"));
        f.add(new Figure("oldMasterDemoted", "old master demoted on its return", r.oldMasterDemoted(), null));
        return new DrillResult("redis", "Redis master SIGKILL under writes", "drill-redis", r.success(), r.message(), r.killedAtMillis(), f, r.timeline(), log);
    }

    /** The MariaDB SIGKILL drill's result. */
    public static DrillResult of(MySqlKillDrill.Report r, String service, String log) {
        List<Figure> f = new ArrayList<>();
        f.add(new Figure("oldMaster", "killed primary", r.oldMaster(), null));
        f.add(new Figure("newMaster", "new primary", r.newMaster(), null));
        f.add(new Figure("semiSync", "semi-sync", r.semiSync(), null));
        f.add(new Figure("killToFirstWriteMs", "kill -> first write on the new primary", r.killToFirstWriteMillis(), "ms"));
        f.add(new Figure("acknowledged", "rows acknowledged", r.acknowledged(), null));
        f.add(new Figure("lost", "acknowledged rows lost", r.lostAcknowledged().size(), null));
        if (!r.lostAcknowledged().isEmpty()) f.add(new Figure("lostRows", "lost rows", r.lostAcknowledged(), null));
        f.add(new Figure("twoWritableMs", "two writable primaries", r.twoWritableMillis(), "ms"));
        f.add(new Figure("otherReplicaFollows", "other replica follows the new primary", r.otherReplicaFollows(), null));
        f.add(new Figure("oldMasterRejoined", "old primary rejoined as a replica", r.oldMasterRejoined(), null));
        return new DrillResult("mysql", "MariaDB primary SIGKILL under inserts, semi-sync " + (r.semiSync() ? "on" : "off"), service, r.success(), r.message(),
                r.killedAtMillis(), f, r.timeline(), log);
    }

    /** A drill that could not run to its end (its lab did not start, a step threw): FAIL with the reason. */
    public static DrillResult error(String kind, String title, String service, String reason, String log) {
        return new DrillResult(kind, title, service, false, reason, 0, List.of(), List.of(), log);
    }

    /** The text lines: header, timeline (ms after the kill), figures, then PASS/FAIL at the start of a line. */
    public void printText(PrintStream out, boolean colour) {
        Ansi a = new Ansi(colour);
        out.println(a.bold("drill " + kind + ": " + title + ", through master." + service + ".service.consul"));
        if (!timeline.isEmpty()) {
            out.println("  timeline" + (killedAtMillis > 0 ? " (kill at " + CLOCK.format(Instant.ofEpochMilli(killedAtMillis)) + " UTC; ms after it)" : ""));
            for (Timeline.Step s : timeline) {
                String at = killedAtMillis > 0 ? String.format("%+7d", s.atMillis() - killedAtMillis) : CLOCK.format(Instant.ofEpochMilli(s.atMillis()));
                out.printf("    %s  %s %s%n", a.dim(at), a.cyan(String.format("%-21s", s.name())), s.detail());
            }
        }
        if (!figures.isEmpty()) {
            out.println("  figures");
            int w = figures.stream().mapToInt(f -> f.label().length()).max().orElse(0);
            for (Figure f : figures) out.printf("    %-" + w + "s  %s%n", f.label(), a.bold(f.text()));
        }
        out.println(passed ? a.green("PASS") + ": " + message : a.red("FAIL") + ": " + message);
    }

    /** One JSON object, on one line. */
    public String json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("drill", kind);
        m.put("title", title);
        m.put("service", "master." + service + ".service.consul");
        m.put("result", passed ? "PASS" : "FAIL");
        m.put("passed", passed);
        m.put("message", message);
        m.put("killedAt", killedAtMillis > 0 ? Instant.ofEpochMilli(killedAtMillis).toString() : null);
        Map<String, Object> fig = new LinkedHashMap<>();
        for (Figure f : figures) fig.put(f.key(), f.value());
        m.put("figures", fig);
        List<Map<String, Object>> steps = new ArrayList<>();
        for (Timeline.Step s : timeline) {
            Map<String, Object> st = new LinkedHashMap<>();
            st.put("step", s.name());
            st.put("at", Instant.ofEpochMilli(s.atMillis()).toString());
            if (killedAtMillis > 0) st.put("afterKillMs", s.atMillis() - killedAtMillis);
            st.put("detail", s.detail());
            steps.add(st);
        }
        m.put("timeline", steps);
        m.put("log", log);
        try {
            return JSON.writeValueAsString(m);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** ANSI styles, or the text unchanged when colour is off. */
    record Ansi(boolean on) {
        String bold(String s) { return wrap("1", s); }
        String dim(String s) { return wrap("2", s); }
        String green(String s) { return wrap("1;32", s); }
        String red(String s) { return wrap("1;31", s); }
        String cyan(String s) { return wrap("36", s); }

        private String wrap(String code, String s) {
            return on ? "\u001b[" + code + "m" + s + "\u001b[0m" : s;
        }
    }

    /**
     * Colours only for a person: stdout is a terminal, no {@code --json}, {@code NO_COLOR} unset or empty (no-color.org)
     * and {@code TERM} is not "dumb".
     */
    public static boolean colour(boolean json, boolean terminal, Map<String, String> env) {
        String noColor = env.get("NO_COLOR");
        return !json && terminal && (noColor == null || noColor.isEmpty()) && !"dumb".equals(env.get("TERM"));
    }

    /**
     * Whether stdout is a terminal: {@link System#console()} is null when it is not (JDK 21); from JDK 22 a console can
     * exist for redirected streams, and {@code Console.isTerminal()} tells.
     */
    public static boolean stdoutIsTerminal() {
        java.io.Console c = System.console();
        if (c == null) return false;
        try {
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(c);
        } catch (NoSuchMethodException e) {
            return true;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false;
        }
    }
}

package io.failoverkit.discovery.template;

import io.failoverkit.discovery.config.Durations;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One {@code -template "in:out[:command]"} flag, split as consul-template splits it (a command may hold colons). */
public record TemplateSpec(Path source, Path destination, String command) {
    private static final Pattern PART = Pattern.compile("([a-zA-Z]:)?([^:]+)");

    public static TemplateSpec parse(String s) {
        if (s == null || s.isBlank()) throw new IllegalArgumentException("-template: empty template specification (want in:out[:command])");
        List<String> parts = new ArrayList<>();
        Matcher m = PART.matcher(s);
        while (m.find()) parts.add(m.group());
        if (parts.isEmpty()) throw new IllegalArgumentException("-template: empty template specification (want in:out[:command])");
        String source = parts.get(0).strip();
        String dest = parts.size() > 1 ? parts.get(1).strip() : null;
        String command = parts.size() > 2 ? String.join(":", parts.subList(2, parts.size())).strip() : null;
        if (dest != null && dest.isEmpty()) dest = null;
        if (command != null && command.isEmpty()) command = null;
        return new TemplateSpec(Path.of(source), dest == null ? null : Path.of(dest), command);
    }

    /** -wait min[:max]: quiescence timers; max defaults to 4 × min, as consul-template's. */
    public record Wait(Duration min, Duration max) {
        public static Wait parse(String s) {
            String[] p = s.split(":", -1);
            if (p.length > 2) throw new IllegalArgumentException("-wait: invalid format " + GoFormat.quote(s) + " (want min[:max], e.g. 5s:20s)");
            Duration min, max;
            try {
                min = Durations.parse(p[0]);
                max = p.length == 2 ? Durations.parse(p[1]) : min.multipliedBy(4);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("-wait: " + e.getMessage());
            }
            if (max.compareTo(min) < 0) throw new IllegalArgumentException("-wait: min must be less than max (" + s + ")");
            return new Wait(min, max);
        }

        public boolean enabled() { return !min.isZero(); }
    }
}

package io.failoverkit.discovery.config;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * An event handler as Serf's {@code -event-handler}: {@code [filter[,filter...]=]script}. Filters: member-join,
 * member-leave, member-failed, member-update, member-reap, user, user:NAME (and query, query:NAME, accepted and never
 * matched: this agent answers no Serf queries). Without filters the script gets every event. The script runs with
 * {@code sh -c}.
 */
public record EventHandlerSpec(List<Filter> filters, String script) {
    /** One filter: {@code event} is member-join... or "user"/"query"; {@code name} narrows user:NAME ("" = any). */
    public record Filter(String event, String name) {
        public boolean matches(String serfEvent, String userEventName) {
            if (event.equals("*")) return true;
            if (!event.equals(serfEvent)) return false;
            return name.isEmpty() || name.equals(userEventName);
        }
    }

    private static final List<String> EVENTS = List.of("member-join", "member-leave", "member-failed", "member-update", "member-reap", "user", "query", "*");
    private static final Pattern FILTER_LIST = Pattern.compile("[a-z*-]+(:[^,=\\s]*)?(,[a-z*-]+(:[^,=\\s]*)?)*");

    public static EventHandlerSpec parse(String spec) {
        if (spec == null || spec.isBlank()) throw new IllegalArgumentException("-event-handler: empty handler");
        int eq = spec.indexOf('=');
        // Serf's rule: what precedes the first '=' is the filter list when it reads as one; otherwise the whole is the script.
        if (eq > 0 && FILTER_LIST.matcher(spec.substring(0, eq)).matches()) {
            List<Filter> fs = new ArrayList<>();
            for (String f : spec.substring(0, eq).split(",")) {
                int colon = f.indexOf(':');
                String ev = colon < 0 ? f : f.substring(0, colon);
                String name = colon < 0 ? "" : f.substring(colon + 1);
                if (!EVENTS.contains(ev)) {
                    throw new IllegalArgumentException("-event-handler \"" + spec + "\": invalid event filter \"" + f + "\" (use " + String.join(", ", EVENTS.subList(0, 7)) + ", user:NAME)");
                }
                if (!name.isEmpty() && !ev.equals("user") && !ev.equals("query")) {
                    throw new IllegalArgumentException("-event-handler \"" + spec + "\": only user and query events take a name (\"" + f + "\")");
                }
                fs.add(new Filter(ev, name));
            }
            String script = spec.substring(eq + 1).strip();
            if (script.isEmpty()) throw new IllegalArgumentException("-event-handler \"" + spec + "\": no script after '='");
            return new EventHandlerSpec(List.copyOf(fs), script);
        }
        return new EventHandlerSpec(List.of(new Filter("*", "")), spec.strip());
    }

    /** True when this handler takes the event ({@code userEventName} for user events, else null). */
    public boolean accepts(String serfEvent, String userEventName) {
        for (Filter f : filters) if (f.matches(serfEvent, userEventName)) return true;
        return false;
    }
}

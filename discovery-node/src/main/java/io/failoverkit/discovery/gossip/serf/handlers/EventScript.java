package io.failoverkit.discovery.gossip.serf.handlers;

import io.failoverkit.discovery.gossip.serf.SerfEvent;

import java.util.ArrayList;
import java.util.List;

/**
 * One event handler as Serf's agent configures it ({@code -event-handler}): a filter and the shell command it runs.
 * The spec is {@code [filter[,filter...]=]script}; a filter is {@code member-join}, {@code member-leave},
 * {@code member-failed}, {@code member-update}, {@code member-reap}, {@code user}, {@code user:NAME},
 * {@code query[:NAME]} (accepted as Serf does, never matches here: this node has no queries) or {@code *}; no
 * filter means {@code *}. The script is the operator's own configuration and goes to {@code /bin/sh -c} as is;
 * event data never enters it (it goes on stdin and in the environment).
 */
public record EventScript(Filter filter, String script) {

    /** Serf's EventFilter: an event type name and, for user events, an optional event name. */
    public record Filter(String event, String name) {
        public Filter {
            name = name == null ? "" : name;
            if (!valid(event)) throw new IllegalArgumentException("invalid event filter '" + event
                    + "' (one of member-join, member-leave, member-failed, member-update, member-reap, user, user:NAME, query, *)");
        }

        static boolean valid(String e) {
            return switch (e) {
                case "member-join", "member-leave", "member-failed", "member-update", "member-reap", "user", "query", "*" -> true;
                default -> false;
            };
        }

        public boolean matches(SerfEvent e) {
            if (event.equals("*")) return true;
            return switch (e) {
                case SerfEvent.Members m -> m.kind().serfName.equals(event);
                case SerfEvent.User u -> event.equals("user") && (name.isEmpty() || name.equals(u.name()));
            };
        }

        @Override public String toString() { return name.isEmpty() ? event : event + ":" + name; }
    }

    public EventScript {
        if (script == null || script.isBlank()) throw new IllegalArgumentException("event handler for '" + filter + "' has no script");
    }

    public boolean matches(SerfEvent e) { return filter.matches(e); }

    /** Parses one {@code -event-handler} value into one handler per filter. */
    public static List<EventScript> parse(String spec) {
        String filters = "", script;
        int eq = spec.indexOf('=');
        if (eq < 0) {
            script = spec;
        } else {
            filters = spec.substring(0, eq);
            script = spec.substring(eq + 1);
        }
        if (filters.isEmpty()) filters = "*";
        List<EventScript> out = new ArrayList<>();
        for (String f : filters.split(",", -1)) {
            String event = f, name = "";
            if (f.startsWith("user:")) {
                event = "user";
                name = f.substring("user:".length());
            } else if (f.startsWith("query:")) {
                event = "query";
                name = f.substring("query:".length());
            }
            out.add(new EventScript(new Filter(event, name), script));
        }
        return out;
    }

    /** Parses several specs (the repeated flag). */
    public static List<EventScript> parseAll(List<String> specs) {
        List<EventScript> out = new ArrayList<>();
        for (String s : specs) out.addAll(parse(s));
        return out;
    }

    @Override public String toString() { return "event '" + filter + "' invoking '" + script + "'"; }
}

package io.failoverkit.discovery.template;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One piece of agent data a template reads, parsed from the function's argument as consul-template parses it
 * ({@code tag.name@dc~near|filter,...} for services, {@code key@dc}, {@code prefix@dc}, {@code node@dc}).
 */
public record Dependency(Kind kind, String name, String tag, String dc, String near, List<String> filters) {
    public enum Kind {
        HEALTH_SERVICE("health.service"), CATALOG_SERVICES("catalog.services"), CATALOG_NODES("catalog.nodes"),
        CATALOG_NODE("catalog.node"), KV_BLOCK("kv.block"), KV_GET("kv.get"), KV_LIST("kv.list");
        final String label;
        Kind(String label) { this.label = label; }
    }

    static final List<String> HEALTH_FILTERS = List.of("any", "passing", "warning", "critical", "maintenance");

    private static final Pattern SERVICE = Pattern.compile("\\A(?:(?<tag>[\\w=:.\\-]+)\\.)?(?<name>[\\w\\-]+)(?:@(?<dc>[\\w.\\-]+))?(?:~(?<near>[\\w.\\-]+))?(?:\\|(?<filter>[\\w,]+))?\\z");
    private static final Pattern DC_NEAR = Pattern.compile("\\A(?:@(?<dc>[\\w.\\-]+))?(?:~(?<near>[\\w.\\-]+))?\\z");
    private static final Pattern NODE = Pattern.compile("\\A(?<name>[\\w.\\-]+)?(?:@(?<dc>[\\w.\\-]+))?\\z");
    private static final Pattern KEY = Pattern.compile("\\A/?(?<key>[^@?]+)(?:@(?<dc>[\\w.\\-]+))?\\z");

    static Dependency service(String s) {
        Matcher m = SERVICE.matcher(s);
        if (!m.matches()) throw new Func.FuncError("health.service: invalid format: " + GoFormat.quote(s));
        List<String> filters = new ArrayList<>();
        if (m.group("filter") != null) {
            for (String f : m.group("filter").split(",")) {
                f = f.strip();
                if (f.isEmpty()) continue;
                if (!HEALTH_FILTERS.contains(f)) throw new Func.FuncError("health.service: invalid filter: " + GoFormat.quote(f) + " in " + GoFormat.quote(s));
                if (!filters.contains(f)) filters.add(f);
            }
            filters.sort(null);
        }
        if (filters.isEmpty()) filters.add("passing");
        return new Dependency(Kind.HEALTH_SERVICE, m.group("name"), m.group("tag"), m.group("dc"), m.group("near"), List.copyOf(filters));
    }

    static Dependency services(String s) {
        Matcher m = DC_NEAR.matcher(s);
        if (!m.matches() || m.group("near") != null) throw new Func.FuncError("catalog.services: invalid format: " + GoFormat.quote(s));
        return new Dependency(Kind.CATALOG_SERVICES, "", null, m.group("dc"), null, List.of());
    }

    static Dependency nodes(String s) {
        Matcher m = DC_NEAR.matcher(s);
        if (!m.matches()) throw new Func.FuncError("catalog.nodes: invalid format: " + GoFormat.quote(s));
        return new Dependency(Kind.CATALOG_NODES, "", null, m.group("dc"), m.group("near"), List.of());
    }

    /** The empty name means the local agent's node. */
    static Dependency node(String s) {
        Matcher m = NODE.matcher(s);
        if (!m.matches()) throw new Func.FuncError("catalog.node: invalid format: " + GoFormat.quote(s));
        return new Dependency(Kind.CATALOG_NODE, m.group("name") == null ? "" : m.group("name"), null, m.group("dc"), null, List.of());
    }

    static Dependency key(Kind kind, String s) {
        Matcher m = KEY.matcher(s);
        if (!m.matches()) throw new Func.FuncError(kind.label + ": invalid format: " + GoFormat.quote(s));
        String key = m.group("key");
        if (kind != Kind.KV_LIST && key.endsWith("/")) throw new Func.FuncError(kind.label + ": a key must not end with \"/\": " + GoFormat.quote(s));
        return new Dependency(kind, key, null, m.group("dc"), null, List.of());
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(kind.label).append('(');
        if (tag != null) b.append(tag).append('.');
        b.append(name);
        if (dc != null) b.append('@').append(dc);
        if (near != null) b.append('~').append(near);
        if (kind == Kind.HEALTH_SERVICE) b.append('|').append(String.join(",", filters));
        return b.append(')').toString();
    }
}

package io.failoverkit.discovery.template;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * A consul-template template: Go's text/template language with consul-template's functions. Parsing refuses a
 * malformed template (with line:col) before anything runs; rendering reads agent data from a {@link Brain} and
 * reports which dependencies it used and which are still missing (the output is only complete when none are).
 */
public final class Template {
    /** The functions that read agent data; their constant arguments are checked when the template is parsed. */
    static final Set<String> DATA_FUNCTIONS = Set.of("service", "services", "nodes", "node", "key", "keyOrDefault", "keyExists", "ls", "tree");
    private static final Map<String, Func> BUILTINS = Builtins.all();

    private final String name;
    private final Node.ListNode root;

    private Template(String name, Node.ListNode root) {
        this.name = name;
        this.root = root;
    }

    public String name() { return name; }

    public static boolean isFunction(String fn) { return BUILTINS.containsKey(fn) || DATA_FUNCTIONS.contains(fn); }

    public static Template parse(String name, String text) throws TemplateException {
        Node.ListNode root = Parser.parse(name, text, Template::isFunction);
        checkConstants(name, root);
        return new Template(name, root);
    }

    /** The result of one rendering. */
    public record Render(String output, Set<Dependency> used, Set<Dependency> missing) {
        public boolean complete() { return missing.isEmpty(); }
    }

    public Render render(Brain brain) throws TemplateException {
        Set<Dependency> used = new LinkedHashSet<>(), missing = new LinkedHashSet<>();
        Map<String, Func> funcs = new HashMap<>(BUILTINS);
        dataFunctions(funcs, brain, used, missing);
        String out = new Exec(name, funcs).run(root, null);
        return new Render(out, Set.copyOf(used), Set.copyOf(missing));
    }

    private static void dataFunctions(Map<String, Func> f, Brain brain, Set<Dependency> used, Set<Dependency> missing) {
        Function<Dependency, Optional<Object>> recall = d -> {
            used.add(d);
            Optional<Optional<Object>> v = brain.recall(d);
            if (v.isEmpty()) { missing.add(d); return null; }
            return v.get();
        };
        f.put("service", a -> {
            String q = joinStrings("service", a, "|");
            if (q.isEmpty()) return List.of();
            var v = recall.apply(Dependency.service(q));
            return v == null ? List.of() : v.orElse(List.of());
        });
        f.put("services", a -> {
            var v = recall.apply(Dependency.services(joinStrings("services", a, "")));
            return v == null ? List.of() : v.orElse(List.of());
        });
        f.put("nodes", a -> {
            var v = recall.apply(Dependency.nodes(joinStrings("nodes", a, "")));
            return v == null ? List.of() : v.orElse(List.of());
        });
        f.put("node", a -> {
            var v = recall.apply(Dependency.node(joinStrings("node", a, "")));
            return v == null ? null : v.orElse(null);
        });
        f.put("key", a -> {
            Builtins.arity("key", a, 1);
            String k = Builtins.str("key", a.get(0));
            if (k.isEmpty()) return "";
            Dependency d = Dependency.key(Dependency.Kind.KV_BLOCK, k);
            var v = recall.apply(d);
            if (v == null) return "";
            if (v.isEmpty()) { missing.add(d); return ""; } // consul-template waits for the key to exist
            return v.get();
        });
        f.put("keyOrDefault", a -> {
            Builtins.arity("keyOrDefault", a, 2);
            String k = Builtins.str("keyOrDefault", a.get(0)), def = Builtins.str("keyOrDefault", a.get(1));
            if (k.isEmpty()) return def;
            var v = recall.apply(Dependency.key(Dependency.Kind.KV_GET, k));
            return v == null ? def : v.orElse(def);
        });
        f.put("keyExists", a -> {
            Builtins.arity("keyExists", a, 1);
            String k = Builtins.str("keyExists", a.get(0));
            if (k.isEmpty()) return false;
            var v = recall.apply(Dependency.key(Dependency.Kind.KV_GET, k));
            return v != null && v.isPresent();
        });
        f.put("ls", a -> kvList("ls", a, recall, true));
        f.put("tree", a -> kvList("tree", a, recall, false));
    }

    private static Object kvList(String fn, List<Object> a, Function<Dependency, Optional<Object>> recall, boolean topOnly) {
        Builtins.arity(fn, a, 1);
        String prefix = Builtins.str(fn, a.get(0));
        List<Object> result = new ArrayList<>();
        if (prefix.isEmpty()) return result;
        var v = recall.apply(Dependency.key(Dependency.Kind.KV_LIST, prefix));
        if (v == null || v.isEmpty()) return result;
        for (Object o : (List<?>) v.get()) {
            String key = (String) ((GoStruct) o).get("Key");
            if (topOnly ? !key.isEmpty() && !key.contains("/") : !key.isEmpty() && !key.endsWith("/")) result.add(o);
        }
        return result;
    }

    private static String joinStrings(String fn, List<Object> a, String sep) {
        List<String> parts = new ArrayList<>();
        for (Object o : a) parts.add(Builtins.str(fn, o));
        return String.join(sep, parts);
    }

    /** Refuses, at parse time, a data function whose constant argument is malformed (e.g. service "a b"). */
    private static void checkConstants(String name, Node node) throws TemplateException {
        switch (node) {
            case Node.ListNode l -> { for (Node n : l.nodes()) checkConstants(name, n); }
            case Node.Action a -> checkConstants(name, a.pipe());
            case Node.Branch b -> {
                checkConstants(name, b.pipe());
                checkConstants(name, b.list());
                if (b.elseList() != null) checkConstants(name, b.elseList());
            }
            case Node.Pipe p -> {
                for (int k = 0; k < p.cmds().size(); k++) {
                    Node.Command c = p.cmds().get(k);
                    if (k == 0) checkConstants(name, c); // later stages get the previous value as an argument
                    else for (Node arg : c.args()) checkConstants(name, arg);
                }
            }
            case Node.Command c -> {
                if (c.args().get(0) instanceof Node.Identifier id && DATA_FUNCTIONS.contains(id.name())) {
                    List<Object> lits = new ArrayList<>();
                    boolean allConst = true;
                    for (Node arg : c.args().subList(1, c.args().size())) {
                        if (arg instanceof Node.Literal l) lits.add(l.value()); else allConst = false;
                    }
                    if (allConst) {
                        try {
                            Map<String, Func> f = new HashMap<>();
                            dataFunctions(f, new Brain(), new LinkedHashSet<>(), new LinkedHashSet<>());
                            f.get(id.name()).call(lits);
                        } catch (Func.FuncError e) {
                            throw new TemplateException(name, id.pos().line(), id.pos().col(), id.name() + ": " + e.getMessage());
                        }
                    }
                }
                for (Node arg : c.args()) checkConstants(name, arg);
            }
            case Node.Chain ch -> checkConstants(name, ch.node());
            default -> { }
        }
    }
}

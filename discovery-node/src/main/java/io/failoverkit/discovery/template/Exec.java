package io.failoverkit.discovery.template;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Executes a parsed template with Go text/template's semantics (truth, printing, scoping, range). */
final class Exec {
    static final long MAX_STEPS = 5_000_000;
    static final int MAX_OUTPUT = 64 << 20;

    private static final Object NONE = new Object();

    private static final class Jump extends RuntimeException {
        final boolean isBreak;
        Jump(boolean isBreak) { super(null, null, false, false); this.isBreak = isBreak; }
    }
    private static final Jump BREAK = new Jump(true), CONTINUE = new Jump(false);

    private final String name;
    private final Map<String, Func> funcs;
    private final StringBuilder out = new StringBuilder();
    private final List<String> varNames = new ArrayList<>();
    private final List<Object> varValues = new ArrayList<>();
    private long steps;

    Exec(String name, Map<String, Func> funcs) {
        this.name = name;
        this.funcs = funcs;
    }

    String run(Node.ListNode root, Object data) throws TemplateException {
        push("$", data);
        walk(data, root);
        return out.toString();
    }

    private TemplateException err(Node at, String reason) {
        return new TemplateException(name, at.pos().line(), at.pos().col(), "executing \"" + name + "\": " + reason);
    }

    private void step(Node at) throws TemplateException {
        if (++steps > MAX_STEPS) throw err(at, "template too expensive: more than " + MAX_STEPS + " steps");
        if (out.length() > MAX_OUTPUT) throw err(at, "output larger than " + MAX_OUTPUT + " bytes");
    }

    private void push(String n, Object v) { varNames.add(n); varValues.add(v); }

    private void popTo(int mark) {
        while (varNames.size() > mark) { varNames.removeLast(); varValues.removeLast(); }
    }

    private Object var(Node at, String n) throws TemplateException {
        for (int k = varNames.size() - 1; k >= 0; k--) if (varNames.get(k).equals(n)) return varValues.get(k);
        throw err(at, "undefined variable: " + n);
    }

    private void setVar(Node at, String n, Object v) throws TemplateException {
        for (int k = varNames.size() - 1; k >= 0; k--) if (varNames.get(k).equals(n)) { varValues.set(k, v); return; }
        throw err(at, "undefined variable: " + n);
    }

    private void walk(Object dot, Node node) throws TemplateException {
        step(node);
        switch (node) {
            case Node.Text t -> out.append(t.text());
            case Node.ListNode l -> { for (Node n : l.nodes()) walk(dot, n); }
            case Node.Action a -> {
                Object v = pipe(dot, a.pipe(), true);
                if (a.pipe().vars().isEmpty()) out.append(GoFormat.print(v));
            }
            case Node.Branch b -> {
                int mark = varNames.size();
                try {
                    switch (b.kind()) {
                        case "if" -> {
                            Object v = pipe(dot, b.pipe(), true);
                            if (truth(v)) walk(dot, b.list());
                            else if (b.elseList() != null) walk(dot, b.elseList());
                        }
                        case "with" -> {
                            Object v = pipe(dot, b.pipe(), true);
                            if (truth(v)) walk(v, b.list());
                            else if (b.elseList() != null) walk(dot, b.elseList());
                        }
                        default -> range(dot, b);
                    }
                } finally {
                    popTo(mark);
                }
            }
            case Node.Break br -> throw BREAK;
            case Node.Continue c -> throw CONTINUE;
            default -> throw err(node, "unknown node");
        }
    }

    private void range(Object dot, Node.Branch b) throws TemplateException {
        Object v = pipe(dot, b.pipe(), false);
        List<String> vs = b.pipe().vars();
        int mark = varNames.size();
        boolean any = false;
        switch (v) {
            case List<?> list -> {
                for (int k = 0; k < list.size(); k++) {
                    any = true;
                    if (iteration(b, vs, mark, (long) k, list.get(k))) break;
                }
            }
            case Map<?, ?> m -> {
                for (var e : GoFormat.sorted(m).entrySet()) {
                    any = true;
                    if (iteration(b, vs, mark, e.getKey(), e.getValue())) break;
                }
            }
            case Long n -> {
                if (vs.size() > 1) throw err(b, "can't use two variables to range over an integer");
                for (long k = 0; k < n; k++) {
                    any = true;
                    if (iteration(b, vs, mark, k, k)) break;
                }
            }
            case null -> { }
            default -> {
                if (v != GoFormat.NO_VALUE) throw err(b, "range can't iterate over " + GoFormat.print(v));
            }
        }
        popTo(mark);
        if (!any && b.elseList() != null) walk(dot, b.elseList());
    }

    /** One range iteration; returns true on {{break}}. */
    private boolean iteration(Node.Branch b, List<String> vs, int mark, Object key, Object elem) throws TemplateException {
        popTo(mark);
        if (vs.size() == 1) bindRangeVar(b, vs.get(0), elem, mark);
        else if (vs.size() == 2) { bindRangeVar(b, vs.get(0), key, mark); bindRangeVar(b, vs.get(1), elem, mark); }
        try {
            walk(elem, b.list());
        } catch (Jump j) {
            if (j.isBreak) return true;
        }
        return false;
    }

    private void bindRangeVar(Node.Branch b, String n, Object v, int mark) throws TemplateException {
        if (b.pipe().declare()) push(n, v);
        else setVar(b, n, v);
    }

    private Object pipe(Object dot, Node.Pipe p, boolean assign) throws TemplateException {
        Object value = NONE;
        for (Node.Command c : p.cmds()) value = command(dot, c, value);
        if (assign) for (String v : p.vars()) {
            if (p.declare()) push(v, value);
            else setVar(p, v, value);
        }
        return value;
    }

    private Object command(Object dot, Node.Command c, Object fin) throws TemplateException {
        step(c);
        Node head = c.args().get(0);
        if (head instanceof Node.Identifier id) return call(dot, id, c.args(), fin);
        if (c.args().size() > 1 || fin != NONE) {
            if (head instanceof Node.Field f) throw err(f, f.names().getLast() + " is not a method but has arguments");
            throw err(head, "can't give argument to non-function " + describe(head));
        }
        return arg(dot, head);
    }

    private static String describe(Node n) {
        return switch (n) {
            case Node.Literal l -> l.text();
            case Node.Variable v -> v.name();
            case Node.Dot d -> ".";
            case Node.Nil x -> "nil";
            default -> "value";
        };
    }

    private Object arg(Object dot, Node n) throws TemplateException {
        return switch (n) {
            case Node.Dot d -> dot;
            case Node.Nil x -> null;
            case Node.Literal l -> l.value();
            case Node.Field f -> fields(f, dot, f.names());
            case Node.Variable v -> fields(v, var(v, v.name()), v.fields());
            case Node.Identifier id -> call(dot, id, List.of(id), NONE);
            case Node.Chain ch -> {
                Object base = ch.node() instanceof Node.Pipe p ? pipe(dot, p, true) : arg(dot, ch.node());
                yield fields(ch, base, ch.fields());
            }
            case Node.Pipe p -> pipe(dot, p, true);
            default -> throw err(n, "can't evaluate " + n.getClass().getSimpleName());
        };
    }

    private Object fields(Node at, Object v, List<String> names) throws TemplateException {
        for (String f : names) {
            switch (v) {
                case GoStruct s -> {
                    if (!s.has(f)) throw err(at, "can't evaluate field " + f + " in type *" + s.type());
                    v = s.get(f);
                }
                case Map<?, ?> m -> v = m.containsKey(f) ? m.get(f) : GoFormat.NO_VALUE;
                case null -> throw err(at, "nil pointer evaluating <nil>." + f);
                default -> {
                    if (v == GoFormat.NO_VALUE) throw err(at, "nil pointer evaluating interface {}." + f);
                    throw err(at, "can't evaluate field " + f + " in type " + GoFormat.typeName(v));
                }
            }
        }
        return v;
    }

    private Object call(Object dot, Node.Identifier id, List<Node> args, Object fin) throws TemplateException {
        String fn = id.name();
        if (fn.equals("and") || fn.equals("or")) {
            int n = args.size() - 1 + (fin != NONE ? 1 : 0);
            if (n < 1) throw err(id, "wrong number of args for " + fn + ": want at least 1 got 0");
            Object v = null;
            for (int k = 1; k <= n; k++) {
                v = k < args.size() ? arg(dot, args.get(k)) : fin;
                if (fn.equals("and") != truth(v)) return v;
            }
            return v;
        }
        Func f = funcs.get(fn);
        if (f == null) throw err(id, "function \"" + fn + "\" not defined");
        List<Object> vals = new ArrayList<>();
        for (int k = 1; k < args.size(); k++) vals.add(arg(dot, args.get(k)));
        if (fin != NONE) vals.add(fin);
        try {
            Object r = f.call(vals);
            return r instanceof Integer n ? (Object) (long) n : r;
        } catch (Func.FuncError e) {
            throw err(id, "error calling " + fn + ": " + e.getMessage());
        }
    }

    static boolean truth(Object v) {
        return switch (v) {
            case null -> false;
            case Boolean b -> b;
            case Long l -> l != 0;
            case Double d -> d != 0;
            case String s -> !s.isEmpty();
            case List<?> l -> !l.isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            default -> v != GoFormat.NO_VALUE;
        };
    }
}

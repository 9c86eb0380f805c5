package io.failoverkit.discovery.template;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** Go text/template's built-in functions and consul-template's functions that need no data from the agent. */
final class Builtins {
    private Builtins() {}

    static Map<String, Func> all() {
        Map<String, Func> m = new HashMap<>();
        // and/or are evaluated lazily by the executor; they are listed so the parser knows them.
        m.put("and", a -> { throw new Func.FuncError("and is evaluated by the executor"); });
        m.put("or", a -> { throw new Func.FuncError("or is evaluated by the executor"); });
        m.put("not", a -> { arity("not", a, 1); return !Exec.truth(a.get(0)); });
        m.put("len", a -> { arity("len", a, 1); return len(a.get(0)); });
        m.put("index", Builtins::index);
        m.put("print", a -> print(a, false));
        m.put("println", a -> print(a, true) + "\n");
        m.put("printf", a -> {
            if (a.isEmpty()) throw new Func.FuncError("wrong number of args for printf: want at least 1 got 0");
            return GoFormat.sprintf(str("printf", a.get(0)), a.subList(1, a.size()));
        });
        m.put("eq", a -> {
            if (a.size() < 2) throw new Func.FuncError("missing argument for comparison");
            for (int k = 1; k < a.size(); k++) if (equal(a.get(0), a.get(k))) return true;
            return false;
        });
        m.put("ne", a -> { arity("ne", a, 2); return !equal(a.get(0), a.get(1)); });
        m.put("lt", a -> { arity("lt", a, 2); return compare(a.get(0), a.get(1)) < 0; });
        m.put("le", a -> { arity("le", a, 2); return compare(a.get(0), a.get(1)) <= 0; });
        m.put("gt", a -> { arity("gt", a, 2); return compare(a.get(0), a.get(1)) > 0; });
        m.put("ge", a -> { arity("ge", a, 2); return compare(a.get(0), a.get(1)) >= 0; });
        m.put("urlquery", a -> URLEncoder.encode(print(a, false), StandardCharsets.UTF_8));
        m.put("html", a -> html(print(a, false)));

        // consul-template's helpers
        m.put("join", a -> {
            arity("join", a, 2);
            String sep = str("join", a.get(0));
            List<String> parts = new ArrayList<>();
            for (Object o : list("join", a.get(1))) parts.add(str("join", o));
            return String.join(sep, parts);
        });
        m.put("split", a -> {
            arity("split", a, 2);
            String sep = str("split", a.get(0)), s = str("split", a.get(1));
            List<Object> r = new ArrayList<>();
            if (s.isEmpty()) return r;
            if (sep.isEmpty()) { s.codePoints().forEach(cp -> r.add(new String(Character.toChars(cp)))); return r; }
            int from = 0;
            while (true) {
                int at = s.indexOf(sep, from);
                if (at < 0) { r.add(s.substring(from)); break; }
                r.add(s.substring(from, at));
                from = at + sep.length();
            }
            return r;
        });
        m.put("contains", a -> { arity("contains", a, 2); return in(a.get(1), a.get(0)); });
        m.put("in", a -> { arity("in", a, 2); return in(a.get(0), a.get(1)); });
        m.put("containsAll", a -> {
            arity("containsAll", a, 2);
            for (Object n : list("containsAll", a.get(0))) if (!in(a.get(1), n)) return false;
            return true;
        });
        m.put("containsAny", a -> {
            arity("containsAny", a, 2);
            for (Object n : list("containsAny", a.get(0))) if (in(a.get(1), n)) return true;
            return false;
        });
        m.put("toJSON", a -> { arity("toJSON", a, 1); return GoFormat.json(a.get(0), false); });
        m.put("toJSONPretty", a -> { arity("toJSONPretty", a, 1); return GoFormat.json(a.get(0), true); });
        m.put("toLower", a -> { arity("toLower", a, 1); return str("toLower", a.get(0)).toLowerCase(java.util.Locale.ROOT); });
        m.put("toUpper", a -> { arity("toUpper", a, 1); return str("toUpper", a.get(0)).toUpperCase(java.util.Locale.ROOT); });
        m.put("trimSpace", a -> { arity("trimSpace", a, 1); return str("trimSpace", a.get(0)).strip(); });
        m.put("replaceAll", a -> { arity("replaceAll", a, 3); return str("replaceAll", a.get(2)).replace(str("replaceAll", a.get(0)), str("replaceAll", a.get(1))); });
        m.put("regexMatch", a -> { arity("regexMatch", a, 2); return regex("regexMatch", a.get(0)).matcher(str("regexMatch", a.get(1))).find(); });
        m.put("regexReplaceAll", a -> {
            arity("regexReplaceAll", a, 3);
            String repl = str("regexReplaceAll", a.get(1)).replace("\\", "\\\\").replaceAll("\\$\\{?(\\d+)\\}?", "\\$$1");
            try {
                return regex("regexReplaceAll", a.get(0)).matcher(str("regexReplaceAll", a.get(2))).replaceAll(repl);
            } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
                throw new Func.FuncError("bad replacement " + a.get(1) + ": " + e.getMessage());
            }
        });
        m.put("parseInt", a -> {
            arity("parseInt", a, 1);
            Object v = Strings.number(str("parseInt", a.get(0)).strip());
            if (!(v instanceof Long)) throw new Func.FuncError("parseInt: invalid syntax: " + GoFormat.quote(str("parseInt", a.get(0))));
            return v;
        });
        m.put("parseBool", a -> {
            arity("parseBool", a, 1);
            return switch (str("parseBool", a.get(0))) {
                case "1", "t", "T", "TRUE", "true", "True" -> true;
                case "0", "f", "F", "FALSE", "false", "False" -> false;
                default -> throw new Func.FuncError("parseBool: invalid syntax: " + GoFormat.quote(str("parseBool", a.get(0))));
            };
        });
        m.put("byTag", a -> {
            arity("byTag", a, 1);
            Map<String, Object> r = new java.util.TreeMap<>();
            for (Object o : list("byTag", a.get(0))) {
                if (!(o instanceof GoStruct s) || !s.has("Tags")) throw new Func.FuncError("byTag: wrong type: " + GoFormat.typeName(o));
                for (Object t : list("byTag", s.get("Tags"))) {
                    @SuppressWarnings("unchecked") List<Object> l = (List<Object>) r.computeIfAbsent(String.valueOf(t), k -> new ArrayList<>());
                    l.add(o);
                }
            }
            return r;
        });
        m.put("env", a -> {
            arity("env", a, 1);
            String v = System.getenv(str("env", a.get(0)));
            return v == null ? "" : v;
        });
        return m;
    }

    static void arity(String fn, List<Object> a, int n) {
        if (a.size() != n) throw new Func.FuncError("wrong number of args for " + fn + ": want " + n + " got " + a.size());
    }

    static String str(String fn, Object o) {
        if (o instanceof String s) return s;
        throw new Func.FuncError("wrong type for value; expected string; got " + GoFormat.typeName(o));
    }

    static List<?> list(String fn, Object o) {
        if (o instanceof List<?> l) return l;
        if (o == null || o == GoFormat.NO_VALUE) return List.of();
        throw new Func.FuncError("wrong type for value; expected a list; got " + GoFormat.typeName(o));
    }

    private static Pattern regex(String fn, Object o) {
        try {
            return Pattern.compile(str(fn, o));
        } catch (PatternSyntaxException e) {
            throw new Func.FuncError("bad regular expression: " + e.getDescription());
        }
    }

    private static boolean in(Object haystack, Object needle) {
        if (haystack instanceof String s) return s.contains(str("contains", needle));
        if (haystack instanceof Map<?, ?> m) return m.containsKey(needle);
        for (Object o : list("in", haystack)) if (equal(o, needle)) return true;
        return false;
    }

    private static String print(List<Object> a, boolean spaces) {
        // Go's Sprint puts a space between operands when neither is a string; Sprintln always does.
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < a.size(); k++) {
            if (k > 0 && (spaces || !(a.get(k) instanceof String) && !(a.get(k - 1) instanceof String))) b.append(' ');
            b.append(GoFormat.print(a.get(k)));
        }
        return b.toString();
    }

    private static String html(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '&' -> b.append("&amp;");
                case '\'' -> b.append("&#39;");
                case '"' -> b.append("&#34;");
                case 0 -> b.append("\uFFFD");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    private static Object len(Object v) {
        return switch (v) {
            case String s -> (long) s.getBytes(StandardCharsets.UTF_8).length;
            case List<?> l -> (long) l.size();
            case Map<?, ?> m -> (long) m.size();
            default -> throw new Func.FuncError("len of type " + GoFormat.typeName(v));
        };
    }

    private static Object index(List<Object> a) {
        if (a.isEmpty()) throw new Func.FuncError("wrong number of args for index: want at least 1 got 0");
        Object v = a.get(0);
        for (int k = 1; k < a.size(); k++) {
            Object i = a.get(k);
            switch (v) {
                case List<?> l -> {
                    if (!(i instanceof Long n)) throw new Func.FuncError("cannot index slice/array with type " + GoFormat.typeName(i));
                    if (n < 0 || n >= l.size()) throw new Func.FuncError("index out of range: " + n);
                    v = l.get((int) (long) n);
                }
                case String s -> {
                    if (!(i instanceof Long n)) throw new Func.FuncError("cannot index string with type " + GoFormat.typeName(i));
                    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
                    if (n < 0 || n >= bytes.length) throw new Func.FuncError("index out of range: " + n);
                    v = (long) (bytes[(int) (long) n] & 0xff);
                }
                case Map<?, ?> m -> {
                    if (!(i instanceof String)) throw new Func.FuncError("value has type " + GoFormat.typeName(i) + "; should be string");
                    v = m.containsKey(i) ? m.get(i) : null;
                }
                case null -> throw new Func.FuncError("index of untyped nil");
                default -> throw new Func.FuncError("can't index item of type " + GoFormat.typeName(v));
            }
        }
        return v;
    }

    private static boolean basic(Object o) {
        return o instanceof String || o instanceof Long || o instanceof Double || o instanceof Boolean;
    }

    static boolean equal(Object x, Object y) {
        if (x == GoFormat.NO_VALUE) x = null;
        if (y == GoFormat.NO_VALUE) y = null;
        if (x == null || y == null) return x == y;
        if (x instanceof Long a && y instanceof Double b) return a.doubleValue() == b;
        if (x instanceof Double a && y instanceof Long b) return a == b.doubleValue();
        if (!basic(x) || !basic(y)) {
            if (x instanceof GoStruct || y instanceof GoStruct) return x == y;
            throw new Func.FuncError("non-comparable type " + GoFormat.typeName(basic(x) ? y : x));
        }
        if (!x.getClass().equals(y.getClass())) throw new Func.FuncError("incompatible types for comparison");
        return x.equals(y);
    }

    static int compare(Object x, Object y) {
        if (x instanceof Long a && y instanceof Long b) return Long.compare(a, b);
        if ((x instanceof Long || x instanceof Double) && (y instanceof Long || y instanceof Double))
            return Double.compare(((Number) x).doubleValue(), ((Number) y).doubleValue());
        if (x instanceof String a && y instanceof String b) return a.compareTo(b);
        if (!basic(x) || !basic(y) || x instanceof Boolean || y instanceof Boolean)
            throw new Func.FuncError("invalid type for comparison");
        throw new Func.FuncError("incompatible types for comparison");
    }
}

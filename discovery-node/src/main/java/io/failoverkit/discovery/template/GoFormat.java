package io.failoverkit.discovery.template;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Go's fmt as templates use it: %v printing, Printf's common verbs, and encoding/json's output. */
final class GoFormat {
    /** An invalid value (a missing map key), printed "<no value>". */
    static final Object NO_VALUE = new Object() { @Override public String toString() { return "<no value>"; } };

    private GoFormat() {}

    static String print(Object v) {
        StringBuilder b = new StringBuilder();
        print(b, v, true);
        return b.toString();
    }

    private static void print(StringBuilder b, Object v, boolean top) {
        switch (v) {
            case null -> b.append("<nil>");
            case String s -> b.append(s);
            case Long l -> b.append(l);
            case Integer n -> b.append(n);
            case Double d -> b.append(formatFloat(d));
            case Boolean t -> b.append(t);
            case List<?> list -> {
                b.append('[');
                for (int k = 0; k < list.size(); k++) { if (k > 0) b.append(' '); print(b, list.get(k), false); }
                b.append(']');
            }
            case Map<?, ?> m -> {
                b.append("map[");
                boolean first = true;
                for (var e : sorted(m).entrySet()) {
                    if (!first) b.append(' ');
                    first = false;
                    print(b, e.getKey(), false);
                    b.append(':');
                    print(b, e.getValue(), false);
                }
                b.append(']');
            }
            case GoStruct s -> {
                if (top) b.append('&');
                b.append('{');
                boolean first = true;
                for (Object f : s.fields().values()) { if (!first) b.append(' '); first = false; print(b, f, false); }
                b.append('}');
            }
            default -> b.append(v == NO_VALUE ? "<no value>" : v.toString());
        }
    }

    static Map<Object, Object> sorted(Map<?, ?> m) {
        TreeMap<Object, Object> t = new TreeMap<>((a, c) -> String.valueOf(a).compareTo(String.valueOf(c)));
        t.putAll(m);
        return t;
    }

    /** %v of a float64: the shortest representation, exponent form for very large or small magnitudes. */
    static String formatFloat(double d) {
        if (Double.isNaN(d)) return "NaN";
        if (Double.isInfinite(d)) return d > 0 ? "+Inf" : "-Inf";
        if (d == 0) return (1 / d < 0) ? "-0" : "0";
        BigDecimal bd = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exp = bd.precision() - bd.scale() - 1;
        if (exp < -4 || exp >= 21) {
            String digits = bd.unscaledValue().abs().toString();
            String mant = digits.length() > 1 ? digits.charAt(0) + "." + digits.substring(1) : digits;
            return (d < 0 ? "-" : "") + mant + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
        }
        return bd.toPlainString();
    }

    /** Go's Sprintf for the verbs templates use: %v %s %d %q %x %X %o %b %c %f %e %g %t %T %%, with flags, width, precision. */
    static String sprintf(String format, List<Object> args) {
        StringBuilder out = new StringBuilder();
        int argi = 0;
        int n = format.length();
        for (int k = 0; k < n; k++) {
            char c = format.charAt(k);
            if (c != '%') { out.append(c); continue; }
            int start = k;
            k++;
            StringBuilder flags = new StringBuilder();
            while (k < n && "+-# 0".indexOf(format.charAt(k)) >= 0) flags.append(format.charAt(k++));
            Integer width = null, prec = null;
            int ws = k;
            while (k < n && Character.isDigit(format.charAt(k)) && k - ws < 6) k++;
            if (k > ws) width = Integer.parseInt(format.substring(ws, k));
            if (k < n && format.charAt(k) == '.') {
                k++;
                int ps = k;
                while (k < n && Character.isDigit(format.charAt(k)) && k - ps < 6) k++;
                prec = k > ps ? Integer.parseInt(format.substring(ps, k)) : 0;
            }
            if (k >= n) { out.append("%!(NOVERB)"); break; }
            char verb = format.charAt(k);
            if (verb == '%') { out.append('%'); continue; }
            if (argi >= args.size()) { out.append("%!").append(verb).append("(MISSING)"); continue; }
            Object a = args.get(argi++);
            out.append(pad(verb(verb, flags.toString(), prec, a), width, flags.indexOf("-") >= 0, flags.indexOf("0") >= 0 && "dxXobfeEgG".indexOf(verb) >= 0));
            if (start < 0) break;
        }
        if (argi < args.size()) {
            out.append("%!(EXTRA ");
            for (int k = argi; k < args.size(); k++) {
                if (k > argi) out.append(", ");
                out.append(typeName(args.get(k))).append('=').append(print(args.get(k)));
            }
            out.append(')');
        }
        return out.toString();
    }

    private static String pad(String s, Integer width, boolean left, boolean zero) {
        if (width == null || s.length() >= width) return s;
        String fill = (zero && !left ? "0" : " ").repeat(width - s.length());
        if (left) return s + fill.replace('0', ' ');
        if (zero && (s.startsWith("-") || s.startsWith("+"))) return s.charAt(0) + fill + s.substring(1);
        return fill + s;
    }

    private static String verb(char verb, String flags, Integer prec, Object a) {
        boolean plus = flags.indexOf('+') >= 0;
        switch (verb) {
            case 'v', 's' -> {
                String s = print(a);
                if (verb == 's' && prec != null && a instanceof String && s.length() > prec) s = s.substring(0, prec);
                return verb == 's' && !(a instanceof String) && !(a instanceof List) && !(a instanceof Map) && !(a instanceof GoStruct) && a != null && a != NO_VALUE && !(a instanceof Boolean)
                        ? "%!s(" + typeName(a) + "=" + s + ")" : s;
            }
            case 'd' -> {
                if (a instanceof Long l) return (plus && l >= 0 ? "+" : "") + l;
                return bad(verb, a);
            }
            case 'x', 'X', 'o', 'b' -> {
                int radix = verb == 'o' ? 8 : verb == 'b' ? 2 : 16;
                String r;
                if (a instanceof Long l) r = (l < 0 ? "-" : "") + Long.toString(Math.abs(l), radix).replace("-", "");
                else if (a instanceof String s && radix == 16) {
                    StringBuilder h = new StringBuilder();
                    for (byte by : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) h.append(String.format("%02x", by & 0xff));
                    r = h.toString();
                } else return bad(verb, a);
                if (flags.indexOf('#') >= 0 && radix == 16) r = "0x" + r;
                return verb == 'X' ? r.toUpperCase() : r;
            }
            case 'c' -> {
                if (a instanceof Long l && l >= 0 && l <= 0x10FFFF) return new String(Character.toChars((int) (long) l));
                return bad(verb, a);
            }
            case 'q' -> {
                if (a instanceof String s) return quote(s);
                if (a instanceof Long l && l >= 0 && l <= 0x10FFFF) return "'" + new String(Character.toChars((int) (long) l)) + "'";
                return bad(verb, a);
            }
            case 'f', 'F', 'e', 'E', 'g', 'G' -> {
                double d;
                if (a instanceof Double x) d = x;
                else if (a instanceof Long l) return "%!" + verb + "(int64=" + l + ")";
                else return bad(verb, a);
                String s;
                if (verb == 'g' || verb == 'G') s = prec == null ? formatFloat(d) : String.format("%." + Math.max(prec, 1) + "g", d);
                else s = String.format("%" + (prec == null ? ".6" : "." + prec) + (verb == 'F' ? 'f' : verb), d);
                return (plus && d >= 0 ? "+" : "") + s;
            }
            case 't' -> { return a instanceof Boolean t ? t.toString() : bad(verb, a); }
            case 'T' -> { return typeName(a); }
            default -> { return "%!" + verb + "(" + typeName(a) + "=" + print(a) + ")"; }
        }
    }

    private static String bad(char verb, Object a) { return "%!" + verb + "(" + typeName(a) + "=" + print(a) + ")"; }

    static String typeName(Object a) {
        return switch (a) {
            case null -> "<nil>";
            case String s -> "string";
            case Long l -> "int";
            case Double d -> "float64";
            case Boolean b -> "bool";
            case List<?> l -> "[]interface {}";
            case Map<?, ?> m -> "map[string]string";
            case GoStruct s -> "*" + s.type();
            default -> a == NO_VALUE ? "<no value>" : a.getClass().getSimpleName();
        };
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            switch (cp) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                default -> {
                    if (cp < 0x20 || cp == 0x7f) b.append(String.format("\\x%02x", cp));
                    else b.appendCodePoint(cp);
                }
            }
        });
        return b.append('"').toString();
    }

    /** encoding/json's Marshal (and MarshalIndent with two spaces): struct fields in order, map keys sorted, HTML characters escaped. */
    static String json(Object v, boolean pretty) {
        StringBuilder b = new StringBuilder();
        json(b, toPlain(v), pretty, 0);
        return b.toString();
    }

    private static void json(StringBuilder b, Object v, boolean pretty, int level) {
        switch (v) {
            case null -> b.append("null");
            case String s -> jsonString(b, s);
            case Double d -> b.append(Double.isFinite(d) ? formatFloat(d) : "null");
            case Long l -> b.append(l);
            case Boolean t -> b.append(t);
            case List<?> l -> {
                if (l.isEmpty()) { b.append("[]"); return; }
                b.append('[');
                for (int k = 0; k < l.size(); k++) {
                    if (k > 0) b.append(',');
                    if (pretty) b.append('\n').append("  ".repeat(level + 1));
                    json(b, l.get(k), pretty, level + 1);
                }
                if (pretty) b.append('\n').append("  ".repeat(level));
                b.append(']');
            }
            case Map<?, ?> m -> {
                if (m.isEmpty()) { b.append("{}"); return; }
                b.append('{');
                boolean first = true;
                for (var e : m.entrySet()) {
                    if (!first) b.append(',');
                    first = false;
                    if (pretty) b.append('\n').append("  ".repeat(level + 1));
                    jsonString(b, String.valueOf(e.getKey()));
                    b.append(pretty ? ": " : ":");
                    json(b, e.getValue(), pretty, level + 1);
                }
                if (pretty) b.append('\n').append("  ".repeat(level));
                b.append('}');
            }
            default -> jsonString(b, String.valueOf(v));
        }
    }

    private static void jsonString(StringBuilder b, String s) {
        b.append('"');
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == '<' || c == '>' || c == '&' || c == '\u2028' || c == '\u2029') b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }

    private static Object toPlain(Object v) {
        return switch (v) {
            case GoStruct s -> {
                var m = new java.util.LinkedHashMap<String, Object>();
                s.fields().forEach((k, x) -> m.put(k, toPlain(x)));
                yield m;
            }
            case List<?> l -> { List<Object> r = new ArrayList<>(); for (Object x : l) r.add(toPlain(x)); yield r; }
            case Integer n -> (long) n;
            case Map<?, ?> m -> { var r = new TreeMap<String, Object>(); m.forEach((k, x) -> r.put(String.valueOf(k), toPlain(x))); yield r; }
            case null -> null;
            default -> v == NO_VALUE ? null : v;
        };
    }
}

package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Consul's {@code ?filter=} expression language (HashiCorp's go-bexpr), parsed by hand and checked against the fields
 * an endpoint documents: {@code Selector == value}, {@code !=}, {@code value in Selector}, {@code not in},
 * {@code contains}, {@code not contains}, {@code is empty}, {@code is not empty}, {@code matches},
 * {@code not matches}, joined with {@code and}, {@code or}, {@code not} and parentheses. A selector that passes
 * through a list of objects (health's {@code Checks.Status}) matches when any element does, as bexpr's does.
 * Evaluated against the JSON an endpoint returns (the field names are Consul's).
 */
public final class Filter {
    /** The largest expression accepted, and how deep parentheses and {@code not}s may nest. */
    static final int MAX_LENGTH = 8192;
    static final int MAX_DEPTH = 64;

    /** A malformed expression or a selector the endpoint does not have: a 400 with the position. */
    public static final class FilterException extends IllegalArgumentException {
        public final int offset;

        FilterException(String text, int offset, String message) {
            super("Failed to create boolean expression evaluator: " + position(text, offset) + ": " + message);
            this.offset = offset;
        }

        private static String position(String text, int offset) {
            int line = 1;
            int col = 1;
            for (int i = 0; i < offset && i < text.length(); i++) {
                if (text.charAt(i) == '\n') { line++; col = 1; } else col++;
            }
            return line + ":" + col + " (" + offset + ")";
        }
    }

    // ------------------------------------------------------------------ schema

    /** The type of a field an endpoint documents for filtering. */
    public sealed interface Type permits Scalar, ListOf, MapOf, Struct {}

    public enum Scalar implements Type { STRING, INT, BOOL }

    /** A list: of strings ({@code Tags}) or of objects ({@code Checks}). */
    public record ListOf(Type element) implements Type {}

    /** A map of string keys to strings ({@code Meta}): {@code Meta.k} selects a value, {@code in} tests keys. */
    public record MapOf(Type value) implements Type {}

    public record Struct(Map<String, Type> fields) implements Type {
        /** Fields as name, type pairs. */
        public static Struct of(Object... nameType) {
            Map<String, Type> m = new LinkedHashMap<>();
            for (int i = 0; i < nameType.length; i += 2) m.put((String) nameType[i], (Type) nameType[i + 1]);
            return new Struct(Map.copyOf(m));
        }

        public Struct with(Object... nameType) {
            Map<String, Type> m = new LinkedHashMap<>(fields);
            m.putAll(of(nameType).fields);
            return new Struct(Map.copyOf(m));
        }
    }

    // ------------------------------------------------------------------ the tree

    enum Op {
        EQUAL("=="), NOT_EQUAL("!="), IN("in"), NOT_IN("not in"), CONTAINS("contains"), NOT_CONTAINS("not contains"),
        EMPTY("is empty"), NOT_EMPTY("is not empty"), MATCHES("matches"), NOT_MATCHES("not matches");

        final String spelling;

        Op(String spelling) { this.spelling = spelling; }

        boolean negative() { return this == NOT_EQUAL || this == NOT_IN || this == NOT_CONTAINS || this == NOT_EMPTY || this == NOT_MATCHES; }
    }

    sealed interface Expr permits And, Or, Not, Match {}

    record And(Expr left, Expr right) implements Expr {}

    record Or(Expr left, Expr right) implements Expr {}

    record Not(Expr inner) implements Expr {}

    /** {@code path} from the item's root; {@code value} null for the emptiness tests; {@code regex} for matches. */
    record Match(List<String> path, Op op, String value, Pattern regex) implements Expr {}

    private final Expr root;
    private final String text;

    private Filter(String text, Expr root) {
        this.text = text;
        this.root = root;
    }

    public String text() { return text; }

    /** Parses {@code text} for items of shape {@code schema}; a FilterException says where it is wrong. */
    public static Filter parse(String text, Struct schema) {
        if (text.length() > MAX_LENGTH) throw new FilterException(text, MAX_LENGTH, "expression longer than " + MAX_LENGTH + " characters");
        Parser p = new Parser(text, schema);
        p.skipSpace();
        if (p.pos >= text.length()) throw new FilterException(text, 0, "empty expression");
        Expr e = p.orExpr(0);
        p.skipSpace();
        if (p.pos < text.length()) throw new FilterException(text, p.pos, "unexpected \"" + p.snippet() + "\" (expected \"and\", \"or\" or the end)");
        return new Filter(text, e);
    }

    /** True when the item (the JSON an endpoint returns for it) satisfies the expression. */
    public boolean matches(JsonNode item) {
        return eval(root, item);
    }

    private static boolean eval(Expr e, JsonNode item) {
        return switch (e) {
            case And a -> eval(a.left, item) && eval(a.right, item);
            case Or o -> eval(o.left, item) || eval(o.right, item);
            case Not n -> !eval(n.inner, item);
            case Match m -> match(m, item, 0);
        };
    }

    /** Walks the selector; a list of objects on the way matches when any element does. */
    private static boolean match(Match m, JsonNode node, int depth) {
        if (depth == m.path.size()) return test(m, node);
        if (node != null && node.isArray()) {
            for (JsonNode el : node) if (match(m, el, depth)) return true;
            return false;
        }
        JsonNode next = node == null || !node.isObject() ? null : node.get(m.path.get(depth));
        return match(m, next, depth + 1);
    }

    private static boolean test(Match m, JsonNode v) {
        boolean missing = v == null || v.isNull() || v.isMissingNode();
        return switch (m.op) {
            case EMPTY -> missing || isEmpty(v);
            case NOT_EMPTY -> !(missing || isEmpty(v));
            case EQUAL -> !missing && !v.isContainerNode() && scalar(v).equals(m.value);
            case NOT_EQUAL -> missing || v.isContainerNode() || !scalar(v).equals(m.value);
            case IN, CONTAINS -> !missing && contains(v, m.value);
            case NOT_IN, NOT_CONTAINS -> missing || !contains(v, m.value);
            case MATCHES -> !missing && !v.isContainerNode() && m.regex.matcher(scalar(v)).find();
            case NOT_MATCHES -> missing || v.isContainerNode() || !m.regex.matcher(scalar(v)).find();
        };
    }

    private static boolean isEmpty(JsonNode v) {
        if (v.isContainerNode()) return v.isEmpty();
        return v.isTextual() && v.asText().isEmpty();
    }

    private static String scalar(JsonNode v) {
        return v.isTextual() ? v.asText() : v.isBoolean() ? Boolean.toString(v.asBoolean()) : v.asText();
    }

    private static boolean contains(JsonNode v, String value) {
        if (v.isArray()) {
            for (JsonNode el : v) if (!el.isContainerNode() && scalar(el).equals(value)) return true;
            return false;
        }
        if (v.isObject()) {
            for (Iterator<String> it = v.fieldNames(); it.hasNext(); ) if (it.next().equals(value)) return true;
            return false;
        }
        return scalar(v).contains(value);
    }

    // ------------------------------------------------------------------ parser

    private static final class Parser {
        final String text;
        final Struct schema;
        int pos;

        Parser(String text, Struct schema) {
            this.text = text;
            this.schema = schema;
        }

        FilterException error(int at, String message) {
            return new FilterException(text, at, message);
        }

        String snippet() {
            int end = Math.min(text.length(), pos + 20);
            return text.substring(pos, end);
        }

        void skipSpace() {
            while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) pos++;
        }

        /** The keyword at pos (a whole word), without consuming it. */
        boolean atWord(String word) {
            skipSpace();
            if (!text.startsWith(word, pos)) return false;
            int end = pos + word.length();
            return end >= text.length() || !isWordChar(text.charAt(end));
        }

        boolean eatWord(String word) {
            if (!atWord(word)) return false;
            pos += word.length();
            return true;
        }

        void depth(int depth) {
            if (depth > MAX_DEPTH) throw error(pos, "expression nested deeper than " + MAX_DEPTH + " levels");
        }

        Expr orExpr(int depth) {
            depth(depth);
            Expr left = andExpr(depth);
            while (eatWord("or")) left = new Or(left, andExpr(depth));
            return left;
        }

        Expr andExpr(int depth) {
            Expr left = notExpr(depth);
            while (eatWord("and")) left = new And(left, notExpr(depth));
            return left;
        }

        Expr notExpr(int depth) {
            depth(depth);
            skipSpace();
            int at = pos;
            if (eatWord("not")) {
                // "not" followed by "in"/"contains"/... belongs to a match ("value not in X" is handled there).
                skipSpace();
                return new Not(notExpr(depth + 1));
            }
            pos = at;
            return primary(depth);
        }

        Expr primary(int depth) {
            skipSpace();
            if (pos >= text.length()) throw error(pos, "unexpected end of expression (expected a selector, a value or \"(\")");
            if (text.charAt(pos) == '(') {
                pos++;
                Expr inner = orExpr(depth + 1);
                skipSpace();
                if (pos >= text.length() || text.charAt(pos) != ')') throw error(pos, "expected \")\"");
                pos++;
                return inner;
            }
            return match();
        }

        /** One comparison: {@code Sel op value}, {@code Sel is [not] empty} or {@code value [not] in Sel}. */
        Expr match() {
            int start = pos;
            Token first = operand();
            skipSpace();
            int opAt = pos;
            if (text.startsWith("==", pos) || text.startsWith("!=", pos)) {
                Op op = text.charAt(pos) == '=' ? Op.EQUAL : Op.NOT_EQUAL;
                pos += 2;
                return withValue(first, start, op, value(), opAt);
            }
            if (eatWord("is")) {
                boolean not = eatWord("not");
                if (!eatWord("empty")) throw error(pos, "expected \"empty\" after \"is" + (not ? " not" : "") + "\"");
                return finish(first, start, not ? Op.NOT_EMPTY : Op.EMPTY, null, opAt);
            }
            boolean not = false;
            int save = pos;
            if (eatWord("not")) not = true;
            if (eatWord("in")) {
                // value [not] in Selector: the selector comes second.
                skipSpace();
                int selAt = pos;
                Token sel = operand();
                return withValue(sel, selAt, not ? Op.NOT_IN : Op.IN, first, opAt);
            }
            if (eatWord("contains")) return withValue(first, start, not ? Op.NOT_CONTAINS : Op.CONTAINS, value(), opAt);
            if (eatWord("matches")) return withValue(first, start, not ? Op.NOT_MATCHES : Op.MATCHES, value(), opAt);
            pos = not ? save : pos;
            if (pos >= text.length()) throw error(pos, "unexpected end of expression (expected ==, !=, in, not in, contains, not contains, matches, not matches, is empty or is not empty)");
            throw error(pos, "unexpected \"" + snippet() + "\" (expected ==, !=, in, not in, contains, not contains, matches, not matches, is empty or is not empty)");
        }

        Expr withValue(Token selector, int selAt, Op op, Token value, int opAt) {
            return finish(selector, selAt, op, value, opAt);
        }

        Expr finish(Token selector, int selAt, Op op, Token value, int opAt) {
            if (selector.quoted) throw error(selAt, "expected a selector, found the quoted value \"" + selector.text + "\"");
            List<String> path = selector.path;
            Type type = resolve(path, selAt, selector.text);
            check(type, op, selector.text, opAt, value);
            Pattern regex = null;
            if (op == Op.MATCHES || op == Op.NOT_MATCHES) {
                try {
                    regex = Pattern.compile(value.text);
                } catch (PatternSyntaxException e) {
                    throw error(value.at, "invalid regular expression \"" + value.text + "\": " + e.getDescription());
                }
            }
            String v = value == null ? null : value.text;
            if (v != null && type instanceof Scalar s && (op == Op.EQUAL || op == Op.NOT_EQUAL)) v = coerce(s, v, value.at, selector.text);
            return new Match(path, op, v, regex);
        }

        Type resolve(List<String> path, int at, String spelled) {
            Type t = schema;
            for (String part : path) {
                while (t instanceof ListOf l && l.element() instanceof Struct) t = l.element();
                if (part.isEmpty()) throw error(at, "Selector \"" + spelled + "\" is not valid");
                if (t instanceof Struct s) {
                    t = s.fields().get(part);
                    if (t == null) throw error(at, "Selector \"" + spelled + "\" is not valid");
                } else if (t instanceof MapOf m) {
                    t = m.value();
                } else {
                    throw error(at, "Selector \"" + spelled + "\" is not valid");
                }
            }
            return t;
        }

        void check(Type type, Op op, String selector, int opAt, Token value) {
            boolean ok = switch (type) {
                case Scalar s when s == Scalar.STRING -> true;
                case Scalar s -> op == Op.EQUAL || op == Op.NOT_EQUAL;
                case ListOf l -> l.element() == Scalar.STRING && (op == Op.IN || op == Op.NOT_IN || op == Op.CONTAINS || op == Op.NOT_CONTAINS
                        || op == Op.EMPTY || op == Op.NOT_EMPTY) || l.element() instanceof Struct && (op == Op.EMPTY || op == Op.NOT_EMPTY);
                case MapOf m -> op == Op.IN || op == Op.NOT_IN || op == Op.CONTAINS || op == Op.NOT_CONTAINS || op == Op.EMPTY || op == Op.NOT_EMPTY;
                case Struct s -> false;
            };
            if (!ok) throw error(opAt, "Invalid match operator \"" + op.spelling + "\" for selector \"" + selector + "\"");
            if (value != null && op != Op.EMPTY && op != Op.NOT_EMPTY && value.text == null) throw error(opAt, "missing value");
        }

        String coerce(Scalar s, String v, int at, String selector) {
            switch (s) {
                case INT -> {
                    try {
                        return Long.toString(Long.parseLong(v));
                    } catch (NumberFormatException e) {
                        throw error(at, "Failed to coerce value \"" + v + "\" for selector \"" + selector + "\": not an integer");
                    }
                }
                case BOOL -> {
                    if (v.equals("true") || v.equals("false")) return v;
                    throw error(at, "Failed to coerce value \"" + v + "\" for selector \"" + selector + "\": not true or false");
                }
                default -> { return v; }
            }
        }

        /** The value after ==, !=, contains or matches: as bexpr, a bare word there is a value even if it spells a keyword. */
        Token value() {
            return operand(true);
        }

        Token operand() {
            return operand(false);
        }

        /** A selector or a value: a quoted string, or an unquoted word (letters, digits and _ - . / :). */
        Token operand(boolean keywordsAreValues) {
            skipSpace();
            int at = pos;
            if (pos >= text.length()) throw error(pos, "unexpected end of expression (expected a selector or a value)");
            char c = text.charAt(pos);
            if (c == '"' || c == '`') return quoted(c);
            int start = pos;
            while (pos < text.length() && isWordChar(text.charAt(pos))) pos++;
            if (pos == start) throw error(pos, "unexpected \"" + snippet() + "\" (expected a selector or a value)");
            String word = text.substring(start, pos);
            List<String> path = new ArrayList<>(List.of(word.split("\\.", -1)));
            // Map keys that are not identifiers: Meta["some key"] (bexpr's index expression).
            while (pos < text.length() && text.charAt(pos) == '[') {
                pos++;
                skipSpace();
                if (pos >= text.length() || (text.charAt(pos) != '"' && text.charAt(pos) != '`')) throw error(pos, "Invalid index (expected a quoted key)");
                Token key = quoted(text.charAt(pos));
                skipSpace();
                if (pos >= text.length() || text.charAt(pos) != ']') throw error(pos, "Unclosed index expression");
                pos++;
                path.add(key.text);
                word = word + "[\"" + key.text + "\"]";
            }
            if (!keywordsAreValues && (word.equals("and") || word.equals("or") || word.equals("not") || word.equals("in") || word.equals("is")
                    || word.equals("contains") || word.equals("matches") || word.equals("empty"))) {
                throw error(at, "unexpected keyword \"" + word + "\" (expected a selector or a value)");
            }
            return new Token(word, false, at, List.copyOf(path));
        }

        Token quoted(char quote) {
            int at = pos;
            pos++;
            StringBuilder sb = new StringBuilder();
            while (true) {
                if (pos >= text.length()) throw error(at, "unterminated string (missing the closing " + quote + ")");
                char c = text.charAt(pos++);
                if (c == quote) break;
                if (c == '\\' && quote == '"') {
                    if (pos >= text.length()) throw error(at, "unterminated string (missing the closing \")");
                    char e = text.charAt(pos++);
                    switch (e) {
                        case '"', '\\', '/' -> sb.append(e);
                        case 'n' -> sb.append('\n');
                        case 't' -> sb.append('\t');
                        case 'r' -> sb.append('\r');
                        case 'u' -> {
                            if (pos + 4 > text.length()) throw error(pos - 2, "bad \\u escape");
                            try {
                                sb.append((char) Integer.parseInt(text.substring(pos, pos + 4), 16));
                            } catch (NumberFormatException ex) {
                                throw error(pos - 2, "bad \\u escape");
                            }
                            pos += 4;
                        }
                        default -> throw error(pos - 2, "unknown escape \\" + e);
                    }
                } else {
                    sb.append(c);
                }
            }
            return new Token(sb.toString(), true, at, List.of());
        }
    }

    private static boolean isWordChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_' || c == '-' || c == '.' || c == '/' || c == ':';
    }

    /** An operand as written ({@code text}), and, unquoted, the selector path it names. */
    private record Token(String text, boolean quoted, int at, List<String> path) {}

    /** The items that match, in their order; {@code shape} gives the JSON the endpoint returns for one. */
    public <T> List<T> select(List<T> items, java.util.function.Function<T, JsonNode> shape) {
        List<T> out = new ArrayList<>(items.size());
        for (T item : items) if (matches(shape.apply(item))) out.add(item);
        return out;
    }
}

package io.failoverkit.discovery.acl;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * One policy's rules in Consul's language, parsed: for every named kind the exact rules ({@code key "a/b"}) and the
 * prefix rules ({@code key_prefix "a/"}), and the single rules of {@code operator} and {@code acl}.
 *
 * <p>Both of Consul's spellings are read by one small parser: HCL ({@code key_prefix "foo/" { policy = "write" }},
 * {@code operator = "read"}, comments with {@code #}, {@code //} and {@code /* *}{@code /}) and its JSON form
 * ({@code {"key_prefix": {"foo/": {"policy": "write"}}, "operator": "read"}}, a kind's value may also be a list of such
 * objects). JSON is HCL's object syntax with {@code :} for {@code =} and quoted keys, so one grammar covers both and
 * every error names the line and column where it was found. Anything outside the subset (an unknown rule word, a
 * field other than {@code policy}, {@code list} on a kind other than keys) is refused, never ignored: a typo must not
 * silently grant or deny less than the operator wrote.
 *
 * <p>The same name given twice for one kind (in one policy, or in several policies of a token, see
 * {@link #merge}) keeps the stronger disposition as Consul's policy merger does: deny over write over list over read.
 */
public final class Rules {
    /** Rules that do not parse: {@code line} and {@code column} (1-based) of the offending token. */
    public static final class ParseError extends Exception {
        public final int line;
        public final int column;

        ParseError(int line, int column, String reason) {
            super("Failed to parse ACL rules: At " + line + ":" + column + ": " + reason);
            this.line = line;
            this.column = column;
        }
    }

    private final EnumMap<Resource, TreeMap<String, Access>> exact = new EnumMap<>(Resource.class);
    private final EnumMap<Resource, TreeMap<String, Access>> prefix = new EnumMap<>(Resource.class);
    private final EnumMap<Resource, Access> unnamed = new EnumMap<>(Resource.class);

    private Rules() {
        for (Resource r : Resource.values()) {
            if (r.named()) {
                exact.put(r, new TreeMap<>());
                prefix.put(r, new TreeMap<>());
            }
        }
    }

    public static final Rules EMPTY = new Rules();

    /** Exact-name rules of a named kind (unmodifiable). */
    public Map<String, Access> exact(Resource kind) { return Collections.unmodifiableMap(exact.get(kind)); }

    /** Prefix rules of a named kind (unmodifiable). */
    public Map<String, Access> prefix(Resource kind) { return Collections.unmodifiableMap(prefix.get(kind)); }

    /** The rule of {@code operator} or {@code acl}, or null when the rules say nothing about it. */
    public Access unnamed(Resource kind) { return unnamed.get(kind); }

    /**
     * The disposition that wins when two rules name the same thing, as Consul's policy merger orders them: deny
     * first (an explicit refusal must never be undone by another policy on the same token), then write, list, read.
     */
    static Access stronger(Access a, Access b) {
        if (a == null) return b;
        if (b == null) return a;
        if (a == Access.DENY || b == Access.DENY) return Access.DENY;
        return a.compareTo(b) >= 0 ? a : b;
    }

    /** Several policies' rules as one, as Consul merges a token's policies (see {@link #stronger}). */
    public static Rules merge(List<Rules> all) {
        Rules m = new Rules();
        for (Rules r : all) {
            for (Resource k : Resource.values()) {
                if (k.named()) {
                    r.exact.get(k).forEach((n, a) -> m.exact.get(k).merge(n, a, Rules::stronger));
                    r.prefix.get(k).forEach((n, a) -> m.prefix.get(k).merge(n, a, Rules::stronger));
                } else if (r.unnamed.get(k) != null) {
                    m.unnamed.merge(k, r.unnamed.get(k), Rules::stronger);
                }
            }
        }
        return m;
    }

    // ---------------------------------------------------------------- parsing

    /** Parses rules in HCL or JSON; blank text is no rules. */
    public static Rules parse(String text) throws ParseError {
        if (text == null || text.isBlank()) return EMPTY;
        Parser p = new Parser(text);
        List<Entry> entries = p.document();
        Rules r = new Rules();
        for (Entry e : entries) r.add(e);
        return r;
    }

    private void add(Entry e) throws ParseError {
        String word = e.key;
        if (word.equals("operator") || word.equals("acl") || word.equals("keyring")) {
            Resource kind = switch (word) { case "operator" -> Resource.OPERATOR; case "acl" -> Resource.ACL; default -> Resource.KEYRING; };
            if (!(e.value instanceof Str s)) throw new ParseError(e.line, e.col, "\"" + word + "\" takes a policy: " + word + " = \"read\"");
            Access a = disposition(s, false, word);
            unnamed.merge(kind, a, Rules::stronger);
            return;
        }
        boolean isPrefix = word.endsWith("_prefix");
        String base = isPrefix ? word.substring(0, word.length() - "_prefix".length()) : word;
        Resource kind = null;
        for (Resource r : Resource.values()) if (r.named() && r.ruleWord().equals(base)) kind = r;
        if (kind == null) throw new ParseError(e.line, e.col, "unknown rule \"" + word + "\" (expected key, key_prefix, service, service_prefix, node, node_prefix, "
                + "session, session_prefix, event, event_prefix, agent, agent_prefix, query, query_prefix, operator, keyring or acl)");
        List<Obj> groups = new ArrayList<>();
        if (e.value instanceof Obj o) groups.add(o);
        else if (e.value instanceof Arr a) {
            for (Value v : a.items) {
                if (!(v instanceof Obj o)) throw new ParseError(v.line(), v.col(), "\"" + word + "\" expects objects of names");
                groups.add(o);
            }
        } else {
            throw new ParseError(e.value.line(), e.value.col(), "\"" + word + "\" takes a name and a block: " + word + " \"name\" { policy = \"read\" }");
        }
        for (Obj g : groups) {
            for (Entry named : g.entries) {
                if (!(named.value instanceof Obj body)) {
                    throw new ParseError(named.value.line(), named.value.col(), word + " \"" + named.key + "\" needs a block: { policy = \"read\" }");
                }
                Access access = null;
                for (Entry field : body.entries) {
                    if (!field.key.equals("policy")) throw new ParseError(field.line, field.col, "unknown field \"" + field.key + "\" in " + word + " \"" + named.key + "\" (only \"policy\" is supported)");
                    if (!(field.value instanceof Str s)) throw new ParseError(field.value.line(), field.value.col(), "\"policy\" must be a string");
                    access = stronger(access, disposition(s, kind == Resource.KEY, word));
                }
                if (access == null) throw new ParseError(named.line, named.col, word + " \"" + named.key + "\" has no policy");
                (isPrefix ? prefix : exact).get(kind).merge(named.key, access, Rules::stronger);
            }
        }
    }

    private static Access disposition(Str s, boolean listAllowed, String word) throws ParseError {
        String v = s.text;
        switch (v) {
            case "read": return Access.READ;
            case "write": return Access.WRITE;
            case "deny": return Access.DENY;
            case "list":
                if (listAllowed) return Access.LIST;
                throw new ParseError(s.line, s.col, "policy \"list\" is only valid for key and key_prefix rules, not " + word);
            default:
                throw new ParseError(s.line, s.col, "invalid policy \"" + v + "\" for " + word + " (expected read, write, " + (listAllowed ? "list, " : "") + "deny)");
        }
    }

    /** The rules written back as HCL, in a stable order (for tests and messages). */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (Resource k : Resource.values()) {
            if (!k.named()) {
                if (unnamed.get(k) != null) b.append(k.ruleWord()).append(" = \"").append(unnamed.get(k).name().toLowerCase(Locale.ROOT)).append("\"\n");
                continue;
            }
            exact.get(k).forEach((n, a) -> b.append(k.ruleWord()).append(" \"").append(n).append("\" { policy = \"").append(a.name().toLowerCase(Locale.ROOT)).append("\" }\n"));
            prefix.get(k).forEach((n, a) -> b.append(k.ruleWord()).append("_prefix \"").append(n).append("\" { policy = \"").append(a.name().toLowerCase(Locale.ROOT)).append("\" }\n"));
        }
        return b.toString();
    }

    // ---------------------------------------------------------------- the syntax tree and its parser

    private sealed interface Value permits Str, Obj, Arr {
        int line();
        int col();
    }

    private record Str(String text, int line, int col) implements Value {}

    private record Obj(List<Entry> entries, int line, int col) implements Value {}

    private record Arr(List<Value> items, int line, int col) implements Value {}

    private record Entry(String key, Value value, int line, int col) {}

    /**
     * HCL's object grammar (JSON included): document := '{' body '}' | body; body := (entry ','?)*;
     * entry := key (('='|':') value | label* '{' body '}'); key := identifier | string; value := string | identifier |
     * number | '{' body '}' | '[' (value ','?)* ']'. {@code key "a" "b" { ... }} reads as {@code key = {"a" = {"b" = {...}}}}.
     */
    private static final class Parser {
        private final String s;
        private int pos;
        private int line = 1;
        private int col = 1;

        Parser(String s) { this.s = s; }

        List<Entry> document() throws ParseError {
            skip();
            List<Entry> out;
            if (pos < s.length() && peek() == '{') {
                next();
                out = body('}');
                expect('}');
            } else {
                out = body((char) 0);
            }
            skip();
            if (pos < s.length()) throw error("unexpected \"" + peek() + "\" after the end of the rules");
            return out;
        }

        private List<Entry> body(char close) throws ParseError {
            List<Entry> out = new ArrayList<>();
            while (true) {
                skip();
                if (pos >= s.length()) {
                    if (close != 0) throw error("unexpected end of the rules: \"" + close + "\" missing");
                    return out;
                }
                if (peek() == close) return out;
                out.add(entry());
                skip();
                if (pos < s.length() && peek() == ',') next();
            }
        }

        private Entry entry() throws ParseError {
            int l = line, c = col;
            String key = key();
            skip();
            if (pos >= s.length()) throw error("unexpected end of the rules after \"" + key + "\"");
            char ch = peek();
            if (ch == '=' || ch == ':') {
                next();
                skip();
                return new Entry(key, value(), l, c);
            }
            // key "label" ... { body }
            List<Str> labels = new ArrayList<>();
            while (pos < s.length() && peek() == '"') {
                int ll = line, lc = col;
                labels.add(new Str(string(), ll, lc));
                skip();
            }
            if (pos >= s.length() || peek() != '{') throw error("expected \"=\", a quoted name or \"{\" after \"" + key + "\"");
            int bl = line, bc = col;
            next();
            Value v = new Obj(body('}'), bl, bc);
            expect('}');
            for (int i = labels.size() - 1; i >= 0; i--) {
                Str lab = labels.get(i);
                v = new Obj(List.of(new Entry(lab.text, v, lab.line, lab.col)), lab.line, lab.col);
            }
            return new Entry(key, v, l, c);
        }

        private Value value() throws ParseError {
            if (pos >= s.length()) throw error("unexpected end of the rules: a value is missing");
            int l = line, c = col;
            char ch = peek();
            if (ch == '"') return new Str(string(), l, c);
            if (ch == '{') {
                next();
                List<Entry> b = body('}');
                expect('}');
                return new Obj(b, l, c);
            }
            if (ch == '[') {
                next();
                List<Value> items = new ArrayList<>();
                while (true) {
                    skip();
                    if (pos >= s.length()) throw error("unexpected end of the rules: \"]\" missing");
                    if (peek() == ']') { next(); return new Arr(items, l, c); }
                    items.add(value());
                    skip();
                    if (pos < s.length() && peek() == ',') next();
                }
            }
            if (Character.isLetterOrDigit(ch) || ch == '-') return new Str(bare(), l, c);
            throw error("unexpected \"" + ch + "\": expected a value");
        }

        private String key() throws ParseError {
            char ch = peek();
            if (ch == '"') return string();
            if (Character.isLetter(ch) || ch == '_') return bare();
            throw error("unexpected \"" + ch + "\": expected a rule such as key_prefix \"\" { policy = \"read\" }");
        }

        private String bare() {
            int start = pos;
            while (pos < s.length() && (Character.isLetterOrDigit(peek()) || peek() == '_' || peek() == '-' || peek() == '.')) next();
            return s.substring(start, pos);
        }

        private String string() throws ParseError {
            int l = line, c = col;
            next(); // opening quote
            StringBuilder b = new StringBuilder();
            while (true) {
                if (pos >= s.length() || peek() == '\n') throw new ParseError(l, c, "unterminated string");
                char ch = next();
                if (ch == '"') return b.toString();
                if (ch == '\\') {
                    if (pos >= s.length()) throw new ParseError(l, c, "unterminated string");
                    char e = next();
                    switch (e) {
                        case '"', '\\', '/' -> b.append(e);
                        case 'n' -> b.append('\n');
                        case 't' -> b.append('\t');
                        case 'r' -> b.append('\r');
                        case 'u' -> {
                            if (pos + 4 > s.length()) throw error("bad \\u escape");
                            try {
                                b.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16));
                            } catch (NumberFormatException x) {
                                throw error("bad \\u escape");
                            }
                            for (int i = 0; i < 4; i++) next();
                        }
                        default -> throw error("unknown escape \\" + e);
                    }
                } else {
                    b.append(ch);
                }
            }
        }

        private void expect(char ch) throws ParseError {
            skip();
            if (pos >= s.length()) throw error("unexpected end of the rules: \"" + ch + "\" missing");
            if (peek() != ch) throw error("expected \"" + ch + "\", found \"" + peek() + "\"");
            next();
        }

        /** Skips blanks and comments. */
        private void skip() throws ParseError {
            while (pos < s.length()) {
                char ch = peek();
                if (Character.isWhitespace(ch)) {
                    next();
                } else if (ch == '#' || (ch == '/' && pos + 1 < s.length() && s.charAt(pos + 1) == '/')) {
                    while (pos < s.length() && peek() != '\n') next();
                } else if (ch == '/' && pos + 1 < s.length() && s.charAt(pos + 1) == '*') {
                    int l = line, c = col;
                    next();
                    next();
                    while (true) {
                        if (pos + 1 >= s.length()) throw new ParseError(l, c, "unterminated comment");
                        if (peek() == '*' && s.charAt(pos + 1) == '/') { next(); next(); break; }
                        next();
                    }
                } else {
                    return;
                }
            }
        }

        private char peek() { return s.charAt(pos); }

        private char next() {
            char ch = s.charAt(pos++);
            if (ch == '\n') { line++; col = 1; } else { col++; }
            return ch;
        }

        private ParseError error(String reason) { return new ParseError(line, col, reason); }
    }
}

package io.failoverkit.discovery.template;

import io.failoverkit.discovery.template.Lexer.Kind;
import io.failoverkit.discovery.template.Lexer.Token;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;

/** Parses the tokens of {@link Lexer} into a {@link Node} tree with Go text/template's grammar and checks. */
final class Parser {
    static final int MAX_DEPTH = 100;

    private final Lexer lx;
    private final List<Token> toks;
    private final Predicate<String> isFunction;
    private final List<String> vars = new ArrayList<>();
    private int p;
    private int depth;
    private int rangeDepth;

    private Parser(Lexer lx, List<Token> toks, Predicate<String> isFunction) {
        this.lx = lx;
        this.toks = toks;
        this.isFunction = isFunction;
    }

    static Node.ListNode parse(String name, String text, Predicate<String> isFunction) throws TemplateException {
        Lexer lx = new Lexer(name, text);
        Parser ps = new Parser(lx, lx.lex(), isFunction);
        ps.vars.add("$");
        Node.ListNode root = ps.list(Set.of());
        Token t = ps.peek();
        if (t.kind() != Kind.EOF) throw ps.err(t, "unexpected " + ps.describe(t));
        return root;
    }

    private Token peek() { return toks.get(p); }
    private Token peek(int k) { return toks.get(Math.min(p + k, toks.size() - 1)); }
    private Token next() {
        Token t = toks.get(p);
        if (t.kind() != Kind.EOF) p++;
        return t;
    }
    private Pos pos(Token t) { return lx.pos(t.offset()); }
    private TemplateException err(Token t, String reason) { return lx.error(t.offset(), reason); }

    private String describe(Token t) {
        return switch (t.kind()) {
            case EOF -> "EOF";
            case RIGHT -> "\"}}\"";
            case LEFT -> "\"{{\"";
            case KEYWORD -> "{{" + t.text() + "}}";
            default -> "\"" + t.text() + "\"";
        };
    }

    /** Text and actions until {{end}} or {{else}} (when allowed by stop), left for the caller. */
    private Node.ListNode list(Set<String> stop) throws TemplateException {
        if (++depth > MAX_DEPTH) throw err(peek(), "template nested too deeply (more than " + MAX_DEPTH + " levels)");
        Pos start = pos(peek());
        List<Node> nodes = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.kind() == Kind.EOF) break;
            if (t.kind() == Kind.TEXT) { next(); nodes.add(new Node.Text(pos(t), t.text())); continue; }
            // t is LEFT
            Token kw = peek(1);
            if (kw.kind() == Kind.KEYWORD && (kw.text().equals("end") || kw.text().equals("else"))) {
                if (!stop.contains(kw.text())) throw err(kw, "unexpected " + describe(kw));
                break;
            }
            next();
            nodes.add(action(t));
        }
        depth--;
        return new Node.ListNode(start, nodes);
    }

    private Node action(Token left) throws TemplateException {
        Token t = peek();
        if (t.kind() == Kind.KEYWORD) {
            next();
            switch (t.text()) {
                case "if", "range", "with" -> { return branch(t); }
                case "break", "continue" -> {
                    if (rangeDepth == 0) throw err(t, "{{" + t.text() + "}} outside {{range}}");
                    expect(Kind.RIGHT, t.text());
                    return t.text().equals("break") ? new Node.Break(pos(t)) : new Node.Continue(pos(t));
                }
                default -> throw err(t, "{{" + t.text() + "}} is not supported here (define, template and block are not implemented)");
            }
        }
        Node.Pipe pipe = pipeline("command", Kind.RIGHT);
        return new Node.Action(pos(left), pipe);
    }

    private void expect(Kind k, String context) throws TemplateException {
        Token t = next();
        if (t.kind() != k) throw err(t, "unexpected " + describe(t) + " in " + context);
    }

    /** if/range/with PIPE }} LIST [{{else [if|with ...]}} LIST] {{end}}. */
    private Node branch(Token kw) throws TemplateException {
        if (++depth > MAX_DEPTH) throw err(kw, "template nested too deeply (more than " + MAX_DEPTH + " levels)");
        try {
            return branchBody(kw);
        } finally {
            depth--;
        }
    }

    private Node branchBody(Token kw) throws TemplateException {
        String kind = kw.text();
        int mark = vars.size();
        Node.Pipe pipe = pipeline(kind, Kind.RIGHT);
        if (kind.equals("range")) rangeDepth++;
        Node.ListNode list = list(Set.of("end", "else"));
        if (kind.equals("range")) rangeDepth--;
        requireEnd(kw);
        Node.ListNode elseList = null;
        next(); // LEFT
        Token k = next(); // end or else
        if (k.text().equals("else")) {
            Token after = peek();
            if ((kind.equals("if") && after.kind() == Kind.KEYWORD && after.text().equals("if"))
                    || (kind.equals("with") && after.kind() == Kind.KEYWORD && after.text().equals("with"))) {
                // {{else if ...}} / {{else with ...}}: a nested branch that shares our {{end}}
                next();
                truncate(mark);
                Node inner = branch(after);
                elseList = new Node.ListNode(inner.pos(), List.of(inner));
                return new Node.Branch(pos(kw), kind, pipe, list, elseList);
            }
            expect(Kind.RIGHT, "else");
            truncate(mark);
            if (++depth > MAX_DEPTH) throw err(k, "template nested too deeply");
            elseList = list(Set.of("end"));
            depth--;
            requireEnd(kw);
            next(); // LEFT
            next(); // end
        }
        expect(Kind.RIGHT, "end");
        truncate(mark);
        return new Node.Branch(pos(kw), kind, pipe, list, elseList);
    }

    private void requireEnd(Token kw) throws TemplateException {
        if (peek().kind() == Kind.EOF) {
            Pos at = pos(kw);
            throw err(peek(), "unexpected EOF: {{" + kw.text() + "}} at " + at.line() + ":" + at.col() + " has no {{end}}");
        }
    }

    private void truncate(int mark) {
        while (vars.size() > mark) vars.remove(vars.size() - 1);
    }

    /** [$x := | $x = | $i, $e :=] command ('|' command)* up to end (RIGHT or RPAREN). */
    private Node.Pipe pipeline(String context, Kind end) throws TemplateException {
        Token first = peek();
        List<String> declared = new ArrayList<>();
        boolean declare = false;
        if (first.kind() == Kind.VARIABLE) {
            Token op = peek(1);
            if (op.kind() == Kind.DECLARE || op.kind() == Kind.ASSIGN) {
                next(); next();
                declared.add(first.text());
                declare = op.kind() == Kind.DECLARE;
            } else if (op.kind() == Kind.COMMA && context.equals("range") && peek(2).kind() == Kind.VARIABLE
                    && (peek(3).kind() == Kind.DECLARE || peek(3).kind() == Kind.ASSIGN)) {
                declared.add(first.text());
                declared.add(peek(2).text());
                declare = peek(3).kind() == Kind.DECLARE;
                p += 4;
            }
            if (!declare) for (String v : declared) if (!vars.contains(v)) throw err(first, "undefined variable \"" + v + "\"");
        }
        List<Node.Command> cmds = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.kind() == end) {
                next();
                break;
            }
            if (t.kind() == Kind.EOF || t.kind() == Kind.RIGHT || t.kind() == Kind.RPAREN) throw err(t, "unexpected " + describe(t) + " in " + context);
            if (t.kind() == Kind.PIPE) {
                if (cmds.isEmpty()) throw err(t, "missing command before \"|\" in " + context);
                next();
                Token after = peek();
                if (after.kind() == end || after.kind() == Kind.PIPE) throw err(after, "missing command after \"|\" in " + context);
                continue;
            }
            Node.Command cmd = command(context);
            Node head = cmd.args().get(0);
            if (!cmds.isEmpty() && (head instanceof Node.Literal || head instanceof Node.Nil || head instanceof Node.Dot))
                throw err(t, "non executable command in pipeline stage " + (cmds.size() + 1));
            cmds.add(cmd);
        }
        if (cmds.isEmpty()) throw err(first, "missing value for " + context);
        if (declare) vars.addAll(declared);
        return new Node.Pipe(pos(first), declared, declare, cmds);
    }

    private Node.Command command(String context) throws TemplateException {
        Token first = peek();
        List<Node> args = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.kind() == Kind.PIPE || t.kind() == Kind.RIGHT || t.kind() == Kind.RPAREN || t.kind() == Kind.EOF) break;
            if (!args.isEmpty() && !t.spaceBefore() && t.kind() != Kind.LPAREN)
                throw err(t, "missing space before " + describe(t) + " in " + context);
            args.add(operand(context));
        }
        if (args.isEmpty()) throw err(first, "missing value for " + context);
        Node head = args.get(0);
        if (head instanceof Node.Nil) throw err(first, "nil is not a command");
        if (args.size() > 1 && (head instanceof Node.Literal || head instanceof Node.Dot || head instanceof Node.Nil))
            throw err(first, "can't give argument to non-function " + first.text());
        return new Node.Command(pos(first), args);
    }

    private Node operand(String context) throws TemplateException {
        Node term = term(context);
        List<String> fields = new ArrayList<>();
        while (peek().kind() == Kind.FIELD && !peek().spaceBefore()) fields.add(next().text().substring(1));
        if (fields.isEmpty()) return term;
        return switch (term) {
            case Node.Field f -> { List<String> all = new ArrayList<>(f.names()); all.addAll(fields); yield new Node.Field(f.pos(), all); }
            case Node.Variable v -> { List<String> all = new ArrayList<>(v.fields()); all.addAll(fields); yield new Node.Variable(v.pos(), v.name(), all); }
            case Node.Literal l -> throw err(peek(-1), "unexpected . after term " + l.text());
            case Node.Identifier id -> throw err(peek(-1), "unexpected . after term " + id.name());
            default -> new Node.Chain(term.pos(), term, fields);
        };
    }

    private Node term(String context) throws TemplateException {
        Token t = next();
        Pos pos = pos(t);
        return switch (t.kind()) {
            case DOT -> new Node.Dot(pos);
            case NIL -> new Node.Nil(pos);
            case FIELD -> {
                List<String> names = new ArrayList<>();
                names.add(t.text().substring(1));
                while (peek().kind() == Kind.FIELD && !peek().spaceBefore()) names.add(next().text().substring(1));
                yield new Node.Field(pos, names);
            }
            case VARIABLE -> {
                if (!vars.contains(t.text())) throw err(t, "undefined variable \"" + t.text() + "\"");
                yield new Node.Variable(pos, t.text(), List.of());
            }
            case IDENT -> {
                if (!isFunction.test(t.text())) throw err(t, "function \"" + t.text() + "\" not defined");
                yield new Node.Identifier(pos, t.text());
            }
            case BOOL -> new Node.Literal(pos, Boolean.parseBoolean(t.text()), t.text());
            case STRING -> new Node.Literal(pos, Strings.unquote(t.text(), lx, t.offset()), t.text());
            case RAW_STRING -> new Node.Literal(pos, t.text().substring(1, t.text().length() - 1).replace("\r", ""), t.text());
            case CHAR -> new Node.Literal(pos, Strings.charValue(t.text(), lx, t.offset()), t.text());
            case NUMBER -> new Node.Literal(pos, Strings.number(t.text()), t.text());
            case LPAREN -> {
                if (++depth > MAX_DEPTH) throw err(t, "template nested too deeply (more than " + MAX_DEPTH + " levels)");
                int mark = vars.size();
                Node.Pipe inner = pipeline("parenthesized pipeline", Kind.RPAREN);
                depth--;
                if (!inner.vars().isEmpty() && inner.declare()) { /* Go keeps them in scope; so do we */ } else truncate(mark);
                yield new Node.Chain(pos, inner, List.of());
            }
            default -> throw err(t, "unexpected " + describe(t) + " in operand");
        };
    }
}

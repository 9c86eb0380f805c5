package io.failoverkit.discovery.template;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Splits a template into text and action tokens with Go text/template's rules: {@code {{ }}} delimiters, the trim
 * markers {@code "{{- "} and {@code " -}}"} (the dash must be next to whitespace), comments {@code {{/* *}{@code /}}}
 * (alone in their action), strings with escapes, raw strings, characters and numbers.
 */
final class Lexer {
    enum Kind { TEXT, LEFT, RIGHT, FIELD, DOT, VARIABLE, IDENT, KEYWORD, STRING, RAW_STRING, CHAR, NUMBER, BOOL, NIL,
        PIPE, LPAREN, RPAREN, DECLARE, ASSIGN, COMMA, EOF }

    /** A token; {@code spaceBefore} is true when whitespace separated it from the previous one in the action. */
    record Token(Kind kind, String text, int offset, boolean spaceBefore) {}

    static final List<String> KEYWORDS = List.of("if", "else", "end", "range", "with", "define", "template", "block", "break", "continue");

    private final String name;
    private final String src;
    private final int[] lineStarts;
    private final List<Token> out = new ArrayList<>();
    private int i;

    Lexer(String name, String src) {
        this.name = name;
        this.src = src;
        int n = 1;
        for (int k = 0; k < src.length(); k++) if (src.charAt(k) == '\n') n++;
        lineStarts = new int[n];
        int l = 1;
        for (int k = 0; k < src.length(); k++) if (src.charAt(k) == '\n') lineStarts[l++] = k + 1;
    }

    Pos pos(int offset) {
        int idx = Arrays.binarySearch(lineStarts, offset);
        int line = idx >= 0 ? idx : -idx - 2;
        return new Pos(line + 1, offset - lineStarts[line] + 1);
    }

    TemplateException error(int offset, String reason) {
        Pos p = pos(offset);
        return new TemplateException(name, p.line(), p.col(), reason);
    }

    List<Token> lex() throws TemplateException {
        boolean trimNext = false;
        while (i < src.length()) {
            int open = src.indexOf("{{", i);
            int textEnd = open < 0 ? src.length() : open;
            int textStart = i;
            if (trimNext) while (textStart < textEnd && isSpace(src.charAt(textStart))) textStart++;
            boolean trimLeft = open >= 0 && open + 3 < src.length() + 1 && src.startsWith("{{-", open)
                    && open + 3 < src.length() && isSpace(src.charAt(open + 3));
            int te = textEnd;
            if (trimLeft) while (te > textStart && isSpace(src.charAt(te - 1))) te--;
            if (te > textStart) out.add(new Token(Kind.TEXT, src.substring(textStart, te), textStart, false));
            if (open < 0) { i = src.length(); break; }
            i = open + (trimLeft ? 3 : 2);
            trimNext = action(open);
        }
        out.add(new Token(Kind.EOF, "", src.length(), false));
        return out;
    }

    private static boolean isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

    /** After the left delimiter (and trim marker); returns whether the action ended with a right trim marker. */
    private boolean action(int open) throws TemplateException {
        // A comment: "/*" right after the delimiter, or after the trim marker's one space.
        int c = src.startsWith("{{-", open) && i == open + 3 ? i + 1 : i;
        if (src.startsWith("/*", c)) {
            int end = src.indexOf("*/", c + 2);
            if (end < 0) throw error(open, "unclosed comment");
            int k = end + 2;
            boolean trim = false;
            if (src.startsWith(" -}}", k) || src.startsWith("\t-}}", k) || src.startsWith("\n-}}", k) || src.startsWith("\r-}}", k)) { trim = true; k += 4; }
            else if (src.startsWith("}}", k)) k += 2;
            else throw error(end, "comment ends before closing delimiter");
            i = k;
            return trim;
        }
        out.add(new Token(Kind.LEFT, "{{", open, false));
        boolean space = false;
        while (true) {
            if (i >= src.length()) throw error(open, "unclosed action");
            char ch = src.charAt(i);
            if (isSpace(ch)) {
                while (i < src.length() && isSpace(src.charAt(i))) i++;
                // " -}}": a right trim marker
                if (src.startsWith("-}}", i)) {
                    out.add(new Token(Kind.RIGHT, "}}", i, true));
                    i += 3;
                    return true;
                }
                space = true;
                continue;
            }
            int start = i;
            if (src.startsWith("}}", i)) {
                out.add(new Token(Kind.RIGHT, "}}", i, space));
                i += 2;
                return false;
            }
            Token t;
            if (ch == '|') { i++; t = tok(Kind.PIPE, start, space); }
            else if (ch == '(') { i++; t = tok(Kind.LPAREN, start, space); }
            else if (ch == ')') { i++; t = tok(Kind.RPAREN, start, space); }
            else if (ch == ',') { i++; t = tok(Kind.COMMA, start, space); }
            else if (ch == ':') {
                if (!src.startsWith(":=", i)) throw error(i, "expected :=");
                i += 2; t = tok(Kind.DECLARE, start, space);
            }
            else if (ch == '=') { i++; t = tok(Kind.ASSIGN, start, space); }
            else if (ch == '"') t = quoted(start, space);
            else if (ch == '`') {
                int end = src.indexOf('`', i + 1);
                if (end < 0) throw error(start, "unterminated raw quoted string");
                i = end + 1;
                t = tok(Kind.RAW_STRING, start, space);
            }
            else if (ch == '\'') t = charConst(start, space);
            else if (ch == '$') {
                i++;
                while (i < src.length() && isAlnum(src.charAt(i))) i++;
                t = tok(Kind.VARIABLE, start, space);
            }
            else if (ch == '.') {
                if (i + 1 < src.length() && Character.isDigit(src.charAt(i + 1))) t = number(start, space);
                else {
                    i++;
                    if (i < src.length() && isAlnum(src.charAt(i))) {
                        while (i < src.length() && isAlnum(src.charAt(i))) i++;
                        t = tok(Kind.FIELD, start, space);
                    } else t = tok(Kind.DOT, start, space);
                }
            }
            else if (ch == '+' || ch == '-' || Character.isDigit(ch)) t = number(start, space);
            else if (isAlnum(ch)) {
                while (i < src.length() && isAlnum(src.charAt(i))) i++;
                String w = src.substring(start, i);
                Kind k = KEYWORDS.contains(w) ? Kind.KEYWORD : w.equals("true") || w.equals("false") ? Kind.BOOL : w.equals("nil") ? Kind.NIL : Kind.IDENT;
                t = tok(k, start, space);
            }
            else throw error(i, "unrecognized character in action: " + describe(src.codePointAt(i)));
            out.add(t);
            space = false;
        }
    }

    private static String describe(int cp) {
        return cp < 0x20 || cp == 0x7f ? String.format("U+%04X", cp) : "'" + new String(Character.toChars(cp)) + "'";
    }

    private Token tok(Kind k, int start, boolean space) { return new Token(k, src.substring(start, i), start, space); }

    private static boolean isAlnum(char c) { return c == '_' || Character.isLetterOrDigit(c); }

    private Token quoted(int start, boolean space) throws TemplateException {
        i++;
        while (true) {
            if (i >= src.length() || src.charAt(i) == '\n') throw error(start, "unterminated quoted string");
            char c = src.charAt(i);
            if (c == '\\') { i += 2; continue; }
            i++;
            if (c == '"') break;
        }
        Token t = tok(Kind.STRING, start, space);
        Strings.unquote(t.text(), this, start); // validates the escapes now
        return t;
    }

    private Token charConst(int start, boolean space) throws TemplateException {
        i++;
        while (true) {
            if (i >= src.length() || src.charAt(i) == '\n') throw error(start, "unterminated character constant");
            char c = src.charAt(i);
            if (c == '\\') { i += 2; continue; }
            i++;
            if (c == '\'') break;
        }
        Token t = tok(Kind.CHAR, start, space);
        Strings.charValue(t.text(), this, start);
        return t;
    }

    private Token number(int start, boolean space) throws TemplateException {
        if (src.charAt(i) == '+' || src.charAt(i) == '-') i++;
        boolean hex = src.startsWith("0x", i) || src.startsWith("0X", i);
        while (i < src.length()) {
            char c = src.charAt(i);
            if (Character.isLetterOrDigit(c) || c == '.' || c == '_') { i++; continue; }
            char prev = src.charAt(i - 1);
            boolean exp = hex ? prev == 'p' || prev == 'P' : prev == 'e' || prev == 'E';
            if ((c == '+' || c == '-') && i > start + 1 && exp) { i++; continue; }
            break;
        }
        Token t = tok(Kind.NUMBER, start, space);
        if (Strings.number(t.text()) == null) throw error(start, "bad number syntax: " + t.text());
        return t;
    }
}

package io.failoverkit.discovery.template;

import java.math.BigInteger;

/** Go literals: interpreted strings, character constants and numbers. */
final class Strings {
    private Strings() {}

    /** The value of a Go interpreted string literal (with its quotes). */
    static String unquote(String lit, Lexer lx, int offset) throws TemplateException {
        StringBuilder b = new StringBuilder();
        int end = lit.length() - 1;
        for (int k = 1; k < end; k++) {
            char c = lit.charAt(k);
            if (c != '\\') { b.append(c); continue; }
            k = escape(lit, k, end, b, '"', lx, offset);
        }
        return b.toString();
    }

    static long charValue(String lit, Lexer lx, int offset) throws TemplateException {
        String body = lit.substring(1, lit.length() - 1);
        StringBuilder b = new StringBuilder();
        if (body.startsWith("\\")) {
            int k = escape(lit, 1, lit.length() - 1, b, '\'', lx, offset);
            if (k != lit.length() - 2) throw lx.error(offset, "malformed character constant: " + lit);
        } else b.append(body);
        if (b.isEmpty() || b.codePointCount(0, b.length()) != 1) throw lx.error(offset, "malformed character constant: " + lit);
        return b.codePointAt(0);
    }

    /** Decodes the escape at lit[k] (a backslash) into b; returns the index of its last character. */
    private static int escape(String lit, int k, int end, StringBuilder b, char quote, Lexer lx, int offset) throws TemplateException {
        if (k + 1 >= end) throw lx.error(offset, "invalid syntax in string: " + lit);
        char e = lit.charAt(k + 1);
        switch (e) {
            case 'a' -> b.append('\u0007');
            case 'b' -> b.append('\b');
            case 'f' -> b.append('\f');
            case 'n' -> b.append('\n');
            case 'r' -> b.append('\r');
            case 't' -> b.append('\t');
            case 'v' -> b.append('\u000b');
            case '\\' -> b.append('\\');
            case '"', '\'' -> {
                if (e != quote) throw lx.error(offset, "invalid escape \\" + e + " in " + lit);
                b.append(e);
            }
            case 'x', 'u', 'U', '0', '1', '2', '3', '4', '5', '6', '7' -> {
                int len = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 3;
                int from = e >= '0' && e <= '7' ? k + 1 : k + 2;
                if (from + len > end) throw lx.error(offset, "invalid escape in " + lit);
                String digits = lit.substring(from, from + len);
                boolean octal = e >= '0' && e <= '7';
                if (!digits.matches(octal ? "[0-7]+" : "[0-9a-fA-F]+")) throw lx.error(offset, "invalid escape in " + lit);
                long lv = Long.parseLong(digits, octal ? 8 : 16);
                if (lv > 0x10FFFF || (octal && lv > 255) || ((e == 'u' || e == 'U') && lv >= 0xD800 && lv <= 0xDFFF))
                    throw lx.error(offset, "invalid escape in " + lit);
                int v = (int) lv;
                if (e == 'x' || (e >= '0' && e <= '7')) b.append((char) v); // a byte; kept as a Latin-1 character
                else b.appendCodePoint(v);
                return from + len - 1;
            }
            default -> throw lx.error(offset, "unknown escape sequence \\" + e + " in " + lit);
        }
        return k + 1;
    }

    /** A Go number literal as Long or Double, or null when it is not one. */
    static Object number(String s) {
        String t = s.replace("_", "");
        if (t.isEmpty() || t.endsWith("i")) return null;
        boolean neg = false;
        if (t.startsWith("+") || t.startsWith("-")) { neg = t.startsWith("-"); t = t.substring(1); }
        if (t.isEmpty()) return null;
        try {
            String lower = t.toLowerCase();
            BigInteger v = null;
            if (lower.startsWith("0x") && !lower.contains("p")) v = new BigInteger(t.substring(2), 16);
            else if (lower.startsWith("0o")) v = new BigInteger(t.substring(2), 8);
            else if (lower.startsWith("0b")) v = new BigInteger(t.substring(2), 2);
            else if (lower.startsWith("0x")) {
                double d = Double.parseDouble(t); // hex float, Java spells it the same
                return neg ? -d : d;
            }
            else if (lower.chars().allMatch(Character::isDigit)) v = lower.length() > 1 && lower.startsWith("0") ? new BigInteger(t.substring(1), 8) : new BigInteger(t);
            if (v != null) {
                if (neg) v = v.negate();
                if (v.bitLength() > 63) return null;
                return v.longValue();
            }
            if (!lower.matches("(\\d+\\.?\\d*|\\.\\d+)(e[+-]?\\d+)?")) return null;
            double d = Double.parseDouble(t);
            if (Double.isInfinite(d)) return null;
            if (d == Math.rint(d) && Math.abs(d) < 9.0e18 && !lower.contains("e") && !lower.contains(".")) return (long) d;
            return neg ? -d : d;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}

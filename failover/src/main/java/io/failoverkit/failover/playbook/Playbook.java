package io.failoverkit.failover.playbook;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A runbook page (playbooks/NAME.md) and its machine-readable parts; the format is described in playbooks/README.md.
 * Steps are fenced {@code ```sh step=NAME readonly|destructive ...} blocks, each followed by a blockquote saying what
 * to do when it fails; a {@code ```vars} block declares the variables the page's commands read from their environment.
 */
public record Playbook(String name, String title, String summary, List<Variable> variables, List<Step> steps) {

    /** A variable the page's commands read from their environment: required, or optional with a default (may be empty). */
    public record Variable(String name, boolean required, String defaultValue, String description) {}

    /**
     * One step: its shell script, whether it changes anything, what its result must be, where on the page it is.
     * {@code expectExit} empty means any exit code passes; {@code kind} null means every cluster kind.
     */
    public record Step(int number, String name, String section, boolean destructive, boolean rollback, String script,
                       Set<Integer> expectExit, Pattern expectOutput, String kind, int timeoutSeconds, String onFailure, int line) {
        public boolean passes(int exit, String output) {
            return (expectExit.isEmpty() || expectExit.contains(exit)) && (expectOutput == null || expectOutput.matcher(output).find());
        }

        public String expectation() {
            String e = expectExit.isEmpty() ? "any exit code" : "exit " + String.join(" or ", expectExit.stream().sorted().map(String::valueOf).toList());
            return expectOutput == null ? e : e + " and output matching /" + expectOutput.pattern() + "/";
        }
    }

    /** A page that does not follow the format: where and why. */
    public static final class FormatException extends IOException {
        public FormatException(String page, int line, String why) { super(page + ":" + line + ": " + why); }
    }

    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]*");
    public static final Pattern VAR_NAME = Pattern.compile("[A-Z_][A-Z0-9_]*");
    static final Set<String> KINDS = Set.of("redis", "mysql");

    public List<Step> runSteps(boolean rollback) { return steps.stream().filter(s -> s.rollback() == rollback).toList(); }

    public static Playbook read(Path file) throws IOException {
        String fileName = file.getFileName().toString();
        if (!fileName.endsWith(".md")) throw new IOException(file + ": a playbook is a .md file");
        return parse(fileName.substring(0, fileName.length() - 3), Files.readString(file));
    }

    public static Playbook parse(String name, String text) throws FormatException {
        if (!NAME.matcher(name).matches()) throw new FormatException(name, 0, "a playbook's name is lower-case letters, digits and dashes");
        String[] lines = text.split("\r?\n", -1);
        String title = null, section = "";
        StringBuilder summary = new StringBuilder();
        boolean summaryDone = false;
        List<Variable> vars = new ArrayList<>();
        boolean varsSeen = false;
        List<Step> steps = new ArrayList<>();
        Set<String> stepNames = new HashSet<>();
        int i = 0;
        while (i < lines.length) {
            String l = lines[i];
            if (l.startsWith("```")) {
                int open = i;
                String info = l.substring(3).strip();
                List<String> body = new ArrayList<>();
                i++;
                while (i < lines.length && !lines[i].startsWith("```")) body.add(lines[i++]);
                if (i == lines.length) throw new FormatException(name, open + 1, "code block never closed");
                i++; // the closing fence
                if (title != null && !summary.isEmpty()) summaryDone = true;
                if (info.equals("vars")) {
                    if (varsSeen) throw new FormatException(name, open + 1, "a second ```vars block");
                    varsSeen = true;
                    for (int k = 0; k < body.size(); k++) vars.add(variable(name, open + 2 + k, body.get(k), vars));
                } else if (info.startsWith("sh") && info.contains("step=")) {
                    StringBuilder onFailure = new StringBuilder();
                    int j = i;
                    while (j < lines.length && lines[j].isBlank()) j++;
                    while (j < lines.length && lines[j].startsWith(">")) {
                        onFailure.append(lines[j].replaceFirst("^> ?", "")).append('\n');
                        j++;
                    }
                    if (onFailure.toString().isBlank()) {
                        throw new FormatException(name, open + 1, "a step needs a blockquote after its block saying what to do if it fails");
                    }
                    i = j;
                    Step s = step(name, open + 1, info, String.join("\n", body), section, steps.size() + 1, onFailure.toString().strip());
                    if (!stepNames.add(s.name())) throw new FormatException(name, open + 1, "step name " + s.name() + " used twice");
                    steps.add(s);
                }
                continue;
            }
            if (l.startsWith("# ") && title == null) {
                title = l.substring(2).strip();
            } else if (l.startsWith("## ")) {
                section = l.substring(3).strip();
                if (!summary.isEmpty()) summaryDone = true;
            } else if (title != null && !summaryDone) {
                if (l.isBlank()) { if (!summary.isEmpty()) summaryDone = true; }
                else if (!l.startsWith("#")) summary.append(summary.isEmpty() ? "" : " ").append(l.strip());
            }
            i++;
        }
        if (title == null) throw new FormatException(name, 1, "no title (a first-level '# ' heading)");
        if (steps.isEmpty()) throw new FormatException(name, 1, "no steps (```sh step=NAME readonly|destructive blocks)");
        return new Playbook(name, title, summary.toString(), List.copyOf(vars), List.copyOf(steps));
    }

    private static Variable variable(String page, int line, String text, List<Variable> seen) throws FormatException {
        String[] parts = text.strip().split("\\s+", 3);
        if (text.isBlank()) throw new FormatException(page, line, "blank line in ```vars");
        if (parts.length < 2 || !VAR_NAME.matcher(parts[0]).matches()) {
            throw new FormatException(page, line, "a variable line is: NAME required|optional|default=VALUE description");
        }
        if (seen.stream().anyMatch(v -> v.name().equals(parts[0]))) throw new FormatException(page, line, "variable " + parts[0] + " declared twice");
        String desc = parts.length > 2 ? parts[2] : "";
        if (parts[1].equals("required")) return new Variable(parts[0], true, null, desc);
        if (parts[1].equals("optional")) return new Variable(parts[0], false, "", desc);
        if (parts[1].startsWith("default=")) return new Variable(parts[0], false, parts[1].substring(8), desc);
        throw new FormatException(page, line, "variable " + parts[0] + ": say required, optional or default=VALUE");
    }

    private static Step step(String page, int line, String info, String script, String section, int number, String onFailure) throws FormatException {
        Map<String, String> attrs = new LinkedHashMap<>();
        List<String> tokens = tokens(page, line, info);
        if (!tokens.get(0).equals("sh")) throw new FormatException(page, line, "a step block's language is sh");
        for (String t : tokens.subList(1, tokens.size())) {
            int eq = t.indexOf('=');
            String k = eq < 0 ? t : t.substring(0, eq), v = eq < 0 ? null : t.substring(eq + 1);
            if (attrs.containsKey(k)) throw new FormatException(page, line, "attribute " + k + " given twice");
            attrs.put(k, v);
        }
        for (String k : attrs.keySet()) {
            if (!Set.of("step", "readonly", "destructive", "expect-exit", "expect-output", "kind", "timeout").contains(k)) {
                throw new FormatException(page, line, "unknown step attribute " + k + " (step, readonly, destructive, expect-exit, expect-output, kind, timeout)");
            }
        }
        String name = attrs.get("step");
        if (name == null || !NAME.matcher(name).matches()) throw new FormatException(page, line, "step=NAME: lower-case letters, digits and dashes");
        boolean ro = attrs.containsKey("readonly"), de = attrs.containsKey("destructive");
        if (ro == de) throw new FormatException(page, line, "step " + name + ": say exactly one of readonly or destructive");
        if ((ro && attrs.get("readonly") != null) || (de && attrs.get("destructive") != null)) {
            throw new FormatException(page, line, "step " + name + ": readonly and destructive take no value");
        }
        Set<Integer> exits = new HashSet<>(Set.of(0));
        String ee = attrs.get("expect-exit");
        if (ee != null) {
            exits.clear();
            if (!ee.equals("any")) {
                for (String c : ee.split(",")) {
                    try {
                        int code = Integer.parseInt(c);
                        if (code < 0 || code > 255) throw new NumberFormatException();
                        exits.add(code);
                    } catch (NumberFormatException e) {
                        throw new FormatException(page, line, "step " + name + ": expect-exit is any or codes 0-255 separated by commas");
                    }
                }
            }
        }
        Pattern output = null;
        if (attrs.containsKey("expect-output")) {
            try {
                output = Pattern.compile(attrs.get("expect-output") == null ? "" : attrs.get("expect-output"), Pattern.MULTILINE);
            } catch (PatternSyntaxException e) {
                throw new FormatException(page, line, "step " + name + ": expect-output is not a regular expression: " + e.getDescription());
            }
        }
        String kind = attrs.get("kind");
        if (attrs.containsKey("kind") && (kind == null || !KINDS.contains(kind))) throw new FormatException(page, line, "step " + name + ": kind is redis or mysql");
        int timeout = 300;
        if (attrs.containsKey("timeout")) {
            try {
                timeout = Integer.parseInt(String.valueOf(attrs.get("timeout")));
                if (timeout < 1 || timeout > 86_400) throw new NumberFormatException();
            } catch (NumberFormatException e) {
                throw new FormatException(page, line, "step " + name + ": timeout is seconds, 1-86400");
            }
        }
        if (script.isBlank()) throw new FormatException(page, line, "step " + name + " has no command");
        boolean rollback = section.toLowerCase(java.util.Locale.ROOT).startsWith("roll back") || section.toLowerCase(java.util.Locale.ROOT).startsWith("rollback");
        return new Step(number, name, section, de, rollback, script, Set.copyOf(exits), output, kind, timeout, onFailure, line);
    }

    /** Splits an info string on blanks; a value may be double-quoted (key="a b"), with \" and \\ inside. */
    static List<String> tokens(String page, int line, String info) throws FormatException {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false, any = false;
        for (int k = 0; k < info.length(); k++) {
            char c = info.charAt(k);
            if (quoted) {
                if (c == '\\' && k + 1 < info.length() && (info.charAt(k + 1) == '"' || info.charAt(k + 1) == '\\')) cur.append(info.charAt(++k));
                else if (c == '"') quoted = false;
                else cur.append(c);
            } else if (c == '"') {
                quoted = true;
                any = true;
            } else if (Character.isWhitespace(c)) {
                if (any || !cur.isEmpty()) out.add(cur.toString());
                cur.setLength(0);
                any = false;
            } else {
                cur.append(c);
            }
        }
        if (quoted) throw new FormatException(page, line, "unclosed quote in the block's info string");
        if (any || !cur.isEmpty()) out.add(cur.toString());
        if (out.isEmpty()) throw new FormatException(page, line, "empty info string");
        return out;
    }
}

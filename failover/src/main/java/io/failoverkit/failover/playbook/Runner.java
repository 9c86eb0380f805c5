package io.failoverkit.failover.playbook;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs a playbook's steps in order: prints each command (variables shown expanded) and its output, asks before every
 * destructive step unless told yes, stops at the first step whose result is not the expected one and prints the
 * page's text for that step, and records every step in the audit. A dry run prints every step and runs only the
 * read-only ones that come before the first destructive step (the checks; a later read-only step verifies what the
 * destructive ones did, so it is shown, not run), going on past a failing check so the whole plan is shown.
 * Variables reach the commands only through their environment ({@code bash -c SCRIPT} with the page's text as
 * the script, never with values pasted in).
 */
public final class Runner {
    /** How a run goes: dry run, confirmation (yes, or a terminal to ask on), which of the page's steps. */
    public record Options(boolean dryRun, boolean yes, boolean interactive, boolean rollback) {}

    /** The outcome: exit code for the CLI (0 done, 1 a step failed, was declined or a dry-run check failed) and the step it stopped at. */
    public record Result(int exitCode, String stoppedAt, List<String> ran) {}

    private final Playbook page;
    private final Map<String, String> env;
    private final Options options;
    private final BufferedReader answers;
    private final PrintStream out;
    private final Audit audit;
    private final String auditPrefix;
    private final String kind;
    private final String by;
    private final Path workDir;

    /**
     * @param env   the variables given to every step (besides the runner's own environment)
     * @param kind  the cluster's kind (steps marked for another kind are skipped), or null without a cluster
     */
    public Runner(Playbook page, Map<String, String> env, Options options, BufferedReader answers, PrintStream out,
                  Audit audit, String auditPrefix, String kind, String by, Path workDir) {
        this.page = page;
        this.env = Map.copyOf(env);
        this.options = options;
        this.answers = answers;
        this.out = out;
        this.audit = audit;
        this.auditPrefix = auditPrefix;
        this.kind = kind;
        this.by = by;
        this.workDir = workDir;
    }

    /** The steps this run will consider: the page's (or its roll-back section's), minus those for another kind. */
    public List<Playbook.Step> steps() {
        return page.runSteps(options.rollback()).stream().filter(s -> s.kind() == null || kind == null || s.kind().equals(kind)).toList();
    }

    /** Why this run may not start (a destructive step and nobody to ask), or null. */
    public String refusal() {
        if (options.dryRun() || options.yes() || options.interactive()) return null;
        return steps().stream().filter(Playbook.Step::destructive).findFirst()
                .map(s -> "step " + s.number() + " " + s.name() + " is destructive and there is no terminal to confirm it on: run it on a terminal, or with --yes")
                .orElse(null);
    }

    public Result run() {
        long start = System.currentTimeMillis();
        String runKey = auditPrefix + "playbook-" + start + "-" + page.name() + "-";
        List<Playbook.Step> steps = steps();
        List<String> ran = new ArrayList<>();
        String refusal = refusal();
        if (refusal != null) {
            out.println("REFUSED: " + refusal);
            record(runKey + "end", null, "refused", null, refusal);
            finish();
            return new Result(1, null, ran);
        }
        out.printf("playbook %s: %s%s%n", page.name(), page.title(), options.dryRun() ? " (DRY RUN: destructive steps are shown, not run; read-only checks run)" : "");
        if (!env.isEmpty()) {
            out.println("variables (given to every command in its environment):");
            new TreeMap<>(env).forEach((k, v) -> { if (!k.equals("PATH")) out.printf("  %s=%s%n", k, secret(k) ? "(hidden)" : v); });
        }
        List<String> failedChecks = new ArrayList<>();
        boolean destructiveSeen = false;
        int total = steps.size();
        for (Playbook.Step s : steps) {
            out.println();
            out.printf("step %d/%d %s [%s%s] (%s)%n", s.number(), page.runSteps(options.rollback()).size(), s.name(),
                    s.destructive() ? "DESTRUCTIVE" : "read-only", s.kind() == null ? "" : ", " + s.kind() + " only", s.section());
            for (String l : expand(s.script()).split("\n")) out.println("  $ " + l);
            String key = runKey + String.format("%02d-%s", s.number(), s.name());
            if (options.dryRun() && s.destructive()) {
                out.println("  would run (dry run); expected: " + s.expectation());
                record(key, s, "would-run", null, null);
                destructiveSeen = true;
                continue;
            }
            if (options.dryRun() && destructiveSeen) {
                out.println("  would run (dry run, not run now: it checks what the destructive steps before it did); expected: " + s.expectation());
                record(key, s, "would-run", null, null);
                continue;
            }
            if (options.dryRun()) out.println("  runs in the dry run: it is read-only and comes before any destructive step");
            if (s.destructive() && !options.yes()) {
                out.printf("  Run this destructive step? Type yes to run it, anything else stops here: ");
                out.flush();
                String answer;
                try {
                    answer = answers.readLine();
                } catch (IOException e) {
                    answer = null;
                }
                if (answer == null || !(answer.strip().equalsIgnoreCase("yes") || answer.strip().equalsIgnoreCase("y"))) {
                    out.println();
                    out.printf("STOPPED: step %s declined (answer %s); nothing after it ran%n", s.name(), answer == null ? "none: end of input" : "\"" + answer.strip() + "\"");
                    record(key, s, "declined", null, null);
                    record(runKey + "end", null, "declined at " + s.name(), null, null);
                    finish();
                    return new Result(1, s.name(), ran);
                }
                record(key + "-confirmed", s, "confirmed", null, "answered " + answer.strip());
            }
            Exec r = exec(s);
            ran.add(s.name());
            boolean ok = r.exit >= 0 && s.passes(r.exit, r.output);
            String why = r.exit < 0 ? "timed out after " + s.timeoutSeconds() + " s" : "exit " + r.exit + (ok ? "" : ", expected " + s.expectation());
            out.printf("  -> %s (%s)%n", ok ? "ok" : "FAILED", why);
            record(key, s, ok ? "ok" : "failed", r.exit, ok ? null : why);
            if (!ok) {
                if (options.dryRun()) {
                    out.println("  a real run would stop here. What to do:");
                    for (String l : s.onFailure().split("\n")) out.println("  | " + l);
                    failedChecks.add(s.name());
                    continue;
                }
                out.println();
                out.printf("STOPPED at step %d %s: %s. Nothing after it ran. What to do:%n", s.number(), s.name(), why);
                for (String l : s.onFailure().split("\n")) out.println("  " + l);
                record(runKey + "end", null, "failed at " + s.name(), r.exit, why);
                finish();
                return new Result(1, s.name(), ran);
            }
        }
        out.println();
        if (options.dryRun()) {
            out.println(failedChecks.isEmpty() ? "DRY RUN done: every read-only check passed; nothing destructive ran (" + total + " steps)"
                    : "DRY RUN done: checks failed " + failedChecks + " (a real run would stop at " + failedChecks.get(0) + "); nothing destructive ran");
            record(runKey + "end", null, failedChecks.isEmpty() ? "dry run done" : "dry run, checks failed " + failedChecks, null, null);
            finish();
            return new Result(failedChecks.isEmpty() ? 0 : 1, failedChecks.isEmpty() ? null : failedChecks.get(0), ran);
        }
        out.println("DONE: " + total + " steps of " + page.name() + " passed");
        record(runKey + "end", null, "done", null, null);
        finish();
        return new Result(0, null, ran);
    }

    private void record(String key, Playbook.Step s, String outcome, Integer exit, String detail) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("playbook", page.name());
        if (s != null) {
            e.put("step", s.name());
            e.put("number", s.number());
            e.put("destructive", s.destructive());
        }
        e.put("outcome", outcome);
        if (exit != null) e.put("exitCode", exit);
        if (detail != null) e.put("detail", detail);
        e.put("dryRun", options.dryRun());
        e.put("by", by);
        e.put("atMillis", System.currentTimeMillis());
        audit.record(key, e);
    }

    private void finish() {
        List<String> left = audit.flush();
        if (!left.isEmpty()) {
            out.println("WARNING: " + left.size() + " audit entries could not be written to the discovery KV"
                    + (audit instanceof Audit.Kv kv && kv.lastError() != null ? " (" + kv.lastError() + ")" : "") + "; here they are, for the record:");
            left.forEach(l -> out.println("  " + l));
        }
    }

    private record Exec(int exit, String output) {}

    private Exec exec(Playbook.Step s) {
        ProcessBuilder pb = new ProcessBuilder("bash", "-euo", "pipefail", "-c", s.script()).directory(workDir.toFile())
                .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        pb.environment().putAll(env);
        StringBuilder captured = new StringBuilder();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            out.println("  | cannot start bash: " + e.getMessage());
            return new Exec(127, e.getMessage());
        }
        Thread reader = Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream(); BufferedReader r = new BufferedReader(new java.io.InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    synchronized (captured) { captured.append(l).append('\n'); }
                    out.println("  | " + l);
                }
            } catch (IOException ignored) {
                // the process ended
            }
        });
        int exit;
        try {
            if (p.waitFor(s.timeoutSeconds(), TimeUnit.SECONDS)) {
                exit = p.exitValue();
            } else {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                exit = -1;
            }
            reader.join(TimeUnit.SECONDS.toMillis(10));
        } catch (InterruptedException e) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return new Exec(-1, "interrupted");
        }
        synchronized (captured) { return new Exec(exit, captured.toString()); }
    }

    private static final Pattern SECRET = Pattern.compile(".*(PASSWORD|PASS|AUTH|SECRET|TOKEN|KEY).*");

    /** A variable whose value is never printed (it stays $NAME in the commands shown): a password, a token, a key. */
    public static boolean secret(String name) { return SECRET.matcher(name).matches(); }

    private static final Pattern REF = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)}|\\$([A-Za-z_][A-Za-z0-9_]*)");

    /** The script as it will run, for the operator's eyes only: known variables shown with their values. */
    public String expand(String script) {
        Matcher m = REF.matcher(script);
        StringBuilder sb = new StringBuilder();
        while (m.find()) {
            String name = m.group(1) != null ? m.group(1) : m.group(2);
            String v = secret(name) ? null : env.get(name);
            m.appendReplacement(sb, Matcher.quoteReplacement(v == null ? m.group() : v));
        }
        m.appendTail(sb);
        return sb.toString();
    }
}

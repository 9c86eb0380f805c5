package io.failoverkit.failover.playbook;

import io.failoverkit.failover.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The runner on pages whose steps leave marks in a temp dir: order, confirmation, first failure, dry run, audit, exit 64. */
class RunnerTest {
    @TempDir Path dir;

    static final String PAGE = """
            # Marks

            Leaves marks.

            ```vars
            MARKS required where the marks go
            WHO default=nobody a name
            ```

            ## Check first

            ```sh step=check readonly
            test -d "$MARKS" && touch "$MARKS/check"
            ```
            > If it fails: the directory is missing.

            ## Steps

            ```sh step=first destructive
            touch "$MARKS/first"; echo "hello $WHO"
            ```
            > If it fails: first failed.

            ```sh step=breaks destructive expect-output="^all good$"
            touch "$MARKS/breaks"; echo "not good"
            ```
            > If it fails: run `fix-it` and start again.

            ```sh step=last destructive
            touch "$MARKS/last"
            ```
            > If it fails: last failed.

            ## Verify

            ```sh step=verify readonly expect-exit=3
            touch "$MARKS/verify"; exit 3
            ```
            > If it fails: look.
            """;

    record Outcome(Runner.Result result, String out, Audit.Memory audit) {}

    Outcome run(String page, Runner.Options o, String answers, Map<String, String> env) throws Exception {
        Playbook p = Playbook.parse("marks", page);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Audit.Memory audit = new Audit.Memory();
        Runner r = new Runner(p, env, o, new BufferedReader(new StringReader(answers)), new PrintStream(bytes, true, StandardCharsets.UTF_8),
                audit, "failover/c/audit/", null, "tester@host", dir);
        Runner.Result res = r.run();
        return new Outcome(res, bytes.toString(StandardCharsets.UTF_8), audit);
    }

    Map<String, String> env() throws Exception {
        Path marks = Files.createDirectories(dir.resolve("marks"));
        return Map.of("MARKS", marks.toString(), "WHO", "it's $(touch injected) me");
    }

    boolean mark(String name) { return Files.exists(dir.resolve("marks").resolve(name)); }

    @Test
    void stopsAtTheFirstFailureWithThePagesAdviceAndRunsNothingAfter() throws Exception {
        Outcome o = run(PAGE, new Runner.Options(false, true, false, false), "", env());
        assertThat(o.result().exitCode()).isEqualTo(1);
        assertThat(o.result().stoppedAt()).isEqualTo("breaks");
        assertThat(o.result().ran()).containsExactly("check", "first", "breaks");
        assertThat(mark("check") && mark("first") && mark("breaks")).isTrue();
        assertThat(mark("last") || mark("verify")).as("nothing after the failing step").isFalse();
        assertThat(o.out()).contains("STOPPED at step 3 breaks").contains("run `fix-it` and start again").contains("expected exit 0 and output matching /^all good$/");
        // A value reaches the command through its environment, never pasted into the script.
        assertThat(o.out()).contains("| hello it's $(touch injected) me");
        assertThat(Files.exists(dir.resolve("injected"))).isFalse();
        assertThat(o.audit().entries.keySet()).anyMatch(k -> k.startsWith("failover/c/audit/playbook-") && k.endsWith("-marks-03-breaks"));
        Map<String, Object> breaks = o.audit().entries.entrySet().stream().filter(e -> e.getKey().endsWith("-03-breaks")).findFirst().orElseThrow().getValue();
        assertThat(breaks).containsEntry("outcome", "failed").containsEntry("exitCode", 0).containsEntry("by", "tester@host").containsEntry("destructive", true);
        assertThat(o.audit().entries.entrySet().stream().filter(e -> e.getKey().endsWith("-end")).findFirst().orElseThrow().getValue())
                .containsEntry("outcome", "failed at breaks");
    }

    @Test
    void asksBeforeEveryDestructiveStepAndStopsWhenNotTold() throws Exception {
        String page = PAGE.replace("echo \"not good\"", "echo \"all good\"");
        Outcome declined = run(page, new Runner.Options(false, false, true, false), "yes\nno\n", env());
        assertThat(declined.result().exitCode()).isEqualTo(1);
        assertThat(declined.result().stoppedAt()).isEqualTo("breaks");
        assertThat(mark("first")).isTrue();
        assertThat(mark("breaks") || mark("last")).as("a declined step and what follows do not run").isFalse();
        assertThat(declined.out()).contains("STOPPED: step breaks declined (answer \"no\")");
        assertThat(declined.audit().entries.values()).anyMatch(e -> "declined".equals(e.get("outcome")) && "breaks".equals(e.get("step")));

        Files.delete(dir.resolve("marks/first"));
        Outcome eof = run(page, new Runner.Options(false, false, true, false), "", env());
        assertThat(eof.result().stoppedAt()).isEqualTo("first");
        assertThat(mark("first")).as("end of input is no").isFalse();

        Outcome all = run(page, new Runner.Options(false, false, true, false), "y\nyes\nYES\n", env());
        assertThat(all.result().exitCode()).as(all.out()).isZero();
        assertThat(all.result().ran()).containsExactly("check", "first", "breaks", "last", "verify");
        assertThat(all.out()).contains("DONE: 5 steps of marks passed");
    }

    @Test
    void withoutATerminalADestructivePageNeedsYesAndNothingRuns() throws Exception {
        Outcome o = run(PAGE, new Runner.Options(false, false, false, false), "yes\nyes\nyes\n", env());
        assertThat(o.result().exitCode()).isEqualTo(1);
        assertThat(o.result().ran()).isEmpty();
        assertThat(mark("check")).as("refused before the first step").isFalse();
        assertThat(o.out()).contains("REFUSED: step 2 first is destructive and there is no terminal");
    }

    @Test
    void aDryRunPrintsEveryStepExpandedAndRunsOnlyTheReadOnlyOnes() throws Exception {
        Map<String, String> env = env();
        Outcome o = run(PAGE, new Runner.Options(true, false, false, false), "", env);
        assertThat(o.result().exitCode()).as(o.out()).isZero();
        assertThat(o.result().ran()).as("the checks before the first destructive step, not the verification after it").containsExactly("check");
        assertThat(mark("check")).isTrue();
        assertThat(mark("verify")).isFalse();
        assertThat(mark("first") || mark("breaks") || mark("last")).as("nothing destructive runs in a dry run").isFalse();
        assertThat(o.out()).contains("$ touch \"" + env.get("MARKS") + "/first\"; echo \"hello it's $(touch injected) me\"")
                .contains("would run (dry run)").contains("runs in the dry run: it is read-only").contains("DRY RUN done")
                .contains("not run now: it checks what the destructive steps before it did");
        assertThat(o.audit().entries.values()).allMatch(e -> Boolean.TRUE.equals(e.get("dryRun")));

        // A failing check is reported with its advice, and the dry run goes on to show the rest of the plan.
        Outcome failing = run(PAGE.replace("test -d", "test -f"), new Runner.Options(true, false, false, false), "", env);
        assertThat(failing.result().exitCode()).isEqualTo(1);
        assertThat(failing.out()).contains("a real run would stop here").contains("| If it fails: the directory is missing.").contains("checks failed [check]")
                .contains("step 2/5 first");
    }

    @Test
    void secretsAreNeverPrinted() throws Exception {
        String page = "# T\n\n```vars\nREDISCLI_AUTH required pw\nNEW_KEY required k\n```\n\n```sh step=use readonly\ntest \"${#REDISCLI_AUTH}\" = 6 && test -n \"${NEW_KEY}\"\n```\n> If it fails: x.\n";
        Outcome o = run(page, new Runner.Options(false, true, false, false), "", Map.of("REDISCLI_AUTH", "s3cret", "NEW_KEY", "k3y"));
        assertThat(o.result().exitCode()).as(o.out()).isZero();
        assertThat(o.out()).doesNotContain("s3cret").doesNotContain("k3y").contains("REDISCLI_AUTH=(hidden)").contains("NEW_KEY=(hidden)")
                .contains("$ test \"${#REDISCLI_AUTH}\" = 6 && test -n \"${NEW_KEY}\"");
    }

    @Test
    void theRollBackSectionRunsOnlyWhenAskedFor() throws Exception {
        String page = PAGE + "\n## Roll back\n\n```sh step=undo destructive\ntouch \"$MARKS/undo\"\n```\n> If it fails: undo by hand.\n";
        Outcome o = run(page, new Runner.Options(false, true, false, true), "", env());
        assertThat(o.result().ran()).containsExactly("undo");
        assertThat(mark("undo")).isTrue();
        assertThat(mark("first")).isFalse();
    }

    @Test
    void aStepThatOutlivesItsTimeoutFails() throws Exception {
        String page = "# T\n\n```sh step=slow readonly timeout=1\nsleep 60\n```\n> If it fails: it hung.\n";
        Outcome o = run(page, new Runner.Options(false, true, false, false), "", Map.of());
        assertThat(o.result().exitCode()).isEqualTo(1);
        assertThat(o.out()).contains("timed out after 1 s").contains("it hung");
    }

    record Cli(int exit, String out, String err) {}

    static Cli cli(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        PrintStream saved = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            int exit = cl.execute(args);
            return new Cli(exit, captured.toString(StandardCharsets.UTF_8) + out, err.toString());
        } finally {
            System.setOut(saved);
        }
    }

    @Test
    void badUsageExits64AndRunsNothing() throws Exception {
        Path pages = Files.createDirectories(dir.resolve("pages"));
        Files.writeString(pages.resolve("marks.md"), PAGE);
        Files.writeString(pages.resolve("needs-cluster.md"), "# N\n\n```vars\nFAILOVER_CLUSTER required the cluster\n```\n\n```sh step=a readonly\ntrue\n```\n> x\n");
        String d = pages.toString();
        Path marks = Files.createDirectories(dir.resolve("marks"));
        assertThat(cli("playbook").exit()).isEqualTo(64);
        assertThat(cli("playbook", "run", "nope", "--dir", d).err()).contains("no playbook nope");
        assertThat(cli("playbook", "run", "nope", "--dir", d).exit()).isEqualTo(64);
        assertThat(cli("playbook", "run", "../etc", "--dir", d).exit()).isEqualTo(64);
        Cli missing = cli("playbook", "run", "marks", "--dir", d, "--discovery", "127.0.0.1:1");
        assertThat(missing.exit()).isEqualTo(64);
        assertThat(missing.err()).contains("needs MARKS");
        assertThat(cli("playbook", "run", "marks", "--dir", d, "--set", "NOPE=1", "--set", "MARKS=" + marks).err()).contains("has no variable NOPE");
        assertThat(cli("playbook", "run", "marks", "--dir", d, "--set", "MARKS").exit()).isEqualTo(64);
        assertThat(cli("playbook", "run", "needs-cluster", "--dir", d).err()).contains("needs --cluster");
        assertThat(cli("playbook", "run", "needs-cluster", "--dir", d, "--cluster", dir.resolve("missing.json").toString()).exit()).isEqualTo(64);
        // A test has no terminal: a page with destructive steps is refused before anything runs unless --yes.
        Cli noTty = cli("playbook", "run", "marks", "--dir", d, "--set", "MARKS=" + marks, "--discovery", "127.0.0.1:1");
        assertThat(noTty.exit()).isEqualTo(64);
        assertThat(noTty.err()).contains("refusing to start").contains("--yes");
        assertThat(Files.list(marks)).as("nothing ran").isEmpty();
        assertThat(cli("playbook", "list", "--dir", d).out()).contains("marks").contains("Marks (5 steps, 3 destructive)");
        assertThat(cli("playbook", "show", "marks", "--dir", d).out()).contains("## Steps").contains("breaks").contains("DESTRUCTIVE");
    }
}

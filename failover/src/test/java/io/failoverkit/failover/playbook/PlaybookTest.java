package io.failoverkit.failover.playbook;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The page format (playbooks/README.md): what is a step, what it must say, and every shipped page follows it. */
class PlaybookTest {
    static final String PAGE = """
            # Do a thing

            Use it when the thing
            must be done.

            ## Variables

            ```vars
            FAILOVER_CLUSTER required the cluster
            TARGET optional the replica to promote
            WAIT default=30 seconds to wait
            ```

            ## Check first

            ```sh step=look readonly expect-exit=0,2 expect-output="master \\"x\\""
            failover status --cluster "$FAILOVER_CLUSTER"
            ```

            > If it fails: look harder.
            > Then call someone.

            ```sh
            echo not a step
            ```

            ## Steps

            ```sh step=act destructive kind=redis timeout=20
            failover promote --cluster "$FAILOVER_CLUSTER"
            ```
            > If it fails: nothing changed; see the timeline.

            ## Roll back

            ```sh step=undo destructive expect-exit=any
            failover promote --cluster "$FAILOVER_CLUSTER" --to "$TARGET"
            ```

            > If it fails: page the owner.
            """;

    @Test
    void stepsVariablesAndTheirAttributesAreRead() throws Exception {
        Playbook p = Playbook.parse("thing", PAGE);
        assertThat(p.title()).isEqualTo("Do a thing");
        assertThat(p.summary()).isEqualTo("Use it when the thing must be done.");
        assertThat(p.variables()).extracting(Playbook.Variable::name).containsExactly("FAILOVER_CLUSTER", "TARGET", "WAIT");
        assertThat(p.variables().get(0).required()).isTrue();
        assertThat(p.variables().get(1).defaultValue()).isEmpty();
        assertThat(p.variables().get(2).defaultValue()).isEqualTo("30");
        assertThat(p.steps()).extracting(Playbook.Step::name).containsExactly("look", "act", "undo");
        Playbook.Step look = p.steps().get(0);
        assertThat(look.destructive()).isFalse();
        assertThat(look.expectExit()).containsExactlyInAnyOrder(0, 2);
        assertThat(look.expectOutput().pattern()).isEqualTo("master \"x\"");
        assertThat(look.onFailure()).isEqualTo("If it fails: look harder.\nThen call someone.");
        assertThat(look.section()).isEqualTo("Check first");
        assertThat(look.passes(2, "the master \"x\" is up")).isTrue();
        assertThat(look.passes(1, "the master \"x\" is up")).isFalse();
        assertThat(look.passes(0, "nothing")).isFalse();
        Playbook.Step act = p.steps().get(1);
        assertThat(act.destructive()).isTrue();
        assertThat(act.kind()).isEqualTo("redis");
        assertThat(act.timeoutSeconds()).isEqualTo(20);
        assertThat(act.expectExit()).containsExactly(0);
        assertThat(act.rollback()).isFalse();
        assertThat(p.steps().get(2).rollback()).isTrue();
        assertThat(p.steps().get(2).expectExit()).isEmpty();
        assertThat(p.runSteps(false)).extracting(Playbook.Step::name).containsExactly("look", "act");
        assertThat(p.runSteps(true)).extracting(Playbook.Step::name).containsExactly("undo");
    }

    @Test
    void aPageOffTheFormatIsRefusedWithItsLineAndWhy() {
        record Bad(String page, String why) {}
        for (Bad b : List.of(
                new Bad("# T\n```sh step=a\nls\n```\n> x\n", "exactly one of readonly or destructive"),
                new Bad("# T\n```sh step=a readonly destructive\nls\n```\n> x\n", "exactly one of readonly or destructive"),
                new Bad("# T\n```sh step=a readonly\nls\n```\n\nno quote\n", "blockquote"),
                new Bad("# T\n```sh step=a readonly colour=red\nls\n```\n> x\n", "unknown step attribute colour"),
                new Bad("# T\n```sh step=a readonly expect-exit=zero\nls\n```\n> x\n", "expect-exit"),
                new Bad("# T\n```sh step=a readonly expect-output=(\nls\n```\n> x\n", "not a regular expression"),
                new Bad("# T\n```sh step=a readonly kind=postgres\nls\n```\n> x\n", "kind is redis or mysql"),
                new Bad("# T\n```sh step=A readonly\nls\n```\n> x\n", "step=NAME"),
                new Bad("# T\n```sh step=a readonly\nls\n```\n> x\n```sh step=a readonly\nls\n```\n> x\n", "used twice"),
                new Bad("# T\n```sh step=a readonly\nls\n", "never closed"),
                new Bad("# T\n```sh step=a readonly expect-output=\"x\nls\n```\n> x\n", "unclosed quote"),
                new Bad("# T\n```vars\nlower required x\n```\n```sh step=a readonly\nls\n```\n> x\n", "NAME required|optional|default=VALUE"),
                new Bad("# T\n```vars\nX sometimes x\n```\n```sh step=a readonly\nls\n```\n> x\n", "required, optional or default=VALUE"),
                new Bad("# T\n```sh step=a readonly\n\n```\n> x\n", "has no command"),
                new Bad("no title\n```sh step=a readonly\nls\n```\n> x\n", "no title"),
                new Bad("# T\nno steps\n", "no steps"))) {
            assertThatThrownBy(() -> Playbook.parse("p", b.page())).as(b.page()).isInstanceOf(Playbook.FormatException.class).hasMessageContaining(b.why());
        }
        assertThatThrownBy(() -> Playbook.parse("Bad Name", "# T\n")).hasMessageContaining("lower-case");
    }

    /** Every page in playbooks/ parses, has the sections an operator looks for, and asks for what it uses. */
    @Test
    void everyShippedPageFollowsTheFormat() throws Exception {
        Path dir = Path.of("..", "playbooks");
        List<Path> pages;
        try (Stream<Path> s = Files.list(dir)) {
            pages = s.filter(p -> p.toString().endsWith(".md") && !p.getFileName().toString().equals("README.md")).sorted().toList();
        }
        assertThat(pages).extracting(p -> p.getFileName().toString()).contains("switchover.md", "master-lost.md", "old-master-returns.md",
                "replica-rebuild.md", "split-brain.md", "discovery-quorum-loss.md", "discovery-rolling-upgrade.md",
                "discovery-add-server.md", "discovery-remove-server.md", "gossip-key-rotation.md");
        Set<String> builtins = Set.of("FAILOVER_CLUSTER", "FAILOVER_NAME", "FAILOVER_KIND", "FAILOVER_SERVICE", "FAILOVER_MEMBERS", "FAILOVER_MASTER",
                "FAILOVER_DISCOVERY", "CONSUL_HTTP_ADDR", "FAILOVER_DRY_RUN", "PATH", "HOME");
        for (Path page : pages) {
            Playbook p = Playbook.read(page);
            String text = Files.readString(page);
            for (String section : List.of("## When to use", "## Check first", "## Steps", "## Verify", "## Roll back")) {
                assertThat(text).as(page + " has " + section).contains(section);
            }
            assertThat(p.steps()).as(page + " has a read-only check").anyMatch(s -> !s.destructive());
            for (Playbook.Step s : p.steps()) {
                // Every upper-case variable a step reads is declared or one the runner provides (the page names it for the operator).
                var m = java.util.regex.Pattern.compile("\\$\\{?([A-Z_][A-Z0-9_]*)").matcher(s.script());
                while (m.find()) {
                    String v = m.group(1);
                    assertThat(builtins.contains(v) || p.variables().stream().anyMatch(x -> x.name().equals(v)))
                            .as(page + " step " + s.name() + " reads $" + v + ", which it does not declare").isTrue();
                }
            }
        }
    }
}

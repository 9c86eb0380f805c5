package io.failoverkit.discovery.template;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Any text is either a template or a {@link TemplateException} (with a position), never another exception, and
 * rendering a parsed one ends in bounded time with output or a TemplateException. The {@code @FuzzTest} replays the
 * corpus in src/test/resources under plain {@code mvn test} (coverage-guided with JAZZER_FUZZ=1, like the DNS
 * decoder's); the plain tests below run seeded random token soups and mutations of real templates every build.
 */
class TemplateParserFuzzTest {
    static final Brain BRAIN = new Brain();
    static {
        BRAIN.remember(Dependency.nodes(""), List.of(TemplateLanguageTest.node("n1", "10.0.0.1"), TemplateLanguageTest.node("n2", "10.0.0.2")));
        BRAIN.remember(Dependency.services(""), List.of(TemplateLanguageTest.snippet("web", "prod"), TemplateLanguageTest.snippet("db")));
        BRAIN.remember(Dependency.service("web"), List.of(TemplateLanguageTest.svc("n1", "10.0.0.1", "web", 80, "prod"), TemplateLanguageTest.svc("n2", "10.0.0.2", "web", 80)));
        BRAIN.remember(Dependency.service("db"), List.of(TemplateLanguageTest.svc("n2", "10.0.0.2", "db", 3306)));
        BRAIN.remember(Dependency.key(Dependency.Kind.KV_BLOCK, "k"), "v");
    }

    /** Parses and renders; returns the output, or null when the template was refused; fails on any other exception. */
    static String check(String text) {
        Template t;
        try {
            t = Template.parse("fuzz", text);
        } catch (TemplateException e) {
            assertThat(e.line()).isPositive();
            assertThat(e.column()).isPositive();
            return null;
        }
        try {
            return t.render(BRAIN).output();
        } catch (TemplateException e) {
            assertThat(e.getMessage()).startsWith("fuzz:");
            return null;
        }
    }

    @FuzzTest(maxDuration = "60s")
    void anyTextIsATemplateOrATemplateError(byte[] input) {
        check(new String(input, StandardCharsets.UTF_8));
    }

    static final String[] TOKENS = {"{{", "}}", "{{- ", " -}}", " ", " ", " ", "\n", "range", "if", "else", "end", "with", "break", "continue",
            "$x", "$i", "$", ":=", "=", ",", "|", "(", ")", ".", ".Name", ".Address", ".Tags", ".Port", ".Nope", "\"web\"", "\"k\"", "\"%d %s\"",
            "`raw`", "'c'", "'\\n'", "1", "-3", "1e3", "0x1f", "1.5", "nil", "true", "false", "nodes", "services", "service", "key", "keyOrDefault",
            "ls", "tree", "node", "printf", "print", "len", "index", "and", "or", "not", "eq", "ne", "lt", "join", "contains", "toJSON",
            "split", "\",\"", "/*", "*/", "text", "\"\\x41\"", "\"\\u00e9\"", "\"unterminated", "define", "template", "-", "+", ":", "@", "\"tag.web@dc1|any\""};

    static final List<String> SEEDS = List.of(
            TemplateCommandTest.SEED_HOSTS,
            "backend web\n{{- range service \"prod.web\" }}\n    server {{ .Node }} {{ .Address }}:{{ .Port }} check\n{{- end }}\n",
            "{{ range $i, $e := nodes }}{{ if gt $i 0 }},{{ end }}{{ printf \"%s=%q\" $e.Node $e.Address }}{{ else }}none{{ end }}",
            "{{ with $x := key \"k\" }}{{ $x | toJSON }}{{ else with nodes }}{{ len . }}{{ end }}{{/* c */}}",
            "{{ if and (eq 1 1) (or false \"x\") (not nil) }}{{ index (split \",\" \"a,b\") 1 }}{{ else if true }}{{ end }}");

    @Test
    void randomTokenSoupsAreTemplatesOrTemplateErrors() {
        Random rnd = new Random(20261201);
        long worst = 0;
        int parsed = 0;
        for (int n = 0; n < 30_000; n++) {
            StringBuilder b = new StringBuilder();
            int len = 1 + rnd.nextInt(40);
            for (int k = 0; k < len; k++) b.append(TOKENS[rnd.nextInt(TOKENS.length)]);
            long t0 = System.nanoTime();
            if (check(b.toString()) != null) parsed++;
            worst = Math.max(worst, System.nanoTime() - t0);
        }
        System.out.printf("token soups: 30000 inputs, %d rendered, slowest %.1f ms%n", parsed, worst / 1e6);
        assertThat(parsed).as("some soups are valid templates").isPositive();
        assertThat(worst).as("each input is handled in bounded time").isLessThan(10_000_000_000L);
    }

    @Test
    void mutatedRealTemplatesAreTemplatesOrTemplateErrors() {
        Random rnd = new Random(7);
        long worst = 0;
        int parsed = 0;
        for (int n = 0; n < 30_000; n++) {
            StringBuilder b = new StringBuilder(SEEDS.get(rnd.nextInt(SEEDS.size())));
            int edits = 1 + rnd.nextInt(4);
            for (int e = 0; e < edits && !b.isEmpty(); e++) {
                int at = rnd.nextInt(b.length());
                switch (rnd.nextInt(5)) {
                    case 0 -> b.deleteCharAt(at);
                    case 1 -> b.insert(at, TOKENS[rnd.nextInt(TOKENS.length)]);
                    case 2 -> b.setCharAt(at, (char) rnd.nextInt(128));
                    case 3 -> { int end = Math.min(b.length(), at + 1 + rnd.nextInt(20)); b.insert(at, b.substring(at, end)); }
                    default -> b.delete(at, Math.min(b.length(), at + 1 + rnd.nextInt(10)));
                }
            }
            long t0 = System.nanoTime();
            if (check(b.toString()) != null) parsed++;
            worst = Math.max(worst, System.nanoTime() - t0);
        }
        System.out.printf("mutations: 30000 inputs, %d rendered, slowest %.1f ms%n", parsed, worst / 1e6);
        assertThat(parsed).isPositive();
        assertThat(worst).isLessThan(10_000_000_000L);
    }

    @Test
    void pathologicalInputsAreRefusedOrBounded() {
        assertThat(check("{{" + "(".repeat(100_000))).isNull();
        assertThat(check("{{ if 1 }}".repeat(10_000))).isNull();
        assertThat(check("{{ if 1 }}x{{ else if 1 }}".repeat(5_000) + "{{ end }}")).isNull();
        // Nested ranges multiply: the step budget stops them with an error instead of running for ever.
        String nested = "{{ range nodes }}".repeat(40) + "x" + "{{ end }}".repeat(40);
        assertThat(check(nested)).isNull();
        assertThat(check("{{".repeat(50_000))).isNull();
        assertThat(check("\"".repeat(1000) + "{{ \"" + "\\".repeat(1001) + "\" }}")).isNull();
    }
}

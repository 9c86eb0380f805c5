package io.failoverkit.discovery.http;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Any text given as ?filter= is either an expression or a {@link Filter.FilterException} with a position inside the
 * text, never another exception, and a parsed one evaluates against real entries without throwing. The
 * {@code @FuzzTest} replays the seed corpus in src/test/resources under plain {@code mvn test} (coverage-guided with
 * JAZZER_FUZZ=1); the plain tests run seeded token soups and mutations of real expressions every build.
 */
class FilterParserFuzzTest {
    static final Filter.Struct[] SCHEMAS = {Selection.CHECK_SERVICE_NODE, Selection.SERVICE_NODE, Selection.NODE, Selection.NODE_SERVICE, Selection.HEALTH_CHECK};

    /** True when parsed (and evaluated); false when refused with a position; fails on anything else. */
    static boolean check(String text, Filter.Struct schema) {
        Filter f;
        try {
            f = Filter.parse(text, schema);
        } catch (Filter.FilterException e) {
            assertThat(e.offset).isBetween(0, text.length());
            assertThat(e.getMessage()).startsWith("Failed to create boolean expression evaluator: ");
            return false;
        }
        f.matches(FilterExpressionTest.WEB1);
        f.matches(FilterExpressionTest.WEB2);
        f.matches(FilterExpressionTest.WEB1.path("Service"));
        return true;
    }

    @FuzzTest(maxDuration = "60s")
    void anyTextIsAFilterOrAFilterErrorWithAPosition(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        for (Filter.Struct s : SCHEMAS) check(text, s);
    }

    static final String[] TOKENS = {" ", " ", " ", "\n", "(", ")", "==", "!=", "=", "!", "in", "not", "and", "or", "is", "empty", "contains",
            "matches", "Service", ".", "Service.ID", "Service.Tags", "Service.Port", "Service.Meta", "Node.Meta.env", "Checks.Status", "Checks",
            "ServiceTags", "Meta", "Tags", "Node", "Status", "[", "]", "[\"k\"]", "\"", "\"web\"", "`raw`", "`", "\"\\u00e9\"", "\"\\q\"", "\"(\"",
            "\"[a-z]+\"", "80", "-1", "1.5", "true", "false", "web-1", "é", "\\", ":", "/", "Service.Weights.Passing"};

    static final List<String> SEEDS = List.of(
            "Service.Tags contains primary and Node.Meta.env == prod",
            "(Checks.Status == critical or Service.Port != 80) and not \"v1\" in Service.Tags",
            "Service.Meta[\"team-name\"] matches \"^a\" or Service.Address is empty",
            "ServiceTags not contains `x` and NodeMeta is not empty",
            "Status == passing and ServiceName != \"\"");

    @Test
    void randomTokenSoupsAreFiltersOrFilterErrors() {
        Random rnd = new Random(20261202);
        int parsed = 0;
        for (int n = 0; n < 20_000; n++) {
            StringBuilder b = new StringBuilder();
            int len = 1 + rnd.nextInt(16);
            for (int k = 0; k < len; k++) b.append(TOKENS[rnd.nextInt(TOKENS.length)]).append(rnd.nextInt(3) == 0 ? "" : " ");
            if (check(b.toString(), SCHEMAS[rnd.nextInt(SCHEMAS.length)])) parsed++;
        }
        assertThat(parsed).as("some soups are valid expressions").isPositive();
    }

    @Test
    void mutatedRealFiltersAreFiltersOrFilterErrors() {
        Random rnd = new Random(11);
        int parsed = 0;
        for (int n = 0; n < 20_000; n++) {
            StringBuilder b = new StringBuilder(SEEDS.get(rnd.nextInt(SEEDS.size())));
            int edits = 1 + rnd.nextInt(3);
            for (int e = 0; e < edits && !b.isEmpty(); e++) {
                int at = rnd.nextInt(b.length());
                switch (rnd.nextInt(4)) {
                    case 0 -> b.deleteCharAt(at);
                    case 1 -> b.insert(at, TOKENS[rnd.nextInt(TOKENS.length)]);
                    case 2 -> b.setCharAt(at, (char) rnd.nextInt(128));
                    default -> b.delete(at, Math.min(b.length(), at + 1 + rnd.nextInt(8)));
                }
            }
            for (Filter.Struct s : SCHEMAS) if (check(b.toString(), s)) parsed++;
        }
        assertThat(parsed).isPositive();
    }
}

package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.state.Json;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Consul's filter language (go-bexpr) as its filtering docs define it: every matching operator, the logical ones with
 * their precedence, quoted and unquoted values, map keys, lists of objects (any element), and errors with positions.
 */
class FilterExpressionTest {
    static final JsonNode WEB1 = json("""
            {"Node":{"Node":"n1","Address":"10.0.0.1","Datacenter":"dc1","Meta":{"rack":"r1","env":"prod"},"TaggedAddresses":{}},
             "Service":{"ID":"web-1","Service":"web","Tags":["primary","v1.2"],"Port":8080,"Meta":{"version":"2","team-name":"a"},
                        "EnableTagOverride":false,"Weights":{"Passing":3,"Warning":1},"Address":""},
             "Checks":[{"CheckID":"serfHealth","Status":"passing","ServiceTags":[]},{"CheckID":"service:web-1","Status":"critical","ServiceTags":["primary"]}]}""");
    static final JsonNode WEB2 = json("""
            {"Node":{"Node":"n2","Address":"10.0.0.2","Datacenter":"dc1","Meta":{"env":"qa"},"TaggedAddresses":{}},
             "Service":{"ID":"web-2","Service":"web","Tags":[],"Port":80,"Meta":{},"EnableTagOverride":true,"Weights":{"Passing":1,"Warning":1},"Address":"x"},
             "Checks":[{"CheckID":"serfHealth","Status":"passing","ServiceTags":[]}]}""");

    static JsonNode json(String s) {
        try { return Json.MAPPER.readTree(s); } catch (Exception e) { throw new IllegalStateException(e); }
    }

    /** The entries (web-1, web-2) an expression keeps, by service ID. */
    static List<String> kept(String expr) {
        Filter f = Filter.parse(expr, Selection.CHECK_SERVICE_NODE);
        return java.util.stream.Stream.of(WEB1, WEB2).filter(f::matches).map(j -> j.path("Service").path("ID").asText()).toList();
    }

    @Test
    void filterEqualityAndInequalityWithQuotedAndUnquotedValues() {
        assertThat(kept("Service.ID == \"web-1\"")).containsExactly("web-1");
        assertThat(kept("Service.ID == `web-2`")).containsExactly("web-2");
        assertThat(kept("Node.Meta.env == prod")).containsExactly("web-1");
        assertThat(kept("Node.Meta.env != prod")).containsExactly("web-2");
        assertThat(kept("Service.Port == 8080")).containsExactly("web-1");
        assertThat(kept("Service.EnableTagOverride == true")).containsExactly("web-2");
        assertThat(kept("Service.Weights.Passing == 3")).containsExactly("web-1");
        // A map key that is not there: == is false, != is true (the key is simply not equal).
        assertThat(kept("Node.Meta.rack == r1")).containsExactly("web-1");
        assertThat(kept("Node.Meta.rack != r1")).containsExactly("web-2");
        assertThat(kept("Service.Meta[\"team-name\"] == a")).containsExactly("web-1");
        // As bexpr: after an operator, a bare word is a value even when it spells a keyword.
        assertThat(kept("Node.Meta.env == empty or Node.Meta.env == in")).isEmpty();
        assertThat(kept("Node.Meta.env != and")).containsExactly("web-1", "web-2");
    }

    @Test
    void filterInContainsAndEmptiness() {
        assertThat(kept("primary in Service.Tags")).containsExactly("web-1");
        assertThat(kept("\"primary\" not in Service.Tags")).containsExactly("web-2");
        assertThat(kept("Service.Tags contains \"v1.2\"")).containsExactly("web-1");
        assertThat(kept("Service.Tags not contains v1.2")).containsExactly("web-2");
        assertThat(kept("Service.Tags is empty")).containsExactly("web-2");
        assertThat(kept("Service.Tags is not empty")).containsExactly("web-1");
        assertThat(kept("Service.Meta is empty")).containsExactly("web-2");
        // On a map, in tests keys; on a string, a substring.
        assertThat(kept("rack in Node.Meta")).containsExactly("web-1");
        assertThat(kept("\"10.0.0\" in Node.Address")).containsExactly("web-1", "web-2");
        assertThat(kept("Node.Address contains \".2\"")).containsExactly("web-2");
        assertThat(kept("Service.Address is empty")).containsExactly("web-1");
    }

    @Test
    void filterMatchesIsAnUnanchoredRegularExpression() {
        assertThat(kept("Service.ID matches \"-[0-9]$\"")).containsExactly("web-1", "web-2");
        assertThat(kept("Node.Node matches \"1\"")).containsExactly("web-1");
        assertThat(kept("Node.Node not matches \"^n1$\"")).containsExactly("web-2");
    }

    @Test
    void filterSelectorThroughAListOfObjectsMatchesWhenAnyElementDoes() {
        assertThat(kept("Checks.Status == critical")).containsExactly("web-1");
        assertThat(kept("Checks.Status == passing")).containsExactly("web-1", "web-2");
        assertThat(kept("not Checks.Status == critical")).containsExactly("web-2");
        assertThat(kept("Checks.ServiceTags contains primary")).containsExactly("web-1");
        assertThat(kept("Checks is not empty")).containsExactly("web-1", "web-2");
    }

    @Test
    void filterLogicalOperatorsPrecedenceAndParentheses() {
        // and binds tighter than or; not tighter than and.
        assertThat(kept("Node.Node == n2 or Node.Node == n1 and Service.Port == 80")).containsExactly("web-2");
        assertThat(kept("(Node.Node == n2 or Node.Node == n1) and Service.Port == 80")).containsExactly("web-2");
        assertThat(kept("(Node.Node == n2 or Node.Node == n1) and not Service.Port == 80")).containsExactly("web-1");
        assertThat(kept("not not Service.Port == 80")).containsExactly("web-2");
        assertThat(kept("  ( ( Service.Port == 80 ) )  ")).containsExactly("web-2");
        assertThat(kept("Service.Port == 1 or Service.Port == 2 or Service.Port == 8080")).containsExactly("web-1");
    }

    @Test
    void filterMalformedExpressionsAre400sWithTheirPosition() {
        assertError("Service.ID ==", "1:14 (13)");
        assertError("Service.ID = web", "1:12 (11)");
        assertError("(Service.ID == web", "1:19 (18)");
        assertError("Service.ID == web)", "1:18 (17)");
        assertError("Service.ID == \"web", "1:15 (14)", "unterminated");
        assertError("Service.ID == web and", "1:22 (21)");
        assertError("Service.ID is full", "1:15 (14)", "empty");
        assertError("Service.ID matches \"(\"", "1:20 (19)", "regular expression");
        assertError("Service.Port == eighty", "1:17 (16)", "coerce");
        assertError("Service.EnableTagOverride == yes", "1:30 (29)", "coerce");
        assertError("", "1:1 (0)", "empty");
        assertError("Service.ID ==\n  web and or", "2:11 (24)", "keyword \"or\"");
    }

    @Test
    void filterUnknownSelectorsAndOperatorsTheFieldDoesNotSupportAreRefused() {
        assertError("Service.Nope == 1", "1:1 (0)", "Selector \"Service.Nope\" is not valid");
        assertError("Node.Meta.env.deeper == 1", "1:1 (0)", "is not valid");
        assertError("x in Service.Bogus", "1:6 (5)", "Selector \"Service.Bogus\" is not valid");
        assertError("Service.Port contains 8", "1:14 (13)", "Invalid match operator \"contains\"");
        assertError("Service.Tags == primary", "1:14 (13)", "Invalid match operator \"==\"");
        assertError("Checks == x", "1:8 (7)", "Invalid match operator");
        assertError("\"Service\" == x", "1:1 (0)", "expected a selector");
        // Each endpoint has its own fields: ServiceTags is the flat catalog shape's, not the health entry's.
        assertThatThrownBy(() -> Filter.parse("ServiceTags contains x", Selection.CHECK_SERVICE_NODE)).hasMessageContaining("is not valid");
        assertThat(Filter.parse("ServiceTags contains x", Selection.SERVICE_NODE)).isNotNull();
    }

    @Test
    void filterNestingIsBounded() {
        String deep = "(".repeat(Filter.MAX_DEPTH + 5) + "Service.Port == 1" + ")".repeat(Filter.MAX_DEPTH + 5);
        assertThatThrownBy(() -> Filter.parse(deep, Selection.CHECK_SERVICE_NODE)).hasMessageContaining("nested deeper");
        assertThatThrownBy(() -> Filter.parse("not ".repeat(1_000) + "Service.Port == 1", Selection.CHECK_SERVICE_NODE)).hasMessageContaining("nested deeper");
        assertThatThrownBy(() -> Filter.parse("a".repeat(Filter.MAX_LENGTH + 1), Selection.CHECK_SERVICE_NODE)).hasMessageContaining("longer than");
    }

    static void assertError(String expr, String position, String... also) {
        assertThatThrownBy(() -> Filter.parse(expr, Selection.CHECK_SERVICE_NODE))
                .isInstanceOf(Filter.FilterException.class)
                .hasMessageStartingWith("Failed to create boolean expression evaluator: " + position + ": ")
                .satisfies(e -> { for (String a : also) assertThat(e.getMessage()).containsIgnoringCase(a); });
    }
}

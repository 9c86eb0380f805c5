package io.failoverkit.discovery.acl;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Consul's rule language in both spellings, and rules refused with the line and column of the mistake. */
class RulesTest {
    private static final String HCL = """
            # keys
            key_prefix "" {
              policy = "read"
            }
            key_prefix "foo/" { policy = "write" }
            key "foo/secret" { policy = "deny" }   // exact
            service "web" { policy = "write" }
            service_prefix "" { policy = "read" }
            node_prefix "" { policy = "read" }
            session_prefix "" { policy = "write" }
            event_prefix "deploy" { policy = "write" }
            agent_prefix "" { policy = "read" }
            query_prefix "" { policy = "read" }
            /* cluster-wide */
            operator = "read"
            acl = "write"
            key_prefix "logs/" { policy = "list" }
            """;

    private static final String JSON = """
            {
              "key_prefix": {"": {"policy": "read"}, "foo/": {"policy": "write"}, "logs/": {"policy": "list"}},
              "key": {"foo/secret": {"policy": "deny"}},
              "service": {"web": {"policy": "write"}},
              "service_prefix": {"": {"policy": "read"}},
              "node_prefix": {"": {"policy": "read"}},
              "session_prefix": {"": {"policy": "write"}},
              "event_prefix": {"deploy": {"policy": "write"}},
              "agent_prefix": {"": {"policy": "read"}},
              "query_prefix": [{"": {"policy": "read"}}],
              "operator": "read",
              "acl": "write"
            }
            """;

    @Test
    void hclAndJsonSpellingsOfTheSameRulesAreEqual() throws Exception {
        Rules hcl = Rules.parse(HCL);
        Rules json = Rules.parse(JSON);
        assertEquals(hcl.toString(), json.toString());
        assertEquals(Access.WRITE, hcl.prefix(Resource.KEY).get("foo/"));
        assertEquals(Access.LIST, hcl.prefix(Resource.KEY).get("logs/"));
        assertEquals(Access.DENY, hcl.exact(Resource.KEY).get("foo/secret"));
        assertEquals(Access.WRITE, hcl.exact(Resource.SERVICE).get("web"));
        assertEquals(Access.READ, hcl.unnamed(Resource.OPERATOR));
        assertEquals(Access.WRITE, hcl.unnamed(Resource.ACL));
        assertEquals(Access.READ, json.prefix(Resource.QUERY).get(""));
    }

    @Test
    void blankRulesAreNoRules() throws Exception {
        assertTrue(Rules.parse("  \n# nothing\n").toString().isEmpty());
        assertNull(Rules.parse("").unnamed(Resource.ACL));
    }

    @Test
    void theSameNameTwiceKeepsTheStrongerDisposition() throws Exception {
        Rules r = Rules.parse("key_prefix \"a/\" { policy = \"write\" }\nkey_prefix \"a/\" { policy = \"read\" }\nservice \"x\" { policy = \"read\" }\nservice \"x\" { policy = \"deny\" }");
        assertEquals(Access.WRITE, r.prefix(Resource.KEY).get("a/"));
        assertEquals(Access.DENY, r.exact(Resource.SERVICE).get("x"));
    }

    private static Rules.ParseError refused(String text) {
        return assertThrows(Rules.ParseError.class, () -> Rules.parse(text));
    }

    @Test
    void syntaxErrorsNameLineAndColumn() {
        Rules.ParseError e = refused("key_prefix \"\" {\n  policy = \"read\"\n\nservice \"x\" { policy = \"read\" ");
        assertTrue(e.getMessage().startsWith("Failed to parse ACL rules: At "), e.getMessage());
        e = refused("key_prefix \"\" {\n  policy = = \"read\"\n}");
        assertEquals(2, e.line);
        assertEquals(12, e.column);
        assertTrue(e.getMessage().contains("At 2:12:"), e.getMessage());
        e = refused("key \"unterminated { policy = \"read\" }");
        assertEquals(1, e.line);
        e = refused("{\"key_prefix\": {\"\": {\"policy\": \"read\"}},\n \"operator\": }");
        assertEquals(2, e.line);
        assertEquals(14, e.column);
    }

    @Test
    void unknownWordsAndDispositionsAreRefusedWhereTheyStand() {
        Rules.ParseError e = refused("key_prefix \"\" { policy = \"read\" }\n  keys_prefix \"a\" { policy = \"write\" }");
        assertEquals(2, e.line);
        assertEquals(3, e.column);
        assertTrue(e.getMessage().contains("unknown rule \"keys_prefix\""), e.getMessage());
        e = refused("service \"web\" {\n  policy = \"write\"\n  intentions = \"read\"\n}");
        assertEquals(3, e.line);
        assertTrue(e.getMessage().contains("unknown field \"intentions\""), e.getMessage());
        e = refused("node \"n1\" { policy = \"admin\" }");
        assertEquals(1, e.line);
        assertEquals(22, e.column);
        e = refused("service_prefix \"\" { policy = \"list\" }");
        assertTrue(e.getMessage().contains("only valid for key"), e.getMessage());
        e = refused("operator { policy = \"read\" }");
        assertEquals(1, e.line);
        e = refused("{\"keyrings\": \"write\"}");
        assertTrue(e.getMessage().contains("unknown rule \"keyrings\""), e.getMessage());
        // Consul's keyring rule is known (the enforcement checks /v1/operator/keyring with it).
        assertEquals(Access.WRITE, assertDoesNotThrow(() -> Rules.parse("keyring = \"write\"")).unnamed(Resource.KEYRING));
        e = refused("key_prefix \"a/\" { }");
        assertTrue(e.getMessage().contains("has no policy"), e.getMessage());
    }
}

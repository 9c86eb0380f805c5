package io.failoverkit.discovery.acl;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Which rule decides: the exact name over the longest prefix over shorter prefixes; between a token's policies the
 * same name keeps deny over write over list over read; no matching rule leaves it to default_policy.
 */
class PolicyAuthorizerTest {
    private static final String OPS = """
            key_prefix "" { policy = "read" }
            key_prefix "app/" { policy = "write" }
            key_prefix "app/private/" { policy = "deny" }
            key "app/private/shared" { policy = "read" }
            key_prefix "logs/" { policy = "list" }
            service_prefix "foo-" { policy = "read" }
            service "foo-db" { policy = "write" }
            node_prefix "" { policy = "read" }
            operator = "read"
            """;
    private static final String SECOND = """
            key_prefix "app/" { policy = "read" }
            key_prefix "other/" { policy = "write" }
            service "foo-db" { policy = "deny" }
            service "bar" { policy = "write" }
            operator = "write"
            """;

    private static Authorizer of(boolean defaultAllow, String... rules) throws Exception {
        List<Rules> rs = new java.util.ArrayList<>();
        for (String r : rules) rs.add(Rules.parse(r));
        return PolicyAuthorizer.of(rs, defaultAllow);
    }

    @ParameterizedTest(name = "{0} {1} {2}: {3}")
    @CsvSource({
            // kind, name, needed, allowed with OPS alone (default deny)
            "KEY, anything, READ, true",              // key_prefix "" read
            "KEY, anything, WRITE, false",
            "KEY, app/x, WRITE, true",                // longer prefix wins over ""
            "KEY, app/private/x, READ, false",        // still longer prefix: deny
            "KEY, app/private/shared, READ, true",    // exact beats every prefix
            "KEY, app/private/shared, WRITE, false",
            "KEY, logs/, LIST, true",                 // list covers list and read
            "KEY, logs/a, READ, true",
            "KEY, logs/a, WRITE, false",
            "KEY, app/, LIST, true",                  // write covers list
            "KEY, x/, LIST, false",                   // read does not cover list (Consul's enforce)
            "SERVICE, foo-db, WRITE, true",           // exact write over prefix read
            "SERVICE, foo-web, READ, true",
            "SERVICE, foo-web, WRITE, false",
            "SERVICE, bar, READ, false",              // no rule: default deny
            "NODE, n1, READ, true",
            "NODE, n1, WRITE, false",
            "OPERATOR, '', READ, true",
            "OPERATOR, '', WRITE, false",
            "ACL, '', READ, false",
            "SESSION, s, READ, false",
    })
    void onePolicyMostSpecificRuleWins(Resource kind, String name, Access needed, boolean allowed) throws Exception {
        assertEquals(allowed, of(false, OPS).allows(kind, name, needed));
    }

    @ParameterizedTest(name = "{0} {1} {2}: {3}")
    @CsvSource({
            "KEY, app/x, WRITE, true",       // same prefix in both: write over read
            "KEY, other/x, WRITE, true",     // only in the second
            "SERVICE, foo-db, READ, false",  // same exact name: deny over write
            "SERVICE, foo-web, READ, true",
            "SERVICE, bar, WRITE, true",
            "OPERATOR, '', WRITE, true",     // write over read
            "KEY, app/private/x, READ, false",
    })
    void twoPoliciesMergeAsConsulMergesThem(Resource kind, String name, Access needed, boolean allowed) throws Exception {
        assertEquals(allowed, of(false, OPS, SECOND).allows(kind, name, needed));
        assertEquals(allowed, of(false, SECOND, OPS).allows(kind, name, needed), "order of the policies does not matter");
    }

    @Test
    void defaultPolicyDecidesOnlyWhereNoRuleMatches() throws Exception {
        Authorizer allow = of(true, "key_prefix \"secret/\" { policy = \"deny\" }\nservice \"ro\" { policy = \"read\" }");
        assertTrue(allow.allows(Resource.KEY, "anything", Access.WRITE));
        assertTrue(allow.allows(Resource.ACL, "", Access.WRITE));
        assertFalse(allow.allows(Resource.KEY, "secret/x", Access.READ), "deny holds under default allow");
        assertFalse(allow.allows(Resource.SERVICE, "ro", Access.WRITE), "a read rule does not grant write under default allow");
        Authorizer deny = of(false);
        for (Resource r : Resource.values()) assertFalse(deny.allows(r, "x", Access.READ));
    }

    @Test
    void emptyPrefixMatchesTheEmptyName() throws Exception {
        Authorizer a = of(false, "key_prefix \"\" { policy = \"list\" }");
        assertTrue(a.allows(Resource.KEY, "", Access.LIST));
        assertFalse(a.allows(Resource.KEY, "", Access.WRITE));
    }
}

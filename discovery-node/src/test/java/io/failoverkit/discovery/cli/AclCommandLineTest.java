package io.failoverkit.discovery.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.acl.AclTestAgents;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.state.Json;
import io.failoverkit.discovery.testing.Cli;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * {@code discovery-node acl ...} against a fresh ACL-enabled server (default deny, nothing configured): bootstrap
 * once, then policies and tokens created, read, listed, updated and deleted with Consul's flags and output, the
 * management token taken from CONSUL_HTTP_TOKEN and the new token's from a -token-file.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class AclCommandLineTest {
    @TempDir static Path dir;
    private static Agent agent;
    private static String addr;

    @BeforeAll
    static void start() throws Exception {
        agent = AclTestAgents.devServer("acl-cli", AclTestAgents.configFile(dir, "{\"enabled\": true, \"default_policy\": \"deny\"}"));
        addr = "127.0.0.1:" + agent.httpPort();
        // The leader's ACL initialisation (anonymous token) is committed once token/self answers for anonymous.
        await().atMost(Duration.ofSeconds(30)).until(() -> AclTestAgents.call(agent.httpPort(), "GET", "/v1/acl/token/self", null, null).status() == 200);
    }

    @AfterAll
    static void stop() {
        if (agent != null) agent.close();
    }

    @AfterEach
    void resetEnvironment() {
        AgentHttp.environment = System.getenv();
    }

    private static Cli.Run acl(String token, String... args) {
        AgentHttp.environment = token == null ? Map.of() : Map.of("CONSUL_HTTP_TOKEN", token);
        String[] all = new String[args.length + 2];
        all[0] = "acl";
        System.arraycopy(args, 0, all, 1, args.length);
        all[all.length - 1] = "-http-addr=" + addr;
        // picocli takes options after the subcommand's own positional-free args: put -http-addr last.
        return Cli.run(all);
    }

    private static String field(String out, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + ":\\s+(\\S+)").matcher(out);
        assertThat(m.find()).as(out).isTrue();
        return m.group(1);
    }

    @Test
    void bootstrapThenPoliciesAndTokensRoundTrip() throws Exception {
        Cli.Run boot = acl(null, "bootstrap");
        assertThat(boot.code()).as(boot.err()).isEqualTo(0);
        assertThat(boot.out()).contains("Description:      Bootstrap Token (Global Management)")
                .contains("00000000-0000-0000-0000-000000000001 - global-management");
        String root = field(boot.out(), "SecretID");
        Cli.Run again = acl(null, "bootstrap");
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.err()).contains("Error bootstrapping ACLs: Unexpected response code: 403 (ACL bootstrap no longer allowed (reset index: ");

        Path rules = dir.resolve("kv.hcl");
        Files.writeString(rules, "key_prefix \"app/\" {\n  policy = \"write\"\n}\n");
        // -rules=@FILE in one argument: a separate "@FILE" argument is an argument file to picocli (Main's parser).
        Cli.Run created = acl(root, "policy", "create", "-name", "app-kv", "-description", "app keys", "-rules=@" + rules);
        assertThat(created.code()).as(created.err()).isEqualTo(0);
        assertThat(created.out()).contains("Name:         app-kv").contains("Rules:\nkey_prefix \"app/\"");
        String policyId = field(created.out(), "ID");
        Cli.Run bad = acl(root, "policy", "create", "-name", "bad", "-rules", "key_prefix \"\" {\n policy = \"sudo\"\n}");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains("At 2:11:");
        assertThat(acl(root, "policy", "list").out()).contains("app-kv:\n   ID:           " + policyId);
        assertThat(acl(root, "policy", "read", "-name", "app-kv").out()).contains("ID:           " + policyId);
        Cli.Run upd = acl(root, "policy", "update", "-id", policyId, "-rules", "key_prefix \"app/\" { policy = \"read\" }");
        assertThat(upd.code()).as(upd.err()).isEqualTo(0);
        assertThat(upd.out()).contains("Description:  app keys").contains("policy = \"read\"");
        JsonNode asJson = Json.MAPPER.readTree(acl(root, "policy", "read", "-id", policyId, "-format", "json").out());
        assertThat(asJson.path("Name").asText()).isEqualTo("app-kv");

        Cli.Run tok = acl(root, "token", "create", "-description", "app token", "-policy-name", "app-kv");
        assertThat(tok.code()).as(tok.err()).isEqualTo(0);
        String accessor = field(tok.out(), "AccessorID");
        String secret = field(tok.out(), "SecretID");
        assertThat(tok.out()).contains(policyId + " - app-kv");
        Cli.Run read = acl(root, "token", "read", "-accessor-id", accessor);
        assertThat(field(read.out(), "SecretID")).isEqualTo("<hidden>");
        assertThat(acl(root, "token", "list").out()).contains("AccessorID:       " + accessor).doesNotContain(secret);

        // The new token reads itself through a token file (a token is never taken from argv).
        Path tokenFile = dir.resolve("app.token");
        Files.writeString(tokenFile, secret + "\n");
        AgentHttp.environment = Map.of();
        Cli.Run self = Cli.run("acl", "token", "read", "-self", "-token-file", tokenFile.toString(), "-http-addr=" + addr);
        assertThat(self.code()).as(self.err()).isEqualTo(0);
        assertThat(field(self.out(), "AccessorID")).isEqualTo(accessor);
        Cli.Run denied = Cli.run("acl", "policy", "list", "-token-file", tokenFile.toString(), "-http-addr=" + addr);
        assertThat(denied.code()).isEqualTo(1);
        assertThat(denied.err()).contains("403").contains("lacks permission 'acl:read'");
        assertThat(Cli.run("acl", "token", "list", "-token", secret, "-http-addr=" + addr).code()).isEqualTo(64);

        Cli.Run tupd = acl(root, "token", "update", "-accessor-id", accessor, "-description", "renamed");
        assertThat(tupd.code()).as(tupd.err()).isEqualTo(0);
        assertThat(tupd.out()).contains("Description:      renamed").contains(policyId + " - app-kv");
        assertThat(acl(root, "token", "delete", "-accessor-id", accessor).out()).contains("Token \"" + accessor + "\" deleted successfully");
        assertThat(acl(root, "token", "read", "-accessor-id", accessor).code()).isEqualTo(1);
        assertThat(acl(root, "policy", "delete", "-name", "app-kv").out()).contains("Policy \"" + policyId + "\" deleted successfully");
        assertThat(acl(root, "policy", "read", "-id", policyId).code()).isEqualTo(1);
        assertThat(acl(root, "policy", "read").code()).isEqualTo(64);
    }
}

package io.failoverkit.discovery.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.failoverkit.discovery.state.Json;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code discovery-node acl bootstrap | policy create|list|read|update|delete | token create|list|read|update|delete},
 * as Consul's {@code consul acl} commands: the same flags and the same "pretty" output (or the API's JSON with
 * {@code -format json}). The management token comes from CONSUL_HTTP_TOKEN or -token-file, never from argv; for the
 * same reason token create has no {@code -secret} flag (a chosen SecretID can be sent through the HTTP API).
 */
@Command(name = "acl", mixinStandardHelpOptions = true, description = "Manages ACL policies and tokens (Consul's `consul acl`).",
        subcommands = {AclCmd.Bootstrap.class, AclCmd.Policy.class, AclCmd.Token.class})
public final class AclCmd implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: bootstrap, policy or token");
    }

    /** Go's time.Time String() layout, in UTC, as Consul prints times. */
    private static final DateTimeFormatter GO_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS '+0000 UTC'").withZone(ZoneOffset.UTC);

    static String time(String rfc3339) {
        try {
            return GO_TIME.format(Instant.parse(rfc3339));
        } catch (java.time.format.DateTimeParseException e) {
            return rfc3339;
        }
    }

    /** -format pretty|json, as Consul's ACL commands. */
    static final class Format {
        @Option(names = "-format", paramLabel = "FORMAT", defaultValue = "pretty", description = "Output format: pretty (default) or json.")
        String format;

        boolean json(AgentHttp http) {
            if (!format.equals("pretty") && !format.equals("json")) throw http.usage("-format must be pretty or json, got \"" + format + "\"");
            return format.equals("json");
        }
    }

    static void printJson(PrintWriter out, JsonNode node) {
        try {
            out.println(Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(node));
        } catch (IOException e) {
            throw new AgentHttp.Failure("Error formatting output: " + e.getMessage());
        }
        out.flush();
    }

    static JsonNode json(AgentHttp.Response r, String what) {
        try {
            return r.json();
        } catch (IOException e) {
            throw new AgentHttp.Failure("Error " + what + ": the agent's answer is not JSON: " + e.getMessage());
        }
    }

    static byte[] body(JsonNode node) {
        try {
            return Json.MAPPER.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static void printToken(PrintWriter out, JsonNode t) {
        out.printf("AccessorID:       %s%n", t.path("AccessorID").asText());
        out.printf("SecretID:         %s%n", t.path("SecretID").asText());
        out.printf("Description:      %s%n", t.path("Description").asText());
        out.printf("Local:            %s%n", t.path("Local").asBoolean());
        out.printf("Create Time:      %s%n", time(t.path("CreateTime").asText()));
        if (t.hasNonNull("ExpirationTime")) out.printf("Expiration Time:  %s%n", time(t.path("ExpirationTime").asText()));
        if (t.path("Policies").size() > 0) {
            out.println("Policies:");
            for (JsonNode p : t.path("Policies")) out.printf("   %s - %s%n", p.path("ID").asText(), p.path("Name").asText());
        }
        out.flush();
    }

    static void printPolicy(PrintWriter out, JsonNode p, boolean withRules) {
        out.printf("ID:           %s%n", p.path("ID").asText());
        out.printf("Name:         %s%n", p.path("Name").asText());
        out.printf("Description:  %s%n", p.path("Description").asText());
        List<String> dcs = new ArrayList<>();
        p.path("Datacenters").forEach(d -> dcs.add(d.asText()));
        out.printf("Datacenters:  %s%n", String.join(", ", dcs));
        if (withRules) {
            out.println("Rules:");
            out.println(p.path("Rules").asText());
        }
        out.flush();
    }

    // ---------------------------------------------------------------- bootstrap

    @Command(name = "bootstrap", mixinStandardHelpOptions = true, description = "Creates the initial management token (once per cluster).")
    static final class Bootstrap implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Mixin Format format;

        @Override
        public Integer call() {
            boolean asJson = format.json(http);
            JsonNode t = json(http.call("bootstrapping ACLs", "PUT", "/v1/acl/bootstrap", new byte[0]), "bootstrapping ACLs");
            if (asJson) printJson(http.out(), t);
            else printToken(http.out(), t);
            return 0;
        }
    }

    // ---------------------------------------------------------------- policies

    @Command(name = "policy", mixinStandardHelpOptions = true, description = "Manages ACL policies.",
            subcommands = {PolicyCreate.class, PolicyList.class, PolicyRead.class, PolicyUpdate.class, PolicyDelete.class})
    static final class Policy implements Runnable {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: create, list, read, update or delete");
        }
    }

    /** Rules given as text, {@code @FILE}, or {@code -} for stdin (Consul's -rules). */
    static String rules(AgentHttp http, String value) {
        if (value == null) return null;
        if (value.equals("-")) {
            try {
                return new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new AgentHttp.Failure("Error reading rules from stdin: " + e.getMessage());
            }
        }
        if (value.startsWith("@")) {
            Path f = Path.of(value.substring(1));
            try {
                return Files.readString(f);
            } catch (IOException e) {
                throw http.usage("cannot read the rules file " + f + ": " + e.getMessage());
            }
        }
        return value;
    }

    /** A policy's ID: -id as given, or looked up by -name (exactly one of them). */
    static String policyId(AgentHttp http, String id, String name) {
        if ((id == null) == (name == null)) throw http.usage("Must specify exactly one of -id or -name");
        if (id != null) return id;
        return json(http.call("reading policy", "GET", "/v1/acl/policy/name/" + AgentHttp.encode(name, false)), "reading policy").path("ID").asText();
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Creates an ACL policy.")
    static final class PolicyCreate implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Mixin Format format;
        @Option(names = "-name", paramLabel = "NAME", description = "The new policy's name (required).") String name;
        @Option(names = "-description", paramLabel = "TEXT", description = "A description of the policy.") String description;
        @Option(names = "-rules", paramLabel = "RULES", description = "The rules (HCL or JSON), @FILE to read them from a file, or - for stdin.") String rules;
        @Option(names = "-valid-datacenter", paramLabel = "DC", description = "A datacenter the policy is valid in (repeatable).") List<String> datacenters = new ArrayList<>();

        @Override
        public Integer call() {
            boolean asJson = format.json(http);
            if (name == null || name.isBlank()) throw http.usage("Missing required '-name' flag");
            ObjectNode b = Json.MAPPER.createObjectNode();
            b.put("Name", name);
            b.put("Description", description == null ? "" : description);
            String r = rules(http, rules);
            b.put("Rules", r == null ? "" : r);
            ArrayNode dcs = b.putArray("Datacenters");
            datacenters.forEach(dcs::add);
            JsonNode p = json(http.call("creating policy", "PUT", "/v1/acl/policy", body(b)), "creating policy");
            if (asJson) printJson(http.out(), p);
            else printPolicy(http.out(), p, true);
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists ACL policies.")
    static final class PolicyList implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Mixin Format format;

        @Override
        public Integer call() {
            boolean asJson = format.json(http);
            JsonNode list = http.getJson("retrieving policies", "/v1/acl/policies");
            if (asJson) {
                printJson(http.out(), list);
                return 0;
            }
            PrintWriter out = http.out();
            for (JsonNode p : list) {
                out.printf("%s:%n", p.path("Name").asText());
                out.printf("   ID:           %s%n", p.path("ID").asText());
                out.printf("   Description:  %s%n", p.path("Description").asText());
                List<String> dcs = new ArrayList<>();
                p.path("Datacenters").forEach(d -> dcs.add(d.asText()));
                out.printf("   Datacenters:  %s%n", String.join(", ", dcs));
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "read", mixinStandardHelpOptions = true, description = "Reads an ACL policy.")
    static final class PolicyRead implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Mixin Format format;
        @Option(names = "-id", paramLabel = "ID", description = "The policy's ID.") String id;
        @Option(names = "-name", paramLabel = "NAME", description = "The policy's name.") String name;

        @Override
        public Integer call() {
            boolean asJson = format.json(http);
            if ((id == null) == (name == null)) throw http.usage("Must specify exactly one of -id or -name");
            String path = id != null ? "/v1/acl/policy/" + AgentHttp.encode(id, false) : "/v1/acl/policy/name/" + AgentHttp.encode(name, false);
            JsonNode p = json(http.call("reading policy", "GET", path), "reading policy");
            if (asJson) printJson(http.out(), p);
            else printPolicy(http.out(), p, true);
            return 0;
        }
    }

    @Command(name = "update", mixinStandardHelpOptions = true, description = "Updates an ACL policy: what is not given stays as it is.")
    static final class PolicyUpdate implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Mixin Format format;
        @Option(names = "-id", paramLabel = "ID", description = "The policy's ID.") String id;
        @Option(names = "-name", paramLabel = "NAME", description = "The policy's name (to find it when -id is not given).") String name;
        @Option(names = "-description", paramLabel = "TEXT", description = "A new description.") String description;
        @Option(names = "-rules", paramLabel = "RULES", description = "New rules (HCL or JSON), @FILE, or - for stdin.") String rules;
        @Option(names = "-valid-datacenter", paramLabel = "DC", description = "A datacenter the policy is valid in (repeatable; replaces the list).") List<String> datacenters;

        @Override
        public Integer call() {
            boolean asJson = format.json(http);
            String pid = policyId(http, id, name);
            ObjectNode current = (ObjectNode) json(http.call("reading policy", "GET", "/v1/acl/policy/" + AgentHttp.encode(pid, false)), "reading policy");
            ObjectNode b = Json.MAPPER.createObjectNode();
            b.put("ID", pid);
            b.put("Name", current.path("Name").asText());
            b.put("Description", description != null ? description : current.path("Description").asText());
            String r = rules(http, rules);
            b.put("Rules", r != null ? r : current.path("Rules").asText());
            ArrayNode dcs = b.putArray("Datacenters");
            if (datacenters != null) datacenters.forEach(dcs::add);
            else current.path("Datacenters").forEach(dcs::add);
            JsonNode p = json(http.call("updating policy", "PUT", "/v1/acl/policy/" + AgentHttp.encode(pid, false), body(b)), "updating policy");
            if (asJson) printJson(http.out(), p);
            else printPolicy(http.out(), p, true);
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Deletes an ACL policy.")
    static final class PolicyDelete implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @Option(names = "-id", paramLabel = "ID", description = "The policy's ID.") String id;
        @Option(names = "-name", paramLabel = "NAME", description = "The policy's name.") String name;

        @Override
        public Integer call() {
            String pid = policyId(http, id, name);
            http.call("deleting policy", "DELETE", "/v1/acl/policy/" + AgentHttp.encode(pid, false));
            http.out().printf("Policy \"%s\" deleted successfully%n", pid);
            http.out().flush();
            return 0;
        }
    }

    // ---------------------------------------------------------------- tokens

    @Command(name = "token", mixinStandardHelpOptions = true, description = "Manages ACL tokens.",
            subcommands = {TokenCreate.class, TokenList.class, TokenRead.class, TokenUpdate.class, TokenDelete.class})
    static final class Token implements Runnable {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public void run() {
            throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: create, list, read, update or delete");
        }
    }

    static ArrayNode links(List<String> ids, List<String> names) {
        ArrayNode a = Json.MAPPER.createArrayNode();
        for (String id : ids) a.addObject().put("ID", id);
        for (String n : names) a.addObject().put("Name", n);
        return a;
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Creates an ACL token; its SecretID is shown this once.")
    static final class TokenCreate implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Mixin Format format;
        @Option(names = "-description", paramLabel = "TEXT", description = "A description of the token.") String description;
        @Option(names = "-policy-id", paramLabel = "ID", description = "A policy to link, by ID (repeatable).") List<String> policyIds = new ArrayList<>();
        @Option(names = "-policy-name", paramLabel = "NAME", description = "A policy to link, by name (repeatable).") List<String> policyNames = new ArrayList<>();
        @Option(names = "-local", description = "A token local to this datacenter.") boolean local;
        @Option(names = "-expires-ttl", paramLabel = "DURATION", description = "How long the token lives (1m to 24h); it never expires without this.") String expiresTtl;
        @Option(names = "-accessor", paramLabel = "UUID", description = "The AccessorID to use (a UUID; generated when not given).") String accessor;

        @Override
        public Integer call() {
            boolean asJson = format.json(http);
            ObjectNode b = Json.MAPPER.createObjectNode();
            b.put("Description", description == null ? "" : description);
            b.set("Policies", links(policyIds, policyNames));
            b.put("Local", local);
            if (expiresTtl != null) b.put("ExpirationTTL", expiresTtl);
            if (accessor != null) b.put("AccessorID", accessor);
            JsonNode t = json(http.call("creating token", "PUT", "/v1/acl/token", body(b)), "creating token");
            if (asJson) printJson(http.out(), t);
            else printToken(http.out(), t);
            return 0;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists ACL tokens (their secrets are not shown).")
    static final class TokenList implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Mixin Format format;

        @Override
        public Integer call() {
            boolean asJson = format.json(http);
            JsonNode list = http.getJson("retrieving tokens", "/v1/acl/tokens");
            if (asJson) {
                printJson(http.out(), list);
                return 0;
            }
            boolean first = true;
            for (JsonNode t : list) {
                if (!first) http.out().println();
                first = false;
                printToken(http.out(), t);
            }
            http.out().flush();
            return 0;
        }
    }

    @Command(name = "read", mixinStandardHelpOptions = true, description = "Reads an ACL token (its secret is not shown).")
    static final class TokenRead implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Mixin Format format;
        @Option(names = "-accessor-id", paramLabel = "ID", description = "The token's AccessorID.") String accessorId;
        @Option(names = "-self", description = "Read the token this command uses.") boolean self;

        @Override
        public Integer call() {
            boolean asJson = format.json(http);
            if ((accessorId == null) == !self) throw http.usage("Must specify exactly one of -accessor-id or -self");
            String path = self ? "/v1/acl/token/self" : "/v1/acl/token/" + AgentHttp.encode(accessorId, false);
            JsonNode t = json(http.call("reading token", "GET", path), "reading token");
            if (asJson) printJson(http.out(), t);
            else printToken(http.out(), t);
            return 0;
        }
    }

    @Command(name = "update", mixinStandardHelpOptions = true,
            description = "Updates an ACL token: a new description, and its policies replaced (or added to with -merge-policies).")
    static final class TokenUpdate implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @CommandLine.Mixin Format format;
        @Option(names = "-accessor-id", paramLabel = "ID", description = "The token's AccessorID (required).") String accessorId;
        @Option(names = "-description", paramLabel = "TEXT", description = "A new description.") String description;
        @Option(names = "-policy-id", paramLabel = "ID", description = "A policy to link, by ID (repeatable).") List<String> policyIds = new ArrayList<>();
        @Option(names = "-policy-name", paramLabel = "NAME", description = "A policy to link, by name (repeatable).") List<String> policyNames = new ArrayList<>();
        @Option(names = "-merge-policies", description = "Add the given policies to the token's instead of replacing them.") boolean merge;

        @Override
        public Integer call() {
            boolean asJson = format.json(http);
            if (accessorId == null || accessorId.isBlank()) throw http.usage("Missing required '-accessor-id' flag");
            String path = "/v1/acl/token/" + AgentHttp.encode(accessorId, false);
            JsonNode current = json(http.call("reading token", "GET", path), "reading token");
            ObjectNode b = Json.MAPPER.createObjectNode();
            b.put("AccessorID", accessorId);
            b.put("Description", description != null ? description : current.path("Description").asText());
            ArrayNode ps = links(policyIds, policyNames);
            if (merge || (policyIds.isEmpty() && policyNames.isEmpty())) {
                for (JsonNode p : current.path("Policies")) ps.addObject().put("ID", p.path("ID").asText());
            }
            b.set("Policies", ps);
            JsonNode t = json(http.call("updating token", "PUT", path, body(b)), "updating token");
            if (asJson) printJson(http.out(), t);
            else printToken(http.out(), t);
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Deletes an ACL token.")
    static final class TokenDelete implements Callable<Integer> {
        @CommandLine.Mixin AgentHttp http;
        @Option(names = "-accessor-id", paramLabel = "ID", description = "The token's AccessorID (required).") String accessorId;

        @Override
        public Integer call() {
            if (accessorId == null || accessorId.isBlank()) throw http.usage("Missing required '-accessor-id' flag");
            http.call("deleting token", "DELETE", "/v1/acl/token/" + AgentHttp.encode(accessorId, false));
            http.out().printf("Token \"%s\" deleted successfully%n", accessorId);
            http.out().flush();
            return 0;
        }
    }
}

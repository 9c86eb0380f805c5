package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.acl.Access;
import io.failoverkit.discovery.acl.Identity;
import io.failoverkit.discovery.acl.PolicyAuthorizer;
import io.failoverkit.discovery.acl.Resource;
import io.failoverkit.discovery.acl.Rules;
import io.failoverkit.discovery.acl.Secrets;
import io.failoverkit.discovery.acl.StoreTokenResolver;
import io.failoverkit.discovery.acl.TokenResolver;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.Definitions;
import io.failoverkit.discovery.config.Durations;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.state.Table;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * /v1/acl/...: Consul's ACL bootstrap, policies and tokens, served by the servers (a client agent forwards them).
 * Every route checks {@code acl:read} or {@code acl:write} itself; {@code token/self} only needs a valid token, and a
 * policy may also be read by a token linked to it (as Consul's policy resolve: how a client agent compiles a token).
 *
 * <p>Secrets: a SecretID is generated here (or taken from the request body), hashed, and only its hash is proposed
 * to Raft. It is shown once, in the answer to bootstrap and create; every later read shows Consul's redaction word,
 * {@code <hidden>} (Consul shows it again to a token with acl:write; here it cannot, since it is not stored).
 */
final class AclEndpoint {
    /** Consul's limits on a token's ExpirationTTL (its acl.token_min/max_expiration_ttl defaults). */
    static final Duration MIN_TTL = Duration.ofMinutes(1);
    static final Duration MAX_TTL = Duration.ofHours(24);
    private static final Pattern POLICY_NAME = Pattern.compile("[A-Za-z0-9_-]{1,128}");
    private static final Pattern UUID_FORM = Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
    private static final int MAX_DESCRIPTION = 4096;

    private final ServerSide server;
    private final Agent agent;

    AclEndpoint(ServerSide server, Agent agent) {
        this.server = server;
        this.agent = agent;
    }

    void handle(Call call) {
        if (!agent.config().acl.enabled) throw new HttpError(401, "ACL support disabled");
        // Answers here depend on the clock (expiry) and on the token secret (token/self): each request renders its own.
        call.notShared();
        String p = call.path;
        String m = call.method;
        if (!m.equals("GET")) {
            // Writes are decided on the leader, as Consul's ACL writes are: a name a token links to, or the policy an
            // update starts from, is then read where the last write is already applied.
            byte[] body = call.body();
            if (server.forwardToLeader(call, body)) return;
            write(call, p, m, body);
            return;
        }
        if (p.equals("policies")) {
            requireMethod(call, "GET");
            require(call, Access.READ);
            server.read(call, EnumSet.of(Table.ACL_POLICIES), null, server.store::aclPolicies,
                    (c, r) -> c.json(200, r.value().stream().map(AclEndpoint::policyStub).toList()));
        } else if (p.startsWith("policy/name/") && p.length() > 12) {
            requireMethod(call, "GET");
            require(call, Access.READ);
            String name = p.substring(12);
            server.read(call, EnumSet.of(Table.ACL_POLICIES), null, () -> server.store.aclPolicyByName(name), (c, r) -> renderPolicy(c, r.value()));
        } else if (p.startsWith("policy/") && p.length() > 7) {
            policyRead(call, p.substring(7));
        } else if (p.equals("tokens")) {
            requireMethod(call, "GET");
            require(call, Access.READ);
            String policy = call.param("policy");
            server.read(call, EnumSet.of(Table.ACL_TOKENS, Table.ACL_POLICIES), null, server.store::aclTokens, (c, r) -> {
                long now = System.currentTimeMillis();
                c.json(200, r.value().stream().filter(t -> !t.expiredAt(now)).filter(t -> policy == null || t.policyIds().contains(policy))
                        .map(t -> tokenView(t, null)).toList());
            });
        } else if (p.equals("token/self")) {
            requireMethod(call, "GET");
            String secret = secretOf(call);
            identity(call); // an unknown or expired token: 403 ACL not found
            server.read(call, EnumSet.of(Table.ACL_TOKENS), null, () -> {
                StateStore.Read<List<Model.AclToken>> all = server.store.aclTokens();
                Model.AclToken t = self(secret);
                return new StateStore.Read<>(t, all.index(), all.observedTableIndex());
            }, (c, r) -> {
                if (r.value() == null) throw new HttpError(403, "ACL not found");
                c.json(200, tokenView(r.value(), null));
            });
        } else if (p.startsWith("token/") && p.length() > 6) {
            String accessor = p.substring(6);
            require(call, Access.READ);
            server.read(call, EnumSet.of(Table.ACL_TOKENS), null, () -> server.store.aclToken(accessor), (c, r) -> {
                if (r.value() == null || r.value().expiredAt(System.currentTimeMillis())) throw HttpError.notFound("ACL token not found");
                c.json(200, tokenView(r.value(), null));
            });
        } else if (p.equals("bootstrap") || p.equals("policy") || p.equals("token")) {
            throw new HttpError(405, "method GET not allowed on /v1/acl/" + p + " (PUT)");
        } else {
            throw HttpError.notFound("unknown ACL endpoint /v1/acl/" + p);
        }
    }

    private void write(Call call, String p, String m, byte[] body) {
        if (p.equals("bootstrap")) {
            requireMethod(call, "PUT");
            bootstrap(call);
        } else if (p.equals("policy")) {
            requireMethod(call, "PUT");
            require(call, Access.WRITE);
            policySet(call, null, parse(body));
        } else if (p.startsWith("policy/") && !p.startsWith("policy/name/") && p.length() > 7) {
            String id = p.substring(7);
            switch (m) {
                case "PUT" -> { require(call, Access.WRITE); policySet(call, id, parse(body)); }
                case "DELETE" -> { require(call, Access.WRITE); server.write(call, new Command.AclPolicyDelete(id), r -> call.json(200, true)); }
                default -> throw new HttpError(405, "method " + m + " not allowed on /v1/acl/policy/ID (GET, PUT, DELETE)");
            }
        } else if (p.equals("token")) {
            requireMethod(call, "PUT");
            require(call, Access.WRITE);
            tokenSet(call, null, parse(body));
        } else if (p.startsWith("token/") && !p.equals("token/self") && p.length() > 6) {
            String accessor = p.substring(6);
            switch (m) {
                case "PUT" -> { require(call, Access.WRITE); tokenSet(call, accessor, parse(body)); }
                case "DELETE" -> { require(call, Access.WRITE); server.write(call, new Command.AclTokenDelete(accessor), r -> call.json(200, true)); }
                default -> throw new HttpError(405, "method " + m + " not allowed on /v1/acl/token/ACCESSOR (GET, PUT, DELETE)");
            }
        } else if (java.util.Set.of("policies", "tokens", "token/self").contains(p) || p.startsWith("policy/name/")) {
            throw new HttpError(405, "method " + m + " not allowed on /v1/acl/" + p + " (GET)");
        } else {
            throw HttpError.notFound("unknown ACL endpoint /v1/acl/" + p);
        }
    }

    /** A request body that must be one JSON object. */
    private static JsonNode parse(byte[] body) {
        if (body == null || body.length == 0 || new String(body, java.nio.charset.StandardCharsets.UTF_8).isBlank()) {
            throw HttpError.badRequest("request body must be a JSON object");
        }
        JsonNode n;
        try {
            n = io.failoverkit.discovery.state.Json.MAPPER.readTree(body);
        } catch (java.io.IOException e) {
            throw HttpError.badRequest("request body is not valid JSON: "
                    + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage()));
        }
        if (n == null || !n.isObject()) throw HttpError.badRequest("request body must be a JSON object");
        return n;
    }

    private static void requireMethod(Call call, String method) {
        if (!call.method.equals(method)) throw new HttpError(405, "method " + call.method + " not allowed on /v1/acl/" + call.path + " (" + method + ")");
    }

    // ---------------------------------------------------------------- who is asking

    /**
     * The request's token as every other route reads it ({@link Call#token}: ?token=, then X-Consul-Token, then Bearer,
     * as Consul's parseToken), so the ACL routes act as the identity the audit log records.
     */
    static String secretOf(Call call) {
        return call.token();
    }

    private Identity identity(Call call) {
        String secret = secretOf(call);
        if (secret != null && secret.length() > 256) throw new HttpError(403, "ACL not found");
        try {
            return agent.acl().resolve(secret);
        } catch (TokenResolver.AclNotFound e) {
            throw new HttpError(403, "ACL not found");
        }
    }

    /** The caller's identity if it may do {@code need} on ACLs; 403 with Consul's message naming the permission otherwise. */
    private Identity require(Call call, Access need) {
        Identity id = identity(call);
        if (!id.authorizer().allows(Resource.ACL, "", need)) throw denied(id, "acl:" + need.name().toLowerCase(java.util.Locale.ROOT));
        return id;
    }

    static HttpError denied(Identity id, String permission) {
        String who = Identity.ANONYMOUS_ACCESSOR.equals(id.accessorId()) ? "anonymous token" : "token with AccessorID '" + id.accessorId() + "'";
        return new HttpError(403, "Permission denied: " + who + " lacks permission '" + permission + "'");
    }

    private Model.AclToken self(String secret) {
        String s = secret;
        if (s == null || s.isEmpty()) s = agent.config().acl.defaultToken;
        if (s == null || s.isEmpty()) return server.store.aclToken(Identity.ANONYMOUS_ACCESSOR).value();
        return StoreTokenResolver.lookup(server.store, s, System.currentTimeMillis());
    }

    // ---------------------------------------------------------------- bootstrap

    private void bootstrap(Call call) {
        String secret = UUID.randomUUID().toString();
        long now = System.currentTimeMillis();
        Model.AclToken t = new Model.AclToken(UUID.randomUUID().toString(), Secrets.hash(secret), "Bootstrap Token (Global Management)",
                List.of(PolicyAuthorizer.GLOBAL_MANAGEMENT_ID), false, null, now, 0, 0);
        server.write(call, new Command.AclBootstrap(t), r -> call.json(200, tokenView(t.withIndexes(r.index(), r.index()), secret)));
    }

    // ---------------------------------------------------------------- policies

    private void policyRead(Call call, String id) {
        Identity who = identity(call);
        boolean mayRead = who.authorizer().allows(Resource.ACL, "", Access.READ);
        if (!mayRead) {
            // A token may read the policies linked to it (Consul's policy resolve), nothing else.
            Model.AclToken t = self(secretOf(call));
            if (t == null || !t.policyIds().contains(id)) throw denied(who, "acl:read");
        }
        server.read(call, EnumSet.of(Table.ACL_POLICIES), null, () -> server.store.aclPolicy(id), (c, r) -> renderPolicy(c, r.value()));
    }

    private static void renderPolicy(Call c, Model.AclPolicy p) {
        if (p == null) throw HttpError.notFound("ACL policy not found");
        c.json(200, policyView(p));
    }

    private void policySet(Call call, String urlId, JsonNode body) {
        String bodyId = Definitions.text(body, "ID", "");
        if (urlId == null && !bodyId.isEmpty()) throw HttpError.badRequest("Invalid Policy: an ID cannot be given to a new policy (PUT /v1/acl/policy/ID updates one)");
        if (urlId != null && !bodyId.isEmpty() && !bodyId.equals(urlId)) throw HttpError.badRequest("Policy ID in URL and payload do not match");
        String name = Definitions.text(body, "Name", "");
        String description = Definitions.text(body, "Description", "");
        String rules = Definitions.text(body, "Rules", "");
        List<String> dcs = Definitions.strings(body, "Datacenters");
        Model.AclPolicy old = urlId == null ? null : server.store.aclPolicy(urlId).value();
        if (urlId != null && old == null) throw HttpError.notFound("Cannot find policy " + urlId);
        if (old != null && name.isEmpty()) name = old.name();
        if (!POLICY_NAME.matcher(name).matches()) {
            throw HttpError.badRequest("Invalid Policy: invalid Name \"" + name + "\". Only alphanumeric characters, '-' and '_' are allowed, up to 128");
        }
        if (description.length() > MAX_DESCRIPTION) throw HttpError.badRequest("Invalid Policy: Description is longer than " + MAX_DESCRIPTION + " characters");
        try {
            Rules.parse(rules);
        } catch (Rules.ParseError e) {
            throw HttpError.badRequest("Invalid Policy: " + e.getMessage());
        }
        String id = urlId == null ? UUID.randomUUID().toString() : urlId;
        Model.AclPolicy p = new Model.AclPolicy(id, name, description, rules, dcs == null ? List.of() : List.copyOf(dcs), 0, 0);
        long createIndex = old == null ? -1 : old.createIndex();
        server.write(call, new Command.AclPolicySet(p, urlId == null), r -> call.json(200,
                policyView(p.withIndexes(createIndex < 0 ? r.index() : createIndex, r.index()))));
    }

    static Map<String, Object> policyView(Model.AclPolicy p) {
        Map<String, Object> m = policyStub(p);
        m.put("Rules", p.rules());
        return m;
    }

    static Map<String, Object> policyStub(Model.AclPolicy p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ID", p.id());
        m.put("Name", p.name());
        m.put("Description", p.description());
        m.put("Datacenters", p.datacenters());
        m.put("CreateIndex", p.createIndex());
        m.put("ModifyIndex", p.modifyIndex());
        return m;
    }

    // ---------------------------------------------------------------- tokens

    private void tokenSet(Call call, String urlAccessor, JsonNode body) {
        String accessor = Definitions.text(body, "AccessorID", "");
        String secret = Definitions.text(body, "SecretID", "");
        if (urlAccessor != null) {
            if (!accessor.isEmpty() && !accessor.equals(urlAccessor)) throw HttpError.badRequest("Token AccessorID in URL and payload do not match");
            accessor = urlAccessor;
        }
        Model.AclToken old = urlAccessor == null ? null : server.store.aclToken(urlAccessor).value();
        if (urlAccessor != null && old == null) throw HttpError.notFound("Cannot find token " + urlAccessor);
        if (old != null && !secret.isEmpty() && !Secrets.sameHash(Secrets.hash(secret), old.secretHash())) {
            throw HttpError.badRequest("Invalid Token: Cannot modify the SecretID of a token");
        }
        String description = Definitions.text(body, "Description", old == null ? "" : old.description());
        if (description.length() > MAX_DESCRIPTION) throw HttpError.badRequest("Invalid Token: Description is longer than " + MAX_DESCRIPTION + " characters");
        List<String> policyIds = policyLinks(body, old);
        Long expiration = null;
        long now = System.currentTimeMillis();
        if (old == null) {
            if (accessor.isEmpty()) accessor = UUID.randomUUID().toString();
            else if (!UUID_FORM.matcher(accessor).matches()) throw HttpError.badRequest("Invalid Token: AccessorID must be a UUID");
            if (secret.isEmpty()) secret = UUID.randomUUID().toString();
            else if (!UUID_FORM.matcher(secret).matches()) throw HttpError.badRequest("Invalid Token: SecretID must be a UUID");
            expiration = expiration(body, now);
        } else if (Definitions.field(body, "ExpirationTTL") != null || Definitions.field(body, "ExpirationTime") != null) {
            Long asked = expiration(body, now);
            if (!java.util.Objects.equals(asked, old.expirationTime())) throw HttpError.badRequest("Invalid Token: Cannot change expiration time of an existing token");
        }
        boolean local = Definitions.bool(body, "Local", old != null && old.local());
        Model.AclToken t = new Model.AclToken(accessor, old == null ? Secrets.hash(secret) : old.secretHash(), description, policyIds, local,
                old == null ? expiration : old.expirationTime(), old == null ? now : old.createTime(), 0, 0);
        String shown = old == null ? secret : null;
        long createIndex = old == null ? -1 : old.createIndex();
        server.write(call, new Command.AclTokenSet(t, old == null), r -> call.json(200,
                tokenView(t.withIndexes(createIndex < 0 ? r.index() : createIndex, r.index()), shown)));
    }

    /** The body's Policies ([{"ID": ...} or {"Name": ...}]) as policy IDs; absent on an update: the old links. */
    private List<String> policyLinks(JsonNode body, Model.AclToken old) {
        JsonNode ps = Definitions.field(body, "Policies");
        if (ps == null || ps.isNull()) return old == null ? List.of() : old.policyIds();
        if (!ps.isArray()) throw HttpError.badRequest("\"Policies\" must be a list of {\"ID\": ...} or {\"Name\": ...}");
        List<String> ids = new ArrayList<>();
        for (JsonNode link : ps) {
            String id = Definitions.text(link, "ID", "");
            String name = Definitions.text(link, "Name", "");
            if (id.isEmpty() && name.isEmpty()) throw HttpError.badRequest("Invalid Token: a policy link needs an ID or a Name");
            if (id.isEmpty()) {
                Model.AclPolicy p = server.store.aclPolicyByName(name).value();
                if (p == null) throw HttpError.badRequest("No such ACL policy with name \"" + name + "\"");
                id = p.id();
            } else if (server.store.aclPolicy(id).value() == null) {
                throw HttpError.badRequest("No such ACL policy with ID \"" + id + "\"");
            }
            if (!ids.contains(id)) ids.add(id);
        }
        return List.copyOf(ids);
    }

    /** ExpirationTTL ("1h") or ExpirationTime (RFC 3339) as epoch millis, within Consul's limits; null when neither. */
    private static Long expiration(JsonNode body, long now) {
        String ttl = Definitions.text(body, "ExpirationTTL", "");
        String time = Definitions.text(body, "ExpirationTime", "");
        if (!ttl.isEmpty() && !time.isEmpty()) throw HttpError.badRequest("Invalid Token: Expiration TTL and Expiration Time cannot both be set");
        Long at = null;
        if (!ttl.isEmpty()) {
            Duration d;
            try { d = Durations.parse(ttl); } catch (IllegalArgumentException e) { throw HttpError.badRequest("Invalid Token: ExpirationTTL: " + e.getMessage()); }
            if (d.isZero()) return null;
            at = now + d.toMillis();
        } else if (!time.isEmpty()) {
            try { at = Instant.parse(time).toEpochMilli(); } catch (java.time.format.DateTimeParseException e) {
                throw HttpError.badRequest("Invalid Token: ExpirationTime must be an RFC 3339 time such as 2030-01-02T15:04:05Z");
            }
        }
        if (at == null) return null;
        if (at < now + MIN_TTL.toMillis()) throw HttpError.badRequest("Invalid Token: ExpirationTime cannot be less than " + Durations.format(MIN_TTL) + " in the future");
        if (at > now + MAX_TTL.toMillis()) throw HttpError.badRequest("Invalid Token: ExpirationTime cannot be more than " + Durations.format(MAX_TTL) + " in the future");
        return at;
    }

    /** A token as Consul shows it; {@code secret} only right after bootstrap or create, else {@code <hidden>}. */
    private Map<String, Object> tokenView(Model.AclToken t, String secret) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("AccessorID", t.accessorId());
        m.put("SecretID", secret == null ? Secrets.HIDDEN : secret);
        m.put("Description", t.description());
        List<Map<String, String>> links = new ArrayList<>();
        for (String id : t.policyIds()) {
            Model.AclPolicy p = server.store.aclPolicy(id).value();
            if (p == null) continue; // deleted: Consul drops the dangling link when it shows the token
            links.add(Map.of("ID", p.id(), "Name", p.name()));
        }
        m.put("Policies", links);
        m.put("Local", t.local());
        if (t.expirationTime() != null) m.put("ExpirationTime", Instant.ofEpochMilli(t.expirationTime()).toString());
        m.put("CreateTime", Instant.ofEpochMilli(t.createTime()).toString());
        m.put("CreateIndex", t.createIndex());
        m.put("ModifyIndex", t.modifyIndex());
        return m;
    }
}

package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.acl.Access;
import io.failoverkit.discovery.acl.Authorizer;
import io.failoverkit.discovery.acl.Identity;
import io.failoverkit.discovery.acl.Resource;
import io.failoverkit.discovery.config.Definitions;
import io.failoverkit.discovery.state.Command;
import io.failoverkit.discovery.state.Model;
import io.failoverkit.discovery.state.StateStore;
import io.failoverkit.discovery.state.TxnOp;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Every HTTP route's ACL permission, in one place: {@link #of} says what a request needs before its route runs, and
 * the {@code mayRead} predicates below say which items of a list a token sees (the routes marked "filtered" return
 * only those, with {@value #FILTERED_HEADER}). The permissions are Consul's (its ACL rules reference and the checks
 * of its endpoints). A route missing from the table needs {@code operator:read} (GET) or {@code operator:write}, so a
 * route added without an entry is closed, not open.
 */
final class Permissions {
    static final String FILTERED_HEADER = "X-Consul-Results-Filtered-By-ACLs";

    private Permissions() {}

    /** One permission: {@code access} on the resource {@code kind} called {@code name} (ignored for unnamed kinds). */
    record Need(Resource kind, String name, Access access) {
        static Need read(Resource kind, String name) { return new Need(kind, name, Access.READ); }
        static Need write(Resource kind, String name) { return new Need(kind, name, Access.WRITE); }
    }

    /** What the table says about one request. */
    sealed interface Rule {}

    /** Every need must be allowed before the route runs (none: the route is open, or it filters what it returns). */
    record Require(List<Need> needs) implements Rule {
        static final Require NOTHING = new Require(List.of());
        static Require of(Need... needs) { return new Require(List.of(needs)); }
    }

    /** A transaction: each operation's needs; any refusal refuses the whole transaction before anything applies. */
    record PerOperation(List<List<Need>> operations) implements Rule {}

    /** The route checks the token itself (the ACL endpoints: /v1/acl/token/self works for any valid token). */
    record SelfChecked() implements Rule {}

    /** What the table looks up when a route names a thing by ID (a service ID, a check ID, a session ID). */
    interface Lookup {
        /** The name of this agent's local service with that ID, or null. */
        String localServiceName(String serviceId);

        /** This agent's local check's service ID ("" for a node check), or null when there is no such check. */
        String localCheckServiceId(String checkId);

        /** This server's state store (null on a client agent, which forwards the catalog routes). */
        StateStore store();

        /** This agent's datacenter. */
        String datacenter();
    }

    /**
     * What a request to {@code /v1/<group>/<sub>} needs. May read the body (cached for the route) when the names it
     * touches are in it; a body that does not parse is refused here with the route's own 400.
     */
    static Rule of(String group, String sub, Call call, Lookup look, String agentNode) {
        boolean get = call.method.equals("GET");
        return switch (group) {
            case "status" -> Require.NOTHING;
            case "acl" -> new SelfChecked();
            case "kv" -> kv(sub, call, look);
            case "txn" -> call.method.equals("PUT") ? txn(call, look) : Require.NOTHING;
            case "catalog" -> catalog(sub, call, look);
            case "health" -> get && startsWithAny(sub, "service/", "checks/", "node/", "state/") ? Require.NOTHING : operator(call);
            case "session" -> session(sub, call, look, agentNode);
            case "event" -> sub.startsWith("fire/") ? Require.of(Need.write(Resource.EVENT, sub.substring(5)))
                    : sub.equals("list") ? Require.NOTHING : operator(call);
            case "agent" -> agent(sub, call, look, agentNode);
            case "operator" -> {
                if (sub.equals("keyring")) yield Require.of(new Need(Resource.KEYRING, "", get ? Access.READ : Access.WRITE));
                yield operator(call);
            }
            // Consul's snapshot needs a management token (acl:write: a snapshot holds every token).
            case "snapshot" -> Require.of(Need.write(Resource.ACL, ""));
            default -> operator(call);
        };
    }

    private static boolean startsWithAny(String s, String... prefixes) {
        for (String p : prefixes) if (s.startsWith(p)) return true;
        return false;
    }

    private static Require operator(Call call) {
        return Require.of(new Need(Resource.OPERATOR, "", call.method.equals("GET") ? Access.READ : Access.WRITE));
    }

    private static Rule kv(String key, Call call, Lookup look) {
        return switch (call.method) {
            // Lists need nothing up front and show only readable keys (Consul checks key:list up front only with
            // its deprecated acl.enable_key_list_policy, which we do not have).
            case "GET" -> call.has("recurse") || call.has("keys") ? Require.NOTHING : Require.of(Need.read(Resource.KEY, key));
            case "PUT", "POST" -> Require.of(Need.write(Resource.KEY, key));
            case "DELETE" -> new Require(call.has("recurse") ? writeTree(key, look) : List.of(Need.write(Resource.KEY, key)));
            default -> Require.NOTHING;
        };
    }

    /**
     * A recursive delete: write on the prefix and on every key under it now, as Consul's KeyWritePrefix refuses a
     * prefix with a more specific deny inside it. (A key created under a denied sub-prefix between this check and the
     * apply would be deleted with the rest; Consul's check reads the rules, not the keys, and has no such window.)
     */
    private static List<Need> writeTree(String prefix, Lookup look) {
        List<Need> needs = new ArrayList<>();
        needs.add(Need.write(Resource.KEY, prefix));
        StateStore store = look.store();
        if (store != null) for (Model.KvEntry e : store.kvList(prefix).value()) needs.add(Need.write(Resource.KEY, e.key()));
        return needs;
    }

    /** Consul's kvsPreApply, per operation: get and get-tree are filtered on output; the checks need read; the rest write. */
    private static Rule txn(Call call, Lookup look) {
        List<TxnOp> ops = TxnEndpoint.parse(call.body());
        List<List<Need>> out = new ArrayList<>();
        for (TxnOp op : ops) {
            out.add(switch (op.verb()) {
                case GET, GET_TREE -> List.of();
                case CHECK_INDEX, CHECK_SESSION -> List.of(Need.read(Resource.KEY, op.key()));
                case DELETE_TREE -> writeTree(op.key(), look);
                // As Consul: every other verb, get-or-empty and check-not-exists included, needs key:write.
                default -> List.of(Need.write(Resource.KEY, op.key()));
            });
        }
        return new PerOperation(out);
    }

    private static Rule catalog(String sub, Call call, Lookup look) {
        return switch (sub) {
            case "register" -> writeMethod(call) ? register(call, look) : Require.NOTHING;
            case "deregister" -> writeMethod(call) ? deregister(call, look) : Require.NOTHING;
            // Filtered on output. A read route not listed here filters nothing yet, so it stays closed (operator:read).
            case "datacenters", "nodes", "services" -> Require.NOTHING;
            default -> call.method.equals("GET") && startsWithAny(sub, "service/", "node/", "node-services/") ? Require.NOTHING : operator(call);
        };
    }

    private static boolean writeMethod(Call call) {
        return call.method.equals("PUT") || call.method.equals("POST");
    }

    /**
     * Consul's vetRegisterWithACL: node:write when the node is new or its record changes (a service registration may
     * re-post the node as it is without node:write), service:write on the service and on the service it replaces
     * (same ID), node:write for a node check, service:write on another service's check.
     */
    private static Rule register(Call call, Lookup look) {
        Command.Register reg;
        try {
            reg = CatalogEndpoint.parseRegister(call.jsonBody(false), look.datacenter());
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        }
        return new Require(registerNeeds(reg, look.store()));
    }

    /** What a catalog registration needs (the rule above; also checked by {@link InProcessCatalog}). */
    static List<Need> registerNeeds(Command.Register reg, StateStore store) {
        String node = reg.node().node();
        StateStore.NodeServices existing = store == null ? null : store.nodeServices(node).value();
        List<Need> needs = new ArrayList<>();
        boolean changesNode = existing == null || existing.node() == null || !reg.skipNodeUpdate() && !sameNode(existing.node(), reg.node());
        if (changesNode) needs.add(Need.write(Resource.NODE, node));
        Model.Service svc = reg.service();
        if (svc != null) {
            needs.add(Need.write(Resource.SERVICE, svc.service()));
            Model.Service replaced = existing == null ? null : existing.services().get(svc.id());
            if (replaced != null) needs.add(Need.write(Resource.SERVICE, replaced.service()));
        }
        for (Model.Check c : reg.checks()) {
            String sid = c.serviceId();
            if (sid == null || sid.isEmpty()) needs.add(Need.write(Resource.NODE, node));
            else if (svc == null || !sid.equals(svc.id())) needs.add(Need.write(Resource.SERVICE, serviceName(existing, sid, node)));
        }
        return needs;
    }

    private static boolean sameNode(Model.Node stored, Model.Node posted) {
        // The datacenter is always this one; an empty ID in the request keeps the stored one (as Consul's ChangesNode).
        return (posted.id() == null || posted.id().isEmpty() || posted.id().equals(stored.id()))
                && java.util.Objects.equals(posted.address(), stored.address())
                && java.util.Objects.equals(emptyIfNull(posted.taggedAddresses()), emptyIfNull(stored.taggedAddresses()))
                && java.util.Objects.equals(emptyIfNull(posted.meta()), emptyIfNull(stored.meta()));
    }

    private static Map<String, String> emptyIfNull(Map<String, String> m) {
        return m == null ? Map.of() : m;
    }

    /** A service of the node by ID: its name, or (unknown) the node itself, whose node:write covers it. */
    private static String serviceName(StateStore.NodeServices ns, String serviceId, String node) {
        Model.Service s = ns == null ? null : ns.services().get(serviceId);
        if (s == null) throw HttpError.badRequest("Unknown service ID '" + serviceId + "' for a check of node '" + node + "'");
        return s.service();
    }

    /** Consul's vetDeregisterWithACL: the service's or the check's service:write, else node:write. */
    private static Rule deregister(Call call, Lookup look) {
        CatalogEndpoint.Deregistration d = CatalogEndpoint.Deregistration.parse(call.jsonBody(false));
        String node = d.node();
        String serviceId = d.serviceId();
        String checkId = d.checkId();
        StateStore store = look.store();
        StateStore.NodeServices ns = store == null ? null : store.nodeServices(node).value();
        if (serviceId != null && !serviceId.isEmpty()) {
            Model.Service s = ns == null ? null : ns.services().get(serviceId);
            return Require.of(s == null ? Need.write(Resource.NODE, node) : Need.write(Resource.SERVICE, s.service()));
        }
        if (checkId != null && !checkId.isEmpty() && store != null) {
            for (Model.Check c : store.nodeChecks(node).value()) {
                if (c.checkId().equals(checkId) && c.serviceId() != null && !c.serviceId().isEmpty()) return Require.of(Need.write(Resource.SERVICE, c.serviceName()));
            }
        }
        return Require.of(Need.write(Resource.NODE, node));
    }

    private static Rule session(String sub, Call call, Lookup look, String agentNode) {
        if (sub.equals("create")) {
            if (!writeMethod(call)) return Require.NOTHING;
            JsonNode body = call.jsonBody(true);
            String node;
            try {
                node = body == null ? null : Definitions.text(body, "Node", null);
            } catch (IllegalArgumentException e) {
                throw HttpError.badRequest(e.getMessage());
            }
            return Require.of(Need.write(Resource.SESSION, node == null || node.isEmpty() ? agentNode : node));
        }
        if (sub.startsWith("destroy/") || sub.startsWith("renew/")) {
            if (!writeMethod(call)) return Require.NOTHING;
            String id = sub.substring(sub.indexOf('/') + 1);
            StateStore store = look.store();
            List<Model.Session> found = store == null ? List.of() : store.sessions(s -> s.id().equals(id)).value();
            // An unknown session: nothing to protect (destroy is a no-op, renew a 404).
            return found.isEmpty() ? Require.NOTHING : Require.of(Need.write(Resource.SESSION, found.get(0).node()));
        }
        // info/<id>, list, node/<n>: filtered on output.
        return call.method.equals("GET") && (sub.equals("list") || startsWithAny(sub, "info/", "node/")) ? Require.NOTHING : operator(call);
    }

    private static Rule agent(String sub, Call call, Lookup look, String agentNode) {
        switch (sub) {
            case "self", "metrics", "monitor" -> { return Require.of(Need.read(Resource.AGENT, agentNode)); }
            case "members", "services", "checks" -> { return Require.NOTHING; } // filtered on output
            case "version" -> { return Require.NOTHING; }
            case "host" -> { return Require.of(Need.read(Resource.OPERATOR, "")); }
            case "join", "leave", "reload", "tags" -> { return Require.of(Need.write(Resource.AGENT, agentNode)); }
            case "maintenance" -> { return Require.of(Need.write(Resource.NODE, agentNode)); }
            case "service/register" -> { return serviceRegister(call, look); }
            case "check/register" -> { return checkRegister(call, look, agentNode); }
            default -> { }
        }
        if (sub.startsWith("join/")) return Require.of(Need.write(Resource.AGENT, agentNode));
        // Consul's agent token endpoints (PUT /v1/agent/token/default|agent|...) need acl:write, nothing about the agent.
        if (sub.startsWith("token/")) return Require.of(Need.write(Resource.ACL, ""));
        if (sub.startsWith("force-leave/")) return Require.of(Need.write(Resource.OPERATOR, ""));
        for (String p : List.of("service/deregister/", "service/maintenance/")) {
            if (sub.startsWith(p)) return localService(sub.substring(p.length()), look, Access.WRITE);
        }
        for (String p : List.of("check/deregister/", "check/pass/", "check/warn/", "check/fail/", "check/update/")) {
            if (sub.startsWith(p)) return localCheck(sub.substring(p.length()), look, agentNode);
        }
        if (sub.startsWith("service/") && call.method.equals("GET")) return localService(sub.substring(8), look, Access.READ);
        return Require.of(new Need(Resource.AGENT, agentNode, call.method.equals("GET") ? Access.READ : Access.WRITE));
    }

    /** Consul's vetServiceRegister: service:write on the service, and on the local service it replaces (same ID). */
    private static Rule serviceRegister(Call call, Lookup look) {
        if (!writeMethod(call)) return Require.NOTHING;
        Definitions.ServiceDef def;
        try {
            def = Definitions.service(call.jsonBody(false));
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        }
        List<Need> needs = new ArrayList<>();
        needs.add(Need.write(Resource.SERVICE, def.name()));
        String replaced = look.localServiceName(def.id());
        if (replaced != null && !replaced.equals(def.name())) needs.add(Need.write(Resource.SERVICE, replaced));
        return new Require(needs);
    }

    /** Consul's vetCheckRegister: service:write for a service's check, node:write on this agent's node otherwise. */
    private static Rule checkRegister(Call call, Lookup look, String agentNode) {
        if (!writeMethod(call)) return Require.NOTHING;
        JsonNode body = call.jsonBody(false);
        String serviceId;
        try {
            serviceId = Definitions.text(body, "ServiceID", "");
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        }
        if (serviceId.isEmpty()) return Require.of(Need.write(Resource.NODE, agentNode));
        String name = look.localServiceName(serviceId);
        if (name == null) throw HttpError.badRequest("ServiceID \"" + serviceId + "\" does not exist");
        return Require.of(Need.write(Resource.SERVICE, name));
    }

    private static Rule localService(String id, Lookup look, Access access) {
        String name = look.localServiceName(id);
        // Unknown: the route answers 404 and changes nothing.
        return name == null ? Require.NOTHING : Require.of(new Need(Resource.SERVICE, name, access));
    }

    private static Rule localCheck(String id, Lookup look, String agentNode) {
        String serviceId = look.localCheckServiceId(id);
        if (serviceId == null) return Require.NOTHING;
        if (serviceId.isEmpty()) return Require.of(Need.write(Resource.NODE, agentNode));
        String name = look.localServiceName(serviceId);
        return Require.of(name == null ? Need.write(Resource.NODE, agentNode) : Need.write(Resource.SERVICE, name));
    }

    // ---- reads filtered on the way out (Consul's filterACL) ----

    static boolean mayRead(Authorizer a, Model.Node n) {
        return a.allows(Resource.NODE, n.node(), Access.READ);
    }

    /** A service instance: its service and its node must both be readable. */
    static boolean mayRead(Authorizer a, StateStore.Instance i) {
        return a.allows(Resource.SERVICE, i.service().service(), Access.READ) && a.allows(Resource.NODE, i.node().node(), Access.READ);
    }

    /** A check: a service's check needs service:read, a node's check node:read. */
    static boolean mayRead(Authorizer a, Model.Check c) {
        boolean ofService = c.serviceId() != null && !c.serviceId().isEmpty();
        String name = ofService ? c.serviceName() : c.node();
        return a.allows(ofService ? Resource.SERVICE : Resource.NODE, name == null ? "" : name, Access.READ);
    }

    static boolean mayRead(Authorizer a, Model.KvEntry e) {
        return a.allows(Resource.KEY, e.key(), Access.READ);
    }

    static boolean mayRead(Authorizer a, Model.Session s) {
        return a.allows(Resource.SESSION, s.node(), Access.READ);
    }

    static boolean mayReadService(Authorizer a, String name) {
        return a.allows(Resource.SERVICE, name, Access.READ);
    }

    // ---- refusals ----

    /**
     * Consul's refusal text (acl/errors.go PermissionDeniedError): the accessor, the missing {@code resource:level},
     * and the name for named resources; the anonymous token gets Consul's hint.
     */
    static String denied(Identity who, Need need) {
        StringBuilder sb = new StringBuilder("Permission denied: ");
        boolean anonymous = Identity.ANONYMOUS_ACCESSOR.equals(who.accessorId());
        if (anonymous) sb.append("anonymous token");
        else sb.append("token with AccessorID '").append(who.accessorId()).append('\'');
        sb.append(" lacks permission '").append(need.kind().ruleWord()).append(':').append(level(need.access())).append('\'');
        if (need.kind().named()) sb.append(" on \"").append(need.name()).append('"');
        if (anonymous) sb.append(". The anonymous token is used implicitly when a request does not specify a token.");
        return sb.toString();
    }

    private static String level(Access a) {
        return a.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The first need the identity lacks, or null when all are allowed. */
    static Need firstDenied(Identity who, List<Need> needs) {
        for (Need n : needs) {
            if (!who.authorizer().allows(n.kind(), n.name(), n.access())) return n;
        }
        return null;
    }
}

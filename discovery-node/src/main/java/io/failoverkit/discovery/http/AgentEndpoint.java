package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.acl.Access;
import io.failoverkit.discovery.acl.Resource;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.agent.LocalState;
import io.failoverkit.discovery.cluster.Member;
import io.failoverkit.discovery.config.Definitions;
import io.failoverkit.discovery.config.Definitions.ServiceDef;
import io.failoverkit.discovery.config.ScriptChecks;
import io.failoverkit.discovery.state.Model;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** /v1/agent/...: this agent's own view and its local services and checks. Served by every agent, never forwarded. */
final class AgentEndpoint {
    private final Agent agent;
    private final MembersCache members;

    AgentEndpoint(Agent agent, MembersCache members) {
        this.agent = agent;
        this.members = members;
    }

    void handle(Call call) {
        String p = call.path;
        switch (p) {
            case "self" -> call.json(200, self());
            case "members" -> members(call);
            case "services" -> {
                Filter filter = Selection.filter(call, Selection.NODE_SERVICE);
                Map<String, Object> out = new LinkedHashMap<>();
                call.visible(List.copyOf(agent.local().services().values()), s -> Permissions.mayReadService(call.identity().authorizer(), s.name()))
                        .forEach(s -> out.put(s.id(), AgentServiceEndpoint.agentService(s, agent.config().datacenter)));
                call.json(200, Selection.applyToValues(filter, out, v -> v));
            }
            case "checks" -> {
                Filter filter = Selection.filter(call, Selection.HEALTH_CHECK);
                Map<String, Object> out = new LinkedHashMap<>();
                call.visible(agent.local().catalogChecks(agent.nodeName()), c -> Permissions.mayRead(call.identity().authorizer(), c))
                        .forEach(c -> out.put(c.checkId(), c));
                call.json(200, Selection.applyToValues(filter, out, v -> v));
            }
            case "service/register" -> { CatalogEndpoint.requireWrite(call); registerService(call); }
            case "check/register" -> { CatalogEndpoint.requireWrite(call); registerCheck(call); }
            case "maintenance" -> { CatalogEndpoint.requireWrite(call); agent.local().setNodeMaintenance(enable(call) ? reason(call) : null); call.text(200, ""); }
            case "leave" -> { CatalogEndpoint.requireWrite(call); call.text(200, ""); agent.leaveAsync(); }
            case "tags" -> { CatalogEndpoint.requireWrite(call); tags(call); }
            case "reload" -> { CatalogEndpoint.requireWrite(call); reload(call); }
            default -> prefixed(call, p);
        }
    }

    private void prefixed(Call call, String p) {
        if (p.startsWith("service/deregister/")) {
            CatalogEndpoint.requireWrite(call);
            String id = p.substring("service/deregister/".length());
            if (!agent.local().removeService(id)) throw HttpError.notFound("Unknown service ID \"" + id + "\"");
            agent.localChanged();
            call.text(200, "");
        } else if (p.startsWith("service/maintenance/")) {
            CatalogEndpoint.requireWrite(call);
            String id = p.substring("service/maintenance/".length());
            if (id.isEmpty()) throw HttpError.badRequest("Missing service ID");
            if (!agent.local().setServiceMaintenance(id, enable(call) ? reason(call) : null)) throw HttpError.notFound("No service registered with ID \"" + id + "\"");
            call.text(200, "");
        } else if (p.startsWith("check/deregister/")) {
            CatalogEndpoint.requireWrite(call);
            String id = p.substring("check/deregister/".length());
            if (!agent.local().removeCheck(id)) throw HttpError.notFound("Unknown check ID \"" + id + "\"");
            agent.localChanged();
            call.text(200, "");
        } else if (p.startsWith("check/pass/") || p.startsWith("check/warn/") || p.startsWith("check/fail/")) {
            CatalogEndpoint.requireWrite(call);
            String verb = p.substring(6, 10);
            String status = switch (verb) { case "pass" -> Model.PASSING; case "warn" -> Model.WARNING; default -> Model.CRITICAL; };
            ttlUpdate(call, p.substring(11), status, call.param("note"));
        } else if (p.startsWith("check/update/")) {
            CatalogEndpoint.requireWrite(call);
            JsonNode body = call.jsonBody(false);
            String status;
            String output;
            try {
                status = Definitions.text(body, "Status", null);
                output = Definitions.text(body, "Output", "");
            } catch (IllegalArgumentException e) {
                throw HttpError.badRequest(e.getMessage());
            }
            if (!Model.isValidStatus(status)) throw HttpError.badRequest("\"Status\" must be passing, warning or critical");
            ttlUpdate(call, p.substring("check/update/".length()), status, output);
        } else if (p.startsWith("join/") && p.length() > 5) {
            CatalogEndpoint.requireWrite(call);
            String addr = p.substring(5);
            try {
                io.failoverkit.discovery.cluster.Membership.parseAddress(addr);
            } catch (java.io.IOException e) {
                throw HttpError.badRequest(e.getMessage()); // a bad address is the caller's, not the agent's, fault
            }
            try {
                agent.membership().join(addr);
                call.text(200, "");
            } catch (java.io.IOException e) {
                call.text(500, "failed to join " + addr + ": " + e.getMessage());
            }
        } else if (p.startsWith("force-leave/") && p.length() > "force-leave/".length()) {
            CatalogEndpoint.requireWrite(call);
            String node = p.substring("force-leave/".length());
            switch (agent.membership().forceLeave(node, call.has("prune"))) {
                case LEFT -> call.text(200, "");
                case NOT_FOUND -> throw HttpError.notFound("agent: No node found with name '" + node + "'");
                case NOT_FAILED -> throw HttpError.badRequest("node '" + node + "' is not failed: force-leave only moves a failed node to left");
            }
        } else {
            throw HttpError.notFound("unknown agent endpoint /v1/agent/" + p);
        }
    }

    /**
     * Consul's /v1/agent/members: the members this request's token may read (node:read). Served from the cache (the
     * same bytes until the membership changes); ?pretty is encoded for the request. We run one LAN pool and no network
     * segments, so ?wan and ?segment select nothing else.
     */
    private void members(Call call) {
        var who = call.identity().authorizer();
        if (call.has("pretty")) {
            call.json(200, call.visible(List.copyOf(agent.membership().members()),
                    m -> who.allows(Resource.NODE, m.name(), Access.READ)).stream().map(AgentEndpoint::member).toList());
            return;
        }
        MembersCache.View view = members.view(who);
        if (view.filtered()) call.filtered();
        call.send(200, view.json(), "application/json");
    }

    private void ttlUpdate(Call call, String id, String status, String note) {
        LocalState.CheckState c = agent.local().check(id);
        if (c == null) throw HttpError.notFound("Unknown check ID \"" + id + "\"");
        if (c.def.ttl() == null) throw HttpError.badRequest("check \"" + id + "\" is not a TTL check; only TTL checks are updated through the API");
        agent.checks().ttlUpdate(c.def, status, note == null ? "" : note);
        call.text(200, "");
    }

    private static boolean enable(Call call) {
        String e = call.param("enable");
        // Consul's wording, and Go's strconv.ParseBool spellings (1, t, T, TRUE, true, True and their false twins).
        if (e == null) throw HttpError.badRequest("Missing value for enable");
        return switch (e) {
            case "1", "t", "T", "TRUE", "true", "True" -> true;
            case "0", "f", "F", "FALSE", "false", "False" -> false;
            default -> throw HttpError.badRequest("Invalid value for enable: \"" + e + "\"");
        };
    }

    private static String reason(Call call) {
        String r = call.param("reason");
        return r == null ? "" : r;
    }

    private void registerService(Call call) {
        JsonNode body = call.jsonBody(false);
        ServiceDef def;
        try {
            def = Definitions.service(body);
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        }
        refuseDisabledScripts(def.checks());
        agent.local().addService(def, LocalState.Source.API, replaceExistingChecks(call));
        agent.localChanged();
        call.text(200, "");
    }

    /** ?replace-existing-checks (present, or a Go boolean that is true). */
    private static boolean replaceExistingChecks(Call call) {
        if (!call.has("replace-existing-checks")) return false;
        String v = call.param("replace-existing-checks");
        return switch (v == null ? "" : v) {
            case "", "1", "t", "T", "TRUE", "true", "True" -> true;
            case "0", "f", "F", "FALSE", "false", "False" -> false;
            default -> throw HttpError.badRequest("Invalid value for replace-existing-checks: \"" + v + "\"");
        };
    }

    private void registerCheck(Call call) {
        JsonNode body = call.jsonBody(false);
        Definitions.CheckDef def;
        try {
            def = Definitions.check(body, null, null, 1);
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        }
        refuseDisabledScripts(List.of(def));
        try {
            agent.local().addCheck(def, LocalState.Source.API);
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        }
        agent.localChanged();
        call.text(200, "");
    }

    /**
     * A script check over the API needs enable_script_checks. Refused before anything is added, with Consul's text and
     * its status (500: Consul's agent reports it as a failed AddCheck/AddService, not as a malformed request).
     */
    private void refuseDisabledScripts(List<Definitions.CheckDef> checks) {
        try {
            ScriptChecks.require(agent.config(), ScriptChecks.Origin.HTTP_API, checks);
        } catch (ScriptChecks.Disabled e) {
            throw new HttpError(500, e.getMessage());
        }
    }

    private void reload(Call call) {
        try {
            agent.reload();
            call.text(200, "");
        } catch (Exception e) {
            call.text(400, "reload failed, previous configuration kept: " + e.getMessage());
        }
    }

    private Map<String, Object> self() {
        Map<String, Object> config = new LinkedHashMap<>();
        config.put("Datacenter", agent.config().datacenter);
        config.put("NodeName", agent.nodeName());
        config.put("NodeID", agent.nodeId());
        config.put("Server", agent.config().server);
        config.put("Revision", "failoverkit");
        config.put("Version", Agent.VERSION);
        config.put("Domain", agent.config().domain);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("Config", config);
        out.put("Member", member(agent.membership().self()));
        out.put("Meta", agent.config().nodeMeta);
        // Consul's Stats.serf_lan (strings), with the count of gossip packets dropped as bad input.
        Map<String, String> serf = new LinkedHashMap<>();
        var members = agent.membership().members();
        serf.put("members", Long.toString(members.stream().filter(x -> x.status() == Member.Status.ALIVE).count()));
        serf.put("failed", Long.toString(members.stream().filter(x -> x.status() == Member.Status.FAILED).count()));
        serf.put("left", Long.toString(members.stream().filter(x -> x.status() == Member.Status.LEFT).count()));
        serf.put("encrypted", Boolean.toString(agent.membership().encrypted()));
        serf.put("dropped_packets", Long.toString(agent.membership().droppedPackets()));
        out.put("Stats", Map.of("serf_lan", serf));
        return out;
    }

    /** Consul's /v1/agent/members entry (Serf's member: status code, memberlist's protocol versions). */
    static Map<String, Object> member(Member m) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("Name", m.name());
        out.put("Addr", m.addr());
        out.put("Port", m.port());
        out.put("Tags", new java.util.TreeMap<>(m.tags()));
        out.put("Status", m.status().code);
        List<Integer> v = m.protocol();
        out.put("ProtocolMin", v.get(0));
        out.put("ProtocolMax", v.get(1));
        out.put("ProtocolCur", v.get(2));
        out.put("DelegateMin", v.get(3));
        out.put("DelegateMax", v.get(4));
        out.put("DelegateCur", v.get(5));
        return out;
    }

    /** PUT /v1/agent/tags {"Set": {k: v}, "Delete": [k]}: this agent's run-time Serf tags (failoverkit's; serf's `tags`). */
    private void tags(Call call) {
        JsonNode body = call.jsonBody(false);
        Map<String, String> set;
        List<String> delete;
        try {
            set = Definitions.stringMap(body, "Set");
            List<String> d = Definitions.strings(body, "Delete");
            delete = d == null ? List.of() : d;
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        }
        try {
            call.json(200, new java.util.TreeMap<>(agent.membership().updateTags(set, delete)));
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        }
    }


}

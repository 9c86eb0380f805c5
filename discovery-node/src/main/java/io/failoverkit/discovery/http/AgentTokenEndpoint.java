package io.failoverkit.discovery.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.acl.Access;
import io.failoverkit.discovery.acl.Identity;
import io.failoverkit.discovery.acl.Resource;
import io.failoverkit.discovery.acl.TokenPersistence;
import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.config.Definitions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;

/**
 * PUT /v1/agent/token/default and /v1/agent/token/agent, as Consul's: sets the token the agent uses for requests
 * without one, or for its own requests, at run time ({@code {"Token": "..."}}), kept in DATA-DIR/acl-tokens.json when
 * {@code acl.enable_token_persistence} is on. Needs acl:write. The log says which token changed, never its value.
 */
final class AgentTokenEndpoint {
    private static final Logger LOG = LoggerFactory.getLogger(AgentTokenEndpoint.class);
    private final Agent agent;

    AgentTokenEndpoint(Agent agent) {
        this.agent = agent;
    }

    void handle(Call call) {
        if (!agent.config().acl.enabled) throw new HttpError(401, "ACL support disabled");
        if (!call.method.equals("PUT")) throw new HttpError(405, "method " + call.method + " not allowed on /v1/agent/token/" + call.path + " (PUT)");
        String kind = call.path;
        if (!kind.equals("default") && !kind.equals("agent")) {
            throw HttpError.notFound("Token \"" + kind + "\" is unknown (this agent takes \"default\" and \"agent\")");
        }
        Identity who = call.identity();
        if (!who.authorizer().allows(Resource.ACL, "", Access.WRITE)) throw AclEndpoint.denied(who, "acl:write");
        JsonNode body = call.jsonBody(false);
        JsonNode t = body.isObject() ? Definitions.field(body, "Token") : null;
        if (t == null || !t.isTextual()) throw HttpError.badRequest("request body must be {\"Token\": \"...\"}");
        String token = t.asText().strip();
        if (token.length() > 256) throw HttpError.badRequest("\"Token\" is longer than 256 characters");
        var cfg = agent.config().acl;
        if (kind.equals("default")) cfg.defaultToken = token.isEmpty() ? null : token;
        else cfg.agentToken = token.isEmpty() ? null : token;
        if (cfg.enableTokenPersistence) {
            try {
                TokenPersistence.save(agent.dataDir(), cfg);
            } catch (IOException e) {
                throw new HttpError(500, "token set but not persisted: " + e.getMessage());
            }
        }
        LOG.info("updated the agent's ACL token \"{}\"{}", kind, cfg.enableTokenPersistence ? " (persisted)" : "");
        call.text(200, "");
    }
}

package io.failoverkit.discovery.config;

import java.util.Collection;

/**
 * Whether this agent runs script checks (checks with {@code Args}, {@code ScriptArgs} or {@code Script}), as Consul's
 * two settings decide: {@code enable_script_checks} allows them from anywhere, the HTTP API included;
 * {@code enable_local_script_checks} allows them only from the agent's own config files. Both are off by default,
 * because whoever may register a script check may run any command on the agent's host as the agent's user.
 */
public final class ScriptChecks {
    /** Consul's error text when a config file defines a script check and neither setting is on. */
    public static final String LOCAL_DISABLED = "Scripts are disabled on this agent; to enable, configure "
            + "'enable_script_checks' or 'enable_local_script_checks' to true";
    /** Consul's error text when the HTTP API registers a script check without {@code enable_script_checks}. */
    public static final String REMOTE_DISABLED = "Scripts are disabled on this agent from remote calls; to enable, "
            + "configure 'enable_script_checks' to true";

    /** Where a definition comes from. */
    public enum Origin { CONFIG_FILE, HTTP_API }

    /** A script check the settings do not allow; nothing of the definition it came with was applied. */
    public static final class Disabled extends RuntimeException {
        Disabled(String message) {
            super(message, null, false, false);
        }
    }

    private ScriptChecks() {}

    /** Whether script checks defined from {@code origin} may run with these settings. */
    public static boolean allowed(AgentConfig config, Origin origin) {
        return switch (origin) {
            case HTTP_API -> config.enableScriptChecks;
            case CONFIG_FILE -> config.enableScriptChecks || config.enableLocalScriptChecks;
        };
    }

    /** Throws {@link Disabled} with Consul's text if any of {@code checks} is a script check {@code origin} may not add. */
    public static void require(AgentConfig config, Origin origin, Collection<Definitions.CheckDef> checks) {
        if (allowed(config, origin)) return;
        for (Definitions.CheckDef c : checks) {
            if (c.args() != null) throw new Disabled(origin == Origin.HTTP_API ? REMOTE_DISABLED : LOCAL_DISABLED);
        }
    }
}

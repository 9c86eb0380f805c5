package io.failoverkit.discovery.acl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.failoverkit.discovery.config.AclConfig;
import io.failoverkit.discovery.state.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Consul's {@code enable_token_persistence}: tokens set through PUT /v1/agent/token/... are kept in
 * {@code DATA-DIR/acl-tokens.json} (owner-only, written atomically) and, at the next start, take precedence over the
 * config file's, as Consul's do. The agent must send these tokens, so they are kept as they are (not hashed); the
 * file is readable by the agent's user only, like its config files.
 */
public final class TokenPersistence {
    public static final String FILE = "acl-tokens.json";

    private TokenPersistence() {}

    /** Applies the persisted tokens, if persistence is on and the file exists. A file that does not parse stops the agent. */
    public static void load(Path dataDir, AclConfig config) throws IOException {
        if (!config.enableTokenPersistence) return;
        Path f = dataDir.resolve(FILE);
        if (!Files.exists(f)) return;
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(f.toFile());
        } catch (IOException e) {
            throw new IOException(f + " is not valid JSON (remove it to start from the config's tokens)");
        }
        if (root == null || !root.isObject()) throw new IOException(f + " must hold a JSON object");
        String agent = root.path("agent").asText("");
        String dflt = root.path("default").asText("");
        if (!agent.isEmpty()) config.agentToken = agent;
        if (!dflt.isEmpty()) config.defaultToken = dflt;
    }

    /** Writes the agent's current {@code agent} and {@code default} tokens. */
    public static void save(Path dataDir, AclConfig config) throws IOException {
        ObjectNode root = Json.MAPPER.createObjectNode();
        if (config.agentToken != null) root.put("agent", config.agentToken);
        if (config.defaultToken != null) root.put("default", config.defaultToken);
        Path tmp = Files.createTempFile(dataDir, "." + FILE + ".", ".tmp");
        try {
            try {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException ignored) {
                // not a POSIX file system: the directory's permissions protect it
            }
            Files.write(tmp, Json.MAPPER.writeValueAsBytes(root));
            Files.move(tmp, dataDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
        } finally {
            if (tmp != null) Files.deleteIfExists(tmp);
        }
    }
}

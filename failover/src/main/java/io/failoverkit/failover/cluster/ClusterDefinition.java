package io.failoverkit.failover.cluster;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One managed cluster, as an operator writes it (JSON): its members, how to detect a dead master, who may be promoted,
 * and the hooks. Credentials come from a file or an environment variable, never from the command line.
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record ClusterDefinition(String name, String kind, List<String> members, String service, String passwordFile, String passwordEnv,
                                Detection detection, Promotion promotion, Hooks hooks, long blockPeriodSeconds, MySql mysql, Fencing fencing) {

    /** A cluster without MySQL settings (every Redis cluster). */
    public ClusterDefinition(String name, String kind, List<String> members, String service, String passwordFile, String passwordEnv,
                             Detection detection, Promotion promotion, Hooks hooks, long blockPeriodSeconds) {
        this(name, kind, members, service, passwordFile, passwordEnv, detection, promotion, hooks, blockPeriodSeconds, null, null);
    }

    /** A MySQL cluster with default fencing. */
    public ClusterDefinition(String name, String kind, List<String> members, String service, String passwordFile, String passwordEnv,
                             Detection detection, Promotion promotion, Hooks hooks, long blockPeriodSeconds, MySql mysql) {
        this(name, kind, members, service, passwordFile, passwordEnv, detection, promotion, hooks, blockPeriodSeconds, mysql, null);
    }

    /**
     * MySQL/MariaDB only: {@code user} is the manager's account (its password is the cluster's passwordFile /
     * passwordEnv); replicas connect to their master as {@code replicationUser}, whose password comes from
     * {@code replicationPasswordFile} or {@code replicationPasswordEnv}.
     */
    public record MySql(String user, String replicationUser, String replicationPasswordFile, String replicationPasswordEnv) {
        public static final MySql DEFAULT = new MySql("failoverkit", "repl", null, null);

        public MySql {
            if (user == null || user.isBlank()) user = "failoverkit"; // least privileged, as the README grants it; never root
            if (replicationUser == null || replicationUser.isBlank()) replicationUser = "repl";
        }

        public String replicationPassword() throws IOException {
            if (replicationPasswordFile != null) return Files.readString(Path.of(replicationPasswordFile)).strip();
            if (replicationPasswordEnv != null) {
                String v = System.getenv(replicationPasswordEnv);
                if (v == null) throw new IOException("environment variable " + replicationPasswordEnv + " (mysql.replicationPasswordEnv) is not set");
                return v;
            }
            return null;
        }
    }

    /** The master is dead after {@code failures} observations in a row, {@code intervalMs} apart, each within {@code timeoutMs}. */
    public record Detection(long intervalMs, int failures, int timeoutMs) {
        public static final Detection DEFAULT = new Detection(300, 3, 250);
    }

    /** Higher priority wins among equally advanced replicas; {@code never} are not promoted at all. */
    public record Promotion(Map<String, Integer> priority, List<String> never) {
        public static final Promotion DEFAULT = new Promotion(Map.of(), List.of());
    }

    /** User scripts run after the built-in before/after actions, with FAILOVER_* environment variables. */
    public record Hooks(List<String> before, List<String> after, long timeoutMs) {
        public static final Hooks DEFAULT = new Hooks(List.of(), List.of(), 10_000);
    }

    /**
     * How the servers themselves refuse writes once cut off (Redis: min-replicas-max-lag, with min-replicas-to-write
     * 1 while the master has a live replica). {@code maxLagSeconds} 0 turns it off.
     */
    public record Fencing(int maxLagSeconds) {
        public static final Fencing DEFAULT = new Fencing(2);
    }

    public ClusterDefinition {
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9_-]*")) throw new IllegalArgumentException("cluster \"name\" must be letters, digits, '-' or '_'");
        if (!"redis".equals(kind) && !"mysql".equals(kind)) throw new IllegalArgumentException("cluster \"kind\" must be \"redis\" or \"mysql\"");
        if (members == null || members.size() < 2) throw new IllegalArgumentException("a cluster needs at least two \"members\" (host:port)");
        for (String m : members) {
            if (!m.matches("[^:\\s]+:\\d{1,5}")) throw new IllegalArgumentException("member \"" + m + "\" must be host:port");
        }
        if (service == null || service.isBlank()) service = name;
        if (detection == null) detection = Detection.DEFAULT;
        if (detection.failures() < 1 || detection.intervalMs() < 50 || detection.timeoutMs() < 10) {
            throw new IllegalArgumentException("detection needs failures >= 1, intervalMs >= 50, timeoutMs >= 10");
        }
        if (promotion == null) promotion = Promotion.DEFAULT;
        if (promotion.priority() == null || promotion.never() == null) promotion = new Promotion(
                promotion.priority() == null ? Map.of() : promotion.priority(), promotion.never() == null ? List.of() : promotion.never());
        if (hooks == null) hooks = Hooks.DEFAULT;
        if (blockPeriodSeconds < 0) throw new IllegalArgumentException("blockPeriodSeconds must not be negative");
        if (blockPeriodSeconds == 0) blockPeriodSeconds = 3600;
        if (fencing == null) fencing = Fencing.DEFAULT;
        if (fencing.maxLagSeconds() < 0) throw new IllegalArgumentException("fencing.maxLagSeconds must not be negative (0 turns it off)");
        if (mysql == null && "mysql".equals(kind)) mysql = MySql.DEFAULT;
        if (mysql != null && !"mysql".equals(kind)) throw new IllegalArgumentException("\"mysql\" settings are for kind \"mysql\" only");
    }

    /** The password, read from the file or environment variable the definition names; null when none. */
    public String password() throws IOException {
        if (passwordFile != null) return Files.readString(Path.of(passwordFile)).strip();
        if (passwordEnv != null) {
            String v = System.getenv(passwordEnv);
            if (v == null) throw new IOException("environment variable " + passwordEnv + " (passwordEnv) is not set");
            return v;
        }
        return null;
    }

    /** Reads a definition file: YAML when it ends in .yaml or .yml, JSON otherwise. */
    public static ClusterDefinition read(Path file) throws IOException {
        String name = file.getFileName().toString();
        boolean yaml = name.endsWith(".yaml") || name.endsWith(".yml");
        return parse(Files.readString(file), yaml, file.toString());
    }

    /**
     * Parses a definition (JSON, or YAML when {@code yaml}); {@code origin} names where it came from in errors. A
     * definition never holds a password: it names a file or an environment variable, so it can be stored in the
     * discovery KV and shown in logs.
     */
    public static ClusterDefinition parse(String text, boolean yaml, String origin) throws IOException {
        ObjectMapper mapper = (yaml ? new ObjectMapper(new YAMLFactory()) : new ObjectMapper()).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        try {
            com.fasterxml.jackson.databind.JsonNode tree = mapper.readTree(text);
            if (tree == null || !tree.isObject()) throw new IOException(origin + ": a cluster definition must be an object");
            for (String secret : List.of("password", "Password", "pass", "secret")) {
                if (tree.has(secret)) throw new IOException(origin + ": \"" + secret + "\" is not allowed: a definition never holds a password; "
                        + "name a file (passwordFile) or an environment variable (passwordEnv)");
            }
            return mapper.treeToValue(tree, ClusterDefinition.class);
        } catch (com.fasterxml.jackson.databind.exc.ValueInstantiationException e) {
            throw new IOException(origin + ": " + (e.getCause() == null ? e.getMessage() : e.getCause().getMessage()), e);
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException(origin + ": " + e.getOriginalMessage(), e);
        }
    }

    /** The definition as JSON, as stored in the discovery KV. */
    public String toJson() {
        try {
            return new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(this);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Every KV key of a cluster starts with this: the epoch, the lock, the audit, the history, the attempts, the
     * promote requests, the stored definition. `failover acl-policy` grants exactly this prefix.
     */
    public static String kvPrefix(String cluster) { return "failover/" + cluster + "/"; }

    /** The KV key a stored definition lives under. */
    public static String kvKey(String cluster) { return ClusterDefinition.kvPrefix(cluster) + "definition"; }
}

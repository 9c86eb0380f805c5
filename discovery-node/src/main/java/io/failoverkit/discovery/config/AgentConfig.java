package io.failoverkit.discovery.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.state.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The agent's settings, as Consul names them. Defaults first, then JSON config files ({@code -config-file},
 * then the {@code *.json} of each {@code -config-dir} in name order), then command-line flags win.
 * Service and check definitions come only from the files (and the HTTP API), so reload re-reads just those.
 */
public final class AgentConfig {
    public String nodeName;
    public String datacenter = "dc1";
    public String dataDir;
    public boolean server;
    public boolean dev;
    public int bootstrapExpect;
    public String bindAddr = "127.0.0.1";
    public String clientAddr = "127.0.0.1";
    public int httpPort = 8500;
    /** HTTPS API port (Consul's ports.https / -https-port); -1, the default, serves no HTTPS. HTTP -1 serves no HTTP. */
    public int httpsPort = -1;
    public int dnsPort = 8600;
    public int serverPort = 8300;
    public int serfLanPort = 8301;
    public List<String> retryJoin = new ArrayList<>();
    public List<String> startJoin = new ArrayList<>();
    /** How long between -retry-join attempts until another agent answered (Consul's retry_interval; ours defaults shorter). */
    public java.time.Duration retryInterval = java.time.Duration.ofSeconds(1);
    /** Gossip encryption key, base64 of 16, 24 or 32 bytes (Consul's -encrypt / "encrypt"); null: no encryption. */
    public String encrypt;
    /** Node metadata (Consul's -node-meta key:value / "node_meta"): kept in the catalog, not in Serf tags. */
    public final java.util.Map<String, String> nodeMeta = new java.util.LinkedHashMap<>();
    /** Serf-style event handlers ("[filter,...=]script"), -event-handler / "event_handlers". */
    public final List<String> eventHandlers = new ArrayList<>();
    public List<Path> configFiles = new ArrayList<>();
    public List<Path> configDirs = new ArrayList<>();
    public String domain = "consul.";
    /** Raft log entries between snapshots (Consul's raft_snapshot_threshold); older log segments are then purged. */
    public long raftSnapshotThreshold = 16384;
    /** At most one snapshot per server per this (Consul's raft_snapshot_interval, 30 s; 0: at every threshold). */
    public java.time.Duration raftSnapshotInterval = java.time.Duration.ofSeconds(30);
    public final DnsConfig dns = new DnsConfig();
    public final TlsConfig tls = new TlsConfig();
    /** Script checks from anywhere, the HTTP API included (Consul's enable_script_checks / -enable-script-checks). */
    public boolean enableScriptChecks;
    /** Script checks from config files only (Consul's enable_local_script_checks / -enable-local-script-checks). */
    public boolean enableLocalScriptChecks;
    /** Consul's {@code acl} block (config files only: its tokens are secrets and never come from argv). */
    public final AclConfig acl = new AclConfig();
    /**
     * failoverkit's own {@code "audit": {"enabled": true, "path": "/var/log/discovery-node/audit.log"}} (not Consul's
     * Enterprise audit block): JSON lines of every write request. The path defaults to DATA-DIR/audit/audit.log.
     */
    public boolean auditEnabled;
    public String auditPath;

    /** Definitions read from the config files (services, and checks not nested in a service). */
    public final List<Definitions.ServiceDef> services = new ArrayList<>();
    public final List<Definitions.CheckDef> checks = new ArrayList<>();

    /** Every config file, in the order they apply. */
    public List<Path> files() throws IOException {
        List<Path> out = new ArrayList<>(configFiles);
        for (Path dir : configDirs) {
            if (!Files.isDirectory(dir)) throw new IOException("-config-dir " + dir + " is not a directory");
            try (Stream<Path> s = Files.list(dir)) {
                s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().forEach(out::add);
            }
        }
        return out;
    }

    /** Applies the settings of the config files (agent settings are applied only where no flag set them). */
    public void applyFiles(java.util.Set<String> setByFlags) throws IOException {
        for (Path f : files()) {
            JsonNode root;
            try {
                root = Json.MAPPER.readTree(f.toFile());
            } catch (IOException e) {
                throw new IOException("config file " + f + " is not valid JSON: " + e.getMessage(), e);
            }
            if (root == null || !root.isObject()) throw new IOException("config file " + f + " must hold a JSON object");
            try {
                applySettings(root, setByFlags);
            } catch (IllegalArgumentException e) {
                throw new IOException("config file " + f + ": " + e.getMessage(), e);
            }
        }
    }

    /** Reads only the service and check definitions of the config files: what a reload changes. */
    public void reloadDefinitions() throws IOException {
        List<Definitions.ServiceDef> svc = new ArrayList<>();
        List<Definitions.CheckDef> chk = new ArrayList<>();
        for (Path f : files()) {
            JsonNode root;
            try {
                root = Json.MAPPER.readTree(f.toFile());
            } catch (IOException e) {
                throw new IOException("config file " + f + " is not valid JSON: " + e.getMessage(), e);
            }
            int fromService = svc.size();
            int fromCheck = chk.size();
            try {
                readDefinitions(root, svc, chk);
                for (Definitions.ServiceDef s : svc.subList(fromService, svc.size())) {
                    ScriptChecks.require(this, ScriptChecks.Origin.CONFIG_FILE, s.checks());
                }
                ScriptChecks.require(this, ScriptChecks.Origin.CONFIG_FILE, chk.subList(fromCheck, chk.size()));
            } catch (IllegalArgumentException | ScriptChecks.Disabled e) {
                throw new IOException("config file " + f + ": " + e.getMessage(), e);
            }
        }
        services.clear();
        services.addAll(svc);
        checks.clear();
        checks.addAll(chk);
    }

    private static void readDefinitions(JsonNode root, List<Definitions.ServiceDef> svc, List<Definitions.CheckDef> chk) {
        JsonNode s = Definitions.field(root, "service");
        if (s != null) svc.add(Definitions.service(s));
        JsonNode ss = Definitions.field(root, "services");
        if (ss != null) for (JsonNode x : ss) svc.add(Definitions.service(x));
        JsonNode c = Definitions.field(root, "check");
        if (c != null) chk.add(Definitions.check(c, null, null, 1));
        JsonNode cs = Definitions.field(root, "checks");
        if (cs != null) for (JsonNode x : cs) chk.add(Definitions.check(x, null, null, 1));
    }

    private void applySettings(JsonNode root, java.util.Set<String> flags) {
        if (!flags.contains("node")) nodeName = Definitions.text(root, "node_name", nodeName);
        if (!flags.contains("datacenter")) datacenter = Definitions.text(root, "datacenter", datacenter);
        if (!flags.contains("data-dir")) dataDir = Definitions.text(root, "data_dir", dataDir);
        if (!flags.contains("server")) server = Definitions.bool(root, "server", server);
        if (!flags.contains("bootstrap-expect")) bootstrapExpect = Definitions.integer(root, "bootstrap_expect", bootstrapExpect);
        if (!flags.contains("bind")) bindAddr = Definitions.text(root, "bind_addr", bindAddr);
        if (!flags.contains("client")) clientAddr = Definitions.text(root, "client_addr", clientAddr);
        if (!flags.contains("domain")) domain = Definitions.text(root, "domain", domain);
        dns.apply(root);
        tls.apply(root);
        acl.apply(root);
        JsonNode audit = Definitions.field(root, "audit");
        if (audit != null) {
            if (!audit.isObject()) throw new IllegalArgumentException("\"audit\" must be an object: {\"enabled\": true, \"path\": \"...\"}");
            for (var it = audit.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!f.equals("enabled") && !f.equals("path")) throw new IllegalArgumentException("\"audit\": unknown setting \"" + f + "\" (enabled, path)");
            }
            auditEnabled = Definitions.bool(audit, "enabled", auditEnabled);
            auditPath = Definitions.text(audit, "path", auditPath);
        }
        JsonNode threshold = Definitions.field(root, "raft_snapshot_threshold");
        if (threshold != null) {
            if (!threshold.canConvertToLong() || threshold.asLong() < 1) throw new IllegalArgumentException("\"raft_snapshot_threshold\" must be a positive integer");
            raftSnapshotThreshold = threshold.asLong();
        }
        String snapshotInterval = Definitions.text(root, "raft_snapshot_interval", null);
        if (snapshotInterval != null) {
            try {
                raftSnapshotInterval = Durations.parse(snapshotInterval);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("\"raft_snapshot_interval\": " + e.getMessage());
            }
            if (raftSnapshotInterval.isNegative()) throw new IllegalArgumentException("\"raft_snapshot_interval\" must not be negative");
        }
        JsonNode ports = Definitions.field(root, "ports");
        if (ports != null) {
            if (!flags.contains("http-port")) httpPort = Definitions.integer(ports, "http", httpPort);
            if (!flags.contains("https-port")) httpsPort = Definitions.integer(ports, "https", httpsPort);
            if (!flags.contains("dns-port")) dnsPort = Definitions.integer(ports, "dns", dnsPort);
            if (!flags.contains("server-port")) serverPort = Definitions.integer(ports, "server", serverPort);
            if (!flags.contains("serf-lan-port")) serfLanPort = Definitions.integer(ports, "serf_lan", serfLanPort);
        }
        if (!flags.contains("enable-script-checks")) enableScriptChecks = Definitions.bool(root, "enable_script_checks", enableScriptChecks);
        if (!flags.contains("enable-local-script-checks")) {
            enableLocalScriptChecks = Definitions.bool(root, "enable_local_script_checks", enableLocalScriptChecks);
        }
        if (!flags.contains("encrypt")) encrypt = Definitions.text(root, "encrypt", encrypt);
        if (!flags.contains("retry-interval")) {
            String ri = Definitions.text(root, "retry_interval", null);
            if (ri != null) retryInterval = Durations.parse(ri);
        }
        java.util.Map<String, String> meta = Definitions.stringMap(root, "node_meta");
        if (meta != null && !flags.contains("node-meta")) nodeMeta.putAll(meta);
        List<String> eh = Definitions.strings(root, "event_handlers");
        if (eh != null && !flags.contains("event-handler")) eventHandlers.addAll(eh);
        List<String> rj = Definitions.strings(root, "retry_join");
        if (rj != null && !flags.contains("retry-join")) retryJoin.addAll(rj);
        List<String> sj = Definitions.strings(root, "start_join");
        if (sj != null && !flags.contains("join")) startJoin.addAll(sj);
    }

    /** Checks the settings make sense together; the message says what to change. */
    public void validate() {
        if (dev) {
            server = true;
            bootstrapExpect = 1;
        }
        if (nodeName == null || nodeName.isBlank()) {
            try { nodeName = java.net.InetAddress.getLocalHost().getHostName(); } catch (IOException e) { nodeName = "node"; }
        }
        if (!nodeName.matches("[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")) throw new IllegalArgumentException("-node \"" + nodeName + "\" must be a DNS-safe name (letters, digits, '-', '_', '.')");
        if (!datacenter.matches("[A-Za-z0-9_-]+")) throw new IllegalArgumentException("-datacenter \"" + datacenter + "\" may hold only letters, digits, '-' and '_'");
        if (!dev && dataDir == null) throw new IllegalArgumentException("-data-dir is required (or use -dev for an in-memory agent)");
        if (server && !dev && bootstrapExpect < 1) throw new IllegalArgumentException("a server needs -bootstrap-expect=N (1, 3 or 5 servers)");
        for (int p : new int[]{dnsPort, serverPort, serfLanPort}) {
            if (p < 0 || p > 65535) throw new IllegalArgumentException("port " + p + " is out of range 0-65535");
        }
        for (int p : new int[]{httpPort, httpsPort}) {
            if (p < -1 || p > 65535) throw new IllegalArgumentException("port " + p + " is out of range 0-65535 (-1 turns the listener off)");
        }
        if (httpPort < 0 && httpsPort < 0) throw new IllegalArgumentException("the HTTP API needs a port: ports.http or ports.https (-https-port)");
        tls.validate(httpsPort);
        if (!domain.endsWith(".")) domain = domain + ".";
        if (encrypt != null) {
            try {
                io.failoverkit.discovery.cluster.GossipKeys.decode(encrypt);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("-encrypt: " + e.getMessage() + " (make one with `discovery-node keygen`)");
            }
        }
        NodeMeta.validate(nodeMeta);
        for (String h : eventHandlers) {
            try {
                io.failoverkit.discovery.gossip.serf.handlers.EventScript.parse(h);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("-event-handler \"" + h + "\": " + e.getMessage());
            }
        }
        if (retryInterval.isNegative() || retryInterval.isZero()) throw new IllegalArgumentException("-retry-interval must be positive");
    }
}

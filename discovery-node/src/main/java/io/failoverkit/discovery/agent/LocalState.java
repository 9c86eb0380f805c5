package io.failoverkit.discovery.agent;

import io.failoverkit.discovery.config.Definitions.CheckDef;
import io.failoverkit.discovery.config.Definitions.ServiceDef;
import io.failoverkit.discovery.state.Model;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * This agent's own services and checks, the truth that anti-entropy copies into the catalog. Definitions come
 * from config files (replaced on reload) or the agent HTTP API (kept across reloads). Maintenance mode is a
 * critical check, as in Consul, so that it reaches the catalog, DNS and sessions the same way as any failure.
 */
public final class LocalState {
    public static final String NODE_MAINTENANCE = "_node_maintenance";
    public static final String SERVICE_MAINTENANCE_PREFIX = "_service_maintenance:";
    /** Output kept per check, as Consul bounds it. */
    public static final int MAX_OUTPUT = 4096;

    public enum Source { CONFIG, API }

    public static final class CheckState {
        public final CheckDef def;
        final Source source;
        volatile String status;
        volatile String output = "";
        /** When the status last turned critical (System.nanoTime), or 0 while it is not critical. */
        volatile long criticalSince;

        CheckState(CheckDef def, Source source) {
            this.def = def;
            this.source = source;
            this.status = def.initialStatus();
            this.criticalSince = Model.CRITICAL.equals(status) ? System.nanoTime() : 0;
        }

        /** How long the check has been critical without a break, or null while it is not critical. */
        public java.time.Duration criticalFor(long nowNanos) {
            long since = criticalSince;
            return Model.CRITICAL.equals(status) && since != 0 ? java.time.Duration.ofNanos(nowNanos - since) : null;
        }

        public String status() { return status; }
        public String output() { return output; }
    }

    private final Map<String, ServiceDef> services = new LinkedHashMap<>();
    private final Map<String, Source> serviceSource = new LinkedHashMap<>();
    private final Map<String, CheckState> checks = new LinkedHashMap<>();
    private final Map<String, String> maintenance = new LinkedHashMap<>();
    private final List<Runnable> onChange = new CopyOnWriteArrayList<>();
    private final List<java.util.function.Consumer<String>> onStatus = new CopyOnWriteArrayList<>();

    /** Called on every change of definitions or maintenance (not on a check's new result: see {@link #onCheckStatus}). */
    public void onChange(Runnable r) { onChange.add(r); }

    /** Called with a check's ID when its status changes: what has to reach the catalog at once. */
    public void onCheckStatus(java.util.function.Consumer<String> r) { onStatus.add(r); }

    private final java.util.Set<Runnable> waiters = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private void changed() {
        onChange.forEach(Runnable::run);
        for (Runnable w : List.copyOf(waiters)) if (waiters.remove(w)) w.run();
    }

    /**
     * Runs {@code once} at the next change of definitions or maintenance (a blocking /v1/agent/service/ID waits so,
     * holding no thread); the returned handle drops it unrun (the wait timed out).
     */
    public Runnable awaitChange(Runnable once) {
        waiters.add(once);
        return () -> waiters.remove(once);
    }

    public synchronized void addService(ServiceDef s, Source source) {
        addService(s, source, false);
    }

    /**
     * Adds or replaces a service and its checks. With {@code replaceExistingChecks} (Consul's ?replace-existing-checks)
     * the service's checks that the new definition does not list go; without, they stay.
     */
    public synchronized void addService(ServiceDef s, Source source, boolean replaceExistingChecks) {
        services.put(s.id(), s);
        serviceSource.put(s.id(), source);
        if (replaceExistingChecks) {
            java.util.Set<String> keep = new java.util.HashSet<>();
            for (CheckDef c : s.checks()) keep.add(c.id());
            checks.values().removeIf(c -> c.def.serviceId().equals(s.id()) && !keep.contains(c.def.id()));
        }
        for (CheckDef c : s.checks()) checks.put(c.id(), new CheckState(c, source));
        changed();
    }

    public synchronized boolean removeService(String id) {
        if (services.remove(id) == null) return false;
        serviceSource.remove(id);
        checks.values().removeIf(c -> c.def.serviceId().equals(id));
        maintenance.remove(SERVICE_MAINTENANCE_PREFIX + id);
        changed();
        return true;
    }

    public synchronized void addCheck(CheckDef c, Source source) {
        if (!c.serviceId().isEmpty() && !services.containsKey(c.serviceId())) {
            throw new IllegalArgumentException("check \"" + c.id() + "\" names service \"" + c.serviceId() + "\", which this agent does not have");
        }
        checks.put(c.id(), new CheckState(c, source));
        changed();
    }

    public synchronized boolean removeCheck(String id) {
        if (checks.remove(id) == null) return false;
        changed();
        return true;
    }

    /** Replaces what came from config files with a fresh read; API registrations stay. */
    public synchronized void replaceConfigDefinitions(List<ServiceDef> newServices, List<CheckDef> newChecks) {
        for (String id : List.copyOf(services.keySet())) {
            if (serviceSource.get(id) == Source.CONFIG) { services.remove(id); serviceSource.remove(id); }
        }
        checks.values().removeIf(c -> c.source == Source.CONFIG);
        for (ServiceDef s : newServices) {
            services.put(s.id(), s);
            serviceSource.put(s.id(), Source.CONFIG);
            for (CheckDef c : s.checks()) checks.put(c.id(), new CheckState(c, Source.CONFIG));
        }
        for (CheckDef c : newChecks) {
            if (!c.serviceId().isEmpty() && !services.containsKey(c.serviceId())) {
                throw new IllegalArgumentException("check \"" + c.id() + "\" names service \"" + c.serviceId() + "\", which is not defined");
            }
            checks.put(c.id(), new CheckState(c, Source.CONFIG));
        }
        changed();
    }

    /** Records a check result; returns true when the status changed (worth an immediate sync). */
    public boolean update(String checkId, String status, String output) {
        CheckState c;
        synchronized (this) { c = checks.get(checkId); }
        if (c == null) return false;
        String bounded = output == null ? "" : output.length() > MAX_OUTPUT ? output.substring(0, MAX_OUTPUT) : output;
        boolean statusChanged;
        synchronized (c) {
            statusChanged = !status.equals(c.status);
            if (statusChanged) c.criticalSince = Model.CRITICAL.equals(status) ? System.nanoTime() : 0;
            c.status = status;
            c.output = bounded;
        }
        if (statusChanged) onStatus.forEach(l -> l.accept(checkId));
        return statusChanged;
    }

    public synchronized void setNodeMaintenance(String reasonOrNull) {
        // As Consul: enabling it again keeps the first reason (disable, then enable, to change it).
        if (reasonOrNull == null) maintenance.remove(NODE_MAINTENANCE);
        else maintenance.putIfAbsent(NODE_MAINTENANCE, reasonOrNull);
        changed();
    }

    public synchronized boolean setServiceMaintenance(String serviceId, String reasonOrNull) {
        if (!services.containsKey(serviceId)) return false;
        if (reasonOrNull == null) maintenance.remove(SERVICE_MAINTENANCE_PREFIX + serviceId);
        else maintenance.putIfAbsent(SERVICE_MAINTENANCE_PREFIX + serviceId, reasonOrNull);
        changed();
        return true;
    }

    public synchronized Map<String, ServiceDef> services() { return new LinkedHashMap<>(services); }

    public synchronized CheckState check(String id) { return checks.get(id); }

    public synchronized List<CheckState> checkStates() { return new ArrayList<>(checks.values()); }

    /** Every check as the catalog should hold it, maintenance checks included. */
    public synchronized List<Model.Check> catalogChecks(String node) {
        List<Model.Check> out = new ArrayList<>();
        for (CheckState c : checks.values()) {
            ServiceDef s = c.def.serviceId().isEmpty() ? null : services.get(c.def.serviceId());
            out.add(new Model.Check(node, c.def.id(), c.def.name(), c.status, c.def.notes(), c.output, c.def.serviceId(),
                    s == null ? "" : s.name(), s == null ? List.of() : s.tags(), c.def.kind(), 0, 0));
        }
        maintenance.forEach((id, reason) -> {
            String sid = id.startsWith(SERVICE_MAINTENANCE_PREFIX) ? id.substring(SERVICE_MAINTENANCE_PREFIX.length()) : "";
            ServiceDef s = sid.isEmpty() ? null : services.get(sid);
            String name = sid.isEmpty() ? "Node Maintenance Mode" : "Service Maintenance Mode";
            out.add(new Model.Check(node, id, name, Model.CRITICAL, reason.isEmpty() ? "Maintenance mode is enabled for this " + (sid.isEmpty() ? "node" : "service") + ", but no reason was provided. This is a default message." : reason,
                    "", sid, s == null ? "" : s.name(), s == null ? List.of() : s.tags(), "maintenance", 0, 0));
        });
        return out;
    }
}

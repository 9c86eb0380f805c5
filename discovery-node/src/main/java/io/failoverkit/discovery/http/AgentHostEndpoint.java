package io.failoverkit.discovery.http;

import io.failoverkit.discovery.agent.Agent;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * GET /v1/agent/host: facts about the machine the agent runs on, in the shape of Consul's answer (gopsutil's field
 * names: Memory, CPU, Host, Disk, CollectionTime, Errors), read from /proc and the JVM. What cannot be read is named
 * in Errors instead of failing the whole answer, as Consul does.
 */
final class AgentHostEndpoint {
    private final Agent agent;

    AgentHostEndpoint(Agent agent) {
        this.agent = agent;
    }

    void handle(Call call) {
        if (!call.method.equals("GET")) throw new HttpError(405, "method " + call.method + " not allowed; use GET");
        long start = System.nanoTime();
        List<String> errors = new ArrayList<>();
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("Memory", memory(errors));
        out.put("CPU", cpus(errors));
        out.put("Host", host(errors));
        out.put("Disk", disk(errors));
        out.put("CollectionTime", System.nanoTime() - start);
        out.put("Errors", errors.isEmpty() ? null : errors);
        call.json(200, out);
    }

    private static Map<String, Object> memory(List<String> errors) {
        Map<String, Object> m = new LinkedHashMap<>();
        try {
            Map<String, Long> info = new LinkedHashMap<>();
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                String[] f = line.split("[:\\s]+");
                if (f.length >= 2) info.put(f[0], Long.parseLong(f[1]) * (f.length > 2 && f[2].equals("kB") ? 1024 : 1));
            }
            long total = info.getOrDefault("MemTotal", 0L);
            long available = info.getOrDefault("MemAvailable", info.getOrDefault("MemFree", 0L));
            m.put("total", total);
            m.put("available", available);
            m.put("used", total - available);
            m.put("usedPercent", total == 0 ? 0.0 : 100.0 * (total - available) / total);
            m.put("free", info.getOrDefault("MemFree", 0L));
            m.put("buffers", info.getOrDefault("Buffers", 0L));
            m.put("cached", info.getOrDefault("Cached", 0L));
            m.put("swapTotal", info.getOrDefault("SwapTotal", 0L));
            m.put("swapFree", info.getOrDefault("SwapFree", 0L));
        } catch (IOException | RuntimeException e) {
            errors.add("memory: " + e.getMessage());
        }
        return m;
    }

    private static List<Map<String, Object>> cpus(List<String> errors) {
        List<Map<String, Object>> out = new ArrayList<>();
        try {
            Map<String, Object> cur = null;
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                int colon = line.indexOf(':');
                if (colon < 0) continue;
                String k = line.substring(0, colon).strip();
                String v = line.substring(colon + 1).strip();
                if (k.equals("processor")) {
                    cur = new LinkedHashMap<>();
                    cur.put("cpu", Integer.parseInt(v));
                    out.add(cur);
                } else if (cur != null) {
                    switch (k) {
                        case "vendor_id" -> cur.put("vendorId", v);
                        case "cpu family" -> cur.put("family", v);
                        case "model" -> cur.put("model", v);
                        case "model name" -> cur.put("modelName", v);
                        case "cpu cores" -> cur.put("cores", Integer.parseInt(v));
                        case "cpu MHz" -> cur.put("mhz", Double.parseDouble(v));
                        case "cache size" -> cur.put("cacheSize", Integer.parseInt(v.split(" ")[0]));
                        default -> { }
                    }
                }
            }
        } catch (IOException | RuntimeException e) {
            errors.add("cpu: " + e.getMessage());
        }
        return out;
    }

    private static Map<String, Object> host(List<String> errors) {
        Map<String, Object> h = new LinkedHashMap<>();
        try {
            h.put("hostname", java.net.InetAddress.getLocalHost().getHostName());
        } catch (IOException e) {
            errors.add("host: hostname: " + e.getMessage());
        }
        try {
            double uptime = Double.parseDouble(Files.readString(Path.of("/proc/uptime")).split("\\s+")[0]);
            h.put("uptime", (long) uptime);
            h.put("bootTime", System.currentTimeMillis() / 1000 - (long) uptime);
        } catch (IOException | RuntimeException e) {
            errors.add("host: uptime: " + e.getMessage());
        }
        h.put("procs", ProcessHandle.allProcesses().count());
        h.put("os", System.getProperty("os.name").toLowerCase(java.util.Locale.ROOT));
        h.put("kernelVersion", System.getProperty("os.version"));
        h.put("kernelArch", System.getProperty("os.arch"));
        try {
            Map<String, String> rel = new LinkedHashMap<>();
            for (String line : Files.readAllLines(Path.of("/etc/os-release"))) {
                int eq = line.indexOf('=');
                if (eq > 0) rel.put(line.substring(0, eq), line.substring(eq + 1).replace("\"", ""));
            }
            h.put("platform", rel.getOrDefault("ID", ""));
            h.put("platformFamily", rel.getOrDefault("ID_LIKE", rel.getOrDefault("ID", "")));
            h.put("platformVersion", rel.getOrDefault("VERSION_ID", ""));
        } catch (IOException e) {
            errors.add("host: /etc/os-release: " + e.getMessage());
        }
        h.put("hostId", readOr("/etc/machine-id", ""));
        h.put("jvmUptimeMillis", ManagementFactory.getRuntimeMXBean().getUptime());
        return h;
    }

    private Map<String, Object> disk(List<String> errors) {
        Map<String, Object> d = new LinkedHashMap<>();
        Path dir = agent.dataDir();
        try {
            FileStore fs = Files.getFileStore(dir);
            long total = fs.getTotalSpace();
            long free = fs.getUsableSpace();
            d.put("path", dir.toString());
            d.put("fstype", fs.type());
            d.put("total", total);
            d.put("free", free);
            d.put("used", total - free);
            d.put("usedPercent", total == 0 ? 0.0 : 100.0 * (total - free) / total);
        } catch (IOException | RuntimeException e) {
            errors.add("disk: " + e.getMessage());
        }
        return d;
    }

    private static String readOr(String file, String dflt) {
        try {
            return Files.readString(Path.of(file)).strip();
        } catch (IOException e) {
            return dflt;
        }
    }
}

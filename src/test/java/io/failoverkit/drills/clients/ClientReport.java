package io.failoverkit.drills.clients;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongPredicate;

/**
 * What the client-stack lab found, per client: read from the clients' output lines ({@link ClientOutput}), written to
 * {@code report.tsv} for the drill's assertions and printed as the table the guide quotes.
 */
public final class ClientReport {
    /** Times are wall-clock milliseconds (0: never). */
    public record Lab(long killedAt, String oldMaster, String newMaster, long promotedAt, long restartedAt, boolean oldMasterDemoted,
                      long agentMovedAt, long dnsmasqMovedAt, long dnsTtlSeconds, String outcome) {}

    /**
     * {@code killToFirstWrite}: ms from the SIGKILL to the first write the client saw acknowledged by the new master
     * (-1: none within the bound); {@code lost}: writes the client saw acknowledged by the old master that the new master
     * lacks; {@code oldAfterPromotion}: writes acknowledged by the old master's address after the promotion;
     * {@code resolvedNewAfter}: ms from the kill until the client's own resolution named the new master (-1: never).
     */
    public record Row(String stack, String settings, long acksBeforeKill, long killToFirstWrite, long lost, long oldAfterPromotion,
                      long resolvedNewAfter, String heldBy, String errorsAfterKill) {}

    /** An acknowledged write: when, by which server (host:port), its counter value or row number. */
    public record Ack(long at, String server, long value) {}

    private ClientReport() {}

    static long acks(Path out) { return lines(out).stream().filter(l -> l.startsWith("ACK ")).count(); }

    static boolean wroteAfter(Path out, long from, String server) {
        return parseAcks(lines(out)).stream().anyMatch(a -> a.at > from && a.server.equals(server));
    }

    /** @param present whether a row number is on the new master (null: counters, judged by their values) */
    static Row probeRow(Lab lab, List<Ack> acks, LongPredicate present) {
        long agent = lab.agentMovedAt == 0 ? -1 : lab.agentMovedAt - lab.killedAt;
        // The probe asks the agent itself: dnsmasq is not on its path.
        Lab direct = new Lab(lab.killedAt, lab.oldMaster, lab.newMaster, lab.promotedAt, lab.restartedAt, lab.oldMasterDemoted, lab.agentMovedAt,
                lab.agentMovedAt, lab.dnsTtlSeconds, lab.outcome);
        return row(direct, "direct probe", "agent-DNS-no-cache", acks, agent, List.of(), present);
    }

    static Row clientRow(Lab lab, String client, Path out, LongPredicate present) {
        List<String> lines = lines(out);
        long resolved = lines.stream().filter(l -> l.startsWith("DNS ")).map(l -> l.split(" "))
                .filter(f -> Long.parseLong(f[1]) > lab.killedAt && f[2].equals(ClientLab.hostOf(lab.newMaster)))
                .mapToLong(f -> Long.parseLong(f[1]) - lab.killedAt).findFirst().orElse(-1);
        List<String> errors = lines.stream().filter(l -> l.startsWith("ERR ")).map(l -> l.split(" ", 3))
                .filter(f -> Long.parseLong(f[1]) > lab.killedAt).map(f -> "+" + (Long.parseLong(f[1]) - lab.killedAt) + "ms " + f[2]).toList();
        String[] parts = client.split(" ");
        return row(lab, parts[0], parts[1], parseAcks(lines), resolved, errors, present);
    }

    private static Row row(Lab lab, String stack, String settings, List<Ack> acks, long resolvedNewAfter, List<String> errors, LongPredicate present) {
        long before = acks.stream().filter(a -> a.at <= lab.killedAt).count();
        Ack firstNew = acks.stream().filter(a -> a.at > lab.killedAt && a.server.equals(lab.newMaster)).findFirst().orElse(null);
        long lastOld = acks.stream().filter(a -> a.server.equals(lab.oldMaster) && a.at <= lab.killedAt).mapToLong(Ack::value).max().orElse(0);
        // Counters (Redis): what the old master had counted beyond where the new master went on. Rows (MySQL): every
        // acknowledged row the new master lacks.
        long lost = present != null ? acks.stream().filter(a -> !present.test(a.value)).count()
                : firstNew == null ? 0 : Math.max(0, lastOld - (firstNew.value - 1));
        long promoted = lab.promotedAt == 0 ? lab.killedAt : lab.promotedAt;
        long oldAfter = acks.stream().filter(a -> a.at > promoted && a.server.equals(lab.oldMaster)).count();
        long first = firstNew == null ? -1 : firstNew.at - lab.killedAt;
        return new Row(stack, settings, before, first, lost, oldAfter, resolvedNewAfter, heldBy(lab, first, resolvedNewAfter, errors),
                String.join(" | ", errors.stream().limit(8).toList()) + (errors.size() > 8 ? " | ... (" + errors.size() + " distinct)" : ""));
    }

    /**
     * Which layer held the longest part of the client's kill-to-first-write: the failover itself (until the agent's DNS
     * named the new master), dnsmasq (until it answered so), the runtime's DNS cache (until the client's own lookup did),
     * or the connection pool / client (from then until the first write).
     */
    static String heldBy(Lab lab, long first, long resolved, List<String> errors) {
        long agent = lab.agentMovedAt == 0 ? -1 : lab.agentMovedAt - lab.killedAt;
        long dnsmasq = lab.dnsmasqMovedAt == 0 ? -1 : lab.dnsmasqMovedAt - lab.killedAt;
        if (first < 0) {
            if (resolved < 0) return "runtime DNS cache (never resolved the new master)";
            return "pool/client (resolved the new master after " + resolved + " ms, kept connections to the old one)";
        }
        long[] at = {agent, Math.max(agent, dnsmasq), resolved < 0 ? Math.max(agent, dnsmasq) : Math.max(resolved, Math.max(agent, dnsmasq)), first};
        String[] names = {"failover (agent DNS)", "dnsmasq cache", "runtime DNS cache", "pool/client reconnect"};
        int best = 0;
        long bestSpan = at[0];
        for (int i = 1; i < at.length; i++) {
            long span = at[i] - at[i - 1];
            if (span > bestSpan) { best = i; bestSpan = span; }
        }
        return names[best] + " " + bestSpan + " ms";
    }

    private static List<Ack> parseAcks(List<String> lines) {
        List<Ack> out = new ArrayList<>();
        for (String l : lines) {
            if (!l.startsWith("ACK ")) continue;
            String[] f = l.split(" ");
            if (f.length == 4) out.add(new Ack(Long.parseLong(f[1]), f[2], Long.parseLong(f[3])));
        }
        return out;
    }

    private static List<String> lines(Path out) {
        try {
            return Files.readAllLines(out);
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void write(Path file, Lab lab, List<Row> rows) throws IOException {
        List<String> out = new ArrayList<>();
        out.add(String.join("\t", "#lab", Long.toString(lab.killedAt), lab.oldMaster, lab.newMaster, Long.toString(lab.promotedAt),
                Long.toString(lab.restartedAt), Boolean.toString(lab.oldMasterDemoted), Long.toString(lab.agentMovedAt),
                Long.toString(lab.dnsmasqMovedAt), Long.toString(lab.dnsTtlSeconds), lab.outcome.replace('\t', ' ').replace('\n', ' ')));
        for (Row r : rows) {
            out.add(String.join("\t", r.stack, r.settings, Long.toString(r.acksBeforeKill), Long.toString(r.killToFirstWrite), Long.toString(r.lost),
                    Long.toString(r.oldAfterPromotion), Long.toString(r.resolvedNewAfter), r.heldBy, r.errorsAfterKill.replace('\t', ' ')));
        }
        Files.write(file, out);
    }

    public record Read(Lab lab, List<Row> rows) {}

    public static Read read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file);
        String[] l = lines.get(0).split("\t", -1);
        Lab lab = new Lab(Long.parseLong(l[1]), l[2], l[3], Long.parseLong(l[4]), Long.parseLong(l[5]), Boolean.parseBoolean(l[6]),
                Long.parseLong(l[7]), Long.parseLong(l[8]), Long.parseLong(l[9]), l[10]);
        List<Row> rows = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split("\t", -1);
            rows.add(new Row(f[0], f[1], Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]), Long.parseLong(f[5]),
                    Long.parseLong(f[6]), f[7], f[8]));
        }
        return new Read(lab, rows);
    }

    static String table(Lab lab, List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append(String.format("kill %s; agent DNS named %s after %d ms, dnsmasq after %d ms (A record TTL %d s); promoted +%d ms; "
                        + "old master restarted +%d ms, demoted: %s%n", lab.oldMaster, lab.newMaster, rel(lab, lab.agentMovedAt), rel(lab, lab.dnsmasqMovedAt),
                lab.dnsTtlSeconds, rel(lab, lab.promotedAt), rel(lab, lab.restartedAt), lab.oldMasterDemoted));
        b.append(String.format("%-13s %-26s %16s %6s %14s %16s  %s%n", "stack", "settings", "kill->1st write", "lost", "old-after-prom", "own DNS moved", "held by"));
        for (Row r : rows) {
            b.append(String.format("%-13s %-26s %16s %6d %14d %16s  %s%n", r.stack, r.settings, r.killToFirstWrite < 0 ? "none" : r.killToFirstWrite + " ms",
                    r.lost, r.oldAfterPromotion, r.resolvedNewAfter < 0 ? "-" : r.resolvedNewAfter + " ms", r.heldBy));
        }
        for (Row r : rows) if (!r.errorsAfterKill.isEmpty()) b.append(String.format("  %s %s errors: %s%n", r.stack, r.settings, r.errorsAfterKill));
        return b.toString();
    }

    private static long rel(Lab lab, long at) { return at == 0 ? -1 : at - lab.killedAt; }
}

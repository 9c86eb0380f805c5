package io.failoverkit.discovery.cluster;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.failoverkit.discovery.state.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Cluster membership over the LAN port (-serf-lan-port): join by exchanging member lists over TCP (push-pull),
 * then every second probe each member directly and exchange lists with one at random. A member that misses
 * {@code SUSPECT_PROBES} probes in a row is failed; a leave is announced with a higher incarnation.
 * This is the join exchange the gossip issue will replace with SWIM on the same port; its interface stays.
 */
public final class Membership implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Membership.class);
    private static final int SUSPECT_PROBES = 3;
    private static final int IO_TIMEOUT_MS = 500;

    record Envelope(@JsonProperty("type") String type, @JsonProperty("members") List<Member> members) {}

    private final Map<String, Member> members = new ConcurrentHashMap<>();
    private final Map<String, Integer> missedProbes = new ConcurrentHashMap<>();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final List<String> retryJoin;
    private final ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("membership").unstarted(r));
    private final ServerSocket listener;
    private volatile Member self;
    private volatile boolean joined;

    public Membership(Member self, String bindHost, List<String> retryJoin) throws IOException {
        this.self = self;
        this.retryJoin = List.copyOf(retryJoin);
        this.members.put(self.name(), self);
        this.listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(new InetSocketAddress(bindHost, self.port()));
        Thread.ofVirtual().name("membership-accept").start(this::acceptLoop);
        ticker.scheduleWithFixedDelay(this::tick, 200, 1000, TimeUnit.MILLISECONDS);
    }

    public Member self() { return self; }

    public Collection<Member> members() { return List.copyOf(members.values()); }

    public void onChange(Runnable listener) { listeners.add(listener); }

    /** Joins through another agent's LAN address (host:port); returns the number of members learned. */
    public int join(String address) throws IOException {
        Envelope reply = exchange(address, new Envelope("push-pull", List.copyOf(members.values())));
        merge(reply.members());
        joined = true;
        return reply.members().size();
    }

    /** Announces a graceful leave to every member (best effort), then stops. */
    public void leave() {
        self = self.with(Member.Status.LEFT, self.incarnation() + 1);
        members.put(self.name(), self);
        for (Member m : members.values()) {
            if (m.name().equals(self.name()) || m.status() != Member.Status.ALIVE) continue;
            try { exchange(m.addr() + ":" + m.port(), new Envelope("push-pull", List.of(self))); } catch (IOException e) { LOG.debug("leave to {}: {}", m.name(), e.getMessage()); }
        }
    }

    private void tick() {
        try {
            if (!joined && !retryJoin.isEmpty()) {
                for (String addr : retryJoin) {
                    try { join(addr); LOG.info("joined through {}", addr); break; } catch (IOException e) { LOG.debug("retry-join {}: {}", addr, e.getMessage()); }
                }
            }
            List<Member> others = members.values().stream().filter(m -> !m.name().equals(self.name()) && m.status() != Member.Status.LEFT).toList();
            for (Member m : others) probe(m);
            List<Member> alive = others.stream().filter(m -> m.status() == Member.Status.ALIVE).toList();
            if (!alive.isEmpty()) {
                Member peer = alive.get(ThreadLocalRandom.current().nextInt(alive.size()));
                try { merge(exchange(peer.addr() + ":" + peer.port(), new Envelope("push-pull", List.copyOf(members.values()))).members()); } catch (IOException ignored) { /* the probe accounts for it */ }
            }
        } catch (RuntimeException e) {
            LOG.warn("membership tick failed", e);
        }
    }

    private void probe(Member m) {
        boolean ok;
        try {
            exchange(m.addr() + ":" + m.port(), new Envelope("ping", List.of()));
            ok = true;
        } catch (IOException e) {
            ok = false;
        }
        Member current = members.get(m.name());
        if (current == null || current.status() == Member.Status.LEFT) return;
        if (ok) {
            missedProbes.remove(m.name());
            if (current.status() != Member.Status.ALIVE) update(current.with(Member.Status.ALIVE, current.incarnation()), "alive again");
        } else {
            int missed = missedProbes.merge(m.name(), 1, Integer::sum);
            if (missed >= SUSPECT_PROBES && current.status() == Member.Status.ALIVE) update(current.with(Member.Status.FAILED, current.incarnation()), "failed " + missed + " probes");
        }
    }

    private void update(Member m, String why) {
        members.put(m.name(), m);
        LOG.info("member {} is {} ({})", m.name(), m.status(), why);
        listeners.forEach(Runnable::run);
    }

    private void merge(List<Member> incoming) {
        boolean changed = false;
        for (Member m : incoming) {
            if (m.name().equals(self.name())) continue;
            Member known = members.get(m.name());
            if (known == null) {
                // Learned from others: take what they say, but never believe "failed" about a member we can probe.
                members.put(m.name(), m.status() == Member.Status.FAILED ? m.with(Member.Status.ALIVE, m.incarnation()) : m);
                LOG.info("member {} joined ({}:{}, {})", m.name(), m.addr(), m.port(), m.tags().get("role"));
                changed = true;
            } else if (m.incarnation() > known.incarnation()) {
                Member.Status status = m.status() == Member.Status.LEFT ? Member.Status.LEFT : known.status() == Member.Status.LEFT ? Member.Status.ALIVE : known.status();
                members.put(m.name(), new Member(m.name(), m.addr(), m.port(), m.tags(), status, m.incarnation()));
                changed = true;
            }
        }
        if (changed) listeners.forEach(Runnable::run);
    }

    private Envelope exchange(String address, Envelope request) throws IOException {
        int colon = address.lastIndexOf(':');
        String host = colon < 0 ? address : address.substring(0, colon);
        int port = colon < 0 ? 8301 : Integer.parseInt(address.substring(colon + 1));
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), IO_TIMEOUT_MS);
            s.setSoTimeout(IO_TIMEOUT_MS);
            OutputStream out = s.getOutputStream();
            out.write(Json.MAPPER.writeValueAsBytes(request));
            out.write('\n');
            out.flush();
            String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
            if (line == null) throw new IOException("no reply from " + address);
            return Json.MAPPER.readValue(line, Envelope.class);
        }
    }

    private void acceptLoop() {
        while (!listener.isClosed()) {
            try {
                Socket s = listener.accept();
                Thread.ofVirtual().start(() -> serve(s));
            } catch (IOException e) {
                if (!listener.isClosed()) LOG.warn("membership accept failed: {}", e.getMessage());
            }
        }
    }

    private void serve(Socket s) {
        try (s) {
            s.setSoTimeout(IO_TIMEOUT_MS * 4);
            String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
            if (line == null || line.length() > 1 << 20) return;
            Envelope req = Json.MAPPER.readValue(line, Envelope.class);
            List<Member> reply = new ArrayList<>();
            if ("push-pull".equals(req.type()) && req.members() != null) {
                merge(req.members());
                reply.addAll(members.values());
            }
            OutputStream out = s.getOutputStream();
            out.write(Json.MAPPER.writeValueAsBytes(new Envelope("ack", reply)));
            out.write('\n');
            out.flush();
        } catch (IOException | RuntimeException e) {
            LOG.debug("membership request failed: {}", e.getMessage());
        }
    }

    @Override
    public void close() throws IOException {
        ticker.shutdownNow();
        listener.close();
    }
}

package io.failoverkit.discovery.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.failoverkit.discovery.config.Durations;
import io.failoverkit.discovery.state.Json;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code discovery-node lock}: Consul's {@code consul lock}. It holds a lock (or, with {@code -n N > 1}, one of N
 * semaphore slots) in the KV store through a session, runs a child command while it holds it, and kills the child if the
 * hold is lost.
 *
 * <p>The keys and the protocol are Consul's, so that a stock {@code consul lock} (or any client of Consul's Go API
 * lock/semaphore) at the same prefix excludes and is excluded by this one:
 * <ul>
 * <li>{@code -n 1}: the lock key is {@code PREFIX/.lock}, taken with {@code ?acquire=SESSION} and Consul's lock flag
 * value; a contender waits with blocking queries for the key to have no session, then tries; a refused acquire
 * (the agent's lock-delay after a holder's session was invalidated) is retried after 5 s, never in a hot loop.</li>
 * <li>{@code -n N}: each contender writes {@code PREFIX/SESSION} (acquired by its session, which has Behavior
 * "delete"), and the slots are the JSON {@code {"Limit":N,"Holders":{SESSION:true,...}}} in {@code PREFIX/.lock},
 * changed only by check-and-set on its ModifyIndex; holders whose session no longer holds any key under the prefix are
 * pruned. Every contender must use the same N: a different one is refused.</li>
 * </ul>
 * Both use Consul's session defaults (TTL 15s renewed every TTL/2, lock-delay 15s, the node's serfHealth check).
 * The hold is watched with blocking queries (consistent reads); it is lost when the key no longer names the session
 * (session destroyed or invalidated, key deleted or released by someone else), or when the session cannot be renewed.
 * The child is then sent SIGTERM, and SIGKILL after a 5 s grace (it and the processes it started).
 *
 * <p>The child: with {@code -shell} (Consul's default) the arguments are joined with spaces and run by {@code $SHELL -c}
 * ({@code /bin/sh} when SHELL is unset), exactly as Consul does: that string is the operator's own command line, and no
 * data from the KV store, the agent or the environment is ever put into it. With {@code -shell=false} the arguments are
 * run as they are, with no shell at all. The child gets {@code CONSUL_LOCK_HELD=true} in its environment, this
 * process's stdout and stderr, and stdin only with {@code -pass-stdin}. SIGINT, SIGTERM and SIGHUP sent to this process
 * are forwarded to the child; SIGINT and SIGTERM also end the hold: the child is stopped as above, the lock released.
 *
 * <p>On exit the hold is released, the session destroyed, and the lock key removed when nobody else uses it. Exit
 * codes as Consul's: 0 once the child has run; with {@code -child-exit-code}, 2 when the child exited non-zero (or was
 * killed because the hold was lost); 1 when the lock could not be acquired (timeout, conflict, agent unreachable) or
 * released; 64 for a bad command line.
 */
@Command(name = "lock", mixinStandardHelpOptions = true,
        description = {"Runs a command while holding a lock (or one of N semaphore slots) at a KV prefix, as `consul lock`.",
                "The child is stopped (SIGTERM, then SIGKILL after 5s) if the lock is lost.",
                "With -shell (the default, as Consul's) CMD... is joined with spaces and run by $SHELL -c (else /bin/sh);"
                        + " with -shell=false it is run as it is, without a shell."})
public final class LockCmd implements java.util.concurrent.Callable<Integer> {
    /** Consul's magic Flags values: they tell a lock key from a semaphore key (api/lock.go, api/semaphore.go). */
    static final long LOCK_FLAG = 0x2ddccbc058a50c18L;
    static final long SEMAPHORE_FLAG = 0xe0f69a2baa414de0L;
    static final String LOCK_KEY = ".lock";
    static final String SESSION_TTL = "15s";
    static final Duration WAIT = Duration.ofSeconds(15);
    static final Duration RETRY = Duration.ofSeconds(5);
    static final Duration KILL_GRACE = Duration.ofSeconds(5);
    static final Duration MONITOR_RETRY_TIME = Duration.ofSeconds(1);

    @CommandLine.Mixin AgentHttp http;

    @Option(names = "-n", paramLabel = "N", description = "How many may hold it at once (default 1: a lock; more: a semaphore). Every contender must agree.")
    int limit = 1;
    @Option(names = "-name", paramLabel = "NAME", description = "The session's name (default: from the command and the prefix).")
    String name;
    @Option(names = {"-timeout", "-try"}, paramLabel = "DURATION", description = "Give up acquiring after this long (e.g. 10s; default: wait forever). -try is Consul's old spelling.")
    String timeout;
    @Option(names = "-shell", arity = "0..1", fallbackValue = "true", paramLabel = "BOOL",
            description = "Run CMD with $SHELL -c (default true, as Consul); -shell=false runs it without a shell.")
    boolean shell = true;
    @Option(names = "-child-exit-code", description = "Exit 2 when the child exited with an error (or was killed because the lock was lost).")
    boolean childExitCode;
    @Option(names = "-pass-stdin", description = "Give the child this process's stdin.")
    boolean passStdin;
    @Option(names = "-monitor-retry", paramLabel = "N", description = "Agent errors tolerated (1s apart) while watching the lock before it counts as lost (default 3).")
    int monitorRetry = 3;
    @Option(names = "-verbose", description = "Say what it does.")
    boolean verbose;

    @Parameters(paramLabel = "PREFIX CMD", arity = "0..*", description = "The KV prefix, then the command and its arguments.")
    List<String> args = new ArrayList<>();

    private PrintWriter out;
    private PrintWriter err;
    private final CompletableFuture<String> ended = new CompletableFuture<>();
    private volatile boolean shutdown;
    private volatile Process child;
    /** The thread acquiring, while it does (a SIGINT/SIGTERM wakes it from its blocking query); null otherwise. */
    private volatile Thread acquiring;
    /** Set once the hold is over: the monitor and the renewer stop. */
    private volatile boolean finished;

    @Override
    public Integer call() throws Exception {
        if (limit <= 0) throw http.usage("Lock holder limit must be positive");
        if (args.size() < 2) throw http.usage("Key prefix and child command must be specified");
        if (monitorRetry < 0) throw http.usage("Number for 'monitor-retry' must be >= 0");
        Duration wait = Duration.ZERO;
        if (timeout != null) {
            try {
                wait = Durations.parse(timeout);
            } catch (IllegalArgumentException e) {
                throw http.usage("-timeout: " + e.getMessage());
            }
            if (wait.isNegative()) throw http.usage("Timeout must be positive");
        }
        String prefix = args.get(0);
        while (prefix.startsWith("/")) prefix = prefix.substring(1);
        while (prefix.endsWith("/")) prefix = prefix.substring(0, prefix.length() - 1);
        if (prefix.isEmpty()) throw http.usage("Key prefix must not be empty");
        List<String> command = List.copyOf(args.subList(1, args.size()));
        if (name == null || name.isEmpty()) name = "Consul lock for '" + String.join(" ", command) + "' at '" + prefix + "'";
        out = http.out();
        err = http.err();

        http.getJson("querying Consul agent", "/v1/agent/self");
        Hold hold = limit == 1 ? new KeyLock(prefix + "/" + LOCK_KEY) : new Semaphore(prefix, limit);
        info(limit == 1 ? "Setting up lock at path: " + prefix + "/" + LOCK_KEY : "Setting up semaphore (limit " + limit + ") at prefix: " + prefix);

        List<Object[]> previousHandlers = installSignals();
        try {
            return run(hold, command, wait);
        } finally {
            restoreSignals(previousHandlers);
        }
    }

    private int run(Hold hold, List<String> command, Duration wait) throws InterruptedException {
        long deadline = wait.isZero() ? Long.MAX_VALUE : System.nanoTime() + wait.toNanos();
        String session;
        try {
            session = createSession(hold.behavior());
        } catch (AgentHttp.Failure f) {
            err.println("Lock acquisition failed: failed to create session: " + f.getMessage());
            return 1;
        }
        Thread renewer = startRenewer(session);
        info("Attempting lock acquisition");
        boolean held;
        acquiring = Thread.currentThread();
        try {
            held = !shutdown && hold.acquire(session, deadline);
        } catch (InterruptedException e) {
            held = false; // a signal: the answer to an acquire in flight is unknown, destroying the session settles it
        } catch (AgentHttp.Failure | IllegalStateException e) {
            acquiring = null;
            Thread.interrupted();
            err.println(shutdown ? "Shutdown triggered during lock acquisition" : "Lock acquisition failed: " + e.getMessage());
            finished = true;
            hold.abandon(session);
            destroySession(session);
            return 1;
        } finally {
            acquiring = null;
        }
        Thread.interrupted(); // a signal that came as the acquisition ended must not break the release
        if (!held) {
            err.println(shutdown ? "Shutdown triggered during lock acquisition" : "Shutdown triggered or timeout during lock acquisition");
            finished = true;
            hold.abandon(session);
            destroySession(session);
            return 1;
        }

        Thread monitor = new Thread(() -> hold.monitor(session), "lock-monitor");
        // The monitor and the renewer are stopped by a flag, never interrupted: an HTTP exchange cut by an interrupt
        // can leave the client a dead pooled connection for the release that follows.
        monitor.setDaemon(true);
        monitor.start();

        int code = 0;
        if (shutdown) {
            err.println("Shutdown triggered during lock acquisition");
        } else {
            code = runChild(command);
        }
        finished = true;
        boolean ok = true;
        try {
            hold.release(session);
        } catch (AgentHttp.Failure | IllegalStateException e) {
            err.println("Lock release failed: " + e.getMessage());
            ok = false;
        }
        destroySession(session);
        if (!ok) return 1;
        try {
            if (hold.cleanup()) info("Cleanup succeeded");
            else info("Cleanup aborted, lock in use");
        } catch (AgentHttp.Failure | IllegalStateException e) {
            err.println("Lock cleanup failed: " + e.getMessage());
            return 1;
        }
        return code;
    }

    /** Starts the child, waits for it or for the hold to end; returns the exit code this command should give. */
    private int runChild(List<String> command) throws InterruptedException {
        List<String> argv;
        if (shell) {
            String sh = System.getenv("SHELL");
            argv = List.of(sh == null || sh.isBlank() ? "/bin/sh" : sh, "-c", String.join(" ", command));
        } else {
            argv = command;
        }
        info("Starting handler");
        ProcessBuilder pb = new ProcessBuilder(argv);
        pb.environment().put("CONSUL_LOCK_HELD", "true");
        pb.redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT);
        pb.redirectInput(passStdin ? ProcessBuilder.Redirect.INHERIT : ProcessBuilder.Redirect.from(new File("/dev/null")));
        Process p;
        synchronized (this) {
            if (ended.isDone()) {
                err.println("lost".equals(ended.getNow("")) ? "Lock lost before the child started" : "Shutdown triggered before the child started");
                return childExitCode ? 2 : 0;
            }
            try {
                p = pb.start();
            } catch (IOException e) {
                err.println("Error starting handler: " + e.getMessage());
                return childExitCode ? 2 : 0;
            }
            child = p;
        }
        p.onExit().thenRun(() -> ended.complete("child"));
        String why;
        try {
            why = ended.get();
        } catch (java.util.concurrent.ExecutionException e) {
            why = "lost";
        }
        if (!why.equals("child")) {
            if (why.equals("lost")) err.println("Lock lost, killing child");
            else info("Shutdown triggered, killing child");
            stopChild(p);
        } else {
            info("Child terminated, releasing lock");
        }
        int status = p.waitFor();
        if (status != 0 && why.equals("child")) err.println("Error running handler: exit status " + status);
        return childExitCode && status != 0 ? 2 : 0;
    }

    /** SIGTERM to the child and every process it started, then SIGKILL to whatever is left after the grace. */
    private void stopChild(Process p) throws InterruptedException {
        List<ProcessHandle> tree = new ArrayList<>();
        tree.add(p.toHandle());
        p.descendants().forEach(tree::add);
        info("Terminating child pid " + p.pid());
        for (ProcessHandle h : tree) h.destroy();
        long until = System.nanoTime() + KILL_GRACE.toNanos();
        while (System.nanoTime() < until && tree.stream().anyMatch(ProcessHandle::isAlive)) Thread.sleep(50);
        for (ProcessHandle h : tree) {
            if (h.isAlive()) {
                info("Killing child pid " + h.pid());
                h.destroyForcibly();
            }
        }
        p.waitFor(30, TimeUnit.SECONDS);
    }

    // ---------------------------------------------------------------- signals

    private List<Object[]> installSignals() {
        List<Object[]> previous = new ArrayList<>();
        for (String sig : List.of("INT", "TERM", "HUP")) {
            try {
                sun.misc.Signal s = new sun.misc.Signal(sig);
                sun.misc.SignalHandler old = sun.misc.Signal.handle(s, x -> onSignal(sig));
                previous.add(new Object[]{s, old});
            } catch (IllegalArgumentException e) {
                info("cannot forward SIG" + sig + ": " + e.getMessage());
            }
        }
        return previous;
    }

    private static void restoreSignals(List<Object[]> previous) {
        for (Object[] o : previous) sun.misc.Signal.handle((sun.misc.Signal) o[0], (sun.misc.SignalHandler) o[1]);
    }

    private void onSignal(String sig) {
        Process p = child;
        if (p != null && p.isAlive()) forward(p, sig);
        if (!sig.equals("HUP")) {
            shutdown = true;
            ended.complete("shutdown");
            Thread t = acquiring;
            if (t != null) t.interrupt();
        }
    }

    private void forward(Process p, String sig) {
        if (sig.equals("TERM")) {
            p.destroy();
            return;
        }
        try {
            // No shell: kill(1) gets the signal name and the PID as separate arguments.
            new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            err.println("Warning, could not forward signal: " + e.getMessage());
        }
    }

    // ---------------------------------------------------------------- session

    private String createSession(String behavior) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("Name", name);
        body.put("TTL", SESSION_TTL);
        body.put("Behavior", behavior);
        try {
            return http.call("creating session", "PUT", "/v1/session/create", Json.MAPPER.writeValueAsBytes(body)).json().path("ID").asText();
        } catch (IOException e) {
            throw new AgentHttp.Failure("Error creating session: " + e.getMessage());
        }
    }

    private void destroySession(String session) {
        try {
            http.call("destroying session", "PUT", "/v1/session/destroy/" + session);
        } catch (AgentHttp.Failure f) {
            err.println(f.getMessage() + " (it expires by its TTL)");
        }
    }

    /** Renews the session every TTL/2; a session the agent no longer knows, or no renewal for a whole TTL, is a lost hold. */
    private Thread startRenewer(String session) {
        Thread t = new Thread(() -> {
            Duration ttl = Durations.parse(SESSION_TTL);
            long lastOk = System.nanoTime();
            Duration next = ttl.dividedBy(2);
            while (!finished && !Thread.currentThread().isInterrupted()) {
                long until = System.nanoTime() + next.toNanos();
                try {
                    while (!finished && System.nanoTime() < until) Thread.sleep(Math.max(1, Math.min(200, (until - System.nanoTime()) / 1_000_000)));
                } catch (InterruptedException e) {
                    return;
                }
                if (finished) return;
                try {
                    AgentHttp.Response r = http.send("PUT", "/v1/session/renew/" + session, null, Duration.ofSeconds(10));
                    if (r.status() == 404) {
                        lost("session " + session + " is gone");
                        return;
                    }
                    if (r.ok()) {
                        lastOk = System.nanoTime();
                        String t2 = r.json().path(0).path("TTL").asText("");
                        if (!t2.isEmpty()) ttl = Durations.parse(t2);
                        next = ttl.dividedBy(2);
                        continue;
                    }
                } catch (IOException | RuntimeException e) {
                    // retried below
                } catch (InterruptedException e) {
                    return;
                }
                if (System.nanoTime() - lastOk > ttl.toNanos()) {
                    lost("session " + session + " could not be renewed for " + SESSION_TTL);
                    return;
                }
                next = MONITOR_RETRY_TIME;
            }
        }, "lock-session-renew");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private void lost(String why) {
        if (finished) return;
        if (!ended.isDone()) info("Lock lost: " + why);
        ended.complete("lost");
    }

    private void info(String s) {
        if (verbose && out != null) {
            out.println(s);
            out.flush();
        }
    }

    // ---------------------------------------------------------------- KV

    /** One KV entry as the agent returns it. */
    record Pair(String key, long flags, byte[] value, String session, long modifyIndex) {
        static Pair of(JsonNode n) {
            String v = n.path("Value").isNull() || n.path("Value").isMissingNode() ? null : n.path("Value").asText();
            return new Pair(n.path("Key").asText(), Long.parseUnsignedLong(n.path("Flags").asText("0")),
                    v == null ? null : Base64.getDecoder().decode(v), n.path("Session").asText(""), n.path("ModifyIndex").asLong());
        }
    }

    private record Listing(List<Pair> pairs, long index) {}

    /** A (blocking when index > 0) read of a key or, with recurse, a prefix: an absent key is an empty list. */
    private Listing read(String pathAndQuery, long index, Duration wait, boolean consistent) throws IOException, InterruptedException {
        String q = pathAndQuery + (pathAndQuery.contains("?") ? "&" : "?") + (consistent ? "consistent&" : "")
                + "index=" + index + "&wait=" + Math.max(1, wait.toMillis()) + "ms";
        AgentHttp.Response r = http.send("GET", q, null, wait.plusSeconds(15));
        if (r.status() == 404) return new Listing(List.of(), r.index());
        if (!r.ok()) throw new IOException(AgentHttp.statusReason(r));
        List<Pair> pairs = new ArrayList<>();
        for (JsonNode n : r.json()) pairs.add(Pair.of(n));
        return new Listing(pairs, r.index());
    }

    /**
     * The monitor of a hold: consistent blocking reads of {@code pathAndQuery} until {@code lostReason} says why the hold is
     * lost (then {@link #lost}) or the command finishes. A failed read, or a record {@code lostReason} cannot decode
     * (IllegalStateException), is retried -monitor-retry times, {@link #MONITOR_RETRY_TIME} apart, before the hold counts
     * as lost ("cannot read {what}: reason").
     */
    private void watch(String what, String pathAndQuery, java.util.function.Function<Listing, String> lostReason) {
        long index = 0;
        int retries = monitorRetry;
        while (!finished && !Thread.currentThread().isInterrupted()) {
            Listing l;
            String why;
            try {
                l = read(pathAndQuery, index, WAIT, true);
                why = lostReason.apply(l);
            } catch (IOException | IllegalStateException e) {
                if (retries-- > 0) {
                    if (!sleep(MONITOR_RETRY_TIME)) return;
                    continue;
                }
                lost("cannot read " + what + ": " + e.getMessage());
                return;
            } catch (InterruptedException e) {
                return;
            }
            retries = monitorRetry;
            if (why != null) {
                lost(why);
                return;
            }
            index = l.index() < index ? 0 : l.index();
        }
    }

    private boolean put(String what, String pathAndQuery, byte[] body) {
        try {
            return http.call(what, "PUT", pathAndQuery, body == null ? new byte[0] : body).json().asBoolean();
        } catch (IOException e) {
            throw new AgentHttp.Failure("Error " + what + ": " + e.getMessage());
        }
    }

    private static String flags(long f) {
        return Long.toUnsignedString(f);
    }

    private static String kvPath(String key) {
        return "/v1/kv/" + AgentHttp.encode(key, true);
    }

    /** Sleeps, waking early when the hold attempt should stop. */
    private void pause(Duration d, long deadline) throws InterruptedException {
        long until = Math.min(System.nanoTime() + d.toNanos(), deadline);
        while (System.nanoTime() < until && !shutdown) Thread.sleep(Math.min(200, Math.max(1, (until - System.nanoTime()) / 1_000_000)));
    }

    private static Duration waitFor(long deadline) {
        if (deadline == Long.MAX_VALUE) return WAIT;
        long left = deadline - System.nanoTime();
        return left <= 0 ? Duration.ZERO : Duration.ofNanos(Math.min(left, WAIT.toNanos()));
    }

    /** Lock or semaphore: the two protocols behind one shape. */
    private interface Hold {
        String behavior();

        /** Blocks until held (true), or until the deadline or a shutdown (false). */
        boolean acquire(String session, long deadline) throws InterruptedException;

        /** Watches the hold until it is lost (then {@link #lost}) or the thread is interrupted. */
        void monitor(String session);

        void release(String session);

        /** Undoes what a failed acquisition left (a semaphore's contender key). */
        default void abandon(String session) {}

        /** Removes the lock key when nobody uses it; false when it is in use. */
        boolean cleanup();
    }

    /** -n 1: Consul's lock (api/lock.go's protocol) on PREFIX/.lock. */
    private final class KeyLock implements Hold {
        private final String key;

        KeyLock(String key) {
            this.key = key;
        }

        @Override
        public String behavior() {
            return "release";
        }

        @Override
        public boolean acquire(String session, long deadline) throws InterruptedException {
            long index = 0;
            while (!shutdown) {
                Duration wait = waitFor(deadline);
                if (wait.isZero()) return false;
                Listing l;
                try {
                    l = read(kvPath(key), index, wait, false);
                } catch (IOException e) {
                    throw new AgentHttp.Failure("failed to read lock: " + e.getMessage());
                }
                Pair p = l.pairs().isEmpty() ? null : l.pairs().get(0);
                if (p != null && p.flags() != LOCK_FLAG) throw new IllegalStateException("Existing key does not match lock use");
                if (p != null && !p.session().isEmpty()) {
                    index = l.index() < index ? 0 : l.index();
                    continue;
                }
                if (shutdown) return false;
                if (put("acquiring lock", kvPath(key) + "?acquire=" + session + "&flags=" + flags(LOCK_FLAG), null)) return true;
                // Refused while the key is free: the agent's lock-delay after the last holder's session was invalidated.
                info("Lock is in its lock-delay, retrying in " + RETRY.toSeconds() + "s");
                pause(RETRY, deadline);
                index = 0;
            }
            return false;
        }

        @Override
        public void monitor(String session) {
            watch("the lock", kvPath(key), l -> {
                Pair p = l.pairs().isEmpty() ? null : l.pairs().get(0);
                if (p == null) return "the key " + key + " was deleted";
                return p.session().equals(session) ? null : "the key " + key + " is no longer held by session " + session;
            });
        }

        @Override
        public void release(String session) {
            put("releasing lock", kvPath(key) + "?release=" + session + "&flags=" + flags(LOCK_FLAG), null);
        }

        @Override
        public boolean cleanup() {
            Listing l;
            try {
                l = read(kvPath(key), 0, WAIT, false);
            } catch (IOException | InterruptedException e) {
                throw new AgentHttp.Failure("failed to read lock: " + e.getMessage());
            }
            if (l.pairs().isEmpty()) return true;
            Pair p = l.pairs().get(0);
            if (p.flags() != LOCK_FLAG) throw new IllegalStateException("Existing key does not match lock use");
            if (!p.session().isEmpty()) return false;
            return http.call("removing lock", "DELETE", kvPath(key) + "?cas=" + p.modifyIndex()).body().strip().equals("true");
        }
    }

    /** -n N: Consul's semaphore (api/semaphore.go's protocol) under PREFIX/. */
    private final class Semaphore implements Hold {
        private final String prefix;
        private final String lockKey;
        private final int limit;

        Semaphore(String prefix, int limit) {
            this.prefix = prefix;
            this.lockKey = prefix + "/" + LOCK_KEY;
            this.limit = limit;
        }

        @Override
        public String behavior() {
            return "delete";
        }

        /** The coordination record: Limit and the set of holder sessions. */
        private record Slots(int limit, Set<String> holders, long modifyIndex) {}

        private Slots decode(List<Pair> pairs) {
            Pair p = pairs.stream().filter(x -> x.key().equals(lockKey)).findFirst().orElse(null);
            if (p != null && p.flags() != SEMAPHORE_FLAG) throw new IllegalStateException("Existing key does not match semaphore use");
            if (p == null || p.value() == null || p.value().length == 0) return new Slots(limit, new HashSet<>(), p == null ? 0 : p.modifyIndex());
            JsonNode n;
            try {
                n = Json.MAPPER.readTree(p.value());
            } catch (IOException e) {
                throw new IllegalStateException("lock decoding failed: " + e.getMessage());
            }
            JsonNode lim = n.has("Limit") ? n.get("Limit") : n.path("limit");
            JsonNode hs = n.has("Holders") ? n.get("Holders") : n.path("holders");
            if (!lim.canConvertToInt()) throw new IllegalStateException("lock decoding failed: no Limit in " + lockKey);
            Set<String> holders = new HashSet<>();
            hs.fieldNames().forEachRemaining(holders::add);
            return new Slots(lim.asInt(), holders, p.modifyIndex());
        }

        /** Drops the holders whose session holds no key under the prefix any more (dead contenders). */
        private void prune(Slots s, List<Pair> pairs) {
            Set<String> alive = new HashSet<>();
            for (Pair p : pairs) if (!p.session().isEmpty()) alive.add(p.session());
            s.holders().retainAll(alive);
        }

        private byte[] encode(Slots s) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("Limit", s.limit());
            Map<String, Boolean> h = new TreeMap<>();
            for (String x : s.holders()) h.put(x, true);
            m.put("Holders", h);
            try {
                return Json.MAPPER.writeValueAsBytes(m);
            } catch (IOException e) {
                throw new IllegalStateException("lock encoding failed: " + e.getMessage());
            }
        }

        private String list() {
            return kvPath(prefix + "/") + "?recurse";
        }

        @Override
        public boolean acquire(String session, long deadline) throws InterruptedException {
            if (!put("making contender entry", kvPath(prefix + "/" + session) + "?acquire=" + session + "&flags=" + flags(SEMAPHORE_FLAG), null)) {
                throw new IllegalStateException("failed to make contender entry " + prefix + "/" + session);
            }
            long index = 0;
            while (!shutdown) {
                Duration wait = waitFor(deadline);
                if (wait.isZero()) return false;
                Listing l;
                try {
                    l = read(list(), index, wait, false);
                } catch (IOException e) {
                    throw new AgentHttp.Failure("failed to read prefix: " + e.getMessage());
                }
                Slots s = decode(l.pairs());
                if (s.limit() != limit) throw new IllegalStateException("semaphore limit conflict (lock: " + s.limit() + ", local: " + limit + ")");
                prune(s, l.pairs());
                if (s.holders().size() >= s.limit()) {
                    index = l.index() < index ? 0 : l.index();
                    continue;
                }
                if (shutdown) return false;
                s.holders().add(session);
                if (put("updating lock", kvPath(lockKey) + "?cas=" + s.modifyIndex() + "&flags=" + flags(SEMAPHORE_FLAG), encode(s))) return true;
                index = 0; // another contender changed it first: read again
            }
            return false;
        }

        @Override
        public void monitor(String session) {
            watch("the semaphore", list(), l -> {
                Slots s = decode(l.pairs());
                prune(s, l.pairs());
                return s.holders().contains(session) ? null : "session " + session + " no longer holds a slot in " + lockKey;
            });
        }

        @Override
        public void release(String session) {
            for (int attempt = 0; attempt < 100; attempt++) {
                Listing l;
                try {
                    l = read(kvPath(lockKey), 0, WAIT, false);
                } catch (IOException | InterruptedException e) {
                    throw new AgentHttp.Failure("failed to read lock: " + e.getMessage());
                }
                Slots s = decode(l.pairs());
                if (!s.holders().remove(session)) break;
                if (put("updating lock", kvPath(lockKey) + "?cas=" + s.modifyIndex() + "&flags=" + flags(SEMAPHORE_FLAG), encode(s))) break;
            }
            abandon(session);
        }

        @Override
        public void abandon(String session) {
            try {
                http.call("removing contender entry", "DELETE", kvPath(prefix + "/" + session));
            } catch (AgentHttp.Failure f) {
                err.println(f.getMessage() + " (the session's end removes it)");
            }
        }

        @Override
        public boolean cleanup() {
            Listing l;
            try {
                l = read(list(), 0, WAIT, false);
            } catch (IOException | InterruptedException e) {
                throw new AgentHttp.Failure("failed to read prefix: " + e.getMessage());
            }
            Slots s = decode(l.pairs());
            if (s.modifyIndex() == 0) return true;
            prune(s, l.pairs());
            if (!s.holders().isEmpty()) return false;
            return http.call("removing semaphore", "DELETE", kvPath(lockKey) + "?cas=" + s.modifyIndex()).body().strip().equals("true");
        }
    }

    private static boolean sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }
}

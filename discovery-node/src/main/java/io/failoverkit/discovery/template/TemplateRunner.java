package io.failoverkit.discovery.template;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * consul-template's runner: renders every template as soon as its data is known, watches what each rendering used
 * with blocking queries, renders again on a change (after the -wait quiescence: min since the last change, at most
 * max since the first), writes the destination atomically keeping its mode, and runs the template's command only
 * when the output changed, once per quiescent burst, through {@code sh -c}. A failed command is logged and the loop
 * goes on; an agent that stays unreachable beyond the retries ends the run with an error.
 */
public final class TemplateRunner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TemplateRunner.class);
    static final Set<PosixFilePermission> DEFAULT_MODE = PosixFilePermissions.fromString("rw-r--r--");

    /** How the runner behaves; the defaults are consul-template's. */
    public record Options(TemplateSpec.Wait quiescence, boolean once, boolean dry, java.io.PrintWriter dryOut, Duration blockingWait,
                          int retryAttempts, Duration retryBackoff, Duration retryMaxBackoff, Duration commandTimeout) {
        public static Options defaults() {
            return new Options(new TemplateSpec.Wait(Duration.ZERO, Duration.ZERO), false, false, new java.io.PrintWriter(System.out, true), Duration.ofMinutes(1),
                    12, Duration.ofMillis(250), Duration.ofMinutes(1), Duration.ofSeconds(30));
        }
        public Options withWait(TemplateSpec.Wait w) { return new Options(w, once, dry, dryOut, blockingWait, retryAttempts, retryBackoff, retryMaxBackoff, commandTimeout); }
        public Options withOnce(boolean o) { return new Options(quiescence, o, dry, dryOut, blockingWait, retryAttempts, retryBackoff, retryMaxBackoff, commandTimeout); }
        public Options withDry(boolean d, java.io.PrintWriter out) { return new Options(quiescence, once, d, out, blockingWait, retryAttempts, retryBackoff, retryMaxBackoff, commandTimeout); }
        public Options withRetries(int attempts, Duration backoff, Duration max) { return new Options(quiescence, once, dry, dryOut, blockingWait, attempts, backoff, max, commandTimeout); }
    }

    private static final class Entry {
        final TemplateSpec spec;
        final Template template;
        Set<Dependency> used = Set.of();
        boolean rendered;
        boolean dirty = true;
        long burstStart;
        long deadline;
        String lastDry;

        Entry(TemplateSpec spec, Template template) { this.spec = spec; this.template = template; }
    }

    private final AgentReader reader;
    private final Options opts;
    private final List<Entry> entries = new ArrayList<>();
    private final Brain brain = new Brain();
    private final Map<Dependency, Thread> watches = new ConcurrentHashMap<>();
    private final LinkedBlockingQueue<Dependency> changes = new LinkedBlockingQueue<>();
    private final AtomicReference<String> failure = new AtomicReference<>();
    private volatile boolean stopped;
    private volatile Thread loop;
    private int commandRuns;

    /** The templates must be parsed already: a malformed one is refused before anything runs. */
    public TemplateRunner(AgentReader reader, Map<TemplateSpec, Template> templates, Options opts) {
        this.reader = reader;
        this.opts = opts;
        templates.forEach((s, t) -> entries.add(new Entry(s, t)));
    }

    /** Reads and parses the template files; the first malformed one is the exception (with file:line:col). */
    public static Map<TemplateSpec, Template> load(List<TemplateSpec> specs) throws IOException, TemplateException {
        Map<TemplateSpec, Template> out = new java.util.LinkedHashMap<>();
        for (TemplateSpec s : specs) out.put(s, Template.parse(s.source().toString(), Files.readString(s.source(), StandardCharsets.UTF_8)));
        return out;
    }

    /** How many commands ran so far. */
    public synchronized int commandRuns() { return commandRuns; }

    /** Runs until stopped (or, with once, until every template rendered once). Returns the exit code. */
    public int run() throws InterruptedException {
        loop = Thread.currentThread();
        try {
            while (!stopped) {
                String f = failure.get();
                if (f != null) { LOG.error("{}", f); System.err.println("Error: " + f); return 1; }
                long now = System.nanoTime();
                Set<String> commands = new LinkedHashSet<>();
                for (Entry e : entries) {
                    if (!(e.dirty || (e.deadline != 0 && now - e.deadline >= 0))) continue;
                    e.dirty = false;
                    e.deadline = 0;
                    e.burstStart = 0;
                    Template.Render r;
                    try {
                        r = e.template.render(brain);
                    } catch (TemplateException ex) {
                        LOG.error("rendering {} failed: {}", e.spec.source(), ex.getMessage());
                        System.err.println("Error rendering template " + e.spec.source() + ": " + ex.getMessage());
                        return 1;
                    }
                    e.used = r.used();
                    for (Dependency d : r.used()) watch(d);
                    if (!r.complete()) {
                        LOG.debug("{}: waiting for {}", e.spec.source(), r.missing());
                        continue;
                    }
                    e.rendered = true;
                    try {
                        if (write(e, r.output()) && e.spec.command() != null && !opts.dry()) commands.add(e.spec.command());
                    } catch (IOException ex) {
                        LOG.error("writing {} failed: {}", e.spec.destination(), ex.toString());
                        System.err.println("Error writing " + e.spec.destination() + ": " + ex.getMessage());
                        return 1;
                    }
                }
                unwatchUnused();
                boolean commandFailed = false;
                for (String c : commands) commandFailed |= !runCommand(c);
                if (opts.once() && entries.stream().allMatch(x -> x.rendered)) return commandFailed ? 1 : 0;
                awaitChanges();
            }
            return 0;
        } finally {
            close();
        }
    }

    private void awaitChanges() throws InterruptedException {
        long now = System.nanoTime();
        long next = Long.MAX_VALUE;
        for (Entry e : entries) if (e.deadline != 0) next = Math.min(next, e.deadline - now);
        long waitNanos = Math.max(0, Math.min(next, TimeUnit.SECONDS.toNanos(1)));
        if (entries.stream().anyMatch(e -> e.dirty)) waitNanos = 0;
        Dependency d = changes.poll(waitNanos, TimeUnit.NANOSECONDS);
        List<Dependency> changed = new ArrayList<>();
        if (d != null) changed.add(d);
        changes.drainTo(changed);
        if (changed.isEmpty()) return;
        now = System.nanoTime();
        Set<Dependency> set = new HashSet<>(changed);
        TemplateSpec.Wait w = opts.quiescence();
        for (Entry e : entries) {
            if (e.used.stream().noneMatch(set::contains)) continue;
            if (!e.rendered || opts.once() || !w.enabled()) { e.dirty = true; continue; }
            if (e.burstStart == 0) e.burstStart = now;
            long byMin = now + w.min().toNanos(), byMax = e.burstStart + w.max().toNanos();
            e.deadline = byMin - byMax < 0 ? byMin : byMax;
            if (e.deadline == 0) e.deadline = 1;
        }
    }

    private void watch(Dependency d) {
        watches.computeIfAbsent(d, dep -> Thread.ofVirtual().name("watch " + dep).start(() -> watchLoop(dep)));
    }

    private void unwatchUnused() {
        Set<Dependency> inUse = new HashSet<>();
        for (Entry e : entries) inUse.addAll(e.used);
        for (Dependency d : new ArrayList<>(watches.keySet())) {
            if (inUse.contains(d)) continue;
            Thread t = watches.remove(d);
            if (t != null) t.interrupt();
            brain.forget(d);
            LOG.debug("no longer watching {}", d);
        }
    }

    private void watchLoop(Dependency d) {
        long index = 0;
        int failures = 0;
        while (!stopped && !Thread.currentThread().isInterrupted()) {
            long started = System.nanoTime();
            try {
                AgentReader.Result r = reader.fetch(d, index, opts.blockingWait());
                failures = 0;
                if (stopped || Thread.currentThread().isInterrupted()) return;
                index = r.index() < index ? 0 : r.index(); // an index that went backwards starts over
                boolean deliver = !(d.kind() == Dependency.Kind.KV_BLOCK && r.value() == null); // key waits for the key
                if (deliver && brain.remember(d, r.value())) {
                    LOG.debug("{} changed (index {})", d, index);
                    changes.add(d);
                }
                // At most 20 queries a second per dependency, even if the agent answers at once.
                long left = TimeUnit.MILLISECONDS.toNanos(50) - (System.nanoTime() - started);
                if (left > 0) TimeUnit.NANOSECONDS.sleep(left);
            } catch (InterruptedException ex) {
                return;
            } catch (IOException | RuntimeException ex) {
                if (stopped || Thread.currentThread().isInterrupted()) return;
                failures++;
                if (failures > opts.retryAttempts()) {
                    failure.compareAndSet(null, d + ": the agent at " + reader.address() + " failed " + failures + " times in a row, giving up: " + describe(ex));
                    changes.add(d); // wakes the loop
                    return;
                }
                long backoff = Math.min(opts.retryMaxBackoff().toMillis(), opts.retryBackoff().toMillis() << Math.min(failures - 1, 20));
                LOG.warn("{}: {} (retry {} of {} in {} ms)", d, describe(ex), failures, opts.retryAttempts(), backoff);
                try {
                    Thread.sleep(backoff);
                } catch (InterruptedException ie) {
                    return;
                }
                index = 0;
            }
        }
    }

    private static String describe(Throwable ex) {
        String m = ex.getMessage();
        return m == null || m.isBlank() ? ex.getClass().getSimpleName() : m;
    }

    /** Writes the output if it differs from the destination's content; returns whether it did. */
    private boolean write(Entry e, String content) throws IOException {
        if (opts.dry()) {
            if (content.equals(e.lastDry)) return false;
            e.lastDry = content;
            java.io.PrintWriter out = opts.dryOut();
            synchronized (out) {
                out.print("> " + (e.spec.destination() == null ? "" : e.spec.destination()) + "\n" + content);
                out.flush();
            }
            return true;
        }
        Path dest = e.spec.destination();
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        if (Files.isRegularFile(dest) && java.util.Arrays.equals(Files.readAllBytes(dest), bytes)) {
            LOG.debug("{} is unchanged", dest);
            return false;
        }
        LOG.debug("{} new content:\n{}", dest, content);
        writeAtomically(dest, bytes);
        LOG.info("rendered {} => {}", e.spec.source(), dest);
        return true;
    }

    /** A temp file in the destination's directory, synced, given the old file's mode, renamed over it. */
    static void writeAtomically(Path dest, byte[] bytes) throws IOException {
        Path abs = dest.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Set<PosixFilePermission> mode = Files.exists(abs) ? Files.getPosixFilePermissions(abs) : DEFAULT_MODE;
        Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                var buf = java.nio.ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) ch.write(buf);
                ch.force(true);
            }
            Files.setPosixFilePermissions(tmp, mode);
            try {
                Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException ex) {
                Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Runs the operator's command through sh -c (no template data in it); returns false when it failed. */
    private boolean runCommand(String command) throws InterruptedException {
        synchronized (this) { commandRuns++; }
        LOG.info("running command: {}", command);
        try {
            Process p = new ProcessBuilder("sh", "-c", command).inheritIO().redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!p.waitFor(opts.commandTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                LOG.error("command {} did not finish within {} ms: killed; going on", GoFormat.quote(command), opts.commandTimeout().toMillis());
                return false;
            }
            if (p.exitValue() != 0) {
                LOG.error("command {} failed with exit code {}; going on", GoFormat.quote(command), p.exitValue());
                return false;
            }
            return true;
        } catch (IOException ex) {
            LOG.error("command {} could not start: {}; going on", GoFormat.quote(command), ex.getMessage());
            return false;
        }
    }

    /** Stops the loop and every watch. */
    public void stop() {
        stopped = true;
        Thread l = loop;
        if (l != null) l.interrupt();
    }

    @Override
    public void close() {
        stopped = true;
        for (Thread t : watches.values()) t.interrupt();
        watches.clear();
    }
}

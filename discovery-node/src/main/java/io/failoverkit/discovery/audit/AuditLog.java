package io.failoverkit.discovery.audit;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.failoverkit.discovery.state.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The audit log (failoverkit's own {@code audit { enabled, path }} setting): one JSON line per write request made
 * through the HTTP API, naming who made it (the token's AccessorID, never its secret), what it asked for and how it
 * ended. A request only queues its line (a bounded in-memory queue); one writer thread appends the lines and flushes
 * whenever the queue runs dry, so no request waits on the disk. {@link #reopen()} (agent reload, SIGHUP) closes the
 * file and opens the path again: move the file away, reload, and the log starts afresh (logrotate's "create" mode).
 * When the queue is full (the disk stalls) lines are dropped, counted and said in the agent's log, never blocking.
 */
public final class AuditLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
    static final int QUEUE_LINES = 65_536;
    private static final String STOP = new String("stop");

    /** One write request: {@code key} and {@code service} are the KV key or service it touched, when it names one. */
    public record Entry(Instant time, String accessorId, String method, String path, String key, String service,
                        String source, String forwardedFor, int status) {
        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("time", time.toString());
            m.put("accessor_id", accessorId);
            m.put("method", method);
            m.put("path", path);
            if (key != null) m.put("key", key);
            if (service != null) m.put("service", service);
            m.put("source", source);
            if (forwardedFor != null) m.put("forwarded_for", forwardedFor);
            m.put("status", status);
            return m;
        }
    }

    private final Path path;
    private final BlockingQueue<String> queue = new ArrayBlockingQueue<>(QUEUE_LINES);
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong queued = new AtomicLong();
    private volatile boolean reopen;
    private BufferedWriter out;
    private final Thread writer;

    private AuditLog(Path path) throws IOException {
        this.path = path;
        this.out = openWriter(path);
        this.writer = Thread.ofPlatform().daemon().name("audit-log").start(this::drain);
    }

    /** Opens (creating, owner-only) the log at {@code path}; an unwritable path fails the agent's start, as it should. */
    public static AuditLog open(Path path) throws IOException {
        return new AuditLog(path.toAbsolutePath());
    }

    public Path path() { return path; }

    /** Queues one line; never blocks. */
    public void record(Entry e) {
        String line;
        try {
            line = Json.MAPPER.writeValueAsString(e.json());
        } catch (JsonProcessingException ex) {
            LOG.warn("audit entry not encoded: {}", ex.getMessage());
            return;
        }
        if (queue.offer(line)) {
            queued.incrementAndGet();
        } else {
            long n = dropped.incrementAndGet();
            if (Long.bitCount(n) == 1) LOG.warn("audit log {} is behind: {} entries dropped so far (the disk is not keeping up)", path, n);
        }
    }

    /** Closes the file and opens its path again (after a rotation moved it), at the writer's next line. */
    public void reopen() {
        reopen = true;
        queue.offer("");
    }

    /** Lines written so far (tests and the metrics). */
    public long written() { return written.get(); }

    public long dropped() { return dropped.get(); }

    /** Waits (at most {@code timeoutMillis}) until every line queued before this call is written; false on timeout. */
    public boolean flush(long timeoutMillis) throws InterruptedException {
        long target = queued.get();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (written.get() < target) {
            if (System.nanoTime() > deadline) return false;
            Thread.sleep(5);
        }
        return true;
    }

    private void drain() {
        List<String> batch = new ArrayList<>();
        while (true) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                return;
            }
            queue.drainTo(batch);
            synchronized (this) {
                boolean stop = false;
                int lines = 0;
                try {
                    if (reopen) {
                        reopen = false;
                        out.close();
                        out = openWriter(path);
                        LOG.info("audit log {} reopened", path);
                    }
                    for (String line : batch) {
                        if (line == STOP) { stop = true; break; }
                        if (line.isEmpty()) continue;
                        out.write(line);
                        out.write('\n');
                        lines++;
                    }
                    out.flush();
                    written.addAndGet(lines);
                } catch (IOException e) {
                    LOG.warn("audit log {}: {} (entries lost until it can be written)", path, e.getMessage());
                }
                batch.clear();
                if (stop) return;
            }
        }
    }

    private static BufferedWriter openWriter(Path path) throws IOException {
        Path dir = path.getParent();
        if (dir != null) Files.createDirectories(dir);
        if (!Files.exists(path) && FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
            Files.createFile(path, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        }
        return Files.newBufferedWriter(path, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
    }

    @Override
    public void close() {
        try {
            queue.put(STOP);
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (this) {
            try { out.close(); } catch (IOException e) { LOG.debug("audit close: {}", e.getMessage()); }
        }
    }
}

package io.failoverkit.discovery.gossip.serf.handlers;

import io.failoverkit.discovery.gossip.serf.SerfEvent;
import io.failoverkit.discovery.gossip.serf.SerfMember;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Serf's agent event handlers: give it every {@link SerfEvent} (it is the Serf consumer, or sits behind the agent's
 * own); it never blocks the caller. Events go through coalescing (when on, {@link CoalesceSettings}) on one thread,
 * then to the scripts on another, one event at a time in arrival order, each matching script in configuration
 * order (see {@link ScriptInvoker} for what a script gets, {@link EventScript} for the filters). A script that runs
 * past {@code timeout} is killed with its children and logged; its output is logged (the last 8 KB).
 *
 * <p>At most {@code maxPending} events wait; beyond that new ones are dropped, counted and logged (a handler that
 * cannot keep up must not grow memory without bound).
 */
public final class EventHandlers implements Consumer<SerfEvent>, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventHandlers.class);
    /** Scripts still running after this are reported as slow (Serf warns after one second too). */
    private static final Duration WARN_SLOW = Duration.ofSeconds(1);
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);
    public static final int DEFAULT_MAX_PENDING = 4096;

    private volatile List<EventScript> scripts;
    private final Supplier<SerfMember> self;
    private final Duration timeout;
    private final int maxPending;
    private final ScheduledExecutorService coalescing;
    private final ExecutorService running;
    private final Consumer<SerfEvent> head;
    private final CoalescingStage[] stages;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicLong invocations = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong timeouts = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private volatile boolean closed;

    /** {@code self} gives this node as it is when an event is handled (its name and tags go to the script). */
    public EventHandlers(List<EventScript> scripts, Supplier<SerfMember> self, CoalesceSettings coalesce, Duration timeout) {
        this(scripts, self, coalesce, timeout, DEFAULT_MAX_PENDING);
    }

    public EventHandlers(List<EventScript> scripts, Supplier<SerfMember> self, CoalesceSettings coalesce,
                         Duration timeout, int maxPending) {
        if (!timeout.isPositive()) throw new IllegalArgumentException("handler timeout must be positive");
        this.scripts = List.copyOf(scripts);
        this.self = self;
        this.timeout = timeout;
        this.maxPending = maxPending;
        this.coalescing = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("serf-coalesce").unstarted(r));
        this.running = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon().name("serf-handlers").unstarted(r));
        Consumer<SerfEvent> toScripts = e -> {
            pending.incrementAndGet();
            running.execute(() -> {
                try {
                    handle(e);
                } finally {
                    pending.decrementAndGet();
                }
            });
        };
        // as Serf chains them: user coalescing first, member coalescing behind it
        CoalescingStage members = coalesce.members()
                ? new CoalescingStage(coalescing, coalesce.coalescePeriod(), coalesce.quiescentPeriod(), new Coalescer.Members(), toScripts)
                : null;
        Consumer<SerfEvent> afterUsers = members != null ? members : toScripts;
        CoalescingStage users = coalesce.users()
                ? new CoalescingStage(coalescing, coalesce.userCoalescePeriod(), coalesce.userQuiescentPeriod(), new Coalescer.Users(), afterUsers)
                : null;
        this.head = users != null ? users : afterUsers;
        this.stages = new CoalescingStage[]{users, members};
    }

    /** Takes an event; never blocks. */
    @Override public void accept(SerfEvent e) {
        if (closed) return;
        if (pending.get() >= maxPending) {
            dropped.incrementAndGet();
            LOG.warn("event handlers: {} events waiting, dropped {}", pending.get(), e);
            return;
        }
        pending.incrementAndGet();
        try {
            coalescing.execute(() -> {
                try {
                    head.accept(e);
                } finally {
                    pending.decrementAndGet();
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException ex) {
            pending.decrementAndGet();
        }
    }

    /** Replaces the scripts (a configuration reload); events handled from now on use the new ones. */
    public void setScripts(List<EventScript> newScripts) {
        this.scripts = List.copyOf(newScripts);
    }

    private void handle(SerfEvent e) {
        SerfMember me;
        try {
            me = self.get();
        } catch (RuntimeException ex) {
            LOG.error("event handlers: cannot read the local member", ex);
            return;
        }
        for (EventScript s : scripts) {
            if (!s.matches(e) || closed) continue;
            invocations.incrementAndGet();
            ScriptInvoker.Result r = ScriptInvoker.run(s.script(), me, e, timeout);
            String what = ScriptInvoker.eventName(e);
            if (r.timedOut()) {
                timeouts.incrementAndGet();
                LOG.warn("event handler '{}' for {} killed after the {} timeout; output: {}", s.script(), what, timeout, r.output());
            } else if (r.error() != null) {
                failures.incrementAndGet();
                LOG.error("event handler '{}' for {}: {}", s.script(), what, r.error());
            } else if (r.exitCode() != 0) {
                failures.incrementAndGet();
                LOG.error("event handler '{}' for {} exited {}; output: {}", s.script(), what, r.exitCode(), r.output());
            } else {
                LOG.debug("event handler '{}' for {} output: {}", s.script(), what, r.output());
            }
            if (r.took().compareTo(WARN_SLOW) > 0 && !r.timedOut())
                LOG.warn("event handler '{}' slow: {} ms", s.script(), r.took().toMillis());
            if (r.outputBytes() > ScriptInvoker.MAX_OUTPUT)
                LOG.warn("event handler '{}' wrote {} bytes of output, kept the last {}", s.script(), r.outputBytes(), ScriptInvoker.MAX_OUTPUT);
        }
    }

    /** Scripts started, failed (non-zero exit or could not start), killed at the timeout, events dropped. */
    public long invocations() { return invocations.get(); }

    public long failures() { return failures.get(); }

    public long timeouts() { return timeouts.get(); }

    public long dropped() { return dropped.get(); }

    /** Events taken and not yet fully handled (coalescing windows included). */
    public int pending() { return pending.get(); }

    /**
     * Stops: what is pending in a coalescing window is flushed and handled, within {@code grace}; a script still
     * running then is killed by its own timeout.
     */
    public void close(Duration grace) {
        if (closed) return;
        coalescing.execute(() -> {
            for (CoalescingStage s : stages) if (s != null) s.flushNow();
        });
        coalescing.shutdown();
        try {
            coalescing.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS);
            running.shutdown();
            running.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        closed = true;
        running.shutdownNow();
    }

    @Override public void close() {
        close(Duration.ofSeconds(5));
    }
}

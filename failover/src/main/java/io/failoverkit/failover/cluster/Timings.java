package io.failoverkit.failover.cluster;

import java.time.Duration;

/**
 * Every timing of the failover core that depends on another, in one place, with the relations between them checked
 * here (a definition that breaks one does not start). The manager, {@code failover promote} and the failover run all
 * take their limits from this record; none defines its own.
 *
 * <h2>The lock</h2>
 * A manager acts only while it holds {@code failover/<cluster>/leader} through a session with TTL {@code sessionTtl}
 * and lock-delay {@code lockDelay}. After a renewal that was sent at time T and answered, it considers itself the
 * holder until {@code T + validity}; a renewer keeps renewing every {@code renewEvery} while an action runs, so a long
 * drain or hook never outlives the lease. Before every destructive step it checks that validity; a step it starts
 * then lasts at most {@code stepLimit} (one server call, one KV write).
 * <ol>
 * <li>{@code 2 * renewEvery <= validity}: one lost renewal does not stop an action.</li>
 * <li>{@code validity < sessionTtl}: the discovery servers never invalidate a session less than TTL after its
 * renewal, so the session certainly exists while the manager believes it holds the lock.</li>
 * <li>{@code 2 * observeTimeout + renewEvery <= validity}: each cycle renews, then observes every member; a frozen
 * member costs a connect and a command, each up to the timeout; the failover that follows must start within the
 * validity, or a slow detection timeout would make every confirmed death end in "lost the lock before acting".</li>
 * <li>{@code validity + stepLimit + MARGIN <= lockDelay}: a session may also be invalidated behind the holder's back
 * (destroyed, its check failed) at any moment after its last renewal; the holder then stops starting steps at the
 * latest at {@code T + validity}, finishes the step it started within {@code stepLimit}, and nobody else acquires
 * the lock before {@code invalidation + lockDelay >= T + lockDelay}. {@link #MARGIN} covers the clock-rate difference
 * between the manager and the discovery leader and the time the invalidation takes to apply.</li>
 * <li>{@code detectionInterval + MARGIN <= sessionTtl}: outside an action the holder renews only at the start of each
 * cycle, and cycles start {@code detectionInterval} apart; a longer interval would let the session lapse between two
 * quiet cycles and the lock change hands at rest. After an action the renewer stops, the cycle observes every member
 * once more for the status it publishes (members in parallel: at most {@code 2 * observeTimeout}) and writes that
 * status in one KV call, and the next cycle starts at once (its interval is spent): from the renewer's last renewal to
 * the next cycle's, at most {@code renewEvery + 2 * observeTimeout} (which is {@code <= validity} by 3) plus that one
 * KV call. The session outlives it while the call answers within {@code sessionTtl - validity}; a discovery node that
 * slow lets the lock lapse, which costs a re-acquisition after {@code lockDelay}, never a second acting manager
 * (relation 4 holds whatever the gap).</li>
 * </ol>
 *
 * <h2>The failover</h2>
 * <ol start="6">
 * <li>{@code catchUpWait + stepLimit <= switchoverPause}: in a switchover the master's writes are paused (Redis: for
 * at most the pause); the candidate must cover the master and the master be fenced before the pause can end by
 * itself, or writes taken after the pause would be lost when it is demoted.</li>
 * <li>{@code retryBackoff >= detectionInterval * failures}: after a failed automatic failover the next attempt (and
 * its hooks) comes no sooner than a fresh detection would; it doubles per failed attempt up to
 * {@code retryBackoffMax}.</li>
 * <li>{@code drainLimit}: how long each replica may take to apply what it received before candidates are compared;
 * the drain runs under the renewer, so it is not bounded by the lock, only by the failover's own delay budget.</li>
 * <li>{@code hookTimeout}: each hook script; hooks run under the renewer and the lock is checked after them.</li>
 * </ol>
 */
public record Timings(Duration detectionInterval, int failures, Duration observeTimeout, Duration sessionTtl, Duration lockDelay,
                      Duration validity, Duration renewEvery, Duration stepLimit, Duration drainLimit, Duration hookTimeout,
                      Duration switchoverPause, Duration catchUpWait, Duration retryBackoff, Duration retryBackoffMax) {
    /** Clock-rate difference and invalidation latency allowance between the manager and the discovery leader. */
    public static final Duration MARGIN = Duration.ofSeconds(2);
    /** The longest one MySQL change may take: MySqlServers sets it as each change's socket timeout. */
    public static final Duration MYSQL_STEP_LIMIT = Duration.ofSeconds(10);

    public Timings {
        require(renewEvery.multipliedBy(2).compareTo(validity) <= 0, "2 x renewEvery (" + renewEvery + ") must be <= validity (" + validity + ")");
        require(validity.compareTo(sessionTtl) < 0, "validity (" + validity + ") must be < sessionTtl (" + sessionTtl + ")");
        require(validity.plus(stepLimit).plus(MARGIN).compareTo(lockDelay) <= 0, "validity (" + validity + ") + stepLimit (" + stepLimit
                + ") + margin (" + MARGIN + ") must be <= lockDelay (" + lockDelay + ")");
        require(detectionInterval.plus(MARGIN).compareTo(sessionTtl) <= 0, "detectionInterval (" + detectionInterval + ") + margin (" + MARGIN
                + ") must be <= sessionTtl (" + sessionTtl + "): the holder renews once per cycle at rest, and the session must outlive the gap");
        require(lockDelay.compareTo(Duration.ofSeconds(60)) <= 0, "lockDelay (" + lockDelay + ") must be <= 60 s (Consul's maximum)");
        require(catchUpWait.plus(stepLimit).compareTo(switchoverPause) <= 0, "catchUpWait (" + catchUpWait + ") + stepLimit (" + stepLimit
                + ") must be <= switchoverPause (" + switchoverPause + ")");
        require(retryBackoff.compareTo(detectionInterval.multipliedBy(failures)) >= 0, "retryBackoff (" + retryBackoff
                + ") must be >= detectionInterval x failures (" + detectionInterval.multipliedBy(failures) + ")");
        require(retryBackoffMax.compareTo(retryBackoff) >= 0, "retryBackoffMax must be >= retryBackoff");
        require(observeTimeout.compareTo(stepLimit) <= 0, "observeTimeout (" + observeTimeout + ") must be <= stepLimit (" + stepLimit + ")");
        require(observeTimeout.multipliedBy(2).plus(renewEvery).compareTo(validity) <= 0, "2 x observeTimeout (" + observeTimeout
                + ") + renewEvery (" + renewEvery + ") must be <= validity (" + validity + "): a cycle observes a frozen master"
                + " (connect + command, each within the timeout) after renewing, and must still hold the lock to act on what it saw");
    }

    private static void require(boolean ok, String relation) {
        if (!ok) throw new IllegalArgumentException("inconsistent failover timings: " + relation);
    }

    /**
     * The timings of a cluster. {@code stepLimit} is what one destructive server call can take for the kind: a Redis
     * call is bounded by the cluster's timeout (connect + command); a MySQL change by {@link #MYSQL_STEP_LIMIT}, the
     * socket timeout MySqlServers sets on every change.
     */
    public static Timings of(ClusterDefinition c) {
        Duration interval = Duration.ofMillis(c.detection().intervalMs());
        Duration timeout = Duration.ofMillis(c.detection().timeoutMs());
        Duration step = "mysql".equals(c.kind()) ? MYSQL_STEP_LIMIT : max(Duration.ofSeconds(1), timeout.multipliedBy(2));
        Duration validity = Duration.ofSeconds(3);
        Duration lockDelay = max(Duration.ofSeconds(10), validity.plus(step).plus(MARGIN));
        Duration detection = interval.multipliedBy(c.detection().failures());
        Duration backoff = max(Duration.ofSeconds(10), detection);
        Duration catchUp = Duration.ofSeconds(3);
        return new Timings(interval, c.detection().failures(), timeout, Duration.ofSeconds(10),
                lockDelay, validity, Duration.ofSeconds(1), step, Duration.ofSeconds(10), Duration.ofMillis(c.hooks().timeoutMs()),
                catchUp.plus(step), catchUp, backoff, max(backoff, Duration.ofMinutes(5)));
    }

    private static Duration max(Duration a, Duration b) { return a.compareTo(b) >= 0 ? a : b; }

    /** The backoff before automatic attempt number {@code failedAttempts + 1}: doubled per failure, capped. */
    public Duration backoffAfter(int failedAttempts) {
        Duration d = retryBackoff;
        for (int i = 1; i < failedAttempts && d.compareTo(retryBackoffMax) < 0; i++) d = d.multipliedBy(2);
        return d.compareTo(retryBackoffMax) > 0 ? retryBackoffMax : d;
    }
}

package io.failoverkit.discovery.http;

import io.failoverkit.discovery.acl.Identity;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Answers to reads, kept for the other callers that ask the same thing of the same state: the blocking queries woken
 * by one change (every watcher of a service, every watcher of the service list) re-run the same query on the same
 * state, and each rendered the same JSON again (at 10,000 nodes a health answer is ~250 KB: the leader's allocation
 * under a wake storm was mostly these renders, and its GC pauses grew to 0.5 s).
 * <p>
 * An answer is found by the state it was read at ({@code StateStore.version()}, the same before the query and after
 * it, so the query saw exactly that state), the request (method, raw path, and every query parameter with all its
 * values but a blocking query's own {@code index} and {@code wait}) and who asks: the {@link Identity} the request's
 * token resolved to (its accessor and its compiled authorizer, compared as objects: the resolver compiles a new one
 * whenever the token or one of its policies changes, and equal ones decide alike) and whether it carried a token at
 * all (a tokenless caller is not told of ACL filtering). An answer filtered for one token is never handed to another;
 * with ACLs off every request is {@link Identity#ACL_DISABLED}; with ACLs on, a request that resolved no identity
 * never shares. Routes whose answer depends on more (the ACL routes: the clock, the secret itself) mark their calls
 * {@link Call#notShared}. Only status 200. Only the newest state's answers are kept (no read can be taken at an older
 * one again), within a bound in bytes. The {@code ?token} parameter is left out of the key (who asks is in it).
 */
final class SharedAnswers {
    /** What identifies an answer: the state it was read at and the request as far as it shapes the answer. */
    record Key(long stateVersion, String method, String rawPath, Map<String, List<String>> params, Identity identity, boolean tokenless) {
        Key {
            java.util.Objects.requireNonNull(identity, "identity");
        }

        long bytes() {
            long n = 128 + 2L * (method.length() + rawPath.length());
            for (Map.Entry<String, List<String>> e : params.entrySet()) {
                n += 64 + 2L * e.getKey().length();
                for (String v : e.getValue()) n += 48 + 2L * v.length();
            }
            return n;
        }
    }

    /** A rendered answer: the headers the render set, its status, body and content type. */
    record Answer(int status, List<Map.Entry<String, String>> headers, byte[] body, String contentType) {
        long bytes() {
            long n = 64 + body.length;
            for (Map.Entry<String, String> h : headers) n += 64 + 2L * (h.getKey().length() + h.getValue().length());
            return n;
        }
    }

    private final long maxBytes;
    private final LinkedHashMap<Key, Answer> answers = new LinkedHashMap<>();
    private long bytes;
    /** The newest state version an answer was kept for: older ones are dropped, and not taken. */
    private long newest = Long.MIN_VALUE;

    SharedAnswers(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    synchronized Answer get(Key key) {
        return key.stateVersion() == newest ? answers.get(key) : null;
    }

    /**
     * Renders of a key in progress: the watchers one change wakes read at once, and all but the first wait for its
     * answer instead of rendering it again.
     */
    private final java.util.HashMap<Key, java.util.concurrent.CompletableFuture<Answer>> rendering = new java.util.HashMap<>();

    /**
     * The answer to {@code key} kept or being rendered (completed with null when the render gave nothing to share:
     * the caller then renders its own), or null when the caller is to render it and report with {@link #rendered}.
     */
    synchronized java.util.concurrent.CompletableFuture<Answer> claim(Key key) {
        Answer kept = get(key);
        if (kept != null) return java.util.concurrent.CompletableFuture.completedFuture(kept);
        java.util.concurrent.CompletableFuture<Answer> inProgress = rendering.get(key);
        if (inProgress != null) return inProgress;
        rendering.put(key, new java.util.concurrent.CompletableFuture<>());
        return null;
    }

    /** The render {@link #claim} gave the caller ended: its answer to share (kept, handed to those waiting), or null. */
    void rendered(Key key, Answer answer) {
        java.util.concurrent.CompletableFuture<Answer> waiting;
        synchronized (this) {
            waiting = rendering.remove(key);
        }
        try {
            if (answer != null) {
                synchronized (this) {
                    put(key, answer);
                }
            }
        } finally {
            if (waiting != null) waiting.complete(answer);
        }
    }

    synchronized void put(Key key, Answer answer) {
        if (key.stateVersion() < newest) return;
        if (key.stateVersion() > newest) {
            answers.clear();
            bytes = 0;
            newest = key.stateVersion();
        }
        long size = key.bytes() + answer.bytes();
        if (size > maxBytes / 4) return;
        Answer old = answers.put(key, answer);
        if (old != null) bytes -= key.bytes() + old.bytes();
        bytes += size;
        for (Iterator<Map.Entry<Key, Answer>> it = answers.entrySet().iterator(); bytes > maxBytes && it.hasNext(); ) {
            Map.Entry<Key, Answer> e = it.next();
            bytes -= e.getKey().bytes() + e.getValue().bytes();
            it.remove();
        }
    }

    synchronized int size() {
        return answers.size();
    }

    synchronized long bytes() {
        return bytes;
    }
}

package io.failoverkit.discovery.http;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Answers to reads, kept for the other callers that ask the same thing of the same state: the blocking queries woken
 * by one change (every watcher of a service, every watcher of the service list) re-run the same query at the same
 * Raft index, and each rendered the same JSON again (at 10,000 nodes a health answer is ~250 KB: the leader's
 * allocation under a wake storm was mostly these renders, and its GC pauses grew to 0.5 s).
 * <p>
 * An answer is found by the state it was read at (the store's last applied index, unchanged from before the query
 * to after it, so the query saw exactly that state) and the request (method, path, and every query parameter but a
 * blocking query's own {@code index} and {@code wait}); only answers that depend on nothing else are kept: ACLs
 * off (an answer filtered for one token is never handed to another), status 200. Bounded in bytes; the oldest go first.
 */
final class SharedAnswers {
    /** What identifies an answer: the state it was read at and the request as far as it shapes the answer. */
    record Key(long stateIndex, String request) {}

    /** A rendered answer: the headers the render set, its status, body and content type. */
    record Answer(int status, List<Map.Entry<String, String>> headers, byte[] body, String contentType) {
        long bytes() { return body.length + 64L * (headers.size() + 2); }
    }

    private final long maxBytes;
    private final LinkedHashMap<Key, Answer> answers = new LinkedHashMap<>();
    private long bytes;

    SharedAnswers(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    synchronized Answer get(Key key) {
        return answers.get(key);
    }

    synchronized void put(Key key, Answer answer) {
        long size = answer.bytes();
        if (size > maxBytes / 4) return;
        Answer old = answers.put(key, answer);
        if (old != null) bytes -= old.bytes();
        bytes += size;
        for (Iterator<Answer> it = answers.values().iterator(); bytes > maxBytes && it.hasNext(); ) {
            bytes -= it.next().bytes();
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

package io.failoverkit.discovery.http;

import io.failoverkit.discovery.agent.Agent;
import io.failoverkit.discovery.agent.LogTap;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * GET /v1/agent/monitor?loglevel=LEVEL: the agent's log lines, streamed as they are written, until the client goes
 * away (Consul's `consul monitor`). Lines at LEVEL (default info) and above, of those the agent logs at its -log-level.
 * A reader too slow to keep up loses lines, as with Consul's, rather than slowing the agent down.
 */
final class AgentMonitorEndpoint {
    private static final int BUFFERED_LINES = 512;

    private final Agent agent;

    AgentMonitorEndpoint(Agent agent, ScheduledExecutorService timer) {
        this.agent = agent;
    }

    void handle(Call call) {
        if (!call.method.equals("GET")) throw new HttpError(405, "method " + call.method + " not allowed; use GET");
        String l = call.param("loglevel");
        LogTap.Level min;
        try {
            min = LogTap.parseLevel(l == null || l.isEmpty() ? "info" : l);
        } catch (IllegalArgumentException e) {
            throw HttpError.badRequest(e.getMessage());
        }
        BlockingQueue<String> lines = new ArrayBlockingQueue<>(BUFFERED_LINES);
        LogTap.Level floor = min;
        Runnable stop = LogTap.listen(line -> {
            if (line.level().compareTo(floor) >= 0) lines.offer(line.text());
        });
        java.util.concurrent.atomic.AtomicBoolean gone = new java.util.concurrent.atomic.AtomicBoolean();
        call.request.addFailureListener(failure -> gone.set(true));
        call.response.setStatus(200);
        call.response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/plain; charset=utf-8");
        // Runs on the request's virtual thread; a write to a closed connection ends it.
        try (OutputStream out = Content.Sink.asOutputStream(call.response)) {
            out.flush(); // headers now, so the client knows the stream is open
            while (!gone.get()) {
                String text = lines.poll(1, TimeUnit.SECONDS);
                if (text == null) {
                    out.flush(); // detects a client that went away while the agent was quiet
                    continue;
                }
                out.write((text + "\n").getBytes(StandardCharsets.UTF_8));
                String more;
                while ((more = lines.poll()) != null) out.write((more + "\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException e) {
            call.callback.failed(e);
            return;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            call.callback.failed(e);
            return;
        } finally {
            stop.run();
        }
        if (gone.get()) call.callback.failed(new IOException("the client went away"));
        else call.callback.succeeded();
    }
}

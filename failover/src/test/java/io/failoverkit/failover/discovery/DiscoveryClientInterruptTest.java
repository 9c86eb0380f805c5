package io.failoverkit.failover.discovery;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Review 5, findings 4 and 5: an interrupt that lands while the manager acts must not make its discovery steps (the
 * epoch, the catalog, the attempt's end, the lock's release) fail half way while the server steps go on. The client's
 * requests are not interruptible; the flag is kept for the loop, which ends after the cycle.
 */
class DiscoveryClientInterruptTest {
    @Test
    void anInterruptedThreadsRequestGoesThroughAndKeepsItsFlag() throws Exception {
        AtomicInteger requests = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", ex -> {
            requests.incrementAndGet();
            try { Thread.sleep(200); } catch (InterruptedException ignored) { }
            ex.sendResponseHeaders(404, -1); // a KV key that does not exist
            ex.close();
        });
        server.start();
        try {
            DiscoveryClient client = new DiscoveryClient("127.0.0.1:" + server.getAddress().getPort(), null);
            Thread.currentThread().interrupt();
            assertThat(client.get("failover/x/epoch")).isEmpty();
            assertThat(Thread.currentThread().isInterrupted()).as("the flag is kept for the loop").isTrue();
            // And an interrupt that arrives while the request is in flight.
            Thread.interrupted();
            Thread caller = Thread.currentThread();
            Thread interrupter = Thread.ofPlatform().start(() -> {
                try { Thread.sleep(50); } catch (InterruptedException ignored) { }
                caller.interrupt();
            });
            assertThat(client.get("failover/x/epoch")).isEmpty();
            interrupter.join();
            assertThat(Thread.interrupted()).isTrue();
            assertThat(requests.get()).isEqualTo(2);
        } finally {
            Thread.interrupted();
            server.stop(0);
        }
    }
}

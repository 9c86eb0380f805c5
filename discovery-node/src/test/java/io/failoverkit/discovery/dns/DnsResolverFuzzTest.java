package io.failoverkit.discovery.dns;

import com.code_intelligence.jazzer.junit.FuzzTest;
import org.xbill.DNS.Message;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Coverage-guided fuzzing of the query path (Jazzer). Under plain `mvn test` it replays the corpus kept in
 * src/test/resources (every crash found so far stays there as a regression); bench/fuzz-dns.sh fuzzes for a
 * bounded time with JAZZER_FUZZ=1.
 */
class DnsResolverFuzzTest {
    private static final DnsResolver RESOLVER = Queries.fixedResolver();

    @FuzzTest(maxDuration = "60s")
    void anyBytesGetABoundedWellFormedAnswerOrNone(byte[] query) throws Exception {
        for (boolean tcp : new boolean[]{false, true}) {
            byte[] answer = RESOLVER.answer(query, query.length, tcp);
            if (query.length < 12) {
                assertThat(answer).isNull();
                continue;
            }
            assertThat(answer).isNotNull();
            assertThat(answer.length).isLessThanOrEqualTo(tcp ? DnsResolver.MAX_TCP : DnsResolver.MAX_UDP);
            assertThat(answer[0]).isEqualTo(query[0]);
            assertThat(answer[1]).isEqualTo(query[1]);
            assertThat(answer[2] & 0x80).as("QR set").isNotZero();
            new Message(answer); // what we send must parse
            byte[] again = RESOLVER.answer(query, query.length, tcp);  // maybe reused from the cache now
            new Message(again);
            assertThat(again[3]).as("same rcode").isEqualTo(answer[3]);
            assertThat(again[2] & 0xFD).as("same flags (TC aside)").isEqualTo(answer[2] & 0xFD);
        }
    }
}

package io.failoverkit.discovery.config;

import io.failoverkit.discovery.state.Json;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** dns_config's answer limits, read as Consul reads them, and bad values refused. */
class DnsSettingsTest {
    private static DnsConfig parse(String json) throws Exception {
        DnsConfig c = new DnsConfig();
        c.apply(Json.MAPPER.readTree(json));
        return c;
    }

    @Test
    void limitsAndTruncateAreRead() throws Exception {
        DnsConfig c = parse("{\"dns_config\":{\"udp_answer_limit\":5,\"a_record_limit\":2,\"enable_truncate\":true}}");
        assertThat(c.udpAnswerLimit).isEqualTo(5);
        assertThat(c.aRecordLimit).isEqualTo(2);
        assertThat(c.enableTruncate).isTrue();
        DnsConfig d = parse("{\"dns_config\":{\"only_passing\":true}}");
        assertThat(d.udpAnswerLimit).isEqualTo(3);
        assertThat(d.aRecordLimit).isZero();
        assertThat(d.enableTruncate).isFalse();
    }

    @Test
    void badValuesAreRefusedAndNothingIsHalfApplied() throws Exception {
        DnsConfig c = new DnsConfig();
        assertThatThrownBy(() -> c.apply(Json.MAPPER.readTree("{\"dns_config\":{\"udp_answer_limit\":-1}}"))).hasMessageContaining("udp_answer_limit");
        assertThatThrownBy(() -> c.apply(Json.MAPPER.readTree("{\"dns_config\":{\"udp_answer_limit\":4,\"a_record_limit\":-2}}"))).hasMessageContaining("a_record_limit");
        assertThat(c.udpAnswerLimit).isEqualTo(3);
        assertThatThrownBy(() -> c.apply(Json.MAPPER.readTree("{\"dns_config\":{\"enable_truncate\":\"yes\"}}"))).hasMessageContaining("enable_truncate");
        assertThatThrownBy(() -> c.apply(Json.MAPPER.readTree("{\"dns_config\":{\"a_record_limit\":1.5}}"))).hasMessageContaining("a_record_limit");
    }
}

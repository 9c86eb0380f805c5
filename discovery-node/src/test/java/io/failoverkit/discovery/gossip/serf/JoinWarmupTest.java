package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.swim.SwimConfig;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class JoinWarmupTest {
    @Test
    void theScratchPoolConvergesWithTheAgentsSettingsAndTags() {
        SerfConfig agent = SerfConfig.defaults(SwimConfig.agent("real-node"),
                Map.of("role", "node", "dc", "dc1", "id", "0123456789abcdef", "port", "8300", "http_port", "8500"));
        // twice: the second pass must work on a JVM the first one warmed (no static state left behind)
        assertThat(JoinWarmup.run(agent, 6)).isTrue();
        assertThat(JoinWarmup.run(agent, 6)).isTrue();
    }

    @Test
    void aTwoNodePoolSkipsTheTagsEventAndLeaveSteps() {
        assertThat(JoinWarmup.run(SerfConfig.defaults(SwimConfig.agent("n"), Map.of()), 2)).isTrue();
    }
}

package io.failoverkit.failover.cluster;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClusterDefinitionTest {
    @TempDir Path dir;

    @Test
    void yamlAndJsonGiveTheSameDefinitionAndItSurvivesTheKvRoundTrip() throws IOException {
        Path yaml = Files.writeString(dir.resolve("foo.yaml"), """
                name: foo-redis
                kind: redis
                members: [127.0.0.1:7001, 127.0.0.1:7002, 127.0.0.1:7003]
                passwordEnv: FOO_REDIS_PASSWORD
                detection: {intervalMs: 500, failures: 4, timeoutMs: 300}
                promotion:
                  priority: {127.0.0.1:7002: 10}
                  never: [127.0.0.1:7003]
                hooks:
                  before: [/usr/local/bin/page-oncall]
                  after: []
                  timeoutMs: 5000
                blockPeriodSeconds: 600
                """);
        Path json = Files.writeString(dir.resolve("foo.json"), """
                {"name": "foo-redis", "kind": "redis", "members": ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"],
                 "passwordEnv": "FOO_REDIS_PASSWORD", "detection": {"intervalMs": 500, "failures": 4, "timeoutMs": 300},
                 "promotion": {"priority": {"127.0.0.1:7002": 10}, "never": ["127.0.0.1:7003"]},
                 "hooks": {"before": ["/usr/local/bin/page-oncall"], "after": [], "timeoutMs": 5000}, "blockPeriodSeconds": 600}
                """);
        ClusterDefinition a = ClusterDefinition.read(yaml);
        ClusterDefinition b = ClusterDefinition.read(json);
        assertThat(a).isEqualTo(b);
        assertThat(a.service()).isEqualTo("foo-redis");
        assertThat(a.detection().failures()).isEqualTo(4);
        assertThat(a.promotion().never()).containsExactly("127.0.0.1:7003");
        assertThat(a.fencing()).isEqualTo(ClusterDefinition.Fencing.DEFAULT);
        assertThat(ClusterDefinition.parse(a.toJson(), false, "kv")).isEqualTo(a);
        assertThat(a.toJson()).doesNotContain("password\"");
    }

    @Test
    void aPasswordInTheDefinitionIsRefusedWithAPointerToTheRightPlace() throws IOException {
        Path f = Files.writeString(dir.resolve("bad.yml"), "name: x\nkind: redis\nmembers: [a:1, b:2]\npassword: hunter2\n");
        assertThatThrownBy(() -> ClusterDefinition.read(f)).isInstanceOf(IOException.class)
                .hasMessageContaining("never holds a password").hasMessageContaining("passwordFile").hasMessageNotContaining("hunter2");
    }

    @Test
    void badDefinitionsNameTheProblem() throws IOException {
        assertThatThrownBy(() -> ClusterDefinition.parse("{\"name\":\"x\",\"kind\":\"oracle\",\"members\":[\"a:1\",\"b:2\"]}", false, "t"))
                .hasMessageContaining("kind");
        assertThatThrownBy(() -> ClusterDefinition.parse("{\"name\":\"x\",\"kind\":\"redis\",\"members\":[\"a:1\"]}", false, "t"))
                .hasMessageContaining("at least two");
        assertThatThrownBy(() -> ClusterDefinition.parse("{\"name\":\"x\",\"kind\":\"redis\",\"members\":[\"a:1\",\"b\"]}", false, "t"))
                .hasMessageContaining("host:port");
        assertThatThrownBy(() -> ClusterDefinition.parse("{\"name\":\"x\",\"kind\":\"redis\",\"members\":[\"a:1\",\"b:2\"],\"memebrs\":1}", false, "t"))
                .hasMessageContaining("memebrs");
        assertThatThrownBy(() -> ClusterDefinition.parse("name: [", true, "t.yaml")).isInstanceOf(IOException.class).hasMessageStartingWith("t.yaml");
        assertThatThrownBy(() -> ClusterDefinition.parse("[]", false, "t")).hasMessageContaining("must be an object");
        assertThatThrownBy(() -> ClusterDefinition.parse("{\"name\":\"x\",\"kind\":\"redis\",\"members\":[\"a:1\",\"b:2\"],\"fencing\":{\"maxLagSeconds\":-1}}", false, "t"))
                .hasMessageContaining("maxLagSeconds");
    }
}

package io.failoverkit.drills;

import io.failoverkit.failover.drill.containers.ContainerMariaDb;
import io.failoverkit.failover.drill.containers.ContainerRedisLab;
import org.junit.jupiter.api.extension.ExtendWith;
import com.redis.testcontainers.RedisContainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.containers.JdbcDatabaseContainer;
import redis.clients.jedis.Jedis;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The local lab images honour the official images' contract through the module classes, as a user's own test would
 * use them: MariaDBContainer (MYSQL_ROOT_PASSWORD, MYSQL_DATABASE, MYSQL_USER, MYSQL_PASSWORD set by the module; its
 * readiness check is its user's test query over JDBC) gets the root password, the database, the user with rights on
 * it and nothing else, an init script's work from /docker-entrypoint-initdb.d, server options from the command, and
 * the official log lines; RedisContainer (readiness: its "Ready to accept connections" log line) gets redis-server
 * with the options given, run as the redis user. With -Dfailoverkit.lab.mariadb.image=mariadb:10.11 and
 * -Dfailoverkit.lab.redis.image=redis:7.4 the same test checks the official images.
 */
@ExtendWith(LabUnavailableSkips.class)
class LabImageContractTest {
    @TempDir Path dir;

    @Test
    void mariaDbContainerGetsRootPasswordDatabaseUserInitScriptOptionsAndReadiness() throws Exception {
        int port = DiscoveryLab.freePort();
        try (ContainerMariaDb db = new ContainerMariaDb(dir.resolve("mariadb.log"), port, 7)) {
            db.initScript("20-contract.sql", "CREATE TABLE contract (id INT PRIMARY KEY, v VARCHAR(40));\nINSERT INTO contract VALUES (1, 'from the init script');\n");
            db.initScript("30-contract.sh", "docker_process_sql <<<\"INSERT INTO contract VALUES (2, 'from a sourced shell script')\"\n");
            db.start(List.of("--max-connections=77"));
            JdbcDatabaseContainer<?> c = db.container();
            assertThat(c.isRunning()).as("the module's readiness check passed").isTrue();

            // The module's user, through the module's own connection (its JDBC URL, its driver), in its database.
            try (Connection user = c.createConnection(""); Statement st = user.createStatement()) {
                assertThat(value(st, "SELECT DATABASE()")).isEqualTo(db.labDatabase());
                assertThat(value(st, "SELECT CURRENT_USER()")).isEqualTo(db.labUser() + "@%");
                assertThat(value(st, "SELECT GROUP_CONCAT(v ORDER BY id SEPARATOR '|') FROM contract"))
                        .as("the .sql and .sh init scripts ran, in the database").isEqualTo("from the init script|from a sourced shell script");
                st.execute("INSERT INTO contract VALUES (3, 'the user writes its database')");
                assertThatThrownBy(() -> st.execute("CREATE DATABASE other")).as("the user has rights on its database only").isInstanceOf(SQLException.class);
            }
            // Root with the module's password over TCP; server options from the command line.
            assertThat(db.sql("SELECT @@port, @@server_id, @@max_connections, @@bind_address;")).isEqualTo(port + "\t7\t77\t127.0.0.1");
            assertThat(db.sql("SELECT COUNT(*) FROM mysql.user WHERE user = 'root' AND host = '%';")).isEqualTo("1");
            assertThat(c.getLogs()).as("the official image's log lines")
                    .contains("[Entrypoint]: Creating database " + db.labDatabase(), "[Entrypoint]: Creating user " + db.labUser(),
                            "20-contract.sql", "MariaDB init process done. Ready for start up.")
                    .containsPattern("(?s)ready for connections.*ready for connections");   // the temporary server, then the real one
            assertThat(pid1(c))
                    .as("PID 1 is the server itself, as the mysql user").matches("mysql\\s+(mariadbd|mysqld)");

            // A restart on the same datadir skips the initialisation and keeps the data.
            db.kill();
            db.start(List.of());
            assertThat(db.sql("SELECT COUNT(*) FROM " + db.labDatabase() + ".contract;")).isEqualTo("3");
        }
    }

    @Test
    void redisContainerRunsRedisServerWithTheGivenOptionsAsTheRedisUser() throws Exception {
        try (ContainerRedisLab lab = new ContainerRedisLab(dir, 0)) {
            ContainerRedisLab.Server s = lab.instances().get(0);
            RedisContainer c = s.container();
            assertThat(c.isRunning()).as("the module's log-line wait passed").isTrue();
            assertThat(c.getRedisPort()).isEqualTo(s.port);
            try (Jedis j = new Jedis(c.getRedisHost(), c.getRedisPort())) {
                assertThat(j.ping()).isEqualTo("PONG");
                assertThat(j.configGet("port")).containsEntry("port", Integer.toString(s.port));
                assertThat(j.configGet("repl-timeout")).containsEntry("repl-timeout", "5");
            }
            assertThat(pid1(c))
                    .as("PID 1 is redis-server, as the redis user").matches("redis\\s+redis-server");
        }
    }

    /** PID 1's owner and command name (coreutils only: the official images have no ps). */
    private static String pid1(org.testcontainers.containers.GenericContainer<?> c) throws Exception {
        return c.execInContainer("sh", "-c", "echo $(stat -c %U /proc/1) $(cat /proc/1/comm)").getStdout().strip();
    }

    private static String value(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}

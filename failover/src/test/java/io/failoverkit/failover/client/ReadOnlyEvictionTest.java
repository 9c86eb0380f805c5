package io.failoverkit.failover.client;

import org.junit.jupiter.api.Test;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;

import static org.assertj.core.api.Assertions.assertThat;

/** Only MySQL/MariaDB's read-only refusals, however wrapped, mean "this connection reached a server that is no longer the primary". */
class ReadOnlyEvictionTest {
    @Test
    void readOnlyRefusalsAreRecognisedThroughCausesAndNothingElseIs() {
        SQLException readOnly = new SQLException("The MariaDB server is running with the --read-only option so it cannot execute this statement", "HY000", 1290);
        assertThat(ReadOnlyEviction.isReadOnly(readOnly)).isTrue();
        assertThat(ReadOnlyEviction.isReadOnly(new SQLException("Running in read-only mode", "HY000", 1836))).isTrue();
        assertThat(ReadOnlyEviction.isReadOnly(new RuntimeException(readOnly))).isTrue();

        assertThat(ReadOnlyEviction.isReadOnly(new SQLException("Duplicate entry '1' for key 'PRIMARY'", "23000", 1062))).isFalse();
        assertThat(ReadOnlyEviction.isReadOnly(new SQLTransientConnectionException("Connection is not available, request timed out"))).isFalse();
        assertThat(ReadOnlyEviction.isReadOnly(new SQLException("Communications link failure", "08S01", 0))).isFalse();
    }

    @Test
    void otherRefusalsUnder1290AndLoopingCauseChainsAreNotReadOnly() {
        // 1290 is ER_OPTION_PREVENTS_STATEMENT: read_only is one option among several.
        assertThat(ReadOnlyEviction.isReadOnly(new SQLException("The MySQL server is running with the --secure-file-priv option so it cannot execute this statement", "HY000", 1290))).isFalse();
        assertThat(ReadOnlyEviction.isReadOnly(new SQLException("The MySQL server is running with the --super-read-only option so it cannot execute this statement", "HY000", 1290))).isTrue();
        // A cause chain that loops (A -> B -> A) ends.
        SQLException a = new SQLException("a", "HY000", 1);
        SQLException b = new SQLException("b", "HY000", 2);
        a.initCause(b);
        b.initCause(a);
        assertThat(ReadOnlyEviction.isReadOnly(a)).isFalse();
    }
}

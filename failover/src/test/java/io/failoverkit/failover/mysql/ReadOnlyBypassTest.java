package io.failoverkit.failover.mysql;

import io.failoverkit.failover.mysql.ReadOnlyBypass.Account;
import io.failoverkit.failover.mysql.ReadOnlyBypass.RoleGrant;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 9 hole 3: which MariaDB accounts write through read_only. Access values as MariaDB 10.11.19 stored them in
 * mysql.global_priv for the grants named (read on a real server).
 */
class ReadOnlyBypassTest {
    private static final Flavor MARIADB_1011 = Flavor.parse("10.11.19-MariaDB-0+deb12u1");
    private static final Flavor MARIADB_106 = Flavor.parse("10.6.18-MariaDB");
    private static final BigInteger ALL = new BigInteger("18446744073709551615");

    private static Account user(String name, String access, long version) {
        return new Account(name, "%", new BigInteger(access), false, false, version);
    }

    @Test
    void readOnlyAdminBypassesAndSuperOnlyBefore1011() {
        Account roa = user("roa", "8589934594", 101119);      // READ_ONLY ADMIN, INSERT
        Account sup = user("sup", "32770", 101119);           // SUPER, INSERT
        Account app = user("app", "3", 101119);               // SELECT, INSERT
        List<Account> rows = List.of(roa, sup, app, new Account("root", "localhost", ALL, false, false, 0));
        assertThat(ReadOnlyBypass.bypassing(rows, List.of(), Set.of(), MARIADB_1011)).extracting(Account::user).containsExactly("roa", "root");
        assertThat(ReadOnlyBypass.bypassing(rows, List.of(), Set.of(), MARIADB_106)).extracting(Account::user).containsExactly("roa", "sup", "root");
        assertThat(ReadOnlyBypass.bypassing(List.of(user("old", "32770", 100600)), List.of(), Set.of(), MARIADB_1011))
                .as("a row stored before 10.11: its SUPER still means READ ONLY ADMIN").hasSize(1);
    }

    @Test
    void aRoleThatBypassesCountsForEveryAccountThatMayEnableItEvenThroughAnotherRole() {
        List<Account> rows = List.of(new Account("r1", "", new BigInteger("8589934592"), false, true, 101119),
                new Account("r2", "", BigInteger.ZERO, false, true, 101119), user("viarole", "0", 101119), user("plain", "0", 101119));
        List<RoleGrant> grants = List.of(new RoleGrant("r2", "", "r1"), new RoleGrant("viarole", "%", "r2"));
        assertThat(ReadOnlyBypass.bypassing(rows, grants, Set.of(), MARIADB_1011)).extracting(Account::user).containsExactly("viarole");
    }

    @Test
    void theManagerAndReplicationAccountsAreExemptAndLockedOnesAreReportedAsSuch() {
        List<Account> rows = List.of(user("failoverkit", "408056496384", 101119), new Account("root", "127.0.0.1", ALL, true, false, 0));
        List<Account> out = ReadOnlyBypass.bypassing(rows, List.of(), Set.of("failoverkit", "repl"), MARIADB_1011);
        assertThat(out).extracting(Account::user).containsExactly("root");
        assertThat(out.get(0).locked()).isTrue();
        assertThat(out.get(0).sql()).isEqualTo("'root'@'127.0.0.1'");
    }

    @Test
    void accountsWithHostNamesAreIgnoredBySkipNameResolveAndSoCannotWrite() {
        assertThat(ReadOnlyBypass.ignoredByServer("vm", true)).as("mariadb-install-db's root@<hostname>").isTrue();
        assertThat(ReadOnlyBypass.ignoredByServer("db", true)).isTrue();
        assertThat(ReadOnlyBypass.ignoredByServer("%.example.com", true)).isTrue();
        assertThat(ReadOnlyBypass.ignoredByServer("vm", false)).isFalse();
        for (String ip : new String[]{"localhost", "%", "127.0.0.1", "10.0.0.%", "10.0.0.0/255.255.255.0", "::1", "fe80::1", ""}) {
            assertThat(ReadOnlyBypass.ignoredByServer(ip, true)).as(ip).isFalse();
        }
    }
}

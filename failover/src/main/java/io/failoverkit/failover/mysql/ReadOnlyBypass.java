package io.failoverkit.failover.mysql;

import java.math.BigInteger;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * MariaDB's read_only stops every user except those holding READ ONLY ADMIN (and SUPER before 10.11, where SUPER
 * still implied it), directly or through a role they may enable. A fenced old primary is therefore only fenced once
 * those accounts are locked and their sessions killed; this class finds them. MySQL needs none of this: its
 * super_read_only stops every user.
 *
 * <p>Read from {@code mysql.global_priv} (the manager needs SELECT on it and on {@code mysql.roles_mapping}):
 * {@code information_schema.USER_PRIVILEGES} shows other accounts only to a user with SELECT on the whole mysql
 * schema, and never shows roles. The privilege bits are MariaDB's since 10.5.2 (checked against 10.11:
 * READ ONLY ADMIN is bit 33, SUPER bit 15); a row stored by an older server (version_id below 101100, or none) is
 * converted by the server so that SUPER keeps its old meaning, so SUPER counts for those rows too.
 */
final class ReadOnlyBypass {
    static final int READ_ONLY_ADMIN_BIT = 33;
    static final int SUPER_BIT = 15;

    /** One row of mysql.global_priv: an account or a role. {@code versionId} 0 when the row has none. */
    record Account(String user, String host, BigInteger access, boolean locked, boolean role, long versionId) {
        String sql() { return Flavor.quote(user) + "@" + Flavor.quote(host); }

        String display() { return user + "@" + host; }
    }

    /** mysql.roles_mapping: {@code user@host} (or a role, host empty) may enable {@code role}. */
    record RoleGrant(String user, String host, String role) {}

    private ReadOnlyBypass() {}

    /** True when this row's own privileges let it write through read_only on a server of version {@code f}. */
    static boolean bypassesByItself(Account a, Flavor f) {
        if (a.access().testBit(READ_ONLY_ADMIN_BIT)) return true;
        boolean superStillImplies = !f.atLeast(10, 11, 0) || a.versionId() < 101100;
        return superStillImplies && a.access().testBit(SUPER_BIT);
    }

    /**
     * The login accounts (not roles) that can write through read_only, directly or through any role reachable from
     * them; {@code exempt} user names (the manager's, replication's) are left out: they are needed to fence and to
     * replicate, and do not write data.
     */
    static List<Account> bypassing(List<Account> rows, List<RoleGrant> grants, Set<String> exempt, Flavor f) {
        Set<String> bypassingRoles = new HashSet<>();
        for (Account a : rows) if (a.role() && bypassesByItself(a, f)) bypassingRoles.add(a.user());
        // Roles granted to roles: a role bypasses when it may enable one that does (a fixed point, bounded by the rows).
        Map<String, Set<String>> roleGrants = new HashMap<>();
        for (RoleGrant g : grants) if (g.host() == null || g.host().isEmpty()) roleGrants.computeIfAbsent(g.user(), k -> new HashSet<>()).add(g.role());
        for (boolean changed = true; changed; ) {
            changed = false;
            for (Map.Entry<String, Set<String>> e : roleGrants.entrySet()) {
                if (!bypassingRoles.contains(e.getKey()) && e.getValue().stream().anyMatch(bypassingRoles::contains)) {
                    changed = bypassingRoles.add(e.getKey());
                }
            }
        }
        Set<String> viaRole = new HashSet<>();
        for (RoleGrant g : grants) if (bypassingRoles.contains(g.role())) viaRole.add(g.user() + "@" + g.host());
        List<Account> out = new ArrayList<>();
        for (Account a : rows) {
            if (a.role() || exempt.contains(a.user())) continue;
            if (bypassesByItself(a, f) || viaRole.contains(a.display())) out.add(a);
        }
        return out;
    }

    /**
     * True for an account the server does not load: with skip_name_resolve, accounts whose host is a name (not an IP
     * pattern, not localhost) are ignored at startup ("entry ignored in --skip-name-resolve mode"): nobody can log in
     * with them, and ALTER USER fails on them.
     */
    static boolean ignoredByServer(String host, boolean skipNameResolve) {
        if (!skipNameResolve || host == null || host.isEmpty() || host.equals("localhost")) return false;
        boolean ipv4Pattern = host.matches("[0-9.%_/]+");
        boolean ipv6Pattern = host.contains(":") && host.matches("[0-9A-Fa-f:.%_/]+");
        return !ipv4Pattern && !ipv6Pattern;
    }

    /** The accounts of the server behind {@code c} that can write through read_only (locked or not). */
    static List<Account> read(Connection c, Flavor f, Set<String> exempt) throws SQLException {
        List<Account> rows = new ArrayList<>();
        List<RoleGrant> grants = new ArrayList<>();
        try (Statement s = c.createStatement()) {
            boolean skipNameResolve;
            try (ResultSet rs = s.executeQuery("SELECT @@GLOBAL.skip_name_resolve+0")) {
                rs.next();
                skipNameResolve = rs.getInt(1) != 0;
            }
            try (ResultSet rs = s.executeQuery("SELECT User, Host, JSON_VALUE(Priv, '$.access'), JSON_VALUE(Priv, '$.account_locked'),"
                    + " JSON_VALUE(Priv, '$.is_role'), JSON_VALUE(Priv, '$.version_id') FROM mysql.global_priv")) {
                while (rs.next()) {
                    if (ignoredByServer(rs.getString(2), skipNameResolve) && !"1".equals(rs.getString(5)) && !"true".equals(rs.getString(5))) continue;
                    String access = rs.getString(3);
                    String version = rs.getString(6);
                    rows.add(new Account(rs.getString(1), rs.getString(2), access == null ? BigInteger.ZERO : new BigInteger(access),
                            truthy(rs.getString(4)), truthy(rs.getString(5)), version == null ? 0 : Long.parseLong(version)));
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT User, Host, Role FROM mysql.roles_mapping")) {
                while (rs.next()) grants.add(new RoleGrant(rs.getString(1), rs.getString(2), rs.getString(3)));
            }
        }
        return bypassing(rows, grants, exempt, f);
    }

    private static boolean truthy(String v) { return v != null && ("1".equals(v) || "true".equalsIgnoreCase(v)); }
}

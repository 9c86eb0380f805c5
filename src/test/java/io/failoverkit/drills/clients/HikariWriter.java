package io.failoverkit.drills.clients;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.failoverkit.failover.client.ReadOnlyEviction;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;

/**
 * An application on HikariCP and Connector/J: a pool on {@code jdbc:mysql://master.<service>.service.consul:3306/drill},
 * resolved by the JVM (libc, resolv.conf, dnsmasq, the agent), inserting a numbered row into drill.probe every 20 ms
 * (numbers from {@code FIRST}, a new one per attempt) and asking the same connection which server it is on
 * ({@code @@bind_address}, {@code @@port}). The password comes from DRILL_DB_PASSWORD, never argv.
 * Args: HOST PORT USER FIRST SETTINGS(defaults|tuned|tuned+evict: tuned and ReadOnlyEviction) SECONDS.
 */
public final class HikariWriter {
    public static void main(String[] args) throws Exception {
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        long next = Long.parseLong(args[3]);
        String settings = args[4];
        long deadline = System.nanoTime() + Duration.ofSeconds(Long.parseLong(args[5])).toNanos();
        ClientOutput out = new ClientOutput();
        HikariConfig cfg = new HikariConfig();
        cfg.setUsername(args[2]);
        cfg.setPassword(System.getenv("DRILL_DB_PASSWORD"));
        cfg.setMaximumPoolSize(4);
        String url = "jdbc:mysql://" + host + ":" + port + "/drill";
        boolean evictOnReadOnly = settings.equals("tuned+evict");
        if (!settings.equals("defaults")) {
            ClientOutput.recommendedJvmDnsCache();
            url += "?connectTimeout=500&socketTimeout=2000";
            cfg.setConnectionTimeout(1000);  // a borrow waits at most 1 s (default 30 s)
            cfg.setValidationTimeout(500);
            cfg.setMaxLifetime(30_000);      // Hikari's floor: no connection older than 30 s
            cfg.setInitializationFailTimeout(-1);
        }
        cfg.setJdbcUrl(url);
        out.sampleResolution(host);
        try (HikariDataSource ds = new HikariDataSource(cfg)) {
            while (System.nanoTime() < deadline) {
                long seq = next++;
                try (Connection c = ds.getConnection()) {
                    try (PreparedStatement insert = c.prepareStatement("INSERT INTO probe (seq) VALUES (?)"); Statement who = c.createStatement()) {
                        insert.setLong(1, seq);
                        insert.executeUpdate();
                        try (ResultSet rs = who.executeQuery("SELECT @@bind_address, @@port")) {
                            rs.next();
                            out.ack(rs.getString(1) + ":" + rs.getInt(2), seq);
                        }
                    } catch (SQLException e) {
                        if (evictOnReadOnly) ReadOnlyEviction.evictIfReadOnly(ds, c, e);
                        throw e;
                    }
                } catch (SQLException e) {
                    out.error(new SQLException(e.getErrorCode() + " " + e.getMessage(), e));
                }
                Thread.sleep(20);
            }
        }
    }
}

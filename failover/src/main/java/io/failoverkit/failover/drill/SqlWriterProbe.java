package io.failoverkit.failover.drill;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * An application as the seeds describe it, for MySQL: finds its primary by resolving
 * {@code master.<service>.service.consul} through our DNS (SRV, for the port), and inserts a sequence-numbered row
 * into {@code drill.probe} every 20 ms as a non-admin user, recording each acknowledged row. On an error it resolves
 * again and reconnects; every attempt uses a new number, since an insert whose acknowledgement was lost may or may
 * not have committed. Bounded: stops by itself at its deadline.
 */
public final class SqlWriterProbe implements Runnable {
    public record Ack(long atMillis, String address, long seq) {}

    private final MasterResolver master;
    private final MariaDbLab.Account account;
    private final long deadlineNanos;
    private final List<Ack> acks = new ArrayList<>();
    private volatile boolean stop;
    private long next = 1;
    private volatile String lastError = "";

    public SqlWriterProbe(String service, int dnsPort, MariaDbLab.Account account, Duration maxRun) {
        this.master = new MasterResolver(service, dnsPort);
        this.account = account;
        this.deadlineNanos = System.nanoTime() + maxRun.toNanos();
    }

    public synchronized List<Ack> acks() { return List.copyOf(acks); }

    public String lastError() { return lastError; }

    public void stop() { stop = true; }

    /** The primary's host:port as our DNS names it now (see {@link MasterResolver}), or null. */
    public String resolve() { return master.resolve(); }

    @Override
    public void run() {
        Connection c = null;
        PreparedStatement insert = null;
        String current = null;
        while (!stop && System.nanoTime() < deadlineNanos) {
            try {
                if (c == null) {
                    current = resolve();
                    if (current != null) {
                        Properties p = new Properties();
                        p.setProperty("user", account.user());
                        p.setProperty("password", account.password());
                        p.setProperty("connectTimeout", "300");
                        p.setProperty("socketTimeout", "1000");
                        c = DriverManager.getConnection("jdbc:mysql://" + current + "/drill", p);
                        insert = c.prepareStatement("INSERT INTO probe (seq) VALUES (?)");
                    }
                }
                if (insert != null) {
                    long seq = next++;
                    insert.setLong(1, seq);
                    insert.executeUpdate();
                    synchronized (this) { acks.add(new Ack(System.currentTimeMillis(), current, seq)); }
                }
            } catch (SQLException e) {
                lastError = e.getErrorCode() + " " + e.getMessage();
                if (c != null) { try { c.close(); } catch (SQLException ignored) { } }
                c = null;
                insert = null;
            }
            try { Thread.sleep(20); } catch (InterruptedException e) { Thread.currentThread().interrupt(); break; }
        }
        if (c != null) { try { c.close(); } catch (SQLException ignored) { } }
    }
}

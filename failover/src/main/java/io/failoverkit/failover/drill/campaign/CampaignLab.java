package io.failoverkit.failover.drill.campaign;

import io.failoverkit.failover.inst.Servers;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One kind's servers for the campaign, kept between runs. Every member is known by its logical address: the front
 * fault proxy the replicas (and, for MySQL, the manager) dial, and what the catalog and DNS name. The applications
 * and the campaign's own samplers dial the real server behind it, so no partition ever cuts a client. The manager
 * reaches the servers on its own path, which {@link #cutManager} cuts alone.
 */
interface CampaignLab extends AutoCloseable {
    String kind();

    /** The cluster's name (and service) in the discovery node; a rebuilt lab gets a new one. */
    String name();

    List<String> members();

    /** The real server behind a member's logical address. */
    String real(String member);

    /** The campaign's own view of the servers (direct paths for Redis, through the front proxies from 127.0.0.1 for MySQL). */
    Servers servers();

    /** The manager process's arguments after KIND NAME DISCOVERY (and the heartbeat the handle inserts): MEMBERS [ROUTES]. */
    List<String> managerArgs();

    Map<String, String> managerEnv();

    /** Writable as an application would find it, sampled directly and quickly; false when it does not answer in time. */
    boolean writable(String member);

    void kill(String member) throws Exception;

    void freeze(String member) throws Exception;

    void thaw(String member) throws Exception;

    /** Redis: a killed member started again with an empty data set, as a master (persistence off, a supervisor restarts it). */
    void startEmpty(String member) throws Exception;

    void stopSqlThread(String member) throws Exception;

    void startSqlThread(String member) throws Exception;

    void cutManager(String member);

    void cutReplicas(String member);

    void healAll();

    /**
     * Brings back what a run broke, short of the data: every server thawed, running, its SQL thread on; a server
     * that died is started as a replica of {@code master} (MySQL: fenced, then rejoined). Returns false when that is
     * not possible (a diverged MySQL member), so the caller rebuilds the lab.
     */
    boolean revive(String master) throws Exception;

    /** A fresh application writer for one run; its ids are new to this lab. */
    CampaignWriter writer(int dnsPort);

    /** The ids among {@code ids} that {@code member} (the final master) does not hold. */
    Set<Long> missing(String member, List<Long> ids) throws Exception;
}

package io.failoverkit.discovery.state;

/** The state store's tables; each has its own modify index, which blocking queries wait on. */
public enum Table { NODES, SERVICES, CHECKS, KVS, SESSIONS, ACL_POLICIES, ACL_TOKENS }

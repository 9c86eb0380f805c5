/**
 * Gossip membership as HashiCorp's memberlist and Serf do it, in their wire format, so that a stock {@code serf}
 * agent and failoverkit agents form one pool.
 *
 * <ul>
 *   <li>{@code wire}: memberlist's and Serf's messages as Java records and their encoding (go-msgpack maps,
 *       compound, CRC, LZW compression, AES-GCM encryption with a keyring). Pure functions of bytes; no sockets.</li>
 *   <li>{@code transport}: how messages move ({@link io.failoverkit.discovery.gossip.transport.Transport}: packets
 *       and streams) and when things happen ({@link io.failoverkit.discovery.gossip.transport.Scheduler}); the real
 *       UDP/TCP implementation and a seeded simulated network with a virtual clock for deterministic tests.</li>
 *   <li>{@code swim}: the SWIM failure detector with Lifeguard (memberlist's state machine): probes, indirect probes,
 *       suspicion, incarnations, dissemination, push-pull, leave. It runs on one scheduler thread and touches no
 *       socket itself.</li>
 *   <li>{@code serf}: Serf's layer on top: member tags, Lamport clocks, join/leave intents, user events with
 *       deduplication, reaping, and the event handlers that run shell commands.</li>
 * </ul>
 * {@code cluster/Membership} is the agent's façade over {@code serf}; nothing else in the agent reaches into gossip.
 */
package io.failoverkit.discovery.gossip;

package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.wire.Codec;
import io.failoverkit.discovery.gossip.wire.Message;
import io.failoverkit.discovery.gossip.wire.NodeState;
import io.failoverkit.discovery.gossip.wire.PushPull;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the codec's paths a join takes (a push-pull state encoded, LZW-compressed, sealed when there are keys, and
 * read back; packets of pings, acks and piggybacked alives, suspects and Serf intents, each way; Serf's node tags)
 * on made-up data, in memory, a few times, so that a fresh JVM has loaded, linked and initialised their classes
 * (and compiled the hottest loops, LZW's and msgpack's) before the first join, not during it.
 *
 * <p>Why: in bench/gossip.sh, N agents started together and then joined at once each ran these paths for the first
 * time, interpreted, at the same moment (a first join took ~190 ms in a cold JVM against ~10 ms warm), and on a
 * loaded machine that cold work, times N JVMs, was a large part of the join. Nothing is sent and no state is
 * touched: the only effect is CPU time at start (8 rounds of a 32-member pool: ~0.1-0.25 s on a loaded 2-core box,
 * most of it class loading that the first join would have done anyway).
 */
public final class CodecWarmup {
    private CodecWarmup() {}

    /**
     * Runs {@code rounds} rounds with the transport's options {@code o} (label, keys, compression, CRC) and a
     * made-up pool of {@code nodes} members carrying {@code tags}. Returns a checksum of what was decoded (so the
     * work is not optimised away) that callers may ignore.
     */
    public static long run(Codec.Options o, int nodes, int rounds, Map<String, String> tags) {
        byte[] meta = SerfMessages.encodeTags(tags.isEmpty() ? Map.of("role", "node", "dc", "dc1") : tags);
        byte[] vsn = {1, 5, 2, 2, 5, 5};
        byte[] addr = {127, 0, 0, 1};
        List<PushPull.NodeEntry> entries = new ArrayList<>(nodes);
        Map<String, Long> ltimes = new LinkedHashMap<>();
        for (int i = 0; i < nodes; i++) {
            String name = "warmup-node-" + i;
            entries.add(new PushPull.NodeEntry(name, addr, 20000 + i, meta, i + 1, i % 7 == 3 ? NodeState.SUSPECT : NodeState.ALIVE, vsn));
            ltimes.put(name, (long) i + 2);
        }
        byte[] serfState = SerfMessages.encode(new SerfMessages.PushPull(nodes + 5L, ltimes, List.of("warmup-node-gone"),
                3, List.of(), 2));
        long sum = 0;
        for (int r = 0; r < rounds; r++) {
            boolean join = (r & 1) == 0;
            byte[] stream = Codec.encodeStream(Codec.pushPullBody(new PushPull(join, entries, serfState)), o, join);
            if (Codec.decodeStream(stream, o, join) instanceof Codec.Inbound.State s) {
                sum += s.pushPull().nodes().size();
                SerfMessages.SerfMessage m = decodeQuietly(s.pushPull().userState());
                if (m instanceof SerfMessages.PushPull pp) sum += pp.statusLTimes().size();
                for (PushPull.NodeEntry e : s.pushPull().nodes()) sum += SerfMessages.decodeTags(e.meta()).size();
            }
            PushPull.NodeEntry e = entries.get(r % nodes);
            List<Message> packet = List.of(
                    new Message.Ping(r, e.name(), addr, e.port(), "warmup-self"),
                    new Message.Alive(e.incarnation(), e.name(), addr, e.port(), meta, vsn),
                    new Message.Suspect(e.incarnation(), e.name(), "warmup-self"),
                    new Message.Dead(e.incarnation(), e.name(), "warmup-self"),
                    new Message.User(SerfMessages.encode(new SerfMessages.Join(r + 2L, e.name()))),
                    new Message.User(SerfMessages.encode(new SerfMessages.Leave(r + 2L, e.name(), false))));
            for (Message m : Codec.decodePacket(Codec.encodePacket(packet, o), o)) {
                sum += Codec.sizeOf(m);
                if (m instanceof Message.User u) sum += decodeQuietly(u.payload()) == null ? 0 : 1;
            }
            for (Message m : Codec.decodePacket(Codec.encodePacket(List.of(new Message.Ack(r, new byte[0])), o), o)) sum += Codec.sizeOf(m);
            Message.IndirectPing ip = new Message.IndirectPing(r, addr, e.port(), e.name(), true, addr, 1, "warmup-self");
            for (Message m : Codec.decodePacket(Codec.encodePacket(List.of(ip), o), o)) sum += Codec.sizeOf(m);
        }
        return sum;
    }

    private static SerfMessages.SerfMessage decodeQuietly(byte[] b) {
        try {
            return SerfMessages.decode(b);
        } catch (SerfMessages.MalformedException e) {
            return null;
        }
    }
}

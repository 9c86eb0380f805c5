package io.failoverkit.discovery.gossip.serf;

import io.failoverkit.discovery.gossip.serf.SerfMessages.EventsAt;
import io.failoverkit.discovery.gossip.serf.SerfMessages.Join;
import io.failoverkit.discovery.gossip.serf.SerfMessages.Leave;
import io.failoverkit.discovery.gossip.serf.SerfMessages.NamedPayload;
import io.failoverkit.discovery.gossip.serf.SerfMessages.PushPull;
import io.failoverkit.discovery.gossip.serf.SerfMessages.UserEvent;
import io.failoverkit.discovery.gossip.swim.Node;
import io.failoverkit.discovery.gossip.swim.SwimConfig;
import io.failoverkit.discovery.gossip.wire.NodeState;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Serf's state machine with the test playing memberlist (its events, messages and push-pulls) on a manual clock:
 * intents, statuses, reaping, deduplication and re-gossip, bad input.
 */
class SerfStateTest {
    private static final long SEC = 1_000_000_000L;
    private ManualScheduler sched;
    private final List<SerfEvent> events = new ArrayList<>();
    private Serf serf;

    @BeforeEach
    void setUp() {
        sched = new ManualScheduler(1);
        SerfConfig cfg = SerfConfig.defaults(SwimConfig.lan("self"), Map.of("role", "web"))
                .withReaping(Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(30), Duration.ofSeconds(60));
        serf = Serf.detached(cfg, sched, events::add);
        serf.listener().notifyJoin(node("self", 1));
    }

    private static Node node(String name, int last) {
        return node(name, last, SerfMessages.encodeTags(Map.of("role", "db")));
    }

    private static Node node(String name, int last, byte[] meta) {
        return new Node(name, new InetSocketAddress("127.0.0." + last, 7946), meta, NodeState.ALIVE, 1, SwimConfig.DEFAULT_VERSIONS.clone());
    }

    private MemberStatus status(String n) {
        return serf.members().stream().filter(m -> m.name().equals(n)).map(SerfMember::status).findFirst().orElse(null);
    }

    private List<String> kinds() {
        return events.stream().map(e -> e instanceof SerfEvent.Members m ? m.kind().serfName + ":" + m.members().getFirst().name()
                : "user:" + ((SerfEvent.User) e).name()).toList();
    }

    private List<byte[]> broadcasts() {
        return serf.delegate().broadcasts(2, 1400);
    }

    @Test
    void joinThenFailWithoutIntentIsFailed() {
        serf.listener().notifyJoin(node("b", 2));
        assertThat(status("b")).isEqualTo(MemberStatus.ALIVE);
        assertThat(serf.members()).extracting(SerfMember::tags).contains(Map.of("role", "db"));
        serf.listener().notifyLeave(node("b", 2));
        assertThat(status("b")).isEqualTo(MemberStatus.FAILED);
        assertThat(kinds()).containsExactly("member-join:self", "member-join:b", "member-failed:b");
    }

    @Test
    void aLeaveIntentThenTheLeaveIsLeft() {
        serf.listener().notifyJoin(node("b", 2));
        serf.delegate().notifyMsg(SerfMessages.encode(new Leave(10, "b", false)));
        assertThat(status("b")).isEqualTo(MemberStatus.LEAVING);
        // a new intent is re-gossiped
        assertThat(broadcasts()).anySatisfy(b -> assertThat(b).isEqualTo(SerfMessages.encode(new Leave(10, "b", false))));
        serf.listener().notifyLeave(node("b", 2));
        assertThat(status("b")).isEqualTo(MemberStatus.LEFT);
        assertThat(kinds()).endsWith("member-leave:b");
    }

    @Test
    void anOlderIntentChangesNothingAndIsNotRegossiped() {
        serf.listener().notifyJoin(node("b", 2));
        serf.delegate().notifyMsg(SerfMessages.encode(new Join(20, "b")));
        drainBroadcasts();
        serf.delegate().notifyMsg(SerfMessages.encode(new Leave(15, "b", false)));
        assertThat(status("b")).isEqualTo(MemberStatus.ALIVE);
        assertThat(broadcasts()).isEmpty();
        // and a newer join after a leave intent makes it alive again
        serf.delegate().notifyMsg(SerfMessages.encode(new Leave(21, "b", false)));
        assertThat(status("b")).isEqualTo(MemberStatus.LEAVING);
        serf.delegate().notifyMsg(SerfMessages.encode(new Join(22, "b")));
        assertThat(status("b")).isEqualTo(MemberStatus.ALIVE);
    }

    @Test
    void anIntentBeforeTheMemberIsKnownIsRemembered() {
        serf.delegate().notifyMsg(SerfMessages.encode(new Leave(7, "c", false)));
        serf.listener().notifyJoin(node("c", 3));
        assertThat(status("c")).isEqualTo(MemberStatus.LEAVING);
        serf.listener().notifyLeave(node("c", 3));
        assertThat(status("c")).isEqualTo(MemberStatus.LEFT);
    }

    @Test
    void aLeaveIntentAboutThisLiveNodeIsRefutedWithANewerJoin() {
        serf.delegate().notifyMsg(SerfMessages.encode(new Leave(50, "self", false)));
        sched.runDue();
        assertThat(status("self")).isEqualTo(MemberStatus.ALIVE);
        List<Object> sent = new ArrayList<>();
        for (byte[] b : broadcasts()) sent.add(decode(b));
        assertThat(sent).anySatisfy(m -> {
            assertThat(m).isInstanceOf(Join.class);
            assertThat(((Join) m).node()).isEqualTo("self");
            assertThat(((Join) m).ltime()).isGreaterThan(50);
        });
    }

    @Test
    void forceLeaveTurnsAFailedMemberLeftAndGossipsIt() {
        serf.listener().notifyJoin(node("b", 2));
        serf.listener().notifyJoin(node("c", 3));
        serf.listener().notifyLeave(node("b", 2));
        assertThat(serf.forceLeave("nobody")).isFalse();
        assertThat(serf.forceLeave("c")).isFalse(); // alive, not failed
        assertThat(serf.forceLeave("b")).isTrue();
        sched.runDue();
        assertThat(status("b")).isEqualTo(MemberStatus.LEFT);
        assertThat(kinds()).endsWith("member-failed:b", "member-leave:b");
        assertThat(broadcasts()).anySatisfy(b -> assertThat(decode(b)).isInstanceOf(Leave.class));
    }

    @Test
    void failedMembersAreReapedAfterTheReconnectTimeoutLeftOnesAfterTheTombstone() {
        serf.listener().notifyJoin(node("b", 2));
        serf.listener().notifyJoin(node("c", 3));
        serf.listener().notifyLeave(node("b", 2));                       // failed at t=0
        serf.delegate().notifyMsg(SerfMessages.encode(new Leave(9, "c", false)));
        serf.listener().notifyLeave(node("c", 3));                       // left at t=0
        sched.advance(29 * SEC);
        assertThat(status("b")).isEqualTo(MemberStatus.FAILED);
        sched.advance(3 * SEC);                                          // past 30 s + one reap interval
        assertThat(status("b")).isNull();
        assertThat(status("c")).isEqualTo(MemberStatus.LEFT);
        sched.advance(30 * SEC);
        assertThat(status("c")).isNull();
        assertThat(kinds()).contains("member-reap:b", "member-reap:c");
    }

    @Test
    void aFailedMemberThatComesBackIsAliveAndNotReaped() {
        serf.listener().notifyJoin(node("b", 2));
        serf.listener().notifyLeave(node("b", 2));
        sched.advance(10 * SEC);
        serf.listener().notifyJoin(node("b", 2));
        sched.advance(60 * SEC);
        assertThat(status("b")).isEqualTo(MemberStatus.ALIVE);
        assertThat(kinds()).doesNotContain("member-reap:b");
    }

    @Test
    void updatesCarryTheNewTags() {
        serf.listener().notifyJoin(node("b", 2));
        serf.listener().notifyUpdate(node("b", 2, SerfMessages.encodeTags(Map.of("role", "db", "v", "2"))));
        assertThat(serf.members()).filteredOn(m -> m.name().equals("b")).first()
                .extracting(SerfMember::tags).isEqualTo(Map.of("role", "db", "v", "2"));
        assertThat(kinds()).endsWith("member-update:b");
    }

    @Test
    void aUserEventIsDeliveredOnceAndRegossipedOnce() {
        byte[] msg = SerfMessages.encode(new UserEvent(5, "deploy", "v1".getBytes(), false));
        serf.delegate().notifyMsg(msg);
        serf.delegate().notifyMsg(msg);
        assertThat(events).filteredOn(e -> e instanceof SerfEvent.User).hasSize(1);
        List<byte[]> out = broadcasts();
        assertThat(out).hasSize(1);
        assertThat(out.getFirst()).isEqualTo(msg);
    }

    @Test
    void localUserEventsGetIncreasingTimesAndAreDeliveredLocally() {
        serf.listener().notifyJoin(node("b", 2));
        serf.userEvent("deploy", "a".getBytes(), false);
        serf.userEvent("deploy", "a".getBytes(), true);
        sched.runDue();
        List<SerfEvent.User> users = events.stream().filter(e -> e instanceof SerfEvent.User).map(e -> (SerfEvent.User) e).toList();
        assertThat(users).hasSize(2);
        assertThat(users.get(1).ltime()).isGreaterThan(users.get(0).ltime());
        assertThat(users.get(1).coalesce()).isTrue();
        assertThat(broadcasts()).hasSize(2);
    }

    @Test
    void userEventsOverTheLimitAreRefusedClearly() {
        assertThatThrownBy(() -> serf.userEvent("deploy", new byte[600], false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("limit of 512 bytes");
        // name + payload fit, but not once encoded
        assertThatThrownBy(() -> serf.userEvent("deploy", new byte[500], false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("encodes to");
        serf.userEvent("deploy", new byte[400], false);
    }

    @Test
    void tagsThatDoNotFitTheMetaAreRefused() {
        Map<String, String> big = Map.of("k", "v".repeat(600));
        assertThatThrownBy(() -> serf.setTags(big)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("node meta limit of 512 bytes");
        assertThatThrownBy(() -> Serf.detached(SerfConfig.defaults(SwimConfig.lan("x"), big), sched, e -> {}))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void broadcastsAreSentRetransmitLimitTimesWithinTheBudget() {
        for (int i = 2; i < 10; i++) serf.listener().notifyJoin(node("n" + i, i)); // 9 members: limit 4 x ceil(log10 10) = 4
        serf.delegate().notifyMsg(SerfMessages.encode(new Leave(10, "n2", false)));
        int sends = 0;
        for (int round = 0; round < 10; round++) sends += broadcasts().size();
        assertThat(sends).isEqualTo(4);
        // a budget too small for the message sends nothing
        serf.delegate().notifyMsg(SerfMessages.encode(new Leave(11, "n3", false)));
        assertThat(serf.delegate().broadcasts(2, 10)).isEmpty();
    }

    @Test
    void pushPullCarriesStatusesLeftMembersAndRecentEvents() {
        serf.listener().notifyJoin(node("b", 2));
        serf.listener().notifyJoin(node("c", 3));
        serf.delegate().notifyMsg(SerfMessages.encode(new Leave(10, "c", false)));
        serf.listener().notifyLeave(node("c", 3));
        serf.delegate().notifyMsg(SerfMessages.encode(new UserEvent(4, "deploy", "x".getBytes(), false)));
        PushPull pp = (PushPull) decode(serf.delegate().localState(false));
        assertThat(pp.statusLTimes()).containsEntry("c", 10L).containsKeys("self", "b");
        assertThat(pp.leftMembers()).containsExactly("c");
        assertThat(pp.events()).containsExactly(new EventsAt(4, List.of(new NamedPayload("deploy", "x".getBytes()))));
        assertThat(pp.eventLTime()).isEqualTo(5);

        // another node merges it: learns the leave, the clocks, the event (once)
        List<SerfEvent> other = new ArrayList<>();
        Serf o = Serf.detached(SerfConfig.defaults(SwimConfig.lan("o"), Map.of()), new ManualScheduler(2), other::add);
        o.listener().notifyJoin(node("c", 3));
        o.delegate().mergeRemoteState(serf.delegate().localState(false), false);
        o.delegate().mergeRemoteState(serf.delegate().localState(false), false);
        assertThat(o.members()).filteredOn(m -> m.name().equals("c")).first().extracting(SerfMember::status).isEqualTo(MemberStatus.LEAVING);
        assertThat(other).filteredOn(e -> e instanceof SerfEvent.User).hasSize(1);
        assertThat(o.stats().get("event_time")).isGreaterThanOrEqualTo(5);
        assertThat(o.stats().get("member_time")).isGreaterThanOrEqualTo(10);
    }

    @Test
    void badInputIsCountedAndChangesNothing() {
        serf.listener().notifyJoin(node("b", 2));
        List<SerfMember> before = serf.members();
        int eventsBefore = events.size();
        serf.delegate().notifyMsg(new byte[]{1, (byte) 0x82, (byte) 0xa5});         // truncated join
        serf.delegate().notifyMsg(new byte[]{3, (byte) 0xdf, -1, -1, -1, -1});       // huge map
        serf.delegate().notifyMsg(new byte[]{4, (byte) 0x80});                       // a query: ignored
        serf.delegate().notifyMsg(new byte[]{9});                                    // a relay: ignored
        serf.delegate().notifyMsg(new byte[0]);
        serf.delegate().mergeRemoteState(new byte[]{2, 1, 2, 3}, true);
        serf.delegate().mergeRemoteState(new byte[]{7, (byte) 0x80}, false);
        serf.listener().notifyLeave(node("unknown", 9));
        serf.listener().notifyUpdate(node("unknown", 9));
        assertThat(serf.members()).usingRecursiveFieldByFieldElementComparator().isEqualTo(before);
        assertThat(events).hasSize(eventsBefore);
        assertThat(serf.stats()).containsEntry("malformed_messages", 4L).containsEntry("ignored_messages", 2L);
    }

    private void drainBroadcasts() {
        for (int i = 0; i < 50; i++) broadcasts();
    }

    private static Object decode(byte[] b) {
        try {
            return SerfMessages.decode(b);
        } catch (SerfMessages.MalformedException e) {
            throw new AssertionError(e);
        }
    }
}

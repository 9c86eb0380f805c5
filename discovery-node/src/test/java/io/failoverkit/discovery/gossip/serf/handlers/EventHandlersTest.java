package io.failoverkit.discovery.gossip.serf.handlers;

import io.failoverkit.discovery.gossip.serf.MemberStatus;
import io.failoverkit.discovery.gossip.serf.SerfEvent;
import io.failoverkit.discovery.gossip.serf.SerfMember;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Event handlers with real /bin/sh scripts. */
class EventHandlersTest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    @TempDir Path dir;

    private static final byte[] VSN = {1, 5, 2, 2, 5, 5};

    private static SerfMember member(String name, Map<String, String> tags) {
        return new SerfMember(name, new InetSocketAddress("127.0.0.9", 7946), tags, MemberStatus.ALIVE, VSN);
    }

    private static final SerfMember SELF = member("self-1", Map.of("role", "web", "dc-name", "east", "rack", "r1"));

    private static SerfEvent.Members update(String name, Map<String, String> tags) {
        return new SerfEvent.Members(SerfEvent.Kind.UPDATE, List.of(member(name, tags)));
    }

    private String read(String f) throws IOException {
        Path p = dir.resolve(f);
        return Files.exists(p) ? Files.readString(p) : "";
    }

    private List<String> lines(String f) throws IOException {
        String s = read(f);
        return s.isEmpty() ? List.of() : List.of(s.split("\n"));
    }

    private void awaitIdle(EventHandlers h) {
        await().atMost(WAIT).until(() -> h.pending() == 0);
    }

    @Test
    void parsesSerfsHandlerSpecs() {
        assertThat(EventScript.parse("handler.sh")).containsExactly(new EventScript(new EventScript.Filter("*", ""), "handler.sh"));
        assertThat(EventScript.parse("member-leave,member-failed=down.sh"))
                .extracting(s -> s.filter().event()).containsExactly("member-leave", "member-failed");
        List<EventScript> deploy = EventScript.parse("user:deploy=./deploy.sh --now");
        assertThat(deploy).containsExactly(new EventScript(new EventScript.Filter("user", "deploy"), "./deploy.sh --now"));
        SerfEvent.User d = new SerfEvent.User(1, "deploy", new byte[0], false);
        SerfEvent.User other = new SerfEvent.User(1, "restart", new byte[0], false);
        assertThat(deploy.getFirst().matches(d)).isTrue();
        assertThat(deploy.getFirst().matches(other)).isFalse();
        assertThat(EventScript.parse("user=u.sh").getFirst().matches(other)).isTrue();
        assertThat(EventScript.parse("member-update=u.sh").getFirst().matches(update("x", Map.of()))).isTrue();
        assertThat(EventScript.parse("member-join=u.sh").getFirst().matches(update("x", Map.of()))).isFalse();
        assertThat(EventScript.parse("member-reap=u.sh").getFirst().matches(
                new SerfEvent.Members(SerfEvent.Kind.REAP, List.of(member("x", Map.of()))))).isTrue();
        assertThat(EventScript.parse("*=all.sh").getFirst().matches(d)).isTrue();
        // everything after the first '=' is the script, '=' included
        assertThat(EventScript.parse("user=echo a=b").getFirst().script()).isEqualTo("echo a=b");
        assertThatThrownBy(() -> EventScript.parse("member-joined=x.sh")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("invalid event filter 'member-joined'");
        assertThatThrownBy(() -> EventScript.parse("user=")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void memberEventsGetSerfsStdinAndEnvironment() throws Exception {
        String script = "env | grep '^SERF_' | sort > '" + dir + "/env'; cat > '" + dir + "/stdin'";
        try (EventHandlers h = new EventHandlers(EventScript.parse("member-join=" + script), () -> SELF, CoalesceSettings.off(), WAIT)) {
            Map<String, String> tags = new LinkedHashMap<>();
            tags.put("role", "db");
            tags.put("zone", "a\tb");
            h.accept(new SerfEvent.Members(SerfEvent.Kind.JOIN, List.of(member("n1", tags), member("n2", Map.of()))));
            h.accept(update("ignored", Map.of())); // not a join: not run
            awaitIdle(h);
            assertThat(h.invocations()).isEqualTo(1);
        }
        assertThat(read("stdin")).isEqualTo("n1\t127.0.0.9\tdb\trole=db,zone=a\\tb\nn2\t127.0.0.9\t\t\n");
        assertThat(lines("env")).containsExactly(
                "SERF_EVENT=member-join", "SERF_SELF_NAME=self-1", "SERF_SELF_ROLE=web",
                "SERF_TAG_DC_NAME=east", "SERF_TAG_RACK=r1", "SERF_TAG_ROLE=web");
    }

    @Test
    void userEventsGetThePayloadOnStdinAndTheirNameAndTime() throws Exception {
        String script = "env | grep '^SERF_USER' | sort > '" + dir + "/env'; cat > '" + dir + "/stdin'";
        try (EventHandlers h = new EventHandlers(EventScript.parse("user:deploy=" + script), () -> SELF, CoalesceSettings.off(), WAIT)) {
            h.accept(new SerfEvent.User(42, "deploy", "v1.2".getBytes(StandardCharsets.UTF_8), false));
            awaitIdle(h);
        }
        assertThat(read("stdin")).isEqualTo("v1.2\n");
        assertThat(lines("env")).containsExactly("SERF_USER_EVENT=deploy", "SERF_USER_LTIME=42");
    }

    @Test
    void eventDataIsNeverInterpretedByTheShell() throws Exception {
        Path pwned = dir.resolve("pwned");
        String evil = "$(touch " + pwned + "); `touch " + pwned + "`; touch " + pwned + " && echo '\"";
        SerfMember evilSelf = member("self;touch " + pwned, Map.of("role", evil, "x$(touch " + pwned + ")", evil));
        String script = "printf '%s\\n' \"$SERF_SELF_ROLE\" \"$SERF_USER_EVENT\" > '" + dir + "/env'; "
                + "[ -n \"$SERF_USER_EVENT\" ] && cat > '" + dir + "/payload' || cat > '" + dir + "/stdin'";
        try (EventHandlers h = new EventHandlers(EventScript.parse(script), () -> evilSelf, CoalesceSettings.off(), WAIT)) {
            h.accept(new SerfEvent.User(1, evil, evil.getBytes(StandardCharsets.UTF_8), false));
            h.accept(new SerfEvent.Members(SerfEvent.Kind.JOIN, List.of(member(evil, Map.of("role", evil)))));
            awaitIdle(h);
            assertThat(h.invocations()).isEqualTo(2);
        }
        assertThat(pwned).doesNotExist();
        assertThat(read("env")).isEqualTo(evil + "\n\n"); // the last run (member event) has no SERF_USER_EVENT
        assertThat(read("payload")).isEqualTo(evil + "\n");
        assertThat(read("stdin")).startsWith(evil + "\t127.0.0.9\t" + evil + "\t");
    }

    private Path executable(String name, String content) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, content);
        assertThat(f.toFile().setExecutable(true)).isTrue();
        return f;
    }

    @Test
    void aScriptThatIsOnlyAPathRunsWithoutAShellInBetweenAndGetsTheSameEventData() throws Exception {
        Path script = executable("handler.sh", "#!/bin/sh\necho $PPID > '" + dir + "/ppid'\n"
                + "env | grep '^SERF_USER' | sort > '" + dir + "/env'\ncat > '" + dir + "/stdin'\nexit 4\n");
        ScriptInvoker.Result r = ScriptInvoker.run(script.toString(), SELF,
                new SerfEvent.User(42, "deploy", "v1.2".getBytes(StandardCharsets.UTF_8), false), WAIT);
        assertThat(r.exitCode()).isEqualTo(4);
        // the script's parent is this JVM: no sh -c process between them
        assertThat(Long.parseLong(read("ppid").trim())).isEqualTo(ProcessHandle.current().pid());
        assertThat(read("stdin")).isEqualTo("v1.2\n");
        assertThat(lines("env")).containsExactly("SERF_USER_EVENT=deploy", "SERF_USER_LTIME=42");
    }

    @Test
    void aPathTheKernelWillNotExecuteOrAnythingTheShellWouldExpandGoesThroughTheShell() throws Exception {
        // no #! line: execve refuses it (ENOEXEC), sh -c runs it as a shell script, as Serf's agent does
        Path bare = executable("bare", "echo $PPID > '" + dir + "/bare-ppid'\n");
        ScriptInvoker.Result r = ScriptInvoker.run(bare.toString(), SELF, update("a", Map.of()), WAIT);
        assertThat(r.ok()).as("%s", r).isTrue();
        assertThat(read("bare-ppid")).isNotBlank();
        // with an argument: the shell splits it
        Path withArg = executable("with-arg.sh", "#!/bin/sh\necho \"$1 $PPID\" > '" + dir + "/arg'\n");
        assertThat(ScriptInvoker.run(withArg + " first", SELF, update("a", Map.of()), WAIT).ok()).isTrue();
        String[] arg = read("arg").trim().split(" ");
        assertThat(arg[0]).isEqualTo("first");
        assertThat(Long.parseLong(arg[1])).isNotEqualTo(ProcessHandle.current().pid());

        assertThat(ScriptInvoker.directPath(withArg.toString())).isTrue();
        assertThat(ScriptInvoker.directPath(bare.toString())).isTrue(); // tried directly, then the shell
        for (String s : new String[]{withArg + " first", withArg + ";true", "$HOME/x", "~/x", withArg + "*",
                "X=" + withArg, "with-arg.sh", "", dir.toString(), withArg + "'"})
            assertThat(ScriptInvoker.directPath(s)).as("%s", s).isFalse();
        Path notExecutable = dir.resolve("plain.sh");
        Files.writeString(notExecutable, "#!/bin/sh\n");
        assertThat(ScriptInvoker.directPath(notExecutable.toString())).isFalse();
    }

    @Test
    void aScriptPastItsTimeoutIsKilledWithItsChildren() throws Exception {
        String script = "sleep 300 & echo $! > '" + dir + "/child'; sleep 300";
        try (EventHandlers h = new EventHandlers(EventScript.parse(script), () -> SELF, CoalesceSettings.off(), Duration.ofMillis(500))) {
            h.accept(update("a", Map.of()));
            await().atMost(WAIT).until(() -> h.timeouts() == 1);
            awaitIdle(h);
            // the handler goes on with the next event
            h.accept(update("b", Map.of()));
            await().atMost(WAIT).until(() -> h.timeouts() == 2);
        }
        long child = Long.parseLong(read("child").trim().split("\n")[0]);
        await().atMost(WAIT).until(() -> ProcessHandle.of(child).map(p -> !p.isAlive()).orElse(true));
    }

    @Test
    void outputIsBoundedToTheLast8KB() {
        ScriptInvoker.Result r = ScriptInvoker.run("head -c 100000 /dev/zero | tr '\\0' a; echo END", SELF,
                update("a", Map.of()), WAIT);
        assertThat(r.ok()).isTrue();
        assertThat(r.outputBytes()).isEqualTo(100_004);
        assertThat(r.output()).hasSize(ScriptInvoker.MAX_OUTPUT).endsWith("aEND\n");
        ScriptInvoker.Result fail = ScriptInvoker.run("echo oops; exit 3", SELF, update("a", Map.of()), WAIT);
        assertThat(fail.exitCode()).isEqualTo(3);
        assertThat(fail.output()).isEqualTo("oops\n");
    }

    @Test
    void withoutCoalescingEveryEventRunsOnceInOrder() throws Exception {
        String script = "cat >> '" + dir + "/log'";
        try (EventHandlers h = new EventHandlers(EventScript.parse("member-update=" + script), () -> SELF, CoalesceSettings.off(), WAIT)) {
            for (int i = 0; i < 50; i++) h.accept(update("m", Map.of("v", Integer.toString(i))));
            awaitIdle(h);
            assertThat(h.invocations()).isEqualTo(50);
        }
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 50; i++) expected.add("m\t127.0.0.9\t\tv=" + i);
        assertThat(lines("log")).isEqualTo(expected);
    }

    @Test
    void aBurstOfUpdatesIsCoalescedToTheFinalState() throws Exception {
        String script = "cat >> '" + dir + "/log'";
        CoalesceSettings c = new CoalesceSettings(Duration.ofSeconds(3), Duration.ofSeconds(1), Duration.ZERO, Duration.ZERO);
        try (EventHandlers h = new EventHandlers(EventScript.parse("member-update=" + script), () -> SELF, c, WAIT)) {
            for (int i = 0; i < 50; i++) h.accept(update("m", Map.of("v", Integer.toString(i))));
            await().atMost(WAIT).until(() -> h.invocations() >= 1 && h.pending() == 0);
            // a burst takes far less than the 1 s quiescent period: one window, one run; a very slow box may
            // split it, and still runs the script a handful of times at most
            assertThat(h.invocations()).isBetween(1L, 5L);
        }
        List<String> log = lines("log");
        assertThat(log).hasSizeBetween(1, 5);
        assertThat(log.getLast()).isEqualTo("m\t127.0.0.9\t\tv=49");
    }

    @Test
    void coalescableUserEventsKeepTheLatestPerNameOthersAllRun() throws Exception {
        String script = "echo \"$SERF_USER_EVENT $SERF_USER_LTIME\" >> '" + dir + "/log'";
        CoalesceSettings c = new CoalesceSettings(Duration.ZERO, Duration.ZERO, Duration.ofSeconds(3), Duration.ofSeconds(1));
        try (EventHandlers h = new EventHandlers(EventScript.parse("user=" + script), () -> SELF, c, WAIT)) {
            for (int i = 1; i <= 20; i++) h.accept(new SerfEvent.User(i, "deploy", new byte[0], true));
            for (int i = 1; i <= 3; i++) h.accept(new SerfEvent.User(100 + i, "once", new byte[0], false));
            await().atMost(WAIT).until(() -> h.invocations() >= 4 && h.pending() == 0);
        }
        List<String> log = lines("log");
        assertThat(log).contains("once 101", "once 102", "once 103", "deploy 20");
        assertThat(log.stream().filter(l -> l.startsWith("deploy"))).hasSizeBetween(1, 5);
    }

    @Test
    void memberCoalescingSendsTheLatestStatePerMemberAndSkipsRepeats() {
        Coalescer.Members c = new Coalescer.Members();
        c.add(new SerfEvent.Members(SerfEvent.Kind.JOIN, List.of(member("a", Map.of()), member("b", Map.of()))));
        c.add(new SerfEvent.Members(SerfEvent.Kind.FAILED, List.of(member("a", Map.of()))));
        List<SerfEvent> first = c.flush();
        assertThat(first).containsExactly(
                new SerfEvent.Members(SerfEvent.Kind.JOIN, List.of(member("b", Map.of()))),
                new SerfEvent.Members(SerfEvent.Kind.FAILED, List.of(member("a", Map.of()))));
        // b joins again: nothing new; a joins: sent; updates are always sent
        c.add(new SerfEvent.Members(SerfEvent.Kind.JOIN, List.of(member("b", Map.of()), member("a", Map.of()))));
        c.add(update("b", Map.of("v", "1")));
        c.add(update("b", Map.of("v", "2")));
        assertThat(c.flush()).containsExactly(
                new SerfEvent.Members(SerfEvent.Kind.JOIN, List.of(member("a", Map.of()))),
                new SerfEvent.Members(SerfEvent.Kind.UPDATE, List.of(member("b", Map.of("v", "2")))));
        assertThat(c.flush()).isEmpty();
    }

    @Test
    void acceptNeverWaitsForAScriptAndABacklogIsBounded() throws Exception {
        Path release = dir.resolve("release");
        String script = "while [ ! -f '" + release + "' ]; do sleep 0.05; done; cat >> '" + dir + "/log'";
        long ran;
        try (EventHandlers h = new EventHandlers(EventScript.parse(script), () -> SELF, CoalesceSettings.off(), WAIT, 8)) {
            h.accept(update("first", Map.of()));
            await().atMost(WAIT).until(() -> h.invocations() == 1); // the first script is running and blocked
            for (int i = 0; i < 20; i++) h.accept(update("m" + i, Map.of()));
            // every accept returned while the script is still blocked: nothing waited for it
            assertThat(h.invocations()).isEqualTo(1);
            assertThat(h.dropped()).isPositive();
            Files.createFile(release);
            await().atMost(WAIT).until(() -> h.pending() == 0);
            assertThat(h.invocations() + h.dropped()).isEqualTo(21);
            ran = h.invocations();
        }
        List<String> log = lines("log");
        assertThat(log.getFirst()).startsWith("first\t");
        assertThat(log).hasSize((int) ran); // what ran ran once each, in order
        List<Integer> order = log.stream().skip(1).map(l -> Integer.parseInt(l.substring(1, l.indexOf('\t')))).toList();
        assertThat(order).isSorted().doesNotHaveDuplicates();
    }
}

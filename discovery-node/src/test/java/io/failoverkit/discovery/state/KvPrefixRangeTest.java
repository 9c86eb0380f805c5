package io.failoverkit.discovery.state;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/** Review finding: a prefix read, list or delete-tree covers every key that starts with the prefix, U+FFFF included. */
class KvPrefixRangeTest {
    @Test
    void everyKeyStartingWithThePrefixIsListedAndDeleted() {
        StateStore store = new StateStore(Runnable::run);
        long i = 0;
        List<String> under = List.of("a/", "a/b", "a/\uFFFF", "a/\uFFFFx", "a/\uFFFF\uFFFF");
        for (String k : under) store.apply(++i, new Command.KvPut(k, new byte[0], 0, null, null, null, null));
        for (String k : List.of("a", "a0", "b", "\uFFFF")) store.apply(++i, new Command.KvPut(k, new byte[0], 0, null, null, null, null));
        assertThat(store.kvList("a/").value()).extracting(Model.KvEntry::key).containsExactlyElementsOf(under);
        assertThat(store.kvList("a/\uFFFF").value()).extracting(Model.KvEntry::key).containsExactly("a/\uFFFF", "a/\uFFFFx", "a/\uFFFF\uFFFF");
        assertThat(store.kvList("").value()).hasSize(9);
        store.apply(++i, new Command.KvDelete("a/", true, null));
        assertThat(store.kvList("").value()).extracting(Model.KvEntry::key).containsExactly("a", "a0", "b", "\uFFFF");
    }

    @Test
    void theRangeEndsRightAfterThePrefixedKeys() {
        TreeMap<String, Integer> m = new TreeMap<>();
        for (String k : List.of("", "a", "a\uFFFF", "a\uFFFFz", "b", "\uFFFF", "\uFFFF\uFFFF")) m.put(k, 1);
        assertThat(StateStore.withPrefix(m, "a").keySet()).containsExactly("a", "a\uFFFF", "a\uFFFFz");
        assertThat(StateStore.withPrefix(m, "\uFFFF").keySet()).containsExactly("\uFFFF", "\uFFFF\uFFFF");
        assertThat(StateStore.withPrefix(m, "").keySet()).hasSize(7);
    }
}

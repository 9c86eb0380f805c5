package io.failoverkit.failover.topology;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** GTID positions as sets: covers is "superset of", for MySQL's uuid:interval sets and MariaDB's domain-server-seq lists. */
class GtidSetTest {
    private static final String A = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    private static final String B = "6f5c9a3e-1b2c-11ef-8a4b-0242ac120002";

    @Test
    void mySqlSetsParseMergeAndCountTransactions() {
        GtidSet s = GtidSet.parseMySql(A.toUpperCase() + ":1-5:7-9,\n" + B + ":3");
        assertThat(s.rank()).isEqualTo(5 + 3 + 1);
        assertThat(s.gtidText()).isEqualTo(A + ":1-5:7-9," + B + ":3");
        assertThat(GtidSet.parseMySql(A + ":1-3:4-6:5").gtidText()).as("adjacent and overlapping intervals merge").isEqualTo(A + ":1-6");
        assertThat(GtidSet.parseMySql("").isEmpty()).isTrue();
        assertThat(GtidSet.parseMySql(null).rank()).isZero();
    }

    @Test
    void mySqlCoversIsSupersetNotCount() {
        GtidSet big = GtidSet.parseMySql(A + ":1-100");
        GtidSet holes = GtidSet.parseMySql(A + ":1-50:52-100");
        GtidSet other = GtidSet.parseMySql(A + ":1-10," + B + ":1");
        assertThat(big.covers(holes)).isTrue();
        assertThat(holes.covers(big)).as("a missing transaction in the middle").isFalse();
        assertThat(big.covers(other)).as("more transactions, but not the other source's").isFalse();
        assertThat(big.rank()).isGreaterThan(other.rank());
        assertThat(big.minus(holes).gtidText()).isEqualTo(A + ":51");
        assertThat(other.minus(big).gtidText()).isEqualTo(B + ":1");
        assertThat(big.covers(GtidSet.parseMySql(""))).isTrue();
        assertThat(big.covers(new Position.Offset(1))).as("never covers another kind of position").isFalse();
    }

    @Test
    void mySqlTaggedGtidsAreTheirOwnSource() {
        GtidSet s = GtidSet.parseMySql(A + ":1-3:batch:1-2");
        assertThat(s.rank()).isEqualTo(5);
        assertThat(s.covers(GtidSet.parseMySql(A + ":batch:2"))).isTrue();
        assertThat(s.covers(GtidSet.parseMySql(A + ":other:1"))).isFalse();
        assertThat(s.onlySource(A).rank()).as("the untagged and tagged transactions of one server").isEqualTo(5);
    }

    @Test
    void mariaDbPositionsCompareSequencesPerDomain() {
        GtidSet p = GtidSet.parseMariaDb("0-1-100,1-2-7");
        GtidSet q = GtidSet.parseMariaDb("0-3-99,1-2-7");
        assertThat(p.covers(q)).isTrue();
        assertThat(q.covers(p)).isFalse();
        assertThat(p.rank()).isEqualTo(107);
        assertThat(p.covers(GtidSet.parseMariaDb("0-1-100,2-5-1"))).as("a domain it never saw").isFalse();
        assertThat(p.text()).isEqualTo("gtid 0-1-100,1-2-7");
        assertThat(GtidSet.parseMariaDb("").text()).isEqualTo("gtid (empty)");
        assertThat(p.mariaDbSequences()).containsEntry(0L, 100L).containsEntry(1L, 7L);
        assertThat(p.covers(GtidSet.parseMySql(A + ":1"))).as("flavors never compare").isFalse();
    }

    @Test
    void blockersTravelWithThePosition() {
        GtidSet p = GtidSet.parseMariaDb("0-1-5");
        assertThat(p.blocker()).isNull();
        assertThat(p.withBlocker("errant transactions 0-2-6").blocker()).isEqualTo("errant transactions 0-2-6");
        assertThat(new Position.Offset(3).blocker()).isNull();
    }

    @Test
    void badTextIsRefusedClearly() {
        assertThatThrownBy(() -> GtidSet.parseMySql("not-a-uuid:1-2")).hasMessageContaining("uuid");
        assertThatThrownBy(() -> GtidSet.parseMySql(A + ":5-3")).hasMessageContaining("interval");
        assertThatThrownBy(() -> GtidSet.parseMySql(A)).hasMessageContaining("uuid:interval");
        assertThatThrownBy(() -> GtidSet.parseMariaDb("0-1")).hasMessageContaining("domain-server-sequence");
        assertThatThrownBy(() -> GtidSet.parseMariaDb("0-1-5,0-2-6")).hasMessageContaining("twice");
    }

    @Test
    void unionHoldsBothSetsAndKeepsTheBlocker() {
        String u = "3e11fa47-71ca-11e1-9e33-c80aa9429562", v = "6f5c9a3e-1b2c-11ef-8a4b-0242ac120002";
        GtidSet a = GtidSet.parseMySql(u + ":1-10").withBlocker("b");
        GtidSet joined = a.union(GtidSet.parseMySql(u + ":8-12," + v + ":1"));
        assertThat(joined.gtidText()).isEqualTo(u + ":1-12," + v + ":1");
        assertThat(joined.blocker()).isEqualTo("b");
        GtidSet maria = GtidSet.parseMariaDb("0-1-20,1-2-5").union(GtidSet.parseMariaDb("0-3-25"));
        assertThat(maria.gtidText()).isEqualTo("0-3-25,1-2-5");
        assertThat(GtidSet.parseMariaDb("0-1-20").union(GtidSet.parseMariaDb("0-3-2")).gtidText()).isEqualTo("0-1-20");
    }
}

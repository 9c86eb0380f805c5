package io.failoverkit.discovery.state;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Arrays;
import java.util.Optional;

/**
 * One KV operation of a /v1/txn transaction, already validated (key, session and value decoded).
 * {@code index} is the CAS / check index, {@code session} the lock holder the verb names.
 */
public record TxnOp(Verb verb, String key, byte[] value, long flags, long index, String session) {

    /** Consul's KV verbs, spelled as on the wire. */
    public enum Verb {
        SET("set", true), CAS("cas", true), LOCK("lock", true), UNLOCK("unlock", true),
        GET("get", false), GET_OR_EMPTY("get-or-empty", false), GET_TREE("get-tree", false),
        CHECK_INDEX("check-index", false), CHECK_SESSION("check-session", false), CHECK_NOT_EXISTS("check-not-exists", false),
        DELETE("delete", true), DELETE_TREE("delete-tree", true), DELETE_CAS("delete-cas", true);

        private final String wire;
        private final boolean writes;

        Verb(String wire, boolean writes) {
            this.wire = wire;
            this.writes = writes;
        }

        @JsonValue
        public String wire() { return wire; }

        /** True for verbs that change the KV: a transaction with one of them goes through Raft. */
        public boolean writes() { return writes; }

        public static Optional<Verb> parse(String s) {
            return Arrays.stream(values()).filter(v -> v.wire.equals(s)).findFirst();
        }

        @JsonCreator
        static Verb fromWire(String s) {
            return parse(s).orElseThrow(() -> new IllegalArgumentException("unknown KV verb " + s));
        }
    }
}

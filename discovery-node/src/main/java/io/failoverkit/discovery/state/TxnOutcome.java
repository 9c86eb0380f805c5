package io.failoverkit.discovery.state;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;

/**
 * What a transaction returned, as Consul's /v1/txn spells it: {@code Results} (null when rolled back) or
 * {@code Errors} (null when applied), one error per failing operation.
 */
public record TxnOutcome(@JsonProperty("Results") List<Result> results, @JsonProperty("Errors") List<Error> errors) {

    public record Result(@JsonProperty("KV") Kv kv) {}

    /** A KV result: {@code Value} is null except for the read verbs (get, get-or-empty, get-tree). */
    public record Kv(
            @JsonProperty("LockIndex") long lockIndex,
            @JsonProperty("Key") String key,
            @JsonProperty("Flags")
            @com.fasterxml.jackson.databind.annotation.JsonSerialize(using = UnsignedLong.Serializer.class)
            @com.fasterxml.jackson.databind.annotation.JsonDeserialize(using = UnsignedLong.Deserializer.class) long flags,
            @JsonProperty("Value") byte[] value,
            @JsonInclude(JsonInclude.Include.NON_NULL) @JsonProperty("Session") String session,
            @JsonProperty("CreateIndex") long createIndex,
            @JsonProperty("ModifyIndex") long modifyIndex) {

        static Kv of(Model.KvEntry e, boolean withValue) {
            return new Kv(e.lockIndex(), e.key(), e.flags(), withValue ? e.value() : null, e.session(), e.createIndex(), e.modifyIndex());
        }
    }

    public record Error(@JsonProperty("OpIndex") int opIndex, @JsonProperty("What") String what) {}

    public boolean applied() { return errors == null; }
}

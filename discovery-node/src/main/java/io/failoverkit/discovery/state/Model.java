package io.failoverkit.discovery.state;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

import java.util.List;
import java.util.Map;

/** The stored records, spelled as Consul's JSON spells them, so the HTTP layer can return them as they are. */
public final class Model {
    private Model() {}

    public record Node(
            @JsonProperty("ID") String id,
            @JsonProperty("Node") String node,
            @JsonProperty("Address") String address,
            @JsonProperty("Datacenter") String datacenter,
            @JsonProperty("TaggedAddresses") Map<String, String> taggedAddresses,
            @JsonProperty("Meta") Map<String, String> meta,
            @JsonProperty("CreateIndex") long createIndex,
            @JsonProperty("ModifyIndex") long modifyIndex) {
        public Node withIndexes(long create, long modify) {
            return new Node(id, node, address, datacenter, taggedAddresses, meta, create, modify);
        }
        boolean sameContent(Node o) {
            return o != null && java.util.Objects.equals(id, o.id) && node.equals(o.node) && java.util.Objects.equals(address, o.address)
                    && java.util.Objects.equals(taggedAddresses, o.taggedAddresses) && java.util.Objects.equals(meta, o.meta);
        }
    }

    public record Weights(@JsonProperty("Passing") int passing, @JsonProperty("Warning") int warning) {
        public static final Weights DEFAULT = new Weights(1, 1);
    }

    /** One of a service's tagged addresses (Consul's ServiceAddress). */
    public record ServiceAddress(@JsonProperty("Address") String address, @JsonProperty("Port") int port) {}

    public record Service(
            @JsonProperty("ID") String id,
            @JsonProperty("Service") String service,
            @JsonProperty("Tags") List<String> tags,
            @JsonProperty("Address") String address,
            @JsonProperty("Meta") Map<String, String> meta,
            @JsonProperty("Port") int port,
            @JsonProperty("Weights") Weights weights,
            @JsonProperty("EnableTagOverride") boolean enableTagOverride,
            @JsonProperty("Kind") String kind,
            @JsonProperty("TaggedAddresses") Map<String, ServiceAddress> taggedAddresses,
            @JsonProperty("CreateIndex") long createIndex,
            @JsonProperty("ModifyIndex") long modifyIndex) {
        /** Entries and snapshots written before Kind and TaggedAddresses existed read as a typical service with none. */
        public Service {
            if (kind == null) kind = "";
            if (taggedAddresses == null) taggedAddresses = Map.of();
            if (weights == null) weights = Weights.DEFAULT;
        }

        /** A typical service (no Kind) without tagged addresses. */
        public Service(String id, String service, List<String> tags, String address, Map<String, String> meta, int port, Weights weights,
                       boolean enableTagOverride, long createIndex, long modifyIndex) {
            this(id, service, tags, address, meta, port, weights, enableTagOverride, "", Map.of(), createIndex, modifyIndex);
        }

        public Service withIndexes(long create, long modify) {
            return new Service(id, service, tags, address, meta, port, weights, enableTagOverride, kind, taggedAddresses, create, modify);
        }
        boolean sameContent(Service o) {
            return o != null && id.equals(o.id) && service.equals(o.service) && tags.equals(o.tags) && address.equals(o.address)
                    && meta.equals(o.meta) && port == o.port && java.util.Objects.equals(weights, o.weights) && enableTagOverride == o.enableTagOverride
                    && kind.equals(o.kind) && taggedAddresses.equals(o.taggedAddresses);
        }
    }

    public record Check(
            @JsonProperty("Node") String node,
            @JsonProperty("CheckID") String checkId,
            @JsonProperty("Name") String name,
            @JsonProperty("Status") String status,
            @JsonProperty("Notes") String notes,
            @JsonProperty("Output") String output,
            @JsonProperty("ServiceID") String serviceId,
            @JsonProperty("ServiceName") String serviceName,
            @JsonProperty("ServiceTags") List<String> serviceTags,
            @JsonProperty("Type") String type,
            @JsonProperty("CreateIndex") long createIndex,
            @JsonProperty("ModifyIndex") long modifyIndex) {
        public Check withIndexes(long create, long modify) {
            return new Check(node, checkId, name, status, notes, output, serviceId, serviceName, serviceTags, type, create, modify);
        }
        public Check withStatus(String newStatus, String newOutput) {
            return new Check(node, checkId, name, newStatus, notes, newOutput, serviceId, serviceName, serviceTags, type, createIndex, modifyIndex);
        }
        boolean sameContent(Check o) {
            return o != null && checkId.equals(o.checkId) && name.equals(o.name) && status.equals(o.status) && notes.equals(o.notes)
                    && output.equals(o.output) && serviceId.equals(o.serviceId) && serviceName.equals(o.serviceName)
                    && serviceTags.equals(o.serviceTags) && type.equals(o.type);
        }
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record KvEntry(
            @JsonProperty("LockIndex") long lockIndex,
            @JsonProperty("Key") String key,
            @JsonProperty("Flags")
            @com.fasterxml.jackson.databind.annotation.JsonSerialize(using = UnsignedLong.Serializer.class)
            @com.fasterxml.jackson.databind.annotation.JsonDeserialize(using = UnsignedLong.Deserializer.class) long flags,
            @JsonProperty("Value")
            @JsonInclude(JsonInclude.Include.ALWAYS)
            @com.fasterxml.jackson.databind.annotation.JsonSerialize(using = EmptyAsNull.class) byte[] value,
            @JsonProperty("Session") String session,
            @JsonProperty("CreateIndex") long createIndex,
            @JsonProperty("ModifyIndex") long modifyIndex) {}

    /**
     * A session. {@code checks} are its node checks, under Consul's older name "Checks" (what records written before
     * ServiceChecks existed hold, so they load unchanged), and written again as Consul 1.7's "NodeChecks";
     * {@code serviceChecks} its service checks (null in those older records).
     */
    public record Session(
            @JsonProperty("ID") String id,
            @JsonProperty("Name") String name,
            @JsonProperty("Node") String node,
            @JsonProperty("Checks") List<String> checks,
            @JsonProperty("LockDelay") long lockDelayNanos,
            @JsonProperty("Behavior") String behavior,
            @JsonProperty("TTL") String ttl,
            @JsonProperty("CreateIndex") long createIndex,
            @JsonProperty("ModifyIndex") long modifyIndex,
            @JsonProperty("ServiceChecks") List<ServiceCheck> serviceChecks) {
        public Session(String id, String name, String node, List<String> checks, long lockDelayNanos, String behavior, String ttl,
                       long createIndex, long modifyIndex) {
            this(id, name, node, checks, lockDelayNanos, behavior, ttl, createIndex, modifyIndex, null);
        }

        public Session withIndexes(long create, long modify) {
            return new Session(id, name, node, checks, lockDelayNanos, behavior, ttl, create, modify, serviceChecks);
        }

        /** Consul 1.7's name for the node checks (written, never read: "Checks" holds them). */
        @JsonProperty(value = "NodeChecks", access = JsonProperty.Access.READ_ONLY)
        public List<String> nodeChecks() {
            return checks;
        }

        /** Every check the session depends on: its node checks, then its service checks. */
        public List<String> allChecks() {
            if (serviceChecks == null || serviceChecks.isEmpty()) return checks;
            List<String> all = new java.util.ArrayList<>(checks == null ? List.of() : checks);
            for (ServiceCheck c : serviceChecks) if (!all.contains(c.id())) all.add(c.id());
            return List.copyOf(all);
        }
    }

    /** A session's service check: Consul's {ID, Namespace} (Namespace is always "" here). */
    public record ServiceCheck(@JsonProperty("ID") String id, @JsonProperty("Namespace") String namespace) {}

    /** Consul returns an empty KV value as null (a Go nil []byte), not as "". */
    public static final class EmptyAsNull extends com.fasterxml.jackson.databind.JsonSerializer<byte[]> {
        @Override
        public void serialize(byte[] value, com.fasterxml.jackson.core.JsonGenerator gen, com.fasterxml.jackson.databind.SerializerProvider p) throws java.io.IOException {
            write(value, gen);
        }

        /** Writes {@code value} as this serializer does: null when absent or empty. */
        public static void write(byte[] value, com.fasterxml.jackson.core.JsonGenerator gen) throws java.io.IOException {
            if (value == null || value.length == 0) gen.writeNull();
            else gen.writeBinary(value);
        }
    }

    /**
     * An ACL policy as stored (Consul's ACLPolicy fields). {@code rules} is the text the operator wrote (HCL or JSON),
     * checked by {@link io.failoverkit.discovery.acl.Rules#parse} before it was proposed.
     */
    public record AclPolicy(
            @JsonProperty("ID") String id,
            @JsonProperty("Name") String name,
            @JsonProperty("Description") String description,
            @JsonProperty("Rules") String rules,
            @JsonProperty("Datacenters") List<String> datacenters,
            @JsonProperty("CreateIndex") long createIndex,
            @JsonProperty("ModifyIndex") long modifyIndex) {
        public AclPolicy withIndexes(long create, long modify) {
            return new AclPolicy(id, name, description, rules, datacenters, create, modify);
        }
    }

    /**
     * An ACL token as stored. The SecretID itself is never stored: {@code secretHash} is the lowercase hex SHA-256 of it
     * ({@link io.failoverkit.discovery.acl.Secrets#hash}), so neither the Raft log, its snapshots nor a snapshot archive
     * hold a usable secret. Policies are linked by ID (their names are looked up when a token is shown, as Consul does).
     * {@code expirationTime}: epoch milliseconds, null for a token that does not expire; an expired token is not found.
     */
    public record AclToken(
            @JsonProperty("AccessorID") String accessorId,
            @JsonProperty("SecretHash") String secretHash,
            @JsonProperty("Description") String description,
            @JsonProperty("PolicyIDs") List<String> policyIds,
            @JsonProperty("Local") boolean local,
            @JsonProperty("ExpirationTime") Long expirationTime,
            @JsonProperty("CreateTime") long createTime,
            @JsonProperty("CreateIndex") long createIndex,
            @JsonProperty("ModifyIndex") long modifyIndex) {
        public AclToken withIndexes(long create, long modify) {
            return new AclToken(accessorId, secretHash, description, policyIds, local, expirationTime, createTime, create, modify);
        }

        /** True when the token has an expiration time at or before {@code nowMillis}. */
        public boolean expiredAt(long nowMillis) {
            return expirationTime != null && expirationTime <= nowMillis;
        }
    }

    public static final String PASSING = "passing";
    public static final String WARNING = "warning";
    public static final String CRITICAL = "critical";
    public static final String SERF_HEALTH = "serfHealth";

    public static boolean isValidStatus(String s) {
        return PASSING.equals(s) || WARNING.equals(s) || CRITICAL.equals(s);
    }
}

package io.failoverkit.discovery.agent;

import org.apache.ratis.thirdparty.io.grpc.CallOptions;
import org.apache.ratis.thirdparty.io.grpc.ChannelCredentials;
import org.apache.ratis.thirdparty.io.grpc.Grpc;
import org.apache.ratis.thirdparty.io.grpc.InsecureChannelCredentials;
import org.apache.ratis.thirdparty.io.grpc.ManagedChannel;
import org.apache.ratis.thirdparty.io.grpc.MethodDescriptor;
import org.apache.ratis.thirdparty.io.grpc.StatusRuntimeException;
import org.apache.ratis.thirdparty.io.grpc.TlsChannelCredentials;
import org.apache.ratis.thirdparty.io.grpc.stub.ClientCalls;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Consul's GRPC check: the standard gRPC health protocol (grpc.health.v1.Health/Check), through grpc-java as Apache
 * Ratis ships it (shaded in ratis-thirdparty-misc, already on the classpath for Raft). The two messages have one field
 * each, so they are encoded here by hand instead of with generated protobuf classes.
 */
public final class GrpcHealth implements AutoCloseable {
    /** grpc.health.v1.HealthCheckResponse.ServingStatus, by number. */
    public static final String[] STATUS = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};

    /** The Check method: HealthCheckRequest{string service = 1} to HealthCheckResponse{ServingStatus status = 1}. */
    public static final MethodDescriptor<String, Integer> CHECK = MethodDescriptor.<String, Integer>newBuilder()
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName("grpc.health.v1.Health/Check")
            .setRequestMarshaller(new FieldOne<>(true))
            .setResponseMarshaller(new FieldOne<>(false))
            .build();

    private final ManagedChannel channel;
    private final String service;
    private final String target;

    /** {@code spec} is Consul's GRPC field: host:port, optionally followed by /service. */
    public GrpcHealth(String spec, boolean useTls, boolean tlsSkipVerify) {
        int slash = spec.indexOf('/');
        this.target = slash < 0 ? spec : spec.substring(0, slash);
        this.service = slash < 0 ? "" : spec.substring(slash + 1);
        ChannelCredentials creds;
        if (!useTls) creds = InsecureChannelCredentials.create();
        else if (tlsSkipVerify) creds = TlsChannelCredentials.newBuilder().trustManager(HttpCheckClients.TRUST_ALL).build();
        else creds = TlsChannelCredentials.create();
        this.channel = Grpc.newChannelBuilder(target, creds).build();
    }

    /** One probe: passing when the server says SERVING, critical otherwise (with what it said). */
    public String[] probe(Duration timeout) {
        try {
            Integer status = ClientCalls.blockingUnaryCall(channel, CHECK,
                    CallOptions.DEFAULT.withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS), service);
            int s = status == null ? 0 : status;
            String name = s >= 0 && s < STATUS.length ? STATUS[s] : Integer.toString(s);
            if (s == 1) return new String[]{"passing", "gRPC check " + target + "/" + service + ": success"};
            return new String[]{"critical", "gRPC check " + target + "/" + service + ": failed with status " + name};
        } catch (StatusRuntimeException e) {
            return new String[]{"critical", "gRPC check " + target + "/" + service + ": failed: " + e.getStatus()};
        }
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }

    /** A message whose one field (number 1) is a string (the request) or a varint (the response's status). */
    private static final class FieldOne<T> implements MethodDescriptor.Marshaller<T> {
        private final boolean string;

        FieldOne(boolean string) { this.string = string; }

        @Override
        public InputStream stream(T value) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (string) {
                byte[] b = ((String) value).getBytes(StandardCharsets.UTF_8);
                if (b.length > 0) {
                    out.write(0x0A);
                    varint(out, b.length);
                    out.write(b, 0, b.length);
                }
            } else {
                int v = (Integer) value;
                if (v != 0) {
                    out.write(0x08);
                    varint(out, v);
                }
            }
            return new ByteArrayInputStream(out.toByteArray());
        }

        @Override
        @SuppressWarnings("unchecked")
        public T parse(InputStream stream) {
            try {
                byte[] b = stream.readAllBytes();
                int[] pos = {0};
                Object result = string ? "" : (Object) 0;
                while (pos[0] < b.length) {
                    long key = readVarint(b, pos);
                    int field = (int) (key >>> 3);
                    int wire = (int) (key & 7);
                    switch (wire) {
                        case 0 -> {
                            long v = readVarint(b, pos);
                            if (field == 1 && !string) result = (int) v;
                        }
                        case 2 -> {
                            int len = (int) readVarint(b, pos);
                            if (len < 0 || pos[0] + len > b.length) throw new IOException("truncated field");
                            if (field == 1 && string) result = new String(b, pos[0], len, StandardCharsets.UTF_8);
                            pos[0] += len;
                        }
                        case 1 -> pos[0] += 8;
                        case 5 -> pos[0] += 4;
                        default -> throw new IOException("unsupported wire type " + wire);
                    }
                }
                return (T) result;
            } catch (IOException e) {
                throw new IllegalArgumentException("malformed grpc.health.v1 message: " + e.getMessage(), e);
            }
        }

        private static void varint(ByteArrayOutputStream out, long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) ((v & 0x7F) | 0x80));
                v >>>= 7;
            }
            out.write((int) v);
        }

        private static long readVarint(byte[] b, int[] pos) throws IOException {
            long v = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos[0] >= b.length) throw new IOException("truncated varint");
                byte x = b[pos[0]++];
                v |= (long) (x & 0x7F) << shift;
                if ((x & 0x80) == 0) return v;
            }
            throw new IOException("varint too long");
        }
    }
}

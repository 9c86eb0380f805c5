package io.failoverkit.failover.drill.containers;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.transport.DockerHttpClient;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import org.testcontainers.DockerClientFactory;

import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The Docker engine and the lab images for the container drills.
 *
 * <p>Images (system property / environment variable, default): MariaDB {@code failoverkit.lab.mariadb.image} /
 * {@code FAILOVERKIT_LAB_MARIADB_IMAGE}, {@value #LAB_MARIADB_IMAGE}; Redis {@code failoverkit.lab.redis.image} /
 * {@code FAILOVERKIT_LAB_REDIS_IMAGE}, {@value #LAB_REDIS_IMAGE}; MySQL 8 {@code failoverkit.lab.mysql.image} /
 * {@code FAILOVERKIT_LAB_MYSQL_IMAGE}, {@value #MYSQL_IMAGE}. The two {@code failoverkit-lab/} images are built
 * locally from Debian packages by {@code bin/lab-images} and keep the official images' entrypoint contract, so the
 * module classes (MariaDBContainer, MySQLContainer, RedisContainer) run them as they run {@code mariadb:10.11},
 * {@code mysql:8.4} and {@code redis:7.4}: each is declared a compatible substitute for its official name
 * ({@link #image}). Debian has no MySQL 8 package: the MySQL drills run only where a {@code mysql} image is present
 * in the engine ({@code docker pull mysql:8.4}), and skip saying so elsewhere, CI included.
 *
 * <p>Engine API version: Testcontainers 2 asks for API 1.44 unless told otherwise, which engines older than Docker 25
 * (Debian 12's docker.io is 20.10, API 1.41) refuse. Unless {@code DOCKER_API_VERSION} or {@code api.version} is set,
 * the engine's own version is read from its unversioned {@code /version} endpoint and used when it is older, as the
 * docker CLI negotiates; newer engines keep Testcontainers' default. So plain {@code mvn} works on both.
 *
 * <p>Without an engine or a local lab image: {@link LabUnavailable} with the reason (the drills skip on it), except
 * under {@code CI=true}, where that is an {@link IllegalStateException}: CI must run them.
 */
public final class ContainerEngine {
    public static final String LAB_IMAGE = "failoverkit-lab/debian:bookworm";
    public static final String LAB_MARIADB_IMAGE = "failoverkit-lab/mariadb:10.11";
    public static final String LAB_REDIS_IMAGE = "failoverkit-lab/redis:7.0";
    public static final String MYSQL_IMAGE = "mysql:8.4";
    private static final int[] TESTCONTAINERS_DEFAULT_API = {1, 44};

    private ContainerEngine() {}

    public static String redisImage() { return setting("failoverkit.lab.redis.image", "FAILOVERKIT_LAB_REDIS_IMAGE", LAB_REDIS_IMAGE); }

    public static String mariaDbImage() { return setting("failoverkit.lab.mariadb.image", "FAILOVERKIT_LAB_MARIADB_IMAGE", LAB_MARIADB_IMAGE); }

    public static String mySqlImage() { return setting("failoverkit.lab.mysql.image", "FAILOVERKIT_LAB_MYSQL_IMAGE", MYSQL_IMAGE); }

    /** {@code name} as the module classes take it: a compatible substitute for the official image {@code official}. */
    public static org.testcontainers.utility.DockerImageName image(String name, String official) {
        return org.testcontainers.utility.DockerImageName.parse(name).asCompatibleSubstituteFor(official);
    }

    /**
     * The engine's client when {@code image} (a MySQL 8 image) is present in the engine; else {@link LabUnavailable}, under
     * CI too: Debian has no MySQL 8 package, so no such image can be built here, and none is pulled by the drills.
     */
    public static synchronized DockerClient requireMySql(String image) {
        DockerClient docker = require(image);
        try {
            docker.inspectImageCmd(image).exec();
        } catch (NotFoundException e) {
            throw new LabUnavailable("no MySQL 8 image " + image + " in the Docker engine (Debian has no MySQL 8"
                    + " package to build one from; where a registry answers: docker pull " + image + ", or set -Dfailoverkit.lab.mysql.image)");
        }
        return docker;
    }

    /** The engine's client, after checking that the engine answers and that {@code image} can be had; else {@link LabUnavailable} (or, under CI, IllegalStateException). */
    public static synchronized DockerClient require(String image) {
        String problem = problem(image);
        if (problem != null) unavailable(problem);
        return DockerClientFactory.instance().client();
    }

    /**
     * Null when the engine answers and {@code image} can be had (a {@code failoverkit-lab/} image must be built; others
     * the engine may pull); else why not, in a sentence.
     */
    public static synchronized String problem(String image) {
        String engineProblem = negotiateApiVersion();
        if (engineProblem == null && !DockerClientFactory.instance().isDockerAvailable()) {
            engineProblem = "Testcontainers found no usable Docker engine";
        }
        if (engineProblem != null) return engineProblem + " (bin/test starts one: dockerd --bridge=none --iptables=false --ip6tables=false)";
        if (image.startsWith("failoverkit-lab/")) {
            try {
                DockerClientFactory.instance().client().inspectImageCmd(image).exec();
            } catch (NotFoundException e) {
                return "the lab image " + image + " is not built: run bin/lab-images (bin/test does)";
            }
        }
        return null;
    }

    private static void unavailable(String reason) {
        if ("true".equals(System.getenv("CI"))) throw new IllegalStateException("container drill cannot run under CI: " + reason);
        throw new LabUnavailable(reason);
    }

    /** Null when the engine answered (and api.version is set if it needs an older API than Testcontainers' default); else why not. */
    private static String negotiateApiVersion() {
        String host = System.getenv().getOrDefault("DOCKER_HOST", "unix:///var/run/docker.sock");
        if (host.startsWith("unix://") && !Files.exists(Path.of(host.substring("unix://".length())))) {
            return "no Docker engine socket at " + host;
        }
        if (System.getenv("DOCKER_API_VERSION") != null || System.getProperty("api.version") != null) return null;
        try (DockerHttpClient http = new ZerodepDockerHttpClient.Builder().dockerHost(URI.create(host))
                .connectionTimeout(Duration.ofSeconds(5)).responseTimeout(Duration.ofSeconds(10)).build();
             DockerHttpClient.Response response = http.execute(DockerHttpClient.Request.builder()
                     .method(DockerHttpClient.Request.Method.GET).path("/version").build());
             InputStream body = response.getBody()) {
            if (response.getStatusCode() != 200) return "the Docker engine at " + host + " answered /version with HTTP " + response.getStatusCode();
            String api = new ObjectMapper().readTree(body).path("ApiVersion").asText("");
            if (api.isEmpty()) return "the Docker engine at " + host + " did not report its API version";
            if (olderThan(api, TESTCONTAINERS_DEFAULT_API)) System.setProperty("api.version", api);
            return null;
        } catch (Exception e) {
            return "the Docker engine at " + host + " does not answer: " + e;
        }
    }

    public static boolean olderThan(String api, int[] than) {
        String[] parts = api.split("\\.");
        int major = Integer.parseInt(parts[0]), minor = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
        return major < than[0] || (major == than[0] && minor < than[1]);
    }

    /** Sends {@code signal} (KILL, STOP, CONT) to the container's PID 1, the server itself in the labs' images. */
    public static void signal(DockerClient docker, org.testcontainers.containers.GenericContainer<?> container, String what, String signal) {
        if (container == null) throw new IllegalStateException(what + " has no container");
        docker.killContainerCmd(container.getContainerId()).withSignal(signal).exec();
    }

    /** Stops and removes a lab container whatever its state: a frozen one is thawed first so that it can stop. */
    public static void remove(DockerClient docker, org.testcontainers.containers.GenericContainer<?> container) {
        try {
            if (container.isRunning()) signal(docker, container, "container", "CONT");
        } catch (RuntimeException ignored) {
            // it may have exited meanwhile
        }
        container.stop();
    }

    /** A log consumer appending the container's output to {@code log}. */
    public static java.util.function.Consumer<org.testcontainers.containers.output.OutputFrame> appendTo(java.nio.file.Path log) {
        return frame -> {
            try {
                java.nio.file.Files.writeString(log, frame.getUtf8String(), java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        };
    }

    private static String setting(String property, String env, String fallback) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) v = System.getenv(env);
        return v == null || v.isBlank() ? fallback : v;
    }
}

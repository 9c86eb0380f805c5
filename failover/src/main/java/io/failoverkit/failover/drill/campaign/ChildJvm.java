package io.failoverkit.failover.drill.campaign;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Starts the campaign's own processes (managers, discovery servers) as child JVMs on this JVM's class path, so they
 * can be SIGKILLed like any server; without the discovery node's classes here (`bin/failover` runs only the failover
 * jar) a discovery server is started through {@code $FAILOVERKIT_HOME/bin/discovery-node}.
 */
public final class ChildJvm {
    private ChildJvm() {}

    static Process start(String mainClass, List<String> args, Map<String, String> env, Path log) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(java(), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k",
                "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        return pb.start();
    }

    /** A discovery-node agent with {@code args}: in a child JVM when its classes are on this class path, else through bin/discovery-node. */
    public static Process discoveryNode(List<String> args, Path log) throws IOException {
        String main = "io.failoverkit.discovery.Main";
        try {
            Class.forName(main, false, ChildJvm.class.getClassLoader());
            List<String> a = new ArrayList<>(List.of("agent"));
            a.addAll(args);
            return start(main, a, Map.of(), log);
        } catch (ClassNotFoundException e) {
            List<String> cmd = new ArrayList<>(List.of(java(), "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED",
                    "-jar", discoveryJar().toString(), "agent"));
            cmd.addAll(args);
            return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        }
    }

    private static Path discoveryJar;

    /**
     * The discovery-node jar, built once through bin/discovery-node (which builds it when missing or stale) and then
     * run directly, so that a server restarted mid-campaign never waits for a rebuild.
     */
    private static synchronized Path discoveryJar() throws IOException {
        if (discoveryJar != null) return discoveryJar;
        String home = System.getenv("FAILOVERKIT_HOME");
        Path launcher = home == null ? null : Path.of(home, "bin", "discovery-node");
        if (launcher == null || !Files.isExecutable(launcher)) {
            throw new IOException("no discovery node to start: run through bin/failover (FAILOVERKIT_HOME) or with discovery-node on the class path");
        }
        try {
            Process p = new ProcessBuilder(launcher.toString(), "--version").redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(10, java.util.concurrent.TimeUnit.MINUTES) || p.exitValue() != 0) throw new IOException(launcher + " --version failed");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        Path jar = Path.of(home, "discovery-node", "target", "discovery-node.jar");
        if (!Files.isRegularFile(jar)) throw new IOException(jar + " missing after " + launcher + " --version");
        discoveryJar = jar;
        return jar;
    }

    private static String java() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }
}

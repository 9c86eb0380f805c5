package io.failoverkit.drills;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The benchmarks' Java harnesses (bench/*.java, run by the bench scripts with Java's source launcher) compile against
 * the project's current API, so a change to the failover core breaks the build here, not a bench run months later.
 */
class BenchSourcesCompileTest {
    @TempDir Path out;

    @Test
    void benchHarnessesCompileAgainstTheCurrentCode() throws IOException {
        Path bench = Path.of(System.getProperty("user.dir")).resolve("../bench").normalize();
        List<Path> sources;
        try (Stream<Path> s = Files.list(bench)) {
            sources = s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
        assertThat(sources).as("Java sources under " + bench).isNotEmpty();
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null, null)) {
            boolean ok = javac.getTask(null, files, diagnostics,
                    List.of("--release", "21", "-proc:none", "-d", out.toString(), "-cp", System.getProperty("java.class.path")),
                    null, files.getJavaFileObjectsFromPaths(sources)).call();
            assertThat(ok).as(() -> "bench sources compile: " + diagnostics.getDiagnostics()).isTrue();
        }
    }
}

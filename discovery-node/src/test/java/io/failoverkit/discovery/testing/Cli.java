package io.failoverkit.discovery.testing;

import io.failoverkit.discovery.Main;

import java.io.PrintWriter;
import java.io.StringWriter;

/** discovery-node's command line run in this JVM as {@code main} runs it (Main.commandLine(): its exit codes), output captured. */
public final class Cli {
    private Cli() {}

    /** The exit code and what the command wrote on its stdout and stderr. */
    public record Run(int code, String out, String err) {}

    public static Run run(String... args) {
        var cl = Main.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }
}

package io.failoverkit.checks;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** checks: nagios-style health checks (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN). Checks arrive with the Redis and MySQL issues. */
@Command(name = "checks", mixinStandardHelpOptions = true, version = "checks 0.1.0",
        description = "Nagios-style health checks for failoverkit (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).")
public final class Main implements Runnable {
    public static final int EX_USAGE = 64;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required (none is available in this build yet)");
    }

    public static void main(String[] args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println(ex.getMessage());
            ex.getCommandLine().usage(ex.getCommandLine().getErr());
            return EX_USAGE;
        });
        System.exit(cl.execute(args));
    }
}

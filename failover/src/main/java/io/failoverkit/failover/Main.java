package io.failoverkit.failover;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** failover: the HA manager for MySQL and Redis masters. Its commands arrive with the Redis and MySQL issues. */
@Command(name = "failover", mixinStandardHelpOptions = true, version = "failover 0.1.0",
        description = "Failover manager for MySQL and Redis masters (promote, status, watch, drill).")
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

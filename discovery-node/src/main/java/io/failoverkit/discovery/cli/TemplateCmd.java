package io.failoverkit.discovery.cli;

import io.failoverkit.discovery.template.AgentReader;
import io.failoverkit.discovery.template.Template;
import io.failoverkit.discovery.template.TemplateException;
import io.failoverkit.discovery.template.TemplateRunner;
import io.failoverkit.discovery.template.TemplateSpec;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code discovery-node template}: consul-template's job. Renders Go text/template files with consul-template's
 * functions from the agent's catalog, health and KV, re-renders on change, and runs each template's command when
 * its output changed.
 */
@Command(name = "template", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Renders consul-template templates from the agent's data and keeps them up to date.",
                "Each -template is in:out[:command]; the command runs through sh -c when the output changed, once per quiescent burst."})
public final class TemplateCmd implements Callable<Integer> {
    static final int EX_USAGE = 64;

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "-template", paramLabel = "IN:OUT[:COMMAND]", description = "A template to render (repeatable).")
    List<String> templates = new ArrayList<>();
    @Option(names = "-wait", paramLabel = "MIN[:MAX]", description = "Quiescence: render after MIN without change, at most MAX after the first (default off; MAX defaults to 4*MIN).")
    String waitFlag;
    @Option(names = "-once", description = "Render every template once, run the commands, and exit.") boolean once;
    @Option(names = "-dry", description = "Print the renderings to stdout (\"> OUT\" then the text); write nothing, run nothing.") boolean dry;
    @CommandLine.Mixin AgentHttp http;
    @Option(names = "-consul-retry-attempts", paramLabel = "N", description = "Failed queries in a row before giving up (default 12; 0 retries for ever).") int retryAttempts = 12;
    @Option(names = "-consul-retry-backoff", paramLabel = "DURATION", description = "First wait after a failed query, doubled each time (default 250ms).") String retryBackoff = "250ms";
    @Option(names = "-consul-retry-max-backoff", paramLabel = "DURATION", description = "Longest wait between retries (default 1m).") String retryMaxBackoff = "1m";
    @Option(names = "-log-level", paramLabel = "LEVEL", description = "trace, debug, info, warn, error (default info).") String logLevel = "info";

    @Override
    public Integer call() throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", logLevel);
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        if (templates.isEmpty()) throw http.usage("at least one -template in:out[:command] is required");
        List<TemplateSpec> specs = new ArrayList<>();
        TemplateSpec.Wait wait = new TemplateSpec.Wait(java.time.Duration.ZERO, java.time.Duration.ZERO);
        java.time.Duration backoff, maxBackoff;
        try {
            for (String t : templates) {
                TemplateSpec s = TemplateSpec.parse(t);
                if (s.destination() == null && !dry) throw new IllegalArgumentException("-template " + t + ": a destination is required (in:out[:command]) unless -dry");
                specs.add(s);
            }
            if (waitFlag != null) wait = TemplateSpec.Wait.parse(waitFlag);
            if (retryAttempts < 0) throw new IllegalArgumentException("-consul-retry-attempts must not be negative");
            backoff = io.failoverkit.discovery.config.Durations.parse(retryBackoff);
            maxBackoff = io.failoverkit.discovery.config.Durations.parse(retryMaxBackoff);
        } catch (IllegalArgumentException e) {
            throw http.usage(e.getMessage());
        }
        http.base(); // a bad -http-addr or an unreadable token file is a usage error, before anything runs
        Map<TemplateSpec, Template> parsed;
        try {
            parsed = TemplateRunner.load(specs);
        } catch (TemplateException e) {
            System.err.println("Error parsing template: " + e.getMessage());
            return EX_USAGE;
        } catch (IOException e) {
            System.err.println("Error reading template: " + e);
            return EX_USAGE;
        }
        var opts = TemplateRunner.Options.defaults().withWait(wait).withOnce(once).withDry(dry, spec.commandLine().getOut())
                .withRetries(retryAttempts == 0 ? Integer.MAX_VALUE : retryAttempts, backoff, maxBackoff);
        TemplateRunner runner = new TemplateRunner(new AgentReader(http), parsed, opts);
        Thread hook = new Thread(runner::stop, "template shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return runner.run();
        } catch (InterruptedException e) {
            return 0;
        } finally {
            try { Runtime.getRuntime().removeShutdownHook(hook); } catch (IllegalStateException ignored) { /* shutting down */ }
        }
    }
}

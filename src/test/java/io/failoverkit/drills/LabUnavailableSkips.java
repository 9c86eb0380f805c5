package io.failoverkit.drills;

import io.failoverkit.failover.drill.containers.LabUnavailable;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.opentest4j.TestAbortedException;

/**
 * A container drill whose lab cannot be had here ({@link LabUnavailable}: no engine, a lab image not built, no MySQL 8
 * image) is skipped with the reason, never silently. Under CI a missing engine or lab image is not a LabUnavailable
 * but a failure (ContainerEngine); a missing MySQL 8 image is skipped there too (Debian has no MySQL 8 package).
 */
final class LabUnavailableSkips implements TestExecutionExceptionHandler {
    @Override
    public void handleTestExecutionException(ExtensionContext context, Throwable t) throws Throwable {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof LabUnavailable u) throw new TestAbortedException("container drill skipped: " + u.getMessage(), t);
        }
        throw t;
    }
}

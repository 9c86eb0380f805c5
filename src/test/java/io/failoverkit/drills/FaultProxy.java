package io.failoverkit.drills;

import java.io.IOException;

/** The drills' name for {@link io.failoverkit.failover.drill.FaultProxy} (which moved to the failover module for the campaign). */
final class FaultProxy extends io.failoverkit.failover.drill.FaultProxy {
    FaultProxy(String target) throws IOException {
        super(target);
    }
}

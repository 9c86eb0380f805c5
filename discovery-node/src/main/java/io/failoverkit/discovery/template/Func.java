package io.failoverkit.discovery.template;

import java.util.List;

/** A template function. Throws {@link FuncError} for a bad argument or a failed lookup. */
@FunctionalInterface
public interface Func {
    Object call(List<Object> args);

    /** An error a function reports; the executor adds the position and the function's name. */
    final class FuncError extends RuntimeException {
        public FuncError(String message) { super(message, null, false, false); }
    }
}

package dev.skyport.samples.notebook.kernel;

import jdk.jshell.execution.DirectExecutionControl;
import jdk.jshell.spi.ExecutionControl;
import jdk.jshell.spi.ExecutionControlProvider;
import jdk.jshell.spi.ExecutionEnv;

import java.lang.reflect.Method;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs snippets in the kernel's own JVM, on the thread that evaluates the cell, and keeps each snippet's value as an
 * object. JShell's own execution controls hand back only a string of the value; a notebook needs the object itself
 * to render a {@code Job} as a table or a chart as a PNG. The string JShell gets is a key into {@link #values}.
 *
 * <p>Not {@code LocalExecutionControl}: it runs each snippet on a thread of its own and then joins every thread of
 * that thread's group, so a cell that starts an engine (whose threads it creates join the group) would never end.
 */
final class ValueKeepingExecutionControl extends DirectExecutionControl {
    private static final String KEY_PREFIX = "\u0000skyport-value-";

    private final Map<String, Object> values;
    private final AtomicLong next = new AtomicLong();

    private ValueKeepingExecutionControl(Map<String, Object> values) {
        this.values = values;
    }

    @Override
    protected String invoke(Method doitMethod) throws Exception {
        Object value = doitMethod.invoke(null);
        if (value == null) {
            return "null";
        }
        String key = KEY_PREFIX + next.incrementAndGet();
        values.put(key, value);
        return key;
    }

    /** The values of the snippets run so far, by the key JShell reports as each snippet's value. */
    static final class Values {
        private final Map<String, Object> byKey = new ConcurrentHashMap<>();

        /** The object behind a snippet event's value text; empty for {@code null} or a value that is not a key. */
        Optional<Object> take(String valueText) {
            return valueText == null ? Optional.empty() : Optional.ofNullable(byKey.remove(valueText));
        }

        void clear() {
            byKey.clear();
        }

        ExecutionControlProvider provider() {
            return new ExecutionControlProvider() {
                @Override
                public String name() {
                    return "skyport-direct";
                }

                @Override
                public ExecutionControl generate(ExecutionEnv env, Map<String, String> parameters) {
                    return new ValueKeepingExecutionControl(byKey);
                }
            };
        }
    }
}

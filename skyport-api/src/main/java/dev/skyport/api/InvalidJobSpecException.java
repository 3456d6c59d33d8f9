package dev.skyport.api;

import java.util.Objects;
import java.util.OptionalInt;

/**
 * A job specification, a {@code #SWM} directive or a submission is not acceptable. Nothing was stored.
 * {@link #field()} names the offending field (for directives: the directive key), {@link #line()} the script line
 * when the problem came from a {@code #SWM} directive.
 */
public class InvalidJobSpecException extends SkyPortException {
    private final String field;
    private final String reason;
    private final int line;

    public InvalidJobSpecException(String field, String reason) {
        this(field, reason, 0);
    }

    /** A problem at script line {@code line} (1-based); 0 when the problem is not tied to a line. */
    public InvalidJobSpecException(String field, String reason, int line) {
        super(format(field, reason, line));
        this.field = Objects.requireNonNull(field, "field");
        this.reason = Objects.requireNonNull(reason, "reason");
        this.line = line;
    }

    private static String format(String field, String reason, int line) {
        return line > 0 ? "line " + line + ": #SWM " + field + ": " + reason : field + ": " + reason;
    }

    /** The field or directive that is wrong, e.g. {@code cpus} or {@code gpus}. */
    public String field() {
        return field;
    }

    /** Why it is wrong, without the field name. */
    public String reason() {
        return reason;
    }

    /** The 1-based script line of the offending directive, when there is one. */
    public OptionalInt line() {
        return line > 0 ? OptionalInt.of(line) : OptionalInt.empty();
    }
}

package dev.skyport.api;

import java.util.Objects;
import java.util.OptionalInt;

/**
 * A job specification, a {@code #SWM} directive or a submission is not acceptable. Nothing was stored.
 * {@link #field()} names the offending field (for directives: the directive key), {@link #line()} the script line
 * when the problem came from a {@code #SWM} directive, {@link #batchIndex()} the spec's place in the list when the
 * problem came from {@link Jobs#submitAll}.
 */
public class InvalidJobSpecException extends SkyPortException {
    /** The field at fault, as the API names it. */
    private final String field;
    /** Why the value is wrong, without the field name. */
    private final String reason;
    /** The script line at fault, from 1; 0 when the error is not on a line. */
    private final int line;
    /** The spec's index in a batch; -1 when the problem is not tied to one. */
    private final int batchIndex;

    /**
     * A wrong value that is not on a script line.
     *
     * @param field the field at fault
     * @param reason why the value is wrong
     */
    public InvalidJobSpecException(String field, String reason) {
        this(field, reason, 0);
    }

    /**
     * A problem at script line {@code line} (1-based); 0 when the problem is not tied to a line.
     *
     * @param field the field at fault
     * @param reason why the value is wrong
     * @param line the script line at fault, from 1; 0 when it is not on a line
     */
    public InvalidJobSpecException(String field, String reason, int line) {
        this(field, reason, line, -1);
    }

    /**
     * As the public constructors, for spec {@code batchIndex} of a batch (-1: none); for subclasses' copies.
     *
     * @param field the field at fault
     * @param reason why the value is wrong
     * @param line the script line at fault, from 1; 0 when it is not on a line
     * @param batchIndex the index of the refused spec in a batch submission
     */
    protected InvalidJobSpecException(String field, String reason, int line, int batchIndex) {
        super(format(field, reason, line, batchIndex));
        this.field = Objects.requireNonNull(field, "field");
        this.reason = Objects.requireNonNull(reason, "reason");
        this.line = line;
        this.batchIndex = Math.max(-1, batchIndex);
    }

    private static String format(String field, String reason, int line, int batchIndex) {
        String what = line > 0 ? "line " + line + ": #SWM " + field + ": " + reason : field + ": " + reason;
        return batchIndex >= 0 ? "spec " + batchIndex + " of the batch: " + what : what;
    }

    /**
     * {@return this problem, found in spec {@code index} (0-based) of a batch: a copy that says so in
     * {@link #batchIndex()} and its message} Subclasses return their own type.
     *
     * @param index the index of this spec in the batch, from 0
     * @throws IllegalArgumentException when {@code index} is negative
     */
    public InvalidJobSpecException inBatchAt(int index) {
        checkIndex(index);
        InvalidJobSpecException copy = new InvalidJobSpecException(field, reason, line, index);
        copy.setStackTrace(getStackTrace());
        return copy;
    }

    /**
     * For {@link #inBatchAt} of subclasses.
     *
     * @param index a batch index
     */
    protected static void checkIndex(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("a batch index is not negative, got " + index);
        }
    }

    /**
     * {@return the 0-based index of the offending spec in the list given to {@link Jobs#submitAll}, when there is one}
     */
    public OptionalInt batchIndex() {
        return batchIndex >= 0 ? OptionalInt.of(batchIndex) : OptionalInt.empty();
    }

    /** {@return the field or directive that is wrong, e.g. {@code cpus} or {@code gpus}} */
    public String field() {
        return field;
    }

    /** {@return why it is wrong, without the field name} */
    public String reason() {
        return reason;
    }

    /** {@return the 1-based script line of the offending directive, when there is one} */
    public OptionalInt line() {
        return line > 0 ? OptionalInt.of(line) : OptionalInt.empty();
    }
}

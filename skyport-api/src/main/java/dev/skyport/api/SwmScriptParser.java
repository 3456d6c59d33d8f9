package dev.skyport.api;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the {@code #SWM} directives of a job script into a {@link JobSpec.Builder}. The builder's script is the
 * original text, unchanged: directives only describe the job, the whole script is what runs.
 *
 * <p>Grammar (user documentation with examples: {@code docs/swm-directives.md}):
 * <ul>
 *   <li>Line endings {@code \r\n} and {@code \r} count as {@code \n}; lines are numbered from 1, empty lines
 *       included. Every line of the script is scanned, as upstream does, including lines after commands and inside
 *       heredocs.</li>
 *   <li>A directive is a line whose first blank-separated token, after optional spaces or tabs, is exactly
 *       {@code #SWM}. The next token is the key; the rest of the line, trimmed of spaces and tabs, is the value.
 *       {@code # SWM}, {@code #swm} and {@code #SWMkey} are ordinary comments. A bare {@code #SWM} is ignored with a
 *       warning.</li>
 *   <li>Keys: {@code name}, {@code comment}, {@code account}, {@code flavor}, {@code cloud-image},
 *       {@code container-image}, {@code submission-address}, {@code workdir}, {@code storage} (text values);
 *       {@code image} (deprecated alias of {@code container-image}); {@code ports} ({@code port/proto/in|out,...});
 *       {@code gpus} (non-negative integer, 0 = none); {@code relocatable} ([true|yes|false|no]);
 *       {@code input-files} and {@code output-files} (blank-separated paths, accumulated over lines); and the
 *       Sky Port for Java extensions {@code nodes}, {@code cpus}, {@code mem}, {@code time}, {@code priority},
 *       {@code env NAME=VALUE} and {@code tag KEY=VALUE}. {@code stdin}, {@code stdout} and {@code stderr} are
 *       rejected. Any other key is ignored with a warning.</li>
 *   <li>A repeated single-valued directive replaces the earlier value and adds a warning; {@code input-files},
 *       {@code output-files}, {@code env} and {@code tag} accumulate.</li>
 * </ul>
 *
 * <p>Every malformed directive throws {@link InvalidJobSpecException} whose field is the directive key and whose line
 * is the 1-based script line. Warnings go to {@link JobSpec#warnings()} as {@code line N: ...}. Not thread-safe; each
 * {@link #parse} call uses its own instance.
 */
final class SwmScriptParser {
    private static final String MARKER = "#SWM";
    private static final Pattern DIGITS = Pattern.compile("[0-9]+");
    private static final Pattern SIGNED_DIGITS = Pattern.compile("[-+]?[0-9]+");
    private static final Pattern MEMORY = Pattern.compile("([0-9]+)(?:([KMGT])(?:I?B)?)?", Pattern.CASE_INSENSITIVE);
    // Slurm's --time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S.
    private static final Pattern TIME_WITH_DAYS = Pattern.compile("([0-9]+)-([0-9]+)(?::([0-9]+)(?::([0-9]+))?)?");
    private static final Pattern TIME_WITHOUT_DAYS = Pattern.compile("([0-9]+)(?::([0-9]+)(?::([0-9]+))?)?");
    private static final String TIME_FORMATS = "expected minutes, M:S, H:M:S, D-H, D-H:M or D-H:M:S, got '";

    /** One {@code #SWM} line: the key, the trimmed value ("" when absent) and the 1-based line number. */
    private record Directive(String key, String value, int line) {
        boolean hasValue() {
            return !value.isEmpty();
        }
    }

    private final JobSpec.Builder builder;
    // Fields already set by a single-valued directive, to warn when a later line overrides one.
    private final Set<String> seen = new HashSet<>();

    private SwmScriptParser(JobSpec.Builder builder) {
        this.builder = builder;
    }

    /**
     * Parses {@code script} into a builder holding the script unchanged and the fields its directives set.
     *
     * @throws InvalidJobSpecException for an empty script (field {@code script}, no line) or a malformed directive
     *                                 (field = directive key, with the line)
     * @throws NullPointerException    when {@code script} is null
     */
    static JobSpec.Builder parse(String script) {
        Objects.requireNonNull(script, "script");
        if (script.isBlank()) {
            // Checked here so the reason matches JobSpec's own check, not the builder's generic "must not be blank".
            throw new InvalidJobSpecException("script", "is empty");
        }
        SwmScriptParser parser = new SwmScriptParser(JobSpec.builder().script(script));
        // split with -1 keeps trailing empty lines, so numbering matches what an editor shows.
        String[] lines = script.replace("\r\n", "\n").replace('\r', '\n').split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            parser.parseLine(lines[i], i + 1);
        }
        return parser.builder;
    }

    private void parseLine(String text, int line) {
        String rest = stripLeadingBlanks(text);
        if (!rest.startsWith(MARKER)) {
            return;
        }
        rest = rest.substring(MARKER.length());
        if (!rest.isEmpty() && !isBlank(rest.charAt(0))) {
            return; // "#SWMflavor x" or "#SWM-foo": an ordinary comment, as upstream
        }
        rest = stripLeadingBlanks(rest);
        if (rest.isEmpty()) {
            builder.warning("line " + line + ": empty " + MARKER + " directive ignored");
            return;
        }
        int end = 0;
        while (end < rest.length() && !isBlank(rest.charAt(end))) {
            end++;
        }
        apply(new Directive(rest.substring(0, end), stripBlanks(rest.substring(end)), line));
    }

    private void apply(Directive d) {
        try {
            switch (d.key()) {
                case "name" -> text(d, "name", builder::name);
                case "comment" -> text(d, "comment", builder::comment);
                case "account" -> text(d, "account", builder::account);
                case "flavor" -> optionalText(d, "flavor", builder::flavor);
                case "cloud-image" -> optionalText(d, "cloudImage", builder::cloudImage);
                case "remote-site" -> text(d, "remoteSite", builder::remoteSite);
                case "container-image" -> text(d, "containerImage", builder::containerImage);
                case "submission-address" -> text(d, "submissionAddress", builder::submissionAddress);
                case "workdir" -> text(d, "workdir", builder::workdir);
                case "storage" -> text(d, "storage", builder::storage);
                case "image" -> image(d);
                case "ports" -> ports(d);
                case "gpus" -> scalar(d, "gpus", () -> builder.gpus(integer(d, 0, "a non-negative integer")));
                case "relocatable" -> scalar(d, "relocatable", () -> builder.relocatable(yesNo(d)));
                case "input-files" -> paths(d).forEach(builder::inputFile);
                case "output-files" -> paths(d).forEach(builder::outputFile);
                case "stdin", "stdout", "stderr" -> throw error(d,
                        "not supported: the job's output is in stdout.log and stderr.log of its directory");
                case "nodes" -> scalar(d, "nodes", () -> builder.nodes(integer(d, 1, "a positive integer")));
                case "cpus" -> scalar(d, "cpus", () -> builder.cpus(integer(d, 1, "a positive integer")));
                case "mem" -> scalar(d, "memoryBytes", () -> builder.memoryBytes(memory(d)));
                case "time" -> scalar(d, "timeLimit", () -> builder.timeLimit(time(d)));
                case "priority" -> scalar(d, "priority", () -> builder.priority(priority(d)));
                case "env" -> keyValue(d, builder::env);
                case "tag" -> keyValue(d, builder::tag);
                default -> builder.warning(
                        "line " + d.line() + ": unknown directive " + MARKER + " " + Text.abbreviate(d.key()) + " ignored");
            }
        } catch (InvalidJobSpecException e) {
            if (e.line().isPresent()) {
                throw e;
            }
            // A builder setter or PortSpec rejected the value: report it against the directive and its line.
            throw new InvalidJobSpecException(d.key(), e.reason(), d.line());
        }
    }

    /** A single-valued directive with a text value, which it needs. */
    private void text(Directive d, String field, Consumer<String> setter) {
        scalar(d, field, () -> setter.accept(required(d)));
    }

    /**
     * The Jupyter spawner writes {@code #SWM flavor} and {@code #SWM cloud-image} with nothing after them when the user
     * selected none, and upstream ignores such lines; failing them would break the spawner's most common script.
     */
    private void optionalText(Directive d, String field, Consumer<String> setter) {
        if (d.hasValue()) {
            text(d, field, setter);
        } else {
            builder.warning("line " + d.line() + ": " + MARKER + " " + d.key() + " has no value; ignored");
        }
    }

    /** Applies a single-valued directive, warning when it overrides an earlier one for the same field. */
    private void scalar(Directive d, String field, Runnable set) {
        set.run();
        if (!seen.add(field)) {
            builder.warning("line " + d.line() + ": " + MARKER + " " + d.key() + " repeated; the last value wins");
        }
    }

    // Upstream examples and the Python client still write "#SWM image"; D.6 of the compat spec says never fail on it.
    private void image(Directive d) {
        builder.warning("line " + d.line() + ": " + MARKER + " image is deprecated; use container-image");
        if (d.hasValue()) {
            scalar(d, "containerImage", () -> builder.containerImage(d.value()));
        }
    }

    private void ports(Directive d) {
        String value = required(d);
        List<PortSpec> ports = new ArrayList<>();
        for (String item : value.split(",", -1)) {
            String trimmed = stripBlanks(item);
            if (trimmed.isEmpty()) {
                throw error(d, "empty item in '" + Text.abbreviate(value) + "'");
            }
            ports.add(PortSpec.parse(trimmed));
        }
        scalar(d, "ports", () -> builder.ports(ports));
    }

    private static boolean yesNo(Directive d) {
        return switch (d.value()) {
            case "", "true", "yes" -> true;
            case "false", "no" -> false;
            default -> throw error(d, "expected true, yes, false, no or nothing, got '" + Text.abbreviate(d.value()) + "'");
        };
    }

    /** Paths separated by blanks; none is fine (the Jupyter spawner writes the directive even without files). */
    private static List<String> paths(Directive d) {
        return d.hasValue() ? List.of(d.value().split("[ \t]+")) : List.of();
    }

    /** An unsigned decimal int of at least {@code min}; {@code expected} says what is allowed in the error. */
    private static int integer(Directive d, int min, String expected) {
        String value = required(d);
        try {
            if (DIGITS.matcher(value).matches()) {
                int n = Integer.parseInt(value);
                if (n >= min) {
                    return n;
                }
            }
        } catch (NumberFormatException tooLarge) {
            // Reported below with the same message as any other bad value.
        }
        throw error(d, "expected " + expected + ", got '" + Text.abbreviate(value) + "'");
    }

    private static int priority(Directive d) {
        String value = required(d);
        try {
            if (SIGNED_DIGITS.matcher(value).matches()) {
                return Integer.parseInt(value);
            }
        } catch (NumberFormatException tooLarge) {
            // Reported below with the same message as any other bad value.
        }
        throw error(d, "expected an integer, got '" + Text.abbreviate(value) + "'");
    }

    /** Bytes per node from {@code 512}, {@code 512M}, {@code 4G}, {@code 4GB} or {@code 4GiB} (all powers of 1024). */
    private static long memory(Directive d) {
        String value = required(d);
        Matcher m = MEMORY.matcher(value);
        String bad = "expected a positive size such as 4096, 512M, 4G or 4GiB, got '" + Text.abbreviate(value) + "'";
        if (!m.matches()) {
            throw error(d, bad);
        }
        int shift = m.group(2) == null ? 0 : 10 * ("KMGT".indexOf(m.group(2).toUpperCase(Locale.ROOT)) + 1);
        try {
            long amount = Long.parseLong(m.group(1));
            if (amount == 0) {
                throw error(d, bad);
            }
            if (amount > (Long.MAX_VALUE >> shift)) {
                throw error(d, "is too large: '" + Text.abbreviate(value) + "'");
            }
            return amount << shift;
        } catch (NumberFormatException tooLarge) {
            throw error(d, "is too large: '" + Text.abbreviate(value) + "'");
        }
    }

    /** A positive wall-clock limit in one of Slurm's {@code --time} formats. */
    private static Duration time(Directive d) {
        String value = required(d);
        Matcher withDays = TIME_WITH_DAYS.matcher(value);
        Matcher withoutDays = TIME_WITHOUT_DAYS.matcher(value);
        long days = 0;
        long hours = 0;
        long minutes = 0;
        long seconds = 0;
        try {
            if (withDays.matches()) {
                days = Long.parseLong(withDays.group(1));
                hours = below(d, "hours", withDays.group(2), 24);
                minutes = below(d, "minutes", withDays.group(3), 60);
                seconds = below(d, "seconds", withDays.group(4), 60);
            } else if (withoutDays.matches() && withoutDays.group(3) != null) {
                hours = Long.parseLong(withoutDays.group(1));
                minutes = below(d, "minutes", withoutDays.group(2), 60);
                seconds = below(d, "seconds", withoutDays.group(3), 60);
            } else if (withoutDays.matches()) {
                minutes = Long.parseLong(withoutDays.group(1));
                seconds = below(d, "seconds", withoutDays.group(2), 60);
            } else {
                throw error(d, TIME_FORMATS + Text.abbreviate(value) + "'");
            }
            Duration limit = Duration.ofDays(days).plusHours(hours).plusMinutes(minutes).plusSeconds(seconds);
            if (limit.isZero()) {
                throw error(d, "must be positive, got '" + Text.abbreviate(value) + "'");
            }
            return limit;
        } catch (NumberFormatException | ArithmeticException tooLarge) {
            throw error(d, "is too large: '" + Text.abbreviate(value) + "'");
        }
    }

    /** A time component after the first one: absent is 0, otherwise it must be below {@code limit}. */
    private static long below(Directive d, String unit, String digits, int limit) {
        if (digits == null) {
            return 0;
        }
        long n = Long.parseLong(digits);
        if (n >= limit) {
            throw error(d, unit + " must be below " + limit + " in '" + Text.abbreviate(d.value()) + "'");
        }
        return n;
    }

    /** {@code env} and {@code tag}: split at the first '=', so the value may hold '=' and blanks. */
    private static void keyValue(Directive d, BiConsumer<String, String> setter) {
        String value = required(d);
        int eq = value.indexOf('=');
        if (eq < 0) {
            throw error(d, "expected NAME=VALUE, got '" + Text.abbreviate(value) + "'");
        }
        setter.accept(value.substring(0, eq), value.substring(eq + 1));
    }

    private static String required(Directive d) {
        if (!d.hasValue()) {
            throw error(d, "needs a value");
        }
        return d.value();
    }

    private static InvalidJobSpecException error(Directive d, String reason) {
        return new InvalidJobSpecException(d.key(), reason, d.line());
    }

    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t';
    }

    private static String stripLeadingBlanks(String s) {
        int start = 0;
        while (start < s.length() && isBlank(s.charAt(start))) {
            start++;
        }
        return s.substring(start);
    }

    private static String stripBlanks(String s) {
        int end = s.length();
        while (end > 0 && isBlank(s.charAt(end - 1))) {
            end--;
        }
        return stripLeadingBlanks(s.substring(0, end));
    }
}

package dev.skyport.api;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One step of a {@link ContainerSteps} job: {@code command} (program and arguments, no shell) run in its own container
 * of {@code image}. {@code workdir} (absent: the image's own), {@code stdin}, {@code stdout} and {@code stderr} are
 * absolute paths inside the container; {@code stdin} must be the path of an input or lie in a volume or an output's
 * directory, {@code stdout} and {@code stderr} are written there when they lie in a volume or an output's directory
 * (and always kept, in part, in the step's {@link StepLog}). {@code env} is the step's own environment.
 * {@code ignoreError}: a non-zero exit of this step is recorded and the next step runs, instead of ending the job.
 *
 * <p>The checks (image reference, absolute paths, sizes) throw {@link InvalidJobSpecException} naming the field.
 *
 * @param image the container image the step runs in
 * @param command program and arguments, run without a shell
 * @param workdir the working directory inside the container; empty: the image's own
 * @param stdin the container path read as standard input
 * @param stdout the container path standard output is written to
 * @param stderr the container path standard error is written to
 * @param env the step's own environment variables
 * @param ignoreError whether a non-zero exit goes on to the next step instead of ending the job
 */
public record ContainerStep(String image, List<String> command, Optional<String> workdir, Optional<String> stdin,
                            Optional<String> stdout, Optional<String> stderr, Map<String, String> env,
                            boolean ignoreError) {
    private static final Pattern IMAGE_REFERENCE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/:@-]*");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param image the container image the step runs in
     * @param command program and arguments, run without a shell
     * @param workdir the working directory inside the container; empty: the image's own
     * @param stdin the container path read as standard input
     * @param stdout the container path standard output is written to
     * @param stderr the container path standard error is written to
     * @param env the step's own environment variables
     * @param ignoreError whether a non-zero exit goes on to the next step instead of ending the job
     * @throws InvalidJobSpecException when a component is out of its range (the message names it)
     */
    public ContainerStep {
        Objects.requireNonNull(image, "image");
        if (image.length() > JobSpec.MAX_IMAGE_LENGTH || !IMAGE_REFERENCE.matcher(image).matches()) {
            throw new InvalidJobSpecException("image", "must be a container image reference of at most "
                    + JobSpec.MAX_IMAGE_LENGTH + " characters: letters, digits, '.', '_', '/', ':', '@' and '-', "
                    + "beginning with a letter or digit");
        }
        command = List.copyOf(command);
        if (command.isEmpty() || command.get(0).isBlank()) {
            throw new InvalidJobSpecException("command", "must name a program");
        }
        if (command.size() > JobSpec.MAX_COMMAND_ARGUMENTS) {
            throw new InvalidJobSpecException("command", "has " + command.size() + " words; at most "
                    + JobSpec.MAX_COMMAND_ARGUMENTS + " are allowed");
        }
        long total = 0;
        for (String word : command) {
            total += word.length();
        }
        if (total > JobSpec.MAX_COMMAND_LENGTH) {
            throw new InvalidJobSpecException("command", "all words together are " + total
                    + " characters long; at most " + JobSpec.MAX_COMMAND_LENGTH + " are allowed");
        }
        ContainerSteps.absolute("workdir", workdir);
        ContainerSteps.absolute("stdin", stdin);
        ContainerSteps.absolute("stdout", stdout);
        ContainerSteps.absolute("stderr", stderr);
        env = Collections.unmodifiableMap(new LinkedHashMap<>(env));
        if (env.size() > JobSpec.MAX_ENV_VARIABLES) {
            throw new InvalidJobSpecException("env", "has " + env.size() + " variables; at most "
                    + JobSpec.MAX_ENV_VARIABLES + " are allowed");
        }
        long envTotal = 0;
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (e.getKey().length() > JobSpec.MAX_ENV_NAME_LENGTH || !ENV_NAME.matcher(e.getKey()).matches()) {
                throw new InvalidJobSpecException("env", "not a variable name: '" + Text.abbreviate(e.getKey())
                        + "'");
            }
            String v = Objects.requireNonNull(e.getValue(), "env value");
            if (v.indexOf('\n') >= 0 || v.indexOf('\r') >= 0 || v.indexOf('\0') >= 0) {
                throw new InvalidJobSpecException("env", "the value of " + e.getKey()
                        + " has a line break or NUL, which a container's environment cannot hold");
            }
            envTotal += e.getKey().length() + v.length();
        }
        if (envTotal > JobSpec.MAX_ENV_TOTAL_LENGTH) {
            throw new InvalidJobSpecException("env", "all variables together are " + envTotal
                    + " characters long; at most " + JobSpec.MAX_ENV_TOTAL_LENGTH + " are allowed");
        }
    }

    /**
     * {@return a step running {@code command} in {@code image} with nothing else set}
     *
     * @param command program and arguments, run without a shell
     * @param image the container image the step runs in
     */
    public static ContainerStep of(String image, String... command) {
        return new ContainerStep(image, List.of(command), Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Map.of(), false);
    }

    /**
     * {@return this step, going on to the next one when it fails ({@code true}) or ending the job ({@code false})}
     *
     * @param ignore true to go on to the next step after a failure
     */
    public ContainerStep withIgnoreError(boolean ignore) {
        return new ContainerStep(image, command, workdir, stdin, stdout, stderr, env, ignore);
    }
}

package dev.skyport.api;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What a user asks to run: a script (with {@code #SWM} directives) or a command, the resources per node, where and
 * how to run it. Immutable; build one with {@link #builder()} or parse a script with {@link #script(String)}.
 *
 * <p>Resources are per node: {@code cpus}, {@code memoryBytes} (0 means "no memory request") and {@code gpus} are
 * what each of the {@code nodes} nodes must have free. {@code warnings} carries what the parser kept but did not
 * understand (e.g. unknown directives), so that it reaches the job instead of being dropped.
 *
 * <p>Every builder setter checks its argument and throws {@link InvalidJobSpecException} naming the field.
 *
 * <p>Every free-text field has a maximum length (the {@code MAX_*} constants, in Java characters), and lists and
 * maps a maximum size, so that one submission cannot hold an unbounded amount of the engine's memory. The builder
 * (and so {@link #script(String)}) enforces them; the canonical constructor does not, so that jobs stored before a
 * limit existed stay readable. Front doors cite the constants in their documentation and errors.
 *
 * @param name the job's name
 * @param script the script to run; exactly one of script, command and container steps is given
 * @param command the program and arguments to run without a shell
 * @param containerImage the container image the job runs in
 * @param cloudImage the machine image new cloud nodes boot from
 * @param nodes how many nodes the job needs
 * @param cpus cpus per node
 * @param memoryBytes memory per node, in bytes; 0 for no request
 * @param gpus gpus per node
 * @param flavor the size of machine to create for it
 * @param remoteSite the site to run it at
 * @param relocatable whether the scheduler may choose another site
 * @param ports the ports it opens or reaches back to
 * @param inputFiles files on the engine's machine copied to the job's directory before it runs
 * @param outputFiles files copied back from the job's directory after it succeeded
 * @param workdir the directory it runs in; empty: its job directory
 * @param env environment variables of the job
 * @param account the account its usage is charged to
 * @param priority higher runs first where the scheduler honours priorities
 * @param timeLimit the wall-clock limit of one attempt
 * @param retryPolicy how failed attempts are retried
 * @param tags labels to find the job by
 * @param comment free text shown with the job
 * @param submissionAddress where {@code out} ports reach back to
 * @param storage a storage container the job uses
 * @param idempotencyKey the client's key that makes a repeated submission return the first job
 * @param warnings what the submission kept but did not understand
 * @param scriptOmitted whether the script's text was left out of this copy (a listing without scripts)
 * @param containerSteps the steps to run, each in a container image of its own
 */
public record JobSpec(
        String name,
        Optional<String> script,
        List<String> command,
        Optional<String> containerImage,
        Optional<String> cloudImage,
        int nodes,
        int cpus,
        long memoryBytes,
        int gpus,
        Optional<String> flavor,
        Optional<String> remoteSite,
        boolean relocatable,
        List<PortSpec> ports,
        List<String> inputFiles,
        List<String> outputFiles,
        Optional<String> workdir,
        Map<String, String> env,
        Optional<String> account,
        int priority,
        Optional<Duration> timeLimit,
        RetryPolicy retryPolicy,
        Map<String, String> tags,
        String comment,
        Optional<String> submissionAddress,
        Optional<String> storage,
        Optional<String> idempotencyKey,
        List<String> warnings,
        boolean scriptOmitted,
        Optional<ContainerSteps> containerSteps) {

    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    /** The longest time limit a job may ask for (ten years; "no limit" is no time limit at all). */
    public static final Duration MAX_TIME_LIMIT = Duration.ofDays(3650);
    /** Longest {@link #name()}, in characters (a file name's limit on most file systems is 255 bytes). */
    public static final int MAX_NAME_LENGTH = 256;
    /** Longest {@link #account()}, in characters. */
    public static final int MAX_ACCOUNT_LENGTH = 256;
    /** Longest {@link #comment()}, in characters. */
    public static final int MAX_COMMENT_LENGTH = 4096;
    /** Most {@link #tags()}: cloud tags end up on resources, and AWS allows 50 per resource, Azure 50. */
    public static final int MAX_TAGS = 64;
    /** Longest tag key, in characters (AWS: 128). */
    public static final int MAX_TAG_KEY_LENGTH = 128;
    /** Longest tag value, in characters (AWS and Azure: 256). */
    public static final int MAX_TAG_VALUE_LENGTH = 256;
    /** Most {@link #env()} variables. */
    public static final int MAX_ENV_VARIABLES = 1024;
    /** Longest environment variable name, in characters. */
    public static final int MAX_ENV_NAME_LENGTH = 256;
    /**
     * Longest environment variable value, in characters: Linux refuses to {@code execve} a program with one
     * {@code NAME=VALUE} string longer than 128 KiB (MAX_ARG_STRLEN), so a longer one could never run anyway.
     */
    public static final int MAX_ENV_VALUE_LENGTH = 128 * 1024;
    /** Most characters of all environment variables together, names and values. */
    public static final int MAX_ENV_TOTAL_LENGTH = 1024 * 1024;
    /** Longest path ({@link #workdir()}, each input and output file), in characters: Linux's PATH_MAX. */
    public static final int MAX_PATH_LENGTH = 4096;
    /** Most {@link #inputFiles()}, and most {@link #outputFiles()}. */
    public static final int MAX_FILES = 1024;
    /** Longest container or cloud image reference, in characters. */
    public static final int MAX_IMAGE_LENGTH = 1024;
    /**
     * Longest name of a thing the engine looks up ({@link #flavor()}, {@link #remoteSite()}, {@link #storage()}) or
     * address ({@link #submissionAddress()}), in characters.
     */
    public static final int MAX_IDENTIFIER_LENGTH = 256;
    /** Most {@link #ports()}. */
    public static final int MAX_PORTS = 64;
    /** Most {@link #command()} words, program included. */
    public static final int MAX_COMMAND_ARGUMENTS = 4096;
    /** Longest {@link #command()} word, in characters: Linux's MAX_ARG_STRLEN, as for environment values. */
    public static final int MAX_COMMAND_ARGUMENT_LENGTH = 128 * 1024;
    /** Most characters of all {@link #command()} words together. */
    public static final int MAX_COMMAND_LENGTH = 1024 * 1024;
    /** Longest {@link #warnings() warning}, in characters. */
    public static final int MAX_WARNING_LENGTH = 1024;
    /**
     * Most {@link #warnings()} a built spec keeps: past it the builder counts the rest and adds one warning saying how
     * many were dropped (a script of many unknown directives is still a valid script).
     */
    public static final int MAX_WARNINGS = 100;
    /** Longest {@link #idempotencyKey()}, in characters (Stripe's limit is 255; a UUID is 36). */
    public static final int MAX_IDEMPOTENCY_KEY_LENGTH = 255;

    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param name the job's name
     * @param script the script to run; exactly one of script, command and container steps is given
     * @param command the program and arguments to run without a shell
     * @param containerImage the container image the job runs in
     * @param cloudImage the machine image new cloud nodes boot from
     * @param nodes how many nodes the job needs
     * @param cpus cpus per node
     * @param memoryBytes memory per node, in bytes; 0 for no request
     * @param gpus gpus per node
     * @param flavor the size of machine to create for it
     * @param remoteSite the site to run it at
     * @param relocatable whether the scheduler may choose another site
     * @param ports the ports it opens or reaches back to
     * @param inputFiles files on the engine's machine copied to the job's directory before it runs
     * @param outputFiles files copied back from the job's directory after it succeeded
     * @param workdir the directory it runs in; empty: its job directory
     * @param env environment variables of the job
     * @param account the account its usage is charged to
     * @param priority higher runs first where the scheduler honours priorities
     * @param timeLimit the wall-clock limit of one attempt
     * @param retryPolicy how failed attempts are retried
     * @param tags labels to find the job by
     * @param comment free text shown with the job
     * @param submissionAddress where {@code out} ports reach back to
     * @param storage a storage container the job uses
     * @param idempotencyKey the client's key that makes a repeated submission return the first job
     * @param warnings what the submission kept but did not understand
     * @param scriptOmitted whether the script's text was left out of this copy (a listing without scripts)
     * @param containerSteps the steps to run, each in a container image of its own
     * @throws InvalidJobSpecException when a component is out of its range (the message names it)
     */
    public JobSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(script, "script");
        command = List.copyOf(command);
        Objects.requireNonNull(containerImage, "containerImage");
        Objects.requireNonNull(cloudImage, "cloudImage");
        Objects.requireNonNull(flavor, "flavor");
        Objects.requireNonNull(remoteSite, "remoteSite");
        ports = List.copyOf(ports);
        inputFiles = List.copyOf(inputFiles);
        outputFiles = List.copyOf(outputFiles);
        Objects.requireNonNull(workdir, "workdir");
        env = Collections.unmodifiableMap(new LinkedHashMap<>(env));
        Objects.requireNonNull(account, "account");
        Objects.requireNonNull(timeLimit, "timeLimit");
        Objects.requireNonNull(retryPolicy, "retryPolicy");
        tags = Collections.unmodifiableMap(new LinkedHashMap<>(tags));
        Objects.requireNonNull(comment, "comment");
        Objects.requireNonNull(submissionAddress, "submissionAddress");
        Objects.requireNonNull(storage, "storage");
        Objects.requireNonNull(idempotencyKey, "idempotencyKey");
        warnings = List.copyOf(warnings);
        Objects.requireNonNull(containerSteps, "containerSteps");
        int given = (script.isPresent() ? 1 : 0) + (command.isEmpty() ? 0 : 1) + (containerSteps.isPresent() ? 1 : 0);
        if (scriptOmitted ? script.isPresent() || !command.isEmpty() || containerSteps.isPresent() : given != 1) {
            throw new InvalidJobSpecException("script", "give exactly one of a script, a command or container steps");
        }
        if (containerSteps.isPresent() && containerImage.isPresent()) {
            throw new InvalidJobSpecException("containerImage", "a job with container steps has an image per step");
        }
        if (script.isPresent() && script.get().isBlank()) {
            throw new InvalidJobSpecException("script", "is empty");
        }
        positive("nodes", nodes);
        positive("cpus", cpus);
        if (timeLimit.isPresent() && (timeLimit.get().isNegative() || timeLimit.get().isZero()
                || timeLimit.get().compareTo(MAX_TIME_LIMIT) > 0)) {
            throw new InvalidJobSpecException("timeLimit", "must be positive and at most " + MAX_TIME_LIMIT.toDays()
                    + " days, got " + timeLimit.get());
        }
        if (memoryBytes < 0) {
            throw new InvalidJobSpecException("memoryBytes", "must not be negative, got " + memoryBytes);
        }
        if (gpus < 0) {
            throw new InvalidJobSpecException("gpus", "must not be negative, got " + gpus);
        }
    }

    /**
     * A spec without {@linkplain #containerSteps() container steps}: a script or a command.
     *
     * @param account the account its usage is charged to
     * @param cloudImage the machine image new cloud nodes boot from
     * @param command the program and arguments to run without a shell
     * @param comment free text shown with the job
     * @param containerImage the container image the job runs in
     * @param cpus cpus per node
     * @param env environment variables of the job
     * @param flavor the size of machine to create for it
     * @param gpus gpus per node
     * @param idempotencyKey the client's key that makes a repeated submission return the first job
     * @param inputFiles files on the engine's machine copied to the job's directory before it runs
     * @param memoryBytes memory per node, in bytes; 0 for no request
     * @param name the job's name
     * @param nodes how many nodes the job needs
     * @param outputFiles files copied back from the job's directory after it succeeded
     * @param ports the ports it opens or reaches back to
     * @param priority higher runs first where the scheduler honours priorities
     * @param relocatable whether the scheduler may choose another site
     * @param remoteSite the site to run it at
     * @param retryPolicy how failed attempts are retried
     * @param script the script to run; exactly one of script, command and container steps is given
     * @param scriptOmitted whether the script's text was left out of this copy (a listing without scripts)
     * @param storage a storage container the job uses
     * @param submissionAddress where {@code out} ports reach back to
     * @param tags labels to find the job by
     * @param timeLimit the wall-clock limit of one attempt
     * @param warnings what the submission kept but did not understand
     * @param workdir the directory it runs in; empty: its job directory
     */
    public JobSpec(String name, Optional<String> script, List<String> command, Optional<String> containerImage,
                   Optional<String> cloudImage, int nodes, int cpus, long memoryBytes, int gpus,
                   Optional<String> flavor, Optional<String> remoteSite, boolean relocatable, List<PortSpec> ports,
                   List<String> inputFiles, List<String> outputFiles, Optional<String> workdir,
                   Map<String, String> env, Optional<String> account, int priority, Optional<Duration> timeLimit,
                   RetryPolicy retryPolicy, Map<String, String> tags, String comment,
                   Optional<String> submissionAddress, Optional<String> storage, Optional<String> idempotencyKey,
                   List<String> warnings, boolean scriptOmitted) {
        this(name, script, command, containerImage, cloudImage, nodes, cpus, memoryBytes, gpus, flavor, remoteSite,
                relocatable, ports, inputFiles, outputFiles, workdir, env, account, priority, timeLimit, retryPolicy,
                tags, comment, submissionAddress, storage, idempotencyKey, warnings, scriptOmitted, Optional.empty());
    }

    /**
     * Parses a job script: every {@code #SWM} directive sets the matching field, the whole script is what runs.
     * The directive grammar is in {@code docs/swm-directives.md}.
     *
     * @param script the whole script, {@code #SWM} lines included
     * @return the spec
     * @throws InvalidJobSpecException naming the line and directive when a directive is malformed
     */
    public static JobSpec script(String script) {
        return SwmScriptParser.parse(script).build();
    }

    /**
     * Parses a job script into a builder, to adjust the spec before building it.
     *
     * @param script the whole script, {@code #SWM} lines included
     * @return this builder
     */
    public static Builder parseScript(String script) {
        return SwmScriptParser.parse(script);
    }

    /**
     * {@return a spec that runs {@code command} (program and arguments, no shell) with default resources}
     *
     * @param command the program and arguments to run without a shell
     */
    public static JobSpec command(String... command) {
        return builder().command(List.of(command)).build();
    }

    /**
     * {@return a builder with every field at its default; set a script, a command or container steps before building}
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * {@return this spec as a listing shows it when asked to leave scripts out ({@link JobQuery#withoutScripts()}): the
     * script's text is omitted ({@link #script()} is empty and {@link #scriptOmitted()} is true), everything else is
     * kept} A spec with a command, or already without its script, is returned as it is.
     */
    public JobSpec withoutScript() {
        if (script.isEmpty()) {
            return this;
        }
        return new JobSpec(name, Optional.empty(), command, containerImage, cloudImage, nodes, cpus, memoryBytes, gpus,
                flavor, remoteSite, relocatable, ports, inputFiles, outputFiles, workdir, env, account, priority,
                timeLimit, retryPolicy, tags, comment, submissionAddress, storage, idempotencyKey, warnings, true,
                containerSteps);
    }

    /**
     * A short text for logs and debuggers. Secrets travel in scripts, command arguments and environment values, so
     * none of those is printed: the script as its length, the command as its program and a count of arguments, the
     * environment as its names. Fields at their defaults are left out.
     */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("JobSpec[name=").append(name);
        if (script.isPresent()) {
            b.append(", script=<").append(script.get().length()).append(" chars>");
        } else if (scriptOmitted) {
            b.append(", script=<omitted>");
        } else if (containerSteps.isPresent()) {
            b.append(", steps=").append(containerSteps.get().steps().size());
        } else {
            b.append(", command=[").append(command.get(0));
            if (command.size() > 1) {
                b.append(" +").append(command.size() - 1).append(command.size() == 2 ? " arg" : " args");
            }
            b.append(']');
        }
        if (nodes != 1) {
            b.append(", nodes=").append(nodes);
        }
        b.append(", cpus=").append(cpus);
        if (memoryBytes > 0) {
            b.append(", memoryBytes=").append(memoryBytes);
        }
        if (gpus > 0) {
            b.append(", gpus=").append(gpus);
        }
        flavor.ifPresent(f -> b.append(", flavor=").append(f));
        remoteSite.ifPresent(r -> b.append(", remoteSite=").append(r));
        containerImage.ifPresent(i -> b.append(", containerImage=").append(i));
        account.ifPresent(a -> b.append(", account=").append(a));
        if (priority != 0) {
            b.append(", priority=").append(priority);
        }
        timeLimit.ifPresent(t -> b.append(", timeLimit=").append(t));
        if (!env.isEmpty()) {
            b.append(", env=").append(env.keySet()).append(" (values hidden)");
        }
        if (!warnings.isEmpty()) {
            b.append(", warnings=").append(warnings.size());
        }
        return b.append(']').toString();
    }

    /**
     * A builder holding this spec's values.
     *
     * @return this builder
     */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.name = name;
        b.script = script.orElse(null);
        b.command = new ArrayList<>(command);
        b.containerImage = containerImage.orElse(null);
        b.cloudImage = cloudImage.orElse(null);
        b.nodes = nodes;
        b.cpus = cpus;
        b.memoryBytes = memoryBytes;
        b.gpus = gpus;
        b.flavor = flavor.orElse(null);
        b.remoteSite = remoteSite.orElse(null);
        b.relocatable = relocatable;
        b.ports = new ArrayList<>(ports);
        b.inputFiles = new ArrayList<>(inputFiles);
        b.outputFiles = new ArrayList<>(outputFiles);
        b.workdir = workdir.orElse(null);
        b.env = new LinkedHashMap<>(env);
        b.account = account.orElse(null);
        b.priority = priority;
        b.timeLimit = timeLimit.orElse(null);
        b.retryPolicy = retryPolicy;
        b.tags = new LinkedHashMap<>(tags);
        b.comment = comment;
        b.submissionAddress = submissionAddress.orElse(null);
        b.storage = storage.orElse(null);
        b.idempotencyKey = idempotencyKey.orElse(null);
        b.warnings = new ArrayList<>(warnings);
        b.containerSteps = containerSteps.orElse(null);
        return b;
    }

    private static void positive(String field, long value) {
        if (value <= 0) {
            throw new InvalidJobSpecException(field, "must be positive, got " + value);
        }
    }

    private static final java.util.regex.Pattern IMAGE_REFERENCE =
            java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._/:@-]*");

    private static String nonBlank(String field, String value) {
        Objects.requireNonNull(value, field);
        if (value.isBlank()) {
            throw new InvalidJobSpecException(field, "must not be blank");
        }
        return value;
    }

    /** {@code value} if it has at most {@code max} characters; the message gives the length, never the value. */
    private static String atMost(String field, String value, int max) {
        if (value.length() > max) {
            throw new InvalidJobSpecException(field, "is " + value.length() + " characters long; at most " + max
                    + " are allowed");
        }
        return value;
    }

    private static void atMostItems(String field, int count, int max) {
        if (count > max) {
            throw new InvalidJobSpecException(field, "has " + count + " entries; at most " + max + " are allowed");
        }
    }

    /**
     * Builds a {@link JobSpec}. Not thread-safe. Setters validate their argument at once; {@link #build()} checks
     * the combination. Defaults: 1 node, 1 cpu, no memory request, no gpus, relocatable, priority 0, no time limit,
     * {@link RetryPolicy#defaults()}.
     */
    public static final class Builder {
        private String name = "";
        private String script;
        private List<String> command = new ArrayList<>();
        private String containerImage;
        private String cloudImage;
        private int nodes = 1;
        private int cpus = 1;
        private long memoryBytes;
        private int gpus;
        private String flavor;
        private String remoteSite;
        private boolean relocatable = true;
        private List<PortSpec> ports = new ArrayList<>();
        private List<String> inputFiles = new ArrayList<>();
        private List<String> outputFiles = new ArrayList<>();
        private String workdir;
        private Map<String, String> env = new LinkedHashMap<>();
        private String account;
        private int priority;
        private Duration timeLimit;
        private RetryPolicy retryPolicy = RetryPolicy.defaults();
        private Map<String, String> tags = new LinkedHashMap<>();
        private String comment = "";
        private String submissionAddress;
        private String storage;
        private String idempotencyKey;
        private List<String> warnings = new ArrayList<>();
        private ContainerSteps containerSteps;
        /** Warnings past {@link #MAX_WARNINGS}, counted instead of kept. */
        private int droppedWarnings;

        Builder() {
        }

        /**
         * The job's name, shown in listings; by default the script's {@code #SWM name} or the program's name.
         *
         * @param name the name
         * @return this builder
         */
        public Builder name(String name) {
            this.name = atMost("name", Objects.requireNonNull(name, "name"), MAX_NAME_LENGTH);
            return this;
        }

        /**
         * The script to run with {@code /bin/sh} semantics (its shebang line is honoured). Clears any command and
         * container steps.
         *
         * @param script the script to run; exactly one of script, command and container steps is given
         * @return this builder
         */
        public Builder script(String script) {
            this.script = nonBlank("script", script);
            this.command = new ArrayList<>();
            this.containerSteps = null;
            return this;
        }

        /**
         * A program and its arguments, run without a shell. Clears any script and container steps.
         *
         * @param command the program and arguments to run without a shell
         * @return this builder
         */
        public Builder command(List<String> command) {
            if (command.isEmpty() || command.get(0).isBlank()) {
                throw new InvalidJobSpecException("command", "must name a program");
            }
            checkCommand(command);
            this.command = new ArrayList<>(command);
            this.script = null;
            this.containerSteps = null;
            return this;
        }

        /**
         * Steps to run, each in a container image of its own, with inputs, outputs and volumes at container paths;
         * see {@link ContainerSteps}. Clears any script and command.
         *
         * @param steps the steps to run, each in a container image of its own
         * @return this builder
         */
        public Builder containerSteps(ContainerSteps steps) {
            this.containerSteps = Objects.requireNonNull(steps, "containerSteps");
            this.script = null;
            this.command = new ArrayList<>();
            return this;
        }

        /**
         * The container image the job runs in: a reference such as {@code docker.io/library/busybox:1.36}, never an
         * option.
         *
         * @param image the image reference
         * @return this builder
         */
        public Builder containerImage(String image) {
            String checked = atMost("containerImage", nonBlank("containerImage", image), MAX_IMAGE_LENGTH);
            // The image is one word of the runtime's command line, which also takes options: '--privileged' must not
            // pass for an image.
            if (!IMAGE_REFERENCE.matcher(checked).matches()) {
                throw new InvalidJobSpecException("containerImage", "must be a container image reference: letters,"
                        + " digits, '.', '_', '/', ':', '@' and '-', beginning with a letter or digit");
            }
            this.containerImage = checked;
            return this;
        }

        /**
         * The machine image new cloud nodes for this job boot from.
         *
         * @param image the image's name at the gate
         * @return this builder
         */
        public Builder cloudImage(String image) {
            this.cloudImage = atMost("cloudImage", nonBlank("cloudImage", image), MAX_IMAGE_LENGTH);
            return this;
        }

        /**
         * How many nodes the job runs on; 1 by default.
         *
         * @param nodes at least 1
         * @return this builder
         */
        public Builder nodes(int nodes) {
            positive("nodes", nodes);
            this.nodes = nodes;
            return this;
        }

        /**
         * Cpus the job needs on each node; 1 by default.
         *
         * @param cpusPerNode at least 1
         * @return this builder
         */
        public Builder cpus(int cpusPerNode) {
            positive("cpus", cpusPerNode);
            this.cpus = cpusPerNode;
            return this;
        }

        /**
         * Memory the job needs on each node; none requested by default.
         *
         * @param bytesPerNode in bytes, at least 1
         * @return this builder
         */
        public Builder memoryBytes(long bytesPerNode) {
            positive("memoryBytes", bytesPerNode);
            this.memoryBytes = bytesPerNode;
            return this;
        }

        /**
         * GPUs per node; 0 means no GPU request.
         *
         * @param gpusPerNode gpus per node
         * @return this builder
         */
        public Builder gpus(int gpusPerNode) {
            if (gpusPerNode < 0) {
                throw new InvalidJobSpecException("gpus", "must not be negative, got " + gpusPerNode);
            }
            this.gpus = gpusPerNode;
            return this;
        }

        /**
         * The machine size to create for the job, by the gate's name for it.
         *
         * @param flavor the flavor's name
         * @return this builder
         */
        public Builder flavor(String flavor) {
            this.flavor = atMost("flavor", nonBlank("flavor", flavor), MAX_IDENTIFIER_LENGTH);
            return this;
        }

        /**
         * The site (cloud location, batch site) to run the job at.
         *
         * @param remoteSite the site's name
         * @return this builder
         */
        public Builder remoteSite(String remoteSite) {
            this.remoteSite = atMost("remoteSite", nonBlank("remoteSite", remoteSite), MAX_IDENTIFIER_LENGTH);
            return this;
        }

        /**
         * Whether the scheduler may run the job at another site than the one named.
         *
         * @param relocatable true to allow it
         * @return this builder
         */
        public Builder relocatable(boolean relocatable) {
            this.relocatable = relocatable;
            return this;
        }

        /**
         * Adds a port the job opens or reaches back to.
         *
         * @param port the port
         * @return this builder
         */
        public Builder port(PortSpec port) {
            Objects.requireNonNull(port, "port");
            atMostItems("ports", ports.size() + 1, MAX_PORTS);
            this.ports.add(port);
            return this;
        }

        /**
         * The ports the job opens or reaches back to, replacing any added before.
         *
         * @param ports the ports
         * @return this builder
         */
        public Builder ports(List<PortSpec> ports) {
            atMostItems("ports", ports.size(), MAX_PORTS);
            this.ports = new ArrayList<>(ports);
            return this;
        }

        /**
         * A file (or directory) on the engine's machine to copy into the job's working directory on its node, under
         * its base name, before the job runs. Relative paths are relative to the engine's input root. Refused: a
         * {@code ..} or empty segment, the base names the run writes itself ({@code stdout.log}, {@code stderr.log},
         * {@code script}, {@code run.*}); at {@link #build()}, two inputs with the same base name.
         *
         * @param path the file's path, relative to the input root or absolute
         * @return this builder
         */
        public Builder inputFile(String path) {
            atMost("inputFiles", nonBlank("inputFiles", path), MAX_PATH_LENGTH);
            atMostItems("inputFiles", inputFiles.size() + 1, MAX_FILES);
            StagingPaths.checkInput(path);
            this.inputFiles.add(path);
            return this;
        }

        /**
         * A file relative to the job's working directory on its node to copy back, after the job exited with 0, to the
         * same relative path of the job's directory on the engine's machine; a trailing {@code /} names a directory,
         * copied back whole. Refused: an absolute path, an empty
         * segment, a {@code ..} that leaves the working directory (path traversal); at {@link #build()}, a repeat.
         *
         * @param path the path relative to the job's working directory; a trailing {@code /} for a directory
         * @return this builder
         */
        public Builder outputFile(String path) {
            atMost("outputFiles", nonBlank("outputFiles", path), MAX_PATH_LENGTH);
            atMostItems("outputFiles", outputFiles.size() + 1, MAX_FILES);
            StagingPaths.checkOutput(path);
            this.outputFiles.add(path);
            return this;
        }

        /**
         * The directory the job runs in on its node; by default its job directory.
         *
         * @param workdir the directory
         * @return this builder
         */
        public Builder workdir(String workdir) {
            this.workdir = atMost("workdir", nonBlank("workdir", workdir), MAX_PATH_LENGTH);
            return this;
        }

        /**
         * One environment variable for the job. The name must be a shell identifier.
         *
         * @param name the variable's name
         * @param value its value
         * @return this builder
         */
        public Builder env(String name, String value) {
            Objects.requireNonNull(name, "env name");
            Objects.requireNonNull(value, "env value");
            // Lengths first: a regular expression over a megabyte of name is work the refusal should not cost.
            atMost("env", name, MAX_ENV_NAME_LENGTH);
            if (!ENV_NAME.matcher(name).matches()) {
                throw new InvalidJobSpecException("env", "not a variable name: '" + Text.abbreviate(name) + "'");
            }
            if (value.length() > MAX_ENV_VALUE_LENGTH) {
                throw new InvalidJobSpecException("env", "the value of " + name + " is " + value.length()
                        + " characters long; at most " + MAX_ENV_VALUE_LENGTH + " are allowed");
            }
            String old = env.get(name);
            if (old == null) {
                atMostItems("env", env.size() + 1, MAX_ENV_VARIABLES);
            }
            long total = envLength(env) - (old == null ? 0 : name.length() + old.length()) + name.length()
                    + value.length();
            if (total > MAX_ENV_TOTAL_LENGTH) {
                throw new InvalidJobSpecException("env", "all variables together would be " + total
                        + " characters long; at most " + MAX_ENV_TOTAL_LENGTH + " are allowed");
            }
            this.env.put(name, value);
            return this;
        }

        /**
         * The account the job's usage is charged to (fair share, site accounting).
         *
         * @param account the account's name
         * @return this builder
         */
        public Builder account(String account) {
            this.account = atMost("account", nonBlank("account", account), MAX_ACCOUNT_LENGTH);
            return this;
        }

        /**
         * Higher runs first where the scheduler honours priorities.
         *
         * @param priority higher runs first where the scheduler honours priorities
         * @return this builder
         */
        public Builder priority(int priority) {
            this.priority = priority;
            return this;
        }

        /**
         * Wall-clock limit of one attempt; the job is killed with reason TIME_LIMIT past it.
         *
         * @param limit the wall-clock limit of one attempt
         * @return this builder
         */
        public Builder timeLimit(Duration limit) {
            Objects.requireNonNull(limit, "timeLimit");
            if (limit.isNegative() || limit.isZero()) {
                throw new InvalidJobSpecException("timeLimit", "must be positive, got " + limit);
            }
            if (limit.compareTo(MAX_TIME_LIMIT) > 0) {
                throw new InvalidJobSpecException("timeLimit", "must be at most " + MAX_TIME_LIMIT.toDays()
                        + " days, got " + limit);
            }
            this.timeLimit = limit;
            return this;
        }

        /**
         * How failed attempts are retried; {@link RetryPolicy#defaults()} by default.
         *
         * @param policy the policy
         * @return this builder
         */
        public Builder retryPolicy(RetryPolicy policy) {
            this.retryPolicy = Objects.requireNonNull(policy, "retryPolicy");
            return this;
        }

        /**
         * Adds a tag, replacing the value of one with the same key; listings filter by tags.
         *
         * @param key the tag's key
         * @param value its value
         * @return this builder
         */
        public Builder tag(String key, String value) {
            atMost("tags", nonBlank("tags", key), MAX_TAG_KEY_LENGTH);
            Objects.requireNonNull(value, "tag value");
            if (value.length() > MAX_TAG_VALUE_LENGTH) {
                throw new InvalidJobSpecException("tags", "the value of " + Text.abbreviate(key) + " is "
                        + value.length() + " characters long; at most " + MAX_TAG_VALUE_LENGTH + " are allowed");
            }
            if (!tags.containsKey(key)) {
                atMostItems("tags", tags.size() + 1, MAX_TAGS);
            }
            this.tags.put(key, value);
            return this;
        }

        /**
         * Free text shown with the job.
         *
         * @param comment the text
         * @return this builder
         */
        public Builder comment(String comment) {
            this.comment = atMost("comment", Objects.requireNonNull(comment, "comment"), MAX_COMMENT_LENGTH);
            return this;
        }

        /**
         * Where {@code out} ports reach back to; the daemon defaults it to the submitting client's address.
         *
         * @param address where {@code out} ports reach back to
         * @return this builder
         */
        public Builder submissionAddress(String address) {
            this.submissionAddress = atMost("submissionAddress", nonBlank("submissionAddress", address),
                    MAX_IDENTIFIER_LENGTH);
            return this;
        }

        /** {@return true when a submission address is set} */
        public boolean hasSubmissionAddress() {
            return submissionAddress != null;
        }

        /**
         * Name of a storage container the job uses (upstream {@code #SWM storage}).
         *
         * @param storage a storage container the job uses
         * @return this builder
         */
        public Builder storage(String storage) {
            this.storage = atMost("storage", nonBlank("storage", storage), MAX_IDENTIFIER_LENGTH);
            return this;
        }

        /**
         * A key the client chose for this submission, so that submitting again after a lost reply (a timeout, a
         * crash between the engine's commit and the reply) returns the job the first submission made instead of a
         * second job. Keys are per owner; a key names one job for as long as that job is kept. Submitting a
         * different spec under a key already used fails with {@link IdempotencyKeyReusedException}. Printable ASCII,
         * at most {@link #MAX_IDEMPOTENCY_KEY_LENGTH} characters; a UUID is a good key.
         *
         * @param key the client's key that makes a repeated submission return the first job
         * @return this builder
         */
        public Builder idempotencyKey(String key) {
            atMost("idempotencyKey", nonBlank("idempotencyKey", key), MAX_IDEMPOTENCY_KEY_LENGTH);
            for (int i = 0; i < key.length(); i++) {
                char c = key.charAt(i);
                if (c < 0x21 || c > 0x7e) {
                    throw new InvalidJobSpecException("idempotencyKey",
                            "must be printable ASCII without spaces (character " + (i + 1) + " is not)");
                }
            }
            this.idempotencyKey = key;
            return this;
        }

        /**
         * Adds a warning that will be shown on the job.
         *
         * @param warning the text shown
         * @return this builder
         */
        public Builder warning(String warning) {
            atMost("warnings", nonBlank("warnings", warning), MAX_WARNING_LENGTH);
            if (warnings.size() < MAX_WARNINGS) {
                this.warnings.add(warning);
            } else {
                droppedWarnings++;
            }
            return this;
        }

        /**
         * Every limit again, for a builder filled by {@link JobSpec#toBuilder()} from a spec the canonical constructor
         * made: the setters have checked everything else already.
         */
        private void checkLimits() {
            atMost("name", name, MAX_NAME_LENGTH);
            checkCommand(command);
            optionalAtMost("containerImage", containerImage, MAX_IMAGE_LENGTH);
            optionalAtMost("cloudImage", cloudImage, MAX_IMAGE_LENGTH);
            optionalAtMost("flavor", flavor, MAX_IDENTIFIER_LENGTH);
            optionalAtMost("remoteSite", remoteSite, MAX_IDENTIFIER_LENGTH);
            atMostItems("ports", ports.size(), MAX_PORTS);
            checkPaths("inputFiles", inputFiles);
            checkPaths("outputFiles", outputFiles);
            StagingPaths.checkLists(inputFiles, outputFiles);
            optionalAtMost("workdir", workdir, MAX_PATH_LENGTH);
            atMostItems("env", env.size(), MAX_ENV_VARIABLES);
            for (Map.Entry<String, String> v : env.entrySet()) {
                atMost("env", v.getKey(), MAX_ENV_NAME_LENGTH);
                atMost("env", v.getValue(), MAX_ENV_VALUE_LENGTH);
            }
            if (envLength(env) > MAX_ENV_TOTAL_LENGTH) {
                throw new InvalidJobSpecException("env", "all variables together are " + envLength(env)
                        + " characters long; at most " + MAX_ENV_TOTAL_LENGTH + " are allowed");
            }
            optionalAtMost("account", account, MAX_ACCOUNT_LENGTH);
            atMostItems("tags", tags.size(), MAX_TAGS);
            for (Map.Entry<String, String> t : tags.entrySet()) {
                atMost("tags", t.getKey(), MAX_TAG_KEY_LENGTH);
                atMost("tags", t.getValue(), MAX_TAG_VALUE_LENGTH);
            }
            atMost("comment", comment, MAX_COMMENT_LENGTH);
            optionalAtMost("submissionAddress", submissionAddress, MAX_IDENTIFIER_LENGTH);
            optionalAtMost("storage", storage, MAX_IDENTIFIER_LENGTH);
            optionalAtMost("idempotencyKey", idempotencyKey, MAX_IDEMPOTENCY_KEY_LENGTH);
            for (String w : warnings) {
                atMost("warnings", w, MAX_WARNING_LENGTH);
            }
        }

        private static void optionalAtMost(String field, String value, int max) {
            if (value != null) {
                atMost(field, value, max);
            }
        }

        private static void checkPaths(String field, List<String> paths) {
            atMostItems(field, paths.size(), MAX_FILES);
            for (String p : paths) {
                atMost(field, p, MAX_PATH_LENGTH);
            }
        }

        private static void checkCommand(List<String> command) {
            atMostItems("command", command.size(), MAX_COMMAND_ARGUMENTS);
            long total = 0;
            for (String word : command) {
                atMost("command", Objects.requireNonNull(word, "command word"), MAX_COMMAND_ARGUMENT_LENGTH);
                total += word.length();
            }
            if (total > MAX_COMMAND_LENGTH) {
                throw new InvalidJobSpecException("command", "all words together are " + total
                        + " characters long; at most " + MAX_COMMAND_LENGTH + " are allowed");
            }
        }

        /** How {@link #MAX_ENV_TOTAL_LENGTH} counts: every name and value. */
        private static long envLength(Map<String, String> env) {
            long total = 0;
            for (Map.Entry<String, String> v : env.entrySet()) {
                total += v.getKey().length() + v.getValue().length();
            }
            return total;
        }

        /**
         * @throws InvalidJobSpecException when none of script, command and container steps is set
         * @return the spec
         */
        public JobSpec build() {
            if (script == null && command.isEmpty() && containerSteps == null) {
                throw new InvalidJobSpecException("script", "give a script, a command or container steps");
            }
            checkLimits();
            List<String> warnings = this.warnings;
            if (droppedWarnings > 0) {
                warnings = new ArrayList<>(warnings);
                warnings.add(droppedWarnings + " more warning(s) dropped; a job keeps at most " + MAX_WARNINGS);
            }
            return new JobSpec(name, Optional.ofNullable(script), command, Optional.ofNullable(containerImage),
                    Optional.ofNullable(cloudImage), nodes, cpus, memoryBytes, gpus, Optional.ofNullable(flavor),
                    Optional.ofNullable(remoteSite), relocatable, ports, inputFiles, outputFiles,
                    Optional.ofNullable(workdir), env, Optional.ofNullable(account),
                    priority, Optional.ofNullable(timeLimit), retryPolicy, tags, comment,
                    Optional.ofNullable(submissionAddress), Optional.ofNullable(storage),
                    Optional.ofNullable(idempotencyKey), warnings, false, Optional.ofNullable(containerSteps));
        }
    }
}

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
        List<String> warnings,
        boolean scriptOmitted) {

    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    /** The longest time limit a job may ask for (ten years; "no limit" is no time limit at all). */
    public static final Duration MAX_TIME_LIMIT = Duration.ofDays(3650);

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
        warnings = List.copyOf(warnings);
        if (scriptOmitted ? script.isPresent() || !command.isEmpty() : script.isPresent() == !command.isEmpty()) {
            throw new InvalidJobSpecException("script", "give exactly one of a script or a command");
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
     * Parses a job script: every {@code #SWM} directive sets the matching field, the whole script is what runs.
     * The directive grammar is in {@code docs/swm-directives.md}.
     *
     * @throws InvalidJobSpecException naming the line and directive when a directive is malformed
     */
    public static JobSpec script(String script) {
        return SwmScriptParser.parse(script).build();
    }

    /** Parses a job script into a builder, to adjust the spec before building it. */
    public static Builder parseScript(String script) {
        return SwmScriptParser.parse(script);
    }

    /** A spec that runs {@code command} (program and arguments, no shell) with default resources. */
    public static JobSpec command(String... command) {
        return builder().command(List.of(command)).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * This spec as a listing shows it when asked to leave scripts out ({@link JobQuery#withoutScripts()}): the
     * script's text is omitted ({@link #script()} is empty and {@link #scriptOmitted()} is true), everything else is
     * kept. A spec with a command, or already without its script, is returned as it is.
     */
    public JobSpec withoutScript() {
        if (script.isEmpty()) {
            return this;
        }
        return new JobSpec(name, Optional.empty(), command, containerImage, cloudImage, nodes, cpus, memoryBytes, gpus,
                flavor, remoteSite, relocatable, ports, inputFiles, outputFiles, workdir, env, account, priority,
                timeLimit, retryPolicy, tags, comment, submissionAddress, storage, warnings, true);
    }

    /** A builder holding this spec's values. */
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
        b.warnings = new ArrayList<>(warnings);
        return b;
    }

    private static void positive(String field, long value) {
        if (value <= 0) {
            throw new InvalidJobSpecException(field, "must be positive, got " + value);
        }
    }

    private static String nonBlank(String field, String value) {
        Objects.requireNonNull(value, field);
        if (value.isBlank()) {
            throw new InvalidJobSpecException(field, "must not be blank");
        }
        return value;
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
        private List<String> warnings = new ArrayList<>();

        Builder() {
        }

        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /** The script to run with {@code /bin/sh} semantics (its shebang line is honoured). Clears any command. */
        public Builder script(String script) {
            this.script = nonBlank("script", script);
            this.command = new ArrayList<>();
            return this;
        }

        /** A program and its arguments, run without a shell. Clears any script. */
        public Builder command(List<String> command) {
            if (command.isEmpty() || command.get(0).isBlank()) {
                throw new InvalidJobSpecException("command", "must name a program");
            }
            this.command = new ArrayList<>(command);
            this.script = null;
            return this;
        }

        public Builder containerImage(String image) {
            this.containerImage = nonBlank("containerImage", image);
            return this;
        }

        public Builder cloudImage(String image) {
            this.cloudImage = nonBlank("cloudImage", image);
            return this;
        }

        public Builder nodes(int nodes) {
            positive("nodes", nodes);
            this.nodes = nodes;
            return this;
        }

        public Builder cpus(int cpusPerNode) {
            positive("cpus", cpusPerNode);
            this.cpus = cpusPerNode;
            return this;
        }

        public Builder memoryBytes(long bytesPerNode) {
            positive("memoryBytes", bytesPerNode);
            this.memoryBytes = bytesPerNode;
            return this;
        }

        /** GPUs per node; 0 means no GPU request. */
        public Builder gpus(int gpusPerNode) {
            if (gpusPerNode < 0) {
                throw new InvalidJobSpecException("gpus", "must not be negative, got " + gpusPerNode);
            }
            this.gpus = gpusPerNode;
            return this;
        }

        public Builder flavor(String flavor) {
            this.flavor = nonBlank("flavor", flavor);
            return this;
        }

        public Builder remoteSite(String remoteSite) {
            this.remoteSite = nonBlank("remoteSite", remoteSite);
            return this;
        }

        public Builder relocatable(boolean relocatable) {
            this.relocatable = relocatable;
            return this;
        }

        public Builder port(PortSpec port) {
            this.ports.add(Objects.requireNonNull(port, "port"));
            return this;
        }

        public Builder ports(List<PortSpec> ports) {
            this.ports = new ArrayList<>(ports);
            return this;
        }

        public Builder inputFile(String path) {
            this.inputFiles.add(nonBlank("inputFiles", path));
            return this;
        }

        public Builder outputFile(String path) {
            this.outputFiles.add(nonBlank("outputFiles", path));
            return this;
        }

        public Builder workdir(String workdir) {
            this.workdir = nonBlank("workdir", workdir);
            return this;
        }

        /** One environment variable for the job. The name must be a shell identifier. */
        public Builder env(String name, String value) {
            Objects.requireNonNull(name, "env name");
            Objects.requireNonNull(value, "env value");
            if (!ENV_NAME.matcher(name).matches()) {
                throw new InvalidJobSpecException("env", "not a variable name: '" + Text.abbreviate(name) + "'");
            }
            this.env.put(name, value);
            return this;
        }

        public Builder account(String account) {
            this.account = nonBlank("account", account);
            return this;
        }

        /** Higher runs first where the scheduler honours priorities. */
        public Builder priority(int priority) {
            this.priority = priority;
            return this;
        }

        /** Wall-clock limit of one attempt; the job is killed with reason TIME_LIMIT past it. */
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

        public Builder retryPolicy(RetryPolicy policy) {
            this.retryPolicy = Objects.requireNonNull(policy, "retryPolicy");
            return this;
        }

        public Builder tag(String key, String value) {
            nonBlank("tags", key);
            this.tags.put(key, Objects.requireNonNull(value, "tag value"));
            return this;
        }

        public Builder comment(String comment) {
            this.comment = Objects.requireNonNull(comment, "comment");
            return this;
        }

        /** Where {@code out} ports reach back to; the daemon defaults it to the submitting client's address. */
        public Builder submissionAddress(String address) {
            this.submissionAddress = nonBlank("submissionAddress", address);
            return this;
        }

        /** True when a submission address is set. */
        public boolean hasSubmissionAddress() {
            return submissionAddress != null;
        }

        /** Name of a storage container the job uses (upstream {@code #SWM storage}). */
        public Builder storage(String storage) {
            this.storage = nonBlank("storage", storage);
            return this;
        }

        /** Adds a warning that will be shown on the job. */
        public Builder warning(String warning) {
            this.warnings.add(nonBlank("warnings", warning));
            return this;
        }

        /**
         * @throws InvalidJobSpecException when neither script nor command is set
         */
        public JobSpec build() {
            if (script == null && command.isEmpty()) {
                throw new InvalidJobSpecException("script", "give a script or a command");
            }
            return new JobSpec(name, Optional.ofNullable(script), command, Optional.ofNullable(containerImage),
                    Optional.ofNullable(cloudImage), nodes, cpus, memoryBytes, gpus, Optional.ofNullable(flavor),
                    Optional.ofNullable(remoteSite), relocatable, ports, inputFiles, outputFiles,
                    Optional.ofNullable(workdir), env, Optional.ofNullable(account),
                    priority, Optional.ofNullable(timeLimit), retryPolicy, tags, comment,
                    Optional.ofNullable(submissionAddress), Optional.ofNullable(storage), warnings, false);
        }
    }
}

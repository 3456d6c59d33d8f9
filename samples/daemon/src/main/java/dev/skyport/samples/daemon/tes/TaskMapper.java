package dev.skyport.samples.daemon.tes;

import com.fasterxml.jackson.databind.JsonNode;
import dev.skyport.api.ContainerStep;
import dev.skyport.api.ContainerSteps;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.JobSpec;
import dev.skyport.api.StepInput;
import dev.skyport.api.StepOutput;

import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * A {@code tesTask} document as a {@link JobSpec} with {@link ContainerSteps}: executors are steps, inputs and outputs
 * are staged from and to the caller's storage (a directory of the daemon's machine), resources and the supported
 * backend parameters are the job's resources. Every refusal is a {@link TesError} (400) naming the TES field, e.g.
 * {@code executors[1].command}; nothing is submitted then. Read-only fields a client sends ({@code id}, {@code state},
 * {@code logs}, {@code creation_time}) and unknown fields are ignored. See {@code docs/tes.md} for the decisions.
 */
final class TaskMapper {
    /** The tag every TES task carries, so that TES lists TES tasks only; its value is {@link #MARKER_VALUE}. */
    static final String MARKER = "skyport.tes";
    static final String MARKER_VALUE = "task";
    /** Tags holding what a task asked that the job model has no field for, echoed back in {@code resources}. */
    static final String DISK_GB = "skyport.tes.disk_gb";
    static final String PREEMPTIBLE = "skyport.tes.preemptible";
    /** Tag keys users may not set: the marker and every key below it. */
    static final String RESERVED = "skyport.tes";
    /** The {@code backend_parameters} keys this server honours (lower case; keys compare case-insensitively). */
    static final List<String> BACKEND_PARAMETERS = List.of("account", "flavor", "gpus", "priority", "time_limit");
    /** GB in TES's {@code ram_gb} and {@code disk_gb}: GiB, as Nextflow and Cromwell compute them. */
    static final double GB = 1024d * 1024 * 1024;

    private final String storage;

    /** @param storage the caller's storage: an absolute, normalized directory of the daemon's machine */
    TaskMapper(String storage) {
        this.storage = storage;
    }

    JobSpec toSpec(JsonNode task) {
        if (task == null || !task.isObject()) {
            throw TesError.badRequest("task", "the body must be a JSON object (a tesTask)");
        }
        JobSpec.Builder b = JobSpec.builder();
        text(task, "name", "name").ifPresent(n -> spec("name", () -> b.name(n)));
        text(task, "description", "description").ifPresent(d -> spec("description", () -> b.comment(d)));

        JsonNode executors = task.get("executors");
        if (absent(executors)) {
            throw TesError.badRequest("executors", "is required: at least one executor (image and command)");
        }
        if (!executors.isArray()) {
            throw TesError.badRequest("executors", "must be an array of executors");
        }
        if (executors.isEmpty()) {
            throw TesError.badRequest("executors", "must hold at least one executor");
        }
        List<ContainerStep> steps = new ArrayList<>();
        for (int i = 0; i < executors.size(); i++) {
            steps.add(executor(executors.get(i), "executors[" + i + "]"));
        }
        List<StepInput> inputs = new ArrayList<>();
        JsonNode in = array(task, "inputs", "inputs");
        for (int i = 0; i < in.size(); i++) {
            inputs.add(input(in.get(i), "inputs[" + i + "]"));
        }
        List<StepOutput> outputs = new ArrayList<>();
        JsonNode out = array(task, "outputs", "outputs");
        for (int i = 0; i < out.size(); i++) {
            outputs.add(output(out.get(i), "outputs[" + i + "]"));
        }
        List<String> volumes = new ArrayList<>();
        JsonNode vol = array(task, "volumes", "volumes");
        for (int i = 0; i < vol.size(); i++) {
            if (!vol.get(i).isTextual()) {
                throw TesError.badRequest("volumes[" + i + "]", "must be a string (a container directory)");
            }
            volumes.add(vol.get(i).asText());
        }
        ContainerSteps containerSteps;
        try {
            containerSteps = new ContainerSteps(steps, inputs, outputs, volumes);
        } catch (InvalidJobSpecException e) {
            throw TesError.badRequest(e.field().equals("steps") || e.field().equals("stdin") ? "executors" : e.field(),
                    e.reason());
        }
        b.containerSteps(containerSteps);

        Map<String, String> tags = stringMap(task, "tags", "tags");
        for (Map.Entry<String, String> t : tags.entrySet()) {
            if (t.getKey().startsWith(RESERVED)) {
                throw TesError.badRequest("tags", "keys beginning with '" + RESERVED
                        + "' are reserved for the server ('"
                        + TesError.abbreviate(t.getKey()) + "')");
            }
            spec("tags", () -> b.tag(t.getKey(), t.getValue()));
        }
        b.tag(MARKER, MARKER_VALUE);
        resources(task.get("resources"), b);
        return spec("task", b::build);
    }

    private ContainerStep executor(JsonNode e, String at) {
        if (!e.isObject()) {
            throw TesError.badRequest(at, "must be an object with image and command");
        }
        String image = text(e, "image", at + ".image").orElseThrow(() -> TesError.badRequest(at + ".image",
                "is required: the container image to run the command in"));
        JsonNode cmd = e.get("command");
        if (absent(cmd)) {
            throw TesError.badRequest(at + ".command", "is required: the program and its arguments (an array)");
        }
        if (!cmd.isArray()) {
            throw TesError.badRequest(at + ".command", "must be an array of strings (program and arguments; no shell"
                    + " is implied: use [\"/bin/sh\", \"-c\", \"...\"] for shell syntax)");
        }
        List<String> command = new ArrayList<>();
        for (int i = 0; i < cmd.size(); i++) {
            if (!cmd.get(i).isTextual()) {
                throw TesError.badRequest(at + ".command[" + i + "]", "must be a string");
            }
            command.add(cmd.get(i).asText());
        }
        Optional<String> workdir = text(e, "workdir", at + ".workdir");
        Optional<String> stdin = text(e, "stdin", at + ".stdin");
        Optional<String> stdout = text(e, "stdout", at + ".stdout");
        Optional<String> stderr = text(e, "stderr", at + ".stderr");
        Map<String, String> env = stringMap(e, "env", at + ".env");
        boolean ignoreError = bool(e, "ignore_error", at + ".ignore_error").orElse(false);
        try {
            return new ContainerStep(image, command, workdir, stdin, stdout, stderr, env, ignoreError);
        } catch (InvalidJobSpecException x) {
            throw TesError.badRequest(at + "." + x.field(), x.reason());
        }
    }

    private StepInput input(JsonNode i, String at) {
        if (!i.isObject()) {
            throw TesError.badRequest(at, "must be an object with path and url or content");
        }
        String path = text(i, "path", at + ".path").orElseThrow(() -> TesError.badRequest(at + ".path",
                "is required: the absolute path in the container"));
        Optional<String> content = text(i, "content", at + ".content");
        Optional<String> url = text(i, "url", at + ".url");
        boolean directory = fileType(i, at);
        // TES: a non-empty content wins over url; an empty one is content only when there is no url.
        boolean byContent = content.isPresent() && (!content.get().isEmpty() || url.isEmpty());
        if (!byContent && url.isEmpty()) {
            throw TesError.badRequest(at + ".url", "is required unless content is given");
        }
        if (byContent && directory) {
            throw TesError.badRequest(at + ".type", "content makes a FILE, not a DIRECTORY");
        }
        try {
            if (byContent) {
                return new StepInput(path, content, Optional.empty(), false);
            }
            return new StepInput(path, Optional.empty(), Optional.of(localPath(url.get(), at + ".url")), directory);
        } catch (InvalidJobSpecException x) {
            throw TesError.badRequest(x.field().equals("inputs.path") ? at + ".path" : at, x.reason());
        }
    }

    private StepOutput output(JsonNode o, String at) {
        if (!o.isObject()) {
            throw TesError.badRequest(at, "must be an object with path and url");
        }
        String path = text(o, "path", at + ".path").orElseThrow(() -> TesError.badRequest(at + ".path",
                "is required: the absolute path in the container"));
        String url = text(o, "url", at + ".url").orElseThrow(() -> TesError.badRequest(at + ".url",
                "is required: where the output goes (a file:// URL in your storage)"));
        Optional<String> prefix = text(o, "path_prefix", at + ".path_prefix");
        boolean directory = fileType(o, at);
        String destination = localPath(url, at + ".url");
        if (destination.length() > 1 && destination.endsWith("/")) {
            destination = destination.substring(0, destination.length() - 1);
        }
        try {
            // path_prefix means something only with wildcards (TES: "ignored without wildcards").
            return new StepOutput(path, StepOutput.hasWildcard(path) ? prefix : Optional.empty(), destination,
                    directory);
        } catch (InvalidJobSpecException x) {
            throw TesError.badRequest(switch (x.field()) {
                case "outputs.path" -> at + ".path";
                case "outputs.pathPrefix" -> at + ".path_prefix";
                case "outputs.destination" -> at + ".url";
                default -> at;
            }, x.reason());
        }
    }

    private static boolean fileType(JsonNode node, String at) {
        Optional<String> type = text(node, "type", at + ".type");
        if (type.isEmpty() || type.get().equals("FILE")) {
            return false;
        }
        if (type.get().equals("DIRECTORY")) {
            return true;
        }
        throw TesError.badRequest(at + ".type", "must be FILE or DIRECTORY, got '" + TesError.abbreviate(type.get())
                + "'");
    }

    /**
     * The path of the daemon's machine a {@code file://} URL or bare absolute path names, which must lie in the
     * caller's storage. Other schemes are refused now rather than failed later: the engine can fetch none of them, and
     * the client learns it at once (see docs/tes.md).
     */
    String localPath(String url, String field) {
        String path;
        if (url.startsWith("/")) {
            path = url;
        } else if (url.regionMatches(true, 0, "file:", 0, 5)) {
            URI uri;
            try {
                uri = new URI(url);
            } catch (URISyntaxException e) {
                throw TesError.badRequest(field, "is not a valid URL: " + TesError.abbreviate(e.getReason()));
            }
            if (uri.getRawAuthority() != null && !uri.getRawAuthority().isEmpty()
                    && !uri.getRawAuthority().equalsIgnoreCase("localhost")) {
                throw TesError.badRequest(field, "a file:// URL names this server's files: its host must be empty or"
                        + " localhost, got '" + TesError.abbreviate(uri.getRawAuthority()) + "'");
            }
            path = uri.getPath();
            if (path == null || !path.startsWith("/")) {
                throw TesError.badRequest(field, "must be file:///ABSOLUTE/PATH, got '" + TesError.abbreviate(url)
                        + "'");
            }
        } else {
            int colon = url.indexOf(':');
            String scheme = colon > 0 ? url.substring(0, colon) : "";
            throw TesError.badRequest(field, (scheme.isEmpty() ? "a relative path" : "the scheme '"
                    + TesError.abbreviate(scheme) + "'") + " is not supported; give a file:// URL or an absolute path"
                    + " in your storage, file://" + storage + "/");
        }
        if (path.length() > JobSpec.MAX_PATH_LENGTH) {
            throw TesError.badRequest(field, "is longer than " + JobSpec.MAX_PATH_LENGTH + " characters");
        }
        String trimmed = path.endsWith("/") && path.length() > 1 ? path.substring(0, path.length() - 1) : path;
        for (String segment : trimmed.substring(1).split("/", -1)) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..") || segment.indexOf('\0') >= 0) {
                throw TesError.badRequest(field, "must be a normalized path (no empty, '.' or '..' segment)");
            }
        }
        if (!trimmed.equals(storage) && !trimmed.startsWith(storage + "/")) {
            throw TesError.badRequest(field, "'" + TesError.abbreviate(path) + "' is outside your storage, file://"
                    + storage + "/ (the only files of this server a task may read or write)");
        }
        return path;
    }

    private void resources(JsonNode r, JobSpec.Builder b) {
        if (absent(r)) {
            return;
        }
        if (!r.isObject()) {
            throw TesError.badRequest("resources", "must be an object");
        }
        JsonNode cpu = r.get("cpu_cores");
        if (!absent(cpu)) {
            if (!cpu.isIntegralNumber() || !cpu.canConvertToInt() || cpu.asInt() < 1) {
                throw TesError.badRequest("resources.cpu_cores", "must be a positive integer");
            }
            spec("resources.cpu_cores", () -> b.cpus(cpu.asInt()));
        }
        Optional<Double> ram = number(r, "ram_gb", "resources.ram_gb");
        if (ram.isPresent() && ram.get() > 0) {
            double bytes = Math.ceil(ram.get() * GB);
            if (bytes >= Long.MAX_VALUE) {
                throw TesError.badRequest("resources.ram_gb", "is too large");
            }
            spec("resources.ram_gb", () -> b.memoryBytes((long) bytes));
        }
        Optional<Double> disk = number(r, "disk_gb", "resources.disk_gb");
        if (disk.isPresent()) {
            String text = BigDecimal.valueOf(disk.get()).stripTrailingZeros().toPlainString();
            spec("resources.disk_gb", () -> b.tag(DISK_GB, text));
            b.warning("resources.disk_gb (" + text + ") is recorded but not enforced: a task uses the disk of its"
                    + " node");
        }
        Optional<Boolean> preemptible = bool(r, "preemptible", "resources.preemptible");
        if (preemptible.isPresent()) {
            b.tag(PREEMPTIBLE, preemptible.get().toString());
        }
        JsonNode zones = r.get("zones");
        if (!absent(zones)) {
            if (!zones.isArray()) {
                throw TesError.badRequest("resources.zones", "must be an array of strings");
            }
            if (zones.size() > 1) {
                throw TesError.badRequest("resources.zones", "names " + zones.size() + " zones; give at most one: the"
                        + " remote site to run on (a task runs at one site)");
            }
            if (zones.size() == 1) {
                if (!zones.get(0).isTextual()) {
                    throw TesError.badRequest("resources.zones[0]", "must be a string");
                }
                spec("resources.zones", () -> b.remoteSite(zones.get(0).asText()));
            }
        }
        boolean strict = bool(r, "backend_parameters_strict", "resources.backend_parameters_strict").orElse(false);
        Map<String, String> params = stringMap(r, "backend_parameters", "resources.backend_parameters");
        for (Map.Entry<String, String> p : params.entrySet()) {
            String key = p.getKey().toLowerCase(Locale.ROOT);
            String field = "resources.backend_parameters." + TesError.abbreviate(p.getKey());
            if (!BACKEND_PARAMETERS.contains(key)) {
                if (strict) {
                    throw TesError.badRequest(field, "is not supported (backend_parameters_strict is true); supported:"
                            + " " + BACKEND_PARAMETERS);
                }
                b.warning("backend parameter '" + TesError.abbreviate(p.getKey()) + "' is not supported and was"
                        + " dropped; supported: " + BACKEND_PARAMETERS);
                continue;
            }
            try {
                backendParameter(key, p.getValue(), b);
            } catch (TesError | InvalidJobSpecException e) {
                String why = e instanceof InvalidJobSpecException i ? i.reason() : e.getMessage();
                if (strict) {
                    throw TesError.badRequest(field, why);
                }
                b.warning("backend parameter '" + TesError.abbreviate(p.getKey()) + "' was dropped: " + why);
            }
        }
    }

    private static void backendParameter(String key, String value, JobSpec.Builder b) {
        switch (key) {
            case "account" -> b.account(value);
            case "flavor" -> b.flavor(value);
            case "gpus" -> b.gpus(integer(value, 0));
            case "priority" -> b.priority(integer(value, Integer.MIN_VALUE));
            case "time_limit" -> b.timeLimit(Duration.ofSeconds(integer(value, 1)));
            default -> throw new IllegalStateException(key);
        }
    }

    private static int integer(String value, int min) {
        try {
            int v = Integer.parseInt(value.strip());
            if (v >= min) {
                return v;
            }
        } catch (NumberFormatException e) {
            // said below
        }
        throw new TesError(400, "invalid_task", "must be an integer" + (min == 0 ? " of at least 0"
                : min == 1 ? " of at least 1 (seconds)" : "") + ", got '" + TesError.abbreviate(value) + "'",
                Optional.empty());
    }

    // ---- JSON members, each refused with its field when of the wrong type. JSON null counts as absent: the schema
    // has no nullable field, but clients generated from it send null for unset members.

    private static boolean absent(JsonNode n) {
        return n == null || n.isNull() || n.isMissingNode();
    }

    private static Optional<String> text(JsonNode node, String name, String field) {
        JsonNode n = node.get(name);
        if (absent(n)) {
            return Optional.empty();
        }
        if (!n.isTextual()) {
            throw TesError.badRequest(field, "must be a string");
        }
        return Optional.of(n.asText());
    }

    private static Optional<Boolean> bool(JsonNode node, String name, String field) {
        JsonNode n = node.get(name);
        if (absent(n)) {
            return Optional.empty();
        }
        if (!n.isBoolean()) {
            throw TesError.badRequest(field, "must be true or false");
        }
        return Optional.of(n.asBoolean());
    }

    private static Optional<Double> number(JsonNode node, String name, String field) {
        JsonNode n = node.get(name);
        if (absent(n)) {
            return Optional.empty();
        }
        if (!n.isNumber() || n.asDouble() < 0 || Double.isInfinite(n.asDouble())) {
            throw TesError.badRequest(field, "must be a number of at least 0");
        }
        return Optional.of(n.asDouble());
    }

    private static JsonNode array(JsonNode node, String name, String field) {
        JsonNode n = node.get(name);
        if (absent(n)) {
            return com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
        }
        if (!n.isArray()) {
            throw TesError.badRequest(field, "must be an array");
        }
        return n;
    }

    private static Map<String, String> stringMap(JsonNode node, String name, String field) {
        JsonNode n = node.get(name);
        Map<String, String> map = new LinkedHashMap<>();
        if (absent(n)) {
            return map;
        }
        if (!n.isObject()) {
            throw TesError.badRequest(field, "must be an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw TesError.badRequest(field + "." + TesError.abbreviate(e.getKey()), "must be a string");
            }
            map.put(e.getKey(), e.getValue().asText());
        }
        return map;
    }

    /** Runs a builder step, refusing what it refuses as a 400 on {@code field}. */
    private static <T> T spec(String field, Supplier<T> step) {
        try {
            return step.get();
        } catch (InvalidJobSpecException e) {
            throw TesError.badRequest(field.equals("task") ? tesField(e.field()) : field, e.reason());
        }
    }

    /** The TES name of a {@link JobSpec} field the builder's final checks refuse. */
    static String tesField(String field) {
        return switch (field) {
            case "comment" -> "description";
            case "cpus" -> "resources.cpu_cores";
            case "memoryBytes" -> "resources.ram_gb";
            case "remoteSite" -> "resources.zones";
            case "account", "flavor", "gpus", "priority" -> "resources.backend_parameters." + field;
            case "timeLimit" -> "resources.backend_parameters.time_limit";
            default -> field;
        };
    }
}

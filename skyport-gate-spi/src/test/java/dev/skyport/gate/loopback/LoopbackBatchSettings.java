package dev.skyport.gate.loopback;

import dev.skyport.gate.BatchPartition;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.IntStream;

/**
 * The loopback batch gate's options, every one checked when the gate is created: a typo or a bad value is a permanent
 * {@link GateException} naming the key. See {@link LoopbackBatchGate} for what each means.
 */
record LoopbackBatchSettings(String remote, Path queueDir, List<BatchPartition> partitions, List<String> accounts,
                             boolean unreachable, Optional<SubmitFault> submitFault, Duration minJobAge,
                             Duration killWait) {

    static final String PARTITIONS = "partitions";
    static final String ACCOUNTS = "accounts";
    static final String QUEUE_DIR = "queue-dir";
    static final String REMOTE = "remote";
    static final String UNREACHABLE = "unreachable";
    static final String FAIL_SUBMIT = "fail-submit";
    static final String MIN_JOB_AGE = "min-job-age";
    static final String KILL_WAIT = "kill-wait";

    static final String DEFAULT_PARTITIONS = "debug:2:2:2048:60,small:1:1:1024:10";

    private static final Set<String> KEYS = Set.of(PARTITIONS, ACCOUNTS, QUEUE_DIR, REMOTE, UNREACHABLE, FAIL_SUBMIT,
            MIN_JOB_AGE, KILL_WAIT);
    /* As LoopbackSettings: keys the engine's builder may hand every gate; a batch site runs jobs as its own users. */
    private static final Set<String> ENGINE_KEYS = Set.of("job-isolation", "job-isolation-required", "job-accounts",
            "job-account");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    /** What {@code fail-submit} does to the first {@code times} submits of a gate. */
    record SubmitFault(Kind kind, int times) {
        enum Kind {
            /** Throws a transient error and queues nothing, as a refused connection does. */
            TRANSIENT,
            /** Queues the job, then throws a transient error, as a reply lost on its way back does. */
            LOST_REPLY
        }
    }

    static LoopbackBatchSettings from(GateConfig config) {
        Map<String, String> o = config.options();
        for (String key : o.keySet()) {
            if (!KEYS.contains(key) && !ENGINE_KEYS.contains(key)) {
                throw GateException.permanent("gate option " + key + " is not a loopback-batch gate option (known: "
                        + String.join(", ", KEYS.stream().sorted().toList()) + ")");
            }
        }
        String remote = o.getOrDefault(REMOTE, "loopback-batch").trim();
        if (!NAME.matcher(remote).matches()) {
            throw bad(REMOTE, remote, "a name of letters, digits, '.', '_' and '-'");
        }
        Path queueDir = Optional.ofNullable(o.get(QUEUE_DIR)).map(String::trim).map(Path::of)
                .orElse(config.workDir().resolve("queue")).toAbsolutePath().normalize();
        List<BatchPartition> partitions = partitions(o.getOrDefault(PARTITIONS, DEFAULT_PARTITIONS));
        List<String> accounts = new ArrayList<>();
        if (o.containsKey(ACCOUNTS)) {
            for (String a : o.get(ACCOUNTS).split(",")) {
                String name = a.trim();
                if (!NAME.matcher(name).matches() || accounts.contains(name)) {
                    throw bad(ACCOUNTS, o.get(ACCOUNTS), "a comma-separated list of unique account names");
                }
                accounts.add(name);
            }
        }
        Optional<SubmitFault> fault = Optional.ofNullable(o.get(FAIL_SUBMIT)).map(LoopbackBatchSettings::fault);
        Duration minJobAge = Optional.ofNullable(o.get(MIN_JOB_AGE))
                .map(v -> LoopbackSettings.duration(MIN_JOB_AGE, v)).orElse(Duration.ofMinutes(5));
        Duration killWait = Optional.ofNullable(o.get(KILL_WAIT))
                .map(v -> LoopbackSettings.duration(KILL_WAIT, v)).orElse(Duration.ofSeconds(2));
        return new LoopbackBatchSettings(remote, queueDir, partitions, List.copyOf(accounts), flag(o, UNREACHABLE),
                fault, minJobAge, killWait);
    }

    private static List<BatchPartition> partitions(String raw) {
        List<BatchPartition> out = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        String expected = "name:maxNodes:cpus:memoryMiB:maxMinutes[:gpus], e.g. debug:2:4:4096:60";
        for (String entry : raw.split(",")) {
            String e = entry.trim();
            String[] f = e.split(":");
            if (f.length < 5 || f.length > 6) {
                throw bad(PARTITIONS, e, expected);
            }
            String name = f[0].trim();
            if (!NAME.matcher(name).matches()) {
                throw bad(PARTITIONS, e, "a partition name of letters, digits, '.', '_' and '-'");
            }
            if (!names.add(name)) {
                throw bad(PARTITIONS, e, "partition names that are unique");
            }
            int nodes = positive(PARTITIONS, e, f[1]);
            int cpus = positive(PARTITIONS, e, f[2]);
            long memory = (long) positive(PARTITIONS, e, f[3]) << 20;
            int minutes = positive(PARTITIONS, e, f[4]);
            int gpus = 0;
            if (f.length == 6) {
                try {
                    gpus = Integer.parseInt(f[5].trim());
                } catch (NumberFormatException x) {
                    gpus = -1;
                }
                if (gpus < 0) {
                    throw bad(PARTITIONS, e, "a gpu count that is not negative");
                }
            }
            List<String> nodeNames = IntStream.rangeClosed(1, nodes).mapToObj(i -> name + "-n" + i).toList();
            out.add(new BatchPartition(name, out.isEmpty(), true, nodes, cpus, memory, gpus,
                    Optional.of(Duration.ofMinutes(minutes)), List.of(), nodeNames));
        }
        return List.copyOf(out);
    }

    private static SubmitFault fault(String raw) {
        String[] f = raw.trim().split(":");
        String expected = "transient:<n> or lost-reply:<n>";
        if (f.length != 2) {
            throw bad(FAIL_SUBMIT, raw, expected);
        }
        SubmitFault.Kind kind = switch (f[0].trim().toLowerCase(Locale.ROOT)) {
            case "transient" -> SubmitFault.Kind.TRANSIENT;
            case "lost-reply" -> SubmitFault.Kind.LOST_REPLY;
            default -> throw bad(FAIL_SUBMIT, raw, expected);
        };
        return new SubmitFault(kind, positive(FAIL_SUBMIT, raw, f[1]));
    }

    private static boolean flag(Map<String, String> o, String key) {
        String v = o.get(key);
        if (v == null) {
            return false;
        }
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw bad(key, v, "true or false");
        };
    }

    private static int positive(String key, String entry, String raw) {
        try {
            int v = Integer.parseInt(raw.trim());
            if (v > 0) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw bad(key, entry, "a positive integer where '" + raw + "' is");
    }

    private static GateException bad(String key, String value, String expected) {
        return GateException.permanent("gate option " + key + " must be " + expected + ", got '" + value + "'");
    }
}

package dev.skyport.gate.loopback;

import dev.skyport.api.EndReason;
import dev.skyport.api.Flavor;
import dev.skyport.gate.GateConfig;
import dev.skyport.gate.GateException;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The loopback gate's options, every one checked when the gate is created: a typo or a bad value is a permanent
 * {@link GateException} naming the key, as a real gate's configuration error would be.
 */
record LoopbackSettings(String remote, List<Flavor> flavors, List<String> images, Optional<CreateFault> createFault,
                        Duration createDelay, boolean unreachableNodes, boolean crashMidCreate) {

    static final String FLAVORS = "flavors";
    static final String IMAGES = "images";
    static final String REMOTE = "remote";
    static final String FAIL_CREATE = "fail-create";
    static final String CREATE_DELAY = "create-delay";
    static final String UNREACHABLE_NODES = "unreachable-nodes";
    static final String CRASH_MID_CREATE = "crash-mid-create";

    static final String DEFAULT_FLAVORS = "small:2:4GiB:0.10,large:8:32GiB:0.40";
    static final String DEFAULT_IMAGES = "loopback-base";
    static final String CURRENCY = "USD";

    private static final Set<String> KEYS = Set.of(FLAVORS, IMAGES, REMOTE, FAIL_CREATE, CREATE_DELAY,
            UNREACHABLE_NODES, CRASH_MID_CREATE);
    /*
     * Keys the engine's builder derives from settings of its own (job isolation) and may hand to every gate it creates;
     * the loopback gate runs jobs bare, as a cloud VM without a sandbox would, so it accepts and ignores them.
     */
    private static final Set<String> ENGINE_KEYS = Set.of("job-isolation", "job-isolation-required", "job-accounts",
            "job-account");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([KMGT]i?B?|B)?", Pattern.CASE_INSENSITIVE);
    private static final Pattern SHORT_DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");

    /** What {@code fail-create} makes the first (or every) creation throw. */
    record CreateFault(Kind kind, int times, Optional<Duration> retryAfter) {
        enum Kind { TRANSIENT, PERMANENT, QUOTA, NO_CAPACITY }

        GateException exception(String partition) {
            return switch (kind) {
                case TRANSIENT -> GateException.transientFailure("loopback: injected transient failure creating "
                        + partition, null, retryAfter);
                case PERMANENT -> GateException.permanent("loopback: injected permanent failure creating "
                        + partition);
                case QUOTA -> GateException.permanent("loopback: injected quota exceeded creating " + partition,
                        EndReason.QUOTA_EXCEEDED);
                case NO_CAPACITY -> GateException.permanent("loopback: injected no capacity for " + partition,
                        EndReason.NO_CAPACITY);
            };
        }
    }

    static LoopbackSettings from(GateConfig config) {
        Map<String, String> o = config.options();
        for (String key : o.keySet()) {
            if (!KEYS.contains(key) && !ENGINE_KEYS.contains(key)) {
                throw GateException.permanent("gate option " + key + " is not a loopback gate option (known: "
                        + String.join(", ", KEYS.stream().sorted().toList()) + ")");
            }
        }
        String remote = o.getOrDefault(REMOTE, "loopback").trim();
        if (!NAME.matcher(remote).matches()) {
            throw bad(REMOTE, remote, "a name of letters, digits, '.', '_' and '-'");
        }
        List<Flavor> flavors = flavors(o.getOrDefault(FLAVORS, DEFAULT_FLAVORS), remote);
        List<String> images = images(o.getOrDefault(IMAGES, DEFAULT_IMAGES));
        Optional<CreateFault> fault = Optional.ofNullable(o.get(FAIL_CREATE)).map(LoopbackSettings::fault);
        Duration delay = Optional.ofNullable(o.get(CREATE_DELAY)).map(v -> duration(CREATE_DELAY, v))
                .orElse(Duration.ZERO);
        return new LoopbackSettings(remote, flavors, images, fault, delay, flag(o, UNREACHABLE_NODES),
                flag(o, CRASH_MID_CREATE));
    }

    private static List<Flavor> flavors(String raw, String remote) {
        List<Flavor> out = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        for (String entry : raw.split(",")) {
            String e = entry.trim();
            String[] f = e.split(":");
            if (f.length < 4 || f.length > 5) {
                throw bad(FLAVORS, e, "name:cpus:memory:price-per-hour[:gpus], e.g. small:2:4GiB:0.10");
            }
            String name = f[0].trim();
            if (!NAME.matcher(name).matches()) {
                throw bad(FLAVORS, e, "a flavor name of letters, digits, '.', '_' and '-'");
            }
            if (!names.add(name)) {
                throw bad(FLAVORS, e, "flavor names that are unique");
            }
            int cpus = (int) positive(FLAVORS, e, f[1]);
            long memory = size(FLAVORS, e, f[2]);
            double price;
            try {
                price = Double.parseDouble(f[3].trim());
            } catch (NumberFormatException x) {
                throw bad(FLAVORS, e, "a price per hour such as 0.10");
            }
            if (!(price >= 0) || Double.isInfinite(price)) {
                throw bad(FLAVORS, e, "a price per hour that is not negative");
            }
            int gpus = 0;
            if (f.length == 5) {
                try {
                    gpus = Integer.parseInt(f[4].trim());
                } catch (NumberFormatException x) {
                    gpus = -1;
                }
                if (gpus < 0) {
                    throw bad(FLAVORS, e, "a gpu count that is not negative");
                }
            }
            out.add(new Flavor(name, remote, cpus, memory, 0, gpus, price, CURRENCY));
        }
        return List.copyOf(out);
    }

    private static List<String> images(String raw) {
        List<String> out = new ArrayList<>();
        for (String i : raw.split(",")) {
            String name = i.trim();
            if (!NAME.matcher(name).matches() || out.contains(name)) {
                throw bad(IMAGES, raw, "a comma-separated list of unique image names");
            }
            out.add(name);
        }
        return List.copyOf(out);
    }

    private static CreateFault fault(String raw) {
        String[] f = raw.trim().split(":");
        String kind = f[0].toLowerCase(Locale.ROOT);
        switch (kind) {
            case "transient" -> {
                if (f.length < 2 || f.length > 3) {
                    throw bad(FAIL_CREATE, raw, "transient:<n>[:<retry-after-seconds>]");
                }
                int times = (int) positive(FAIL_CREATE, raw, f[1]);
                Optional<Duration> after = f.length == 3
                        ? Optional.of(Duration.ofSeconds(positive(FAIL_CREATE, raw, f[2])))
                        : Optional.empty();
                return new CreateFault(CreateFault.Kind.TRANSIENT, times, after);
            }
            case "permanent", "quota", "no-capacity" -> {
                if (f.length != 1) {
                    throw bad(FAIL_CREATE, raw, "one of transient:<n>[:<s>], permanent, quota, no-capacity");
                }
                CreateFault.Kind k = switch (kind) {
                    case "permanent" -> CreateFault.Kind.PERMANENT;
                    case "quota" -> CreateFault.Kind.QUOTA;
                    default -> CreateFault.Kind.NO_CAPACITY;
                };
                return new CreateFault(k, Integer.MAX_VALUE, Optional.empty());
            }
            default -> throw bad(FAIL_CREATE, raw, "one of transient:<n>[:<s>], permanent, quota, no-capacity");
        }
    }

    /** {@code 250ms}, {@code 2s}, {@code 1m}, {@code 1h} or ISO-8601 ({@code PT2S}); zero is allowed. */
    static Duration duration(String key, String raw) {
        String v = raw.trim();
        Matcher m = SHORT_DURATION.matcher(v);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofHours(n);
            };
        }
        try {
            Duration d = Duration.parse(v);
            if (!d.isNegative()) {
                return d;
            }
        } catch (DateTimeParseException ignored) {
            // reported below
        }
        throw bad(key, raw, "a duration such as 250ms, 2s, 1m or PT2S");
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

    private static long positive(String key, String entry, String raw) {
        try {
            long v = Long.parseLong(raw.trim());
            if (v > 0 && v <= Integer.MAX_VALUE) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw bad(key, entry, "a positive integer where '" + raw + "' is");
    }

    private static long size(String key, String entry, String raw) {
        Matcher m = SIZE.matcher(raw.trim());
        if (!m.matches()) {
            throw bad(key, entry, "a memory size such as 4GiB or 512MiB");
        }
        long n = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
        int shift = switch (unit.charAt(0)) {
            case 'K' -> 10;
            case 'M' -> 20;
            case 'G' -> 30;
            case 'T' -> 40;
            default -> 0;
        };
        if (n > (Long.MAX_VALUE >> shift)) {
            throw bad(key, entry, "a memory size that fits in 8 EiB");
        }
        return n << shift;
    }

    private static GateException bad(String key, String value, String expected) {
        return GateException.permanent("gate option " + key + " must be " + expected + ", got '" + value + "'");
    }
}

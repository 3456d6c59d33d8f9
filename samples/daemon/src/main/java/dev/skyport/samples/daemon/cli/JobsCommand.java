package dev.skyport.samples.daemon.cli;

import dev.skyport.api.Job;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobState;
import dev.skyport.client.internal.wire.WireJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** {@code skyport jobs}: the queue as a table (or JSON), oldest first. */
@Command(name = "jobs", mixinStandardHelpOptions = true,
        description = {"Lists your jobs (--all: everyone's), oldest first, as a table or --json.",
                "Columns: ID (the last 8 hex digits of the id; wherever an id is asked for, any unambiguous start or "
                        + "end of it will do), NAME, STATE, REASON (why it ended, or what a queued job waits for "
                        + "and when it is expected to start), NODE and AGE. --wide shows them uncut."})
final class JobsCommand extends ClientCommand {
    @Option(names = "--state", paramLabel = "STATE",
            description = "Only jobs in this state (repeatable): ${COMPLETION-CANDIDATES}.")
    List<JobState> states = new ArrayList<>();

    @Option(names = "--all", description = "Every user's jobs (admins; others see only their own either way).")
    boolean all;

    @Option(names = "--name", paramLabel = "PREFIX", description = "Only jobs whose name starts with PREFIX.")
    String namePrefix;

    @Option(names = "--tag", paramLabel = "KEY=VALUE",
            description = "Only jobs with this tag (repeatable, each key once).")
    List<String> tagArguments = new ArrayList<>();

    /** The --tag filters by key, checked in {@link #prepare()}. */
    private final Map<String, String> tags = new LinkedHashMap<>();

    @Option(names = "--limit", paramLabel = "N", defaultValue = "1000",
            description = "At most N jobs (default: ${DEFAULT-VALUE}).")
    int limit;

    @Option(names = "--json", description = "A JSON array of jobs (the /api/v1 Job shape) instead of a table.")
    boolean json;

    @Option(names = {"-w", "--wide"}, description = "Whole ids and cells, and the OWNER column.")
    boolean wide;

    @Override
    void prepare() {
        if (limit < 1) {
            throw new ParameterException(spec.commandLine(), "--limit must be at least 1, got " + limit);
        }
        tags.clear();
        for (String t : tagArguments) {
            int eq = t.indexOf('=');
            if (eq < 1) {
                throw new ParameterException(spec.commandLine(), "--tag must be KEY=VALUE, got '" + t + "'");
            }
            // A job has one value per key: two values for one key would match nothing, or silently keep the last.
            if (tags.putIfAbsent(t.substring(0, eq), t.substring(eq + 1)) != null) {
                throw new ParameterException(spec.commandLine(), "--tag names the key '" + t.substring(0, eq)
                        + "' twice");
            }
        }
    }

    @Override
    int run(Connection connection) {
        List<Job> jobs = JobTable.list(connection.sky(), query(connection), limit);
        if (json) {
            JsonOutput.printArray(out(), jobs, WireJson::writeJob);
            return 0;
        }
        JobTable.of(jobs, context.clock().instant(), wide, wide || all, style()).print(out(), style());
        return 0;
    }

    JobQuery query(Connection connection) {
        JobQuery query = new JobQuery(states.isEmpty() ? EnumSet.noneOf(JobState.class) : EnumSet.copyOf(states),
                Optional.empty(), 1, Optional.empty());
        if (!all && connection.userId().isPresent()) {
            query = query.withOwner(connection.userId().get());
        }
        if (namePrefix != null) {
            query = query.withNamePrefix(namePrefix);
        }
        for (Map.Entry<String, String> tag : tags.entrySet()) {
            query = query.withTag(tag.getKey(), tag.getValue());
        }
        return query;
    }
}

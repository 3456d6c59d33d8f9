package dev.skyport.samples.daemon.cli;

import dev.skyport.api.Job;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import dev.skyport.api.Subscription;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * {@code skyport watch}: the queue, live. On a terminal the view is redrawn in place as soon as a job or node event
 * arrives (and every interval, so ages move); elsewhere (a pipe, a file, a CI log) a plain snapshot is appended every
 * interval, as {@code watch(1)} output would be if captured. Each view has the count per state, the jobs that have
 * not ended and the most recent ones that have.
 */
@Command(name = "watch", mixinStandardHelpOptions = true,
        description = {"A live view of the queue: counts per state, the jobs that have not ended and the latest that "
                + "have.",
                "On a terminal it redraws in place when anything changes; otherwise it prints a snapshot every "
                        + "interval."})
final class WatchCommand extends ClientCommand {
    /** How many jobs are counted at most, so a huge history cannot make each redraw slow. */
    static final int MAX_COUNTED = 10_000;
    private static final int ENDED_SHOWN = 10;
    /** Events come in bursts (a batch submit); redrawing once per burst is enough. */
    private static final long COALESCE_MILLIS = 100;

    @Option(names = "--interval", paramLabel = "SECONDS", defaultValue = "2",
            description = "Seconds between snapshots, and between redraws when nothing happens (default: "
                    + "${DEFAULT-VALUE}).")
    double intervalSeconds;

    @Option(names = {"-n", "--iterations"}, paramLabel = "N", defaultValue = "0",
            description = "Stop after N views (default: never; Ctrl-C stops).")
    int iterations;

    @Option(names = "--all", description = "Every user's jobs (admins).")
    boolean all;

    @Override
    void prepare() {
        if (intervalSeconds < 0.1 || intervalSeconds > 3600) {
            throw new ParameterException(spec.commandLine(), "--interval must be 0.1..3600 seconds, got "
                    + intervalSeconds);
        }
        if (iterations < 0) {
            throw new ParameterException(spec.commandLine(), "--iterations must be 0 or more, got " + iterations);
        }
    }

    @Override
    int run(Connection connection) throws InterruptedException {
        boolean inPlace = context.terminal();
        long intervalMillis = Math.round(intervalSeconds * 1000);
        Semaphore changed = new Semaphore(0);
        SkyPort sky = connection.sky();
        try (Subscription ignored = inPlace ? sky.events().subscribe(event -> changed.release()) : () -> { }) {
            PrintWriter out = out();
            for (int view = 1; iterations == 0 || view <= iterations; view++) {
                List<String> lines = view(connection, inPlace);
                if (inPlace) {
                    out.print(view == 1 ? "\033[2J\033[H" : "\033[H");
                    lines.forEach(line -> out.print(line + "\033[K\n"));
                    out.print("\033[J");
                } else {
                    lines.forEach(out::println);
                    out.println();
                }
                out.flush();
                if (iterations != 0 && view == iterations) {
                    break;
                }
                if (changed.tryAcquire(intervalMillis, TimeUnit.MILLISECONDS)) {
                    Thread.sleep(COALESCE_MILLIS); // not waiting for anything: lets a burst of events land first
                    changed.drainPermits();
                }
            }
        }
        return 0;
    }

    private List<String> view(Connection connection, boolean inPlace) {
        JobQuery query = JobQuery.all();
        if (!all && connection.userId().isPresent()) {
            query = query.withOwner(connection.userId().get());
        }
        List<Job> jobs = JobTable.list(connection.sky(), query, MAX_COUNTED);
        Instant now = context.clock().instant();
        Style style = style();
        List<String> lines = new ArrayList<>();
        lines.add(style.bold("skyport watch") + "  " + now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
                + (inPlace ? "" : "  every " + intervalSeconds + "s"));
        lines.add(counts(jobs, style));
        lines.add("");
        List<Job> shown = new ArrayList<>(jobs.stream().filter(j -> !j.state().isTerminal()).toList());
        jobs.stream().filter(j -> j.state().isTerminal())
                .sorted(Comparator.comparing(Job::updateTime).reversed()).limit(ENDED_SHOWN)
                .sorted(Comparator.comparing(Job::submitTime)).forEach(shown::add);
        if (shown.isEmpty()) {
            lines.add("no jobs");
        } else {
            lines.addAll(JobTable.of(shown, now, false, all, style).lines(style));
        }
        return lines;
    }

    static String counts(List<Job> jobs, Style style) {
        Map<JobState, Integer> counts = new EnumMap<>(JobState.class);
        jobs.forEach(job -> counts.merge(job.state(), 1, Integer::sum));
        StringBuilder b = new StringBuilder();
        for (JobState state : JobState.values()) {
            b.append(style.state(state, state.name())).append(' ').append(counts.getOrDefault(state, 0))
                    .append("  ");
        }
        b.append("total ").append(jobs.size()).append(jobs.size() >= MAX_COUNTED ? "+" : "");
        return b.toString();
    }
}

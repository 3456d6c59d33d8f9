package dev.skyport.samples.notebook;

import dev.skyport.api.AwaitTimeoutException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.SkyPort;
import dev.skyport.api.Subscription;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * A parameter sweep: one {@code #SWM} job per value of a parameter, submitted together, watched with a live progress
 * display, and read back as a {@link ResultTable} of each value and what its job printed. Each job is tagged
 * {@code sweep=<name>} and {@code <parameter>=<value>}, so {@code JobQuery.all().withTag("sweep", name)} lists them.
 */
public final class Sweep {
    private final SkyPort sky;
    private final String name;
    private final String parameter;
    private final List<Object> values;
    private final List<JobId> ids;

    private Sweep(SkyPort sky, String name, String parameter, List<Object> values, List<JobId> ids) {
        this.sky = sky;
        this.name = name;
        this.parameter = parameter;
        this.values = values;
        this.ids = ids;
    }

    /**
     * Submits one job per value, all in one durable write (all are queued or none).
     *
     * @param name      the sweep's name, the value of each job's {@code sweep} tag
     * @param parameter the parameter's name: a tag key and the first column of {@link #results}
     * @param script    the job's {@code #SWM} script for a value
     * @throws dev.skyport.api.InvalidJobSpecException when a script is refused; nothing is submitted then
     */
    public static <P> Sweep submit(SkyPort sky, String name, String parameter, List<P> values,
                                   Function<? super P, String> script) {
        Objects.requireNonNull(sky, "sky");
        if (values.isEmpty()) {
            throw new IllegalArgumentException("a sweep needs at least one value of " + parameter);
        }
        List<JobSpec> specs = new ArrayList<>();
        for (P value : values) {
            specs.add(JobSpec.parseScript(script.apply(value)).tag("sweep", name)
                    .tag(parameter, String.valueOf(value)).build());
        }
        List<JobId> ids = sky.jobs().submitAll(specs).stream().map(Job::id).toList();
        return new Sweep(sky, name, parameter, List.copyOf(values), ids);
    }

    public String name() {
        return name;
    }

    /** The jobs' snapshots now, in the order of the values. */
    public List<Job> jobs() {
        return ids.stream().map(sky.jobs()::get).toList();
    }

    public SweepProgress progress() {
        return SweepProgress.of(name, jobs());
    }

    /**
     * Shows the sweep's progress in one display that is updated whenever one of its jobs changes state, until every
     * job has ended, and returns their final snapshots.
     *
     * @throws AwaitTimeoutException when {@code timeout} passes first, with the jobs that had not ended
     * @throws InterruptedException  when the cell is interrupted
     */
    public List<Job> watch(Duration timeout) throws InterruptedException {
        Set<JobId> mine = Set.copyOf(ids);
        BlockingQueue<JobId> changed = new LinkedBlockingQueue<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        LiveDisplay display = LiveDisplay.open();
        // Subscribed before the first look, so no transition between the look and the wait is missed.
        Subscription subscription = sky.events().subscribe(event -> {
            if (event instanceof JobTransitioned t && mine.contains(t.jobId())) {
                changed.add(t.jobId());
            }
        });
        try {
            while (true) {
                List<Job> now = jobs();
                SweepProgress progress = SweepProgress.of(name, now);
                display.show(progress.html(), progress.text());
                if (progress.done()) {
                    return now;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || changed.poll(left, TimeUnit.NANOSECONDS) == null) {
                    throw new AwaitTimeoutException(now.stream().filter(j -> !j.state().isTerminal()).toList());
                }
                changed.clear(); // a burst of transitions is one update
            }
        } finally {
            subscription.close();
        }
    }

    /**
     * One row per value: the value, the job's id, state and exit code, and in column {@code outputColumn} the last
     * non-blank line the job printed, as a number when it reads as one.
     */
    public ResultTable results(String outputColumn) {
        List<List<Object>> rows = new ArrayList<>();
        List<Job> jobs = jobs();
        for (int i = 0; i < jobs.size(); i++) {
            Job job = jobs.get(i);
            rows.add(List.of(values.get(i), job.id().toString(), job.state().name(),
                    job.exitCode().isPresent() ? (Object) job.exitCode().getAsInt() : "",
                    parse(lastLine(sky.jobs().stdout(job.id())))));
        }
        return new ResultTable(List.of(parameter, "job", "state", "exit", outputColumn), rows);
    }

    private static String lastLine(String output) {
        String[] lines = output.strip().split("\n");
        return lines[lines.length - 1].strip();
    }

    private static Object parse(String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException notAnInteger) {
            try {
                return Double.parseDouble(text);
            } catch (NumberFormatException notANumber) {
                return text;
            }
        }
    }

    public String toHtml() {
        return JobTables.html(caption(), jobs());
    }

    @Override
    public String toString() {
        return JobTables.text(caption(), jobs());
    }

    private String caption() {
        return "sweep " + name + " over " + parameter + " = " + values;
    }
}

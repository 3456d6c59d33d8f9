package dev.skyport.samples.daemon.cli;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.SkyPort;
import dev.skyport.api.Subscription;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * {@code skyport submit FILE|-}: queues a {@code #SWM} script and prints the job's id. With {@code --watch} it then
 * prints each state the job passes through on stderr (so stdout stays the id and the output) and, once the job has
 * ended, its standard output; the exit code is then 0 only when the job succeeded.
 *
 * <p>With several files (a sweep), they are submitted in batches of {@value #BATCH} (one durable write each) with
 * {@link Progress} on stderr, and their ids printed once all are queued; {@code --watch} then waits for all of them
 * with progress (counts per end state and the rate), prints no outputs, and exits 0 only when every job succeeded.
 */
@Command(name = "submit", mixinStandardHelpOptions = true,
        description = {"Submits a job script (with #SWM directives) and prints the job's id.",
                "With --watch, follows its states (on stderr) and then prints its output; exits 1 unless it "
                        + "succeeded.",
                "Several files are submitted together, with progress on stderr; with --watch it then waits for all "
                        + "of them and exits 1 unless all succeeded."})
final class SubmitCommand extends ClientCommand {
    /** The longest script read from a file or stdin; the daemon has its own limit, this only bounds memory. */
    private static final int MAX_SCRIPT_BYTES = 16 * 1024 * 1024;
    /** Jobs per {@code submitAll} of a sweep: one durable write each, and a progress step a person can see. */
    static final int BATCH = 100;

    @Parameters(arity = "1..*", paramLabel = "FILE|-",
            description = "The job script, or - for standard input; several scripts are submitted together.")
    List<String> files;

    @Option(names = "--progress", paramLabel = "MODE", defaultValue = "auto",
            description = "Progress of several jobs on stderr: auto (one updating line on a terminal, plain lines "
                    + "otherwise), line, plain or none (default: ${DEFAULT-VALUE}).")
    String progress;

    @Option(names = "--name", paramLabel = "NAME", description = "The job's name (overrides #SWM name).")
    String name;

    @Option(names = "--idempotency-key", paramLabel = "KEY",
            description = "Submitting again with the same key returns the first job instead of queueing another.")
    String idempotencyKey;

    @Option(names = "--watch", description = "Follow the job until it ends, then print its output.")
    boolean watch;

    private final List<JobSpec.Builder> builders = new ArrayList<>();
    private Progress.Mode progressMode;

    @Override
    void prepare() throws IOException {
        if (files.size() > 1 && idempotencyKey != null) {
            throw new ParameterException(spec.commandLine(), "--idempotency-key takes one script: every job of a "
                    + "sweep would get the first one's");
        }
        if (files.stream().filter("-"::equals).count() > 1) {
            throw new ParameterException(spec.commandLine(), "standard input (-) can be read once");
        }
        try {
            progressMode = Progress.Mode.of(progress, context.terminal());
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        for (String file : files) {
            JobSpec.Builder builder = JobSpec.parseScript(readScript(file));
            if (name != null) {
                builder.name(name);
            }
            if (idempotencyKey != null) {
                builder.idempotencyKey(idempotencyKey);
            }
            builders.add(builder);
        }
    }

    @Override
    int run(Connection connection) throws Exception {
        SkyPort sky = connection.sky();
        if (builders.size() > 1) {
            return runSweep(sky, builders.stream().map(JobSpec.Builder::build).toList());
        }
        JobSpec spec = builders.get(0).build();
        if (!watch) {
            Job job = sky.jobs().submit(spec);
            out().println(job.id());
            return 0;
        }
        // Subscribed before submitting, so not even the first transitions can be missed; the follower, which knows
        // the id once submit returned, drains the queue and drops other jobs' events.
        BlockingQueue<JobTransitioned> events = new LinkedBlockingQueue<>();
        try (Subscription ignored = sky.events().subscribe(event -> {
            if (event instanceof JobTransitioned t) {
                events.add(t);
            }
        })) {
            Job job = sky.jobs().submit(spec);
            out().println(job.id());
            out().flush();
            printState(job.state().name(), job.stateDetails());
            Job done = follow(sky, job, events);
            printOutput(sky, done.id());
            return done.state() == JobState.SUCCEEDED ? 0 : 1;
        }
    }

    /**
     * Prints transitions as they come and returns the final snapshot. The terminal snapshot comes from
     * {@code onTerminal}, not from the events, so a subscription that drops an event cannot leave this waiting.
     */
    private Job follow(SkyPort sky, Job job, BlockingQueue<JobTransitioned> events) throws Exception {
        CompletableFuture<Job> terminal = sky.jobs().onTerminal(job.id());
        while (true) {
            JobTransitioned event = events.poll(200, TimeUnit.MILLISECONDS);
            if (event != null) {
                if (event.jobId().equals(job.id()) && event.from().isPresent()) {
                    printState(event.to().name() + event.endReason().map(r -> " (" + r + ")").orElse(""),
                            event.details());
                }
                continue;
            }
            if (terminal.isDone()) {
                try {
                    return terminal.get();
                } catch (java.util.concurrent.ExecutionException e) {
                    // The cause is what went wrong (the daemon's refusal, a lost connection); the wrapper says nothing.
                    throw e.getCause() instanceof Exception cause ? cause : e;
                }
            }
        }
    }

    private void printState(String state, String details) {
        err().println(state + (details.isBlank() ? "" : ": " + Cells.safe(details)));
        err().flush();
    }

    private void printOutput(SkyPort sky, JobId id) throws IOException {
        OutputStream raw = context.binaryOut();
        try (InputStream stdout = sky.jobs().openStdout(id)) {
            stdout.transferTo(raw);
        }
        raw.flush();
    }

    /** Submits {@code specs} in batches with progress, prints their ids, and with --watch waits for them all. */
    private int runSweep(SkyPort sky, List<JobSpec> specs) throws Exception {
        Progress submitting = new Progress(err(), progressMode, context.clock(), "submitted", specs.size());
        List<Job> jobs = new ArrayList<>(specs.size());
        try {
            for (int from = 0; from < specs.size(); from += BATCH) {
                jobs.addAll(sky.jobs().submitAll(specs.subList(from, Math.min(specs.size(), from + BATCH))));
                submitting.update(jobs.size(), "jobs");
            }
        } catch (RuntimeException e) {
            submitting.abandon();
            printIds(jobs); // those queued before the failure are there: say which
            throw e;
        }
        submitting.finish(jobs.size(), "jobs");
        printIds(jobs);
        return watch ? awaitAll(sky, jobs) : 0;
    }

    private void printIds(List<Job> jobs) {
        jobs.forEach(job -> out().println(job.id()));
        out().flush();
    }

    /** Waits for every job to end, with progress by end state; 0 when all succeeded. */
    private int awaitAll(SkyPort sky, List<Job> jobs) throws Exception {
        Map<JobState, Integer> ended = new EnumMap<>(JobState.class);
        Semaphore changed = new Semaphore(0);
        List<CompletableFuture<Job>> ends = new ArrayList<>(jobs.size());
        for (Job job : jobs) {
            ends.add(sky.jobs().onTerminal(job.id()).whenComplete((done, failure) -> {
                if (done != null) {
                    synchronized (ended) {
                        ended.merge(done.state(), 1, Integer::sum);
                    }
                }
                changed.release();
            }));
        }
        Progress waiting = new Progress(err(), progressMode, context.clock(), "ended", jobs.size());
        int count = 0;
        String detail = "";
        try {
            while (count < jobs.size()) {
                // Woken by each end; the timeout only lets the rate move while nothing ends.
                changed.tryAcquire(1, TimeUnit.SECONDS);
                for (CompletableFuture<Job> end : ends) {
                    if (end.isCompletedExceptionally()) {
                        end.join(); // the daemon's refusal or a lost connection: the command fails with it
                    }
                }
                synchronized (ended) {
                    count = ended.values().stream().mapToInt(Integer::intValue).sum();
                    detail = endCounts(ended);
                }
                waiting.update(count, detail);
            }
        } catch (RuntimeException e) {
            waiting.abandon();
            throw e;
        }
        waiting.finish(count, detail);
        synchronized (ended) {
            return ended.getOrDefault(JobState.SUCCEEDED, 0) == jobs.size() ? 0 : 1;
        }
    }

    private static String endCounts(Map<JobState, Integer> ended) {
        return ended.getOrDefault(JobState.SUCCEEDED, 0) + " succeeded, " + ended.getOrDefault(JobState.FAILED, 0)
                + " failed, " + ended.getOrDefault(JobState.CANCELED, 0) + " canceled";
    }

    private String readScript(String file) throws IOException {
        byte[] bytes;
        if (file.equals("-")) {
            bytes = context.stdin().readNBytes(MAX_SCRIPT_BYTES + 1);
        } else {
            Path path = Path.of(file);
            try (InputStream in = Files.newInputStream(path)) {
                bytes = in.readNBytes(MAX_SCRIPT_BYTES + 1);
            } catch (NoSuchFileException e) {
                throw new CommandFailure("no such file: " + file);
            }
        }
        if (bytes.length > MAX_SCRIPT_BYTES) {
            throw new ParameterException(spec.commandLine(), file + " is larger than " + MAX_SCRIPT_BYTES + " bytes");
        }
        if (bytes.length == 0) {
            throw new ParameterException(spec.commandLine(), (file.equals("-") ? "standard input" : file)
                    + " is empty");
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }
}

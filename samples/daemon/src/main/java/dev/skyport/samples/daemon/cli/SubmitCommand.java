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
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code skyport submit FILE|-}: queues a {@code #SWM} script and prints the job's id. With {@code --watch} it then
 * prints each state the job passes through on stderr (so stdout stays the id and the output) and, once the job has
 * ended, its standard output; the exit code is then 0 only when the job succeeded.
 */
@Command(name = "submit", mixinStandardHelpOptions = true,
        description = {"Submits a job script (with #SWM directives) and prints the job's id.",
                "With --watch, follows its states (on stderr) and then prints its output; exits 1 unless it "
                        + "succeeded."})
final class SubmitCommand extends ClientCommand {
    /** The longest script read from a file or stdin; the daemon has its own limit, this only bounds memory. */
    private static final int MAX_SCRIPT_BYTES = 16 * 1024 * 1024;

    @Parameters(index = "0", paramLabel = "FILE|-", description = "The job script, or - for standard input.")
    String file;

    @Option(names = "--name", paramLabel = "NAME", description = "The job's name (overrides #SWM name).")
    String name;

    @Option(names = "--idempotency-key", paramLabel = "KEY",
            description = "Submitting again with the same key returns the first job instead of queueing another.")
    String idempotencyKey;

    @Option(names = "--watch", description = "Follow the job until it ends, then print its output.")
    boolean watch;

    private JobSpec.Builder builder;

    @Override
    void prepare() throws IOException {
        builder = JobSpec.parseScript(readScript());
        if (name != null) {
            builder.name(name);
        }
        if (idempotencyKey != null) {
            builder.idempotencyKey(idempotencyKey);
        }
    }

    @Override
    int run(Connection connection) throws Exception {
        JobSpec spec = builder.build();
        SkyPort sky = connection.sky();
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

    private String readScript() throws IOException {
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

package dev.skyport.core.store;

import dev.skyport.api.Job;
import dev.skyport.api.JobSpec;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * A job as the store keeps it: the public snapshot plus the engine's own bookkeeping: a stop in progress, and the
 * earliest time a queued job may be placed again (retry back-off).
 *
 * @param job the public snapshot
 * @param stopIntent the stop in progress (cancel, requeue, time limit), when there is one
 * @param notBefore the earliest time a queued job may be placed again (retry back-off)
 */
public record StoredJob(Job job, Optional<StopIntent> stopIntent, Optional<Instant> notBefore) {
    /**
     * Rejects null components.
     *
     * @param job the public snapshot
     * @param stopIntent the stop in progress (cancel, requeue, time limit), when there is one
     * @param notBefore the earliest time a queued job may be placed again (retry back-off)
     */
    public StoredJob {
        Objects.requireNonNull(job, "job");
        Objects.requireNonNull(stopIntent, "stopIntent");
        Objects.requireNonNull(notBefore, "notBefore");
    }

    /**
     * {@return what the job costs its owner in the store, counted in characters: the script, the command, the
     * environment, the tags and the other text of its spec, plus a fixed overhead for the row, its events and attempts}
     * The same whatever store keeps it, so the engine can check a user's stored-bytes limit before the write.
     */
    public long size() {
        JobSpec s = job.spec();
        long n = ROW_OVERHEAD + s.name().length() + s.comment().length() + s.script().map(String::length).orElse(0)
                + s.account().map(String::length).orElse(0) + s.workdir().map(String::length).orElse(0);
        for (String arg : s.command()) {
            n += arg.length() + 1;
        }
        // Most jobs have neither: an empty map's entry set still costs an iterator, and this runs several times a job.
        if (!s.env().isEmpty()) {
            for (Map.Entry<String, String> e : s.env().entrySet()) {
                n += e.getKey().length() + e.getValue().length() + 2;
            }
        }
        if (!s.tags().isEmpty()) {
            for (Map.Entry<String, String> e : s.tags().entrySet()) {
                n += e.getKey().length() + e.getValue().length() + 2;
            }
        }
        for (String f : s.inputFiles()) {
            n += f.length() + 1;
        }
        for (String f : s.outputFiles()) {
            n += f.length() + 1;
        }
        for (String w : s.warnings()) {
            n += w.length() + 1;
        }
        if (s.containerSteps().isPresent()) {
            n += stepsSize(s.containerSteps().get());
        }
        return n;
    }

    /** What {@code steps} store: an input's content may be a megabyte, and counts as a script does. */
    private static long stepsSize(dev.skyport.api.ContainerSteps steps) {
        long n = 0;
        for (dev.skyport.api.ContainerStep step : steps.steps()) {
            n += step.image().length() + step.workdir().map(String::length).orElse(0)
                    + step.stdin().map(String::length).orElse(0) + step.stdout().map(String::length).orElse(0)
                    + step.stderr().map(String::length).orElse(0) + 16;
            for (String arg : step.command()) {
                n += arg.length() + 1;
            }
            for (Map.Entry<String, String> e : step.env().entrySet()) {
                n += e.getKey().length() + e.getValue().length() + 2;
            }
        }
        for (dev.skyport.api.StepInput in : steps.inputs()) {
            n += in.path().length() + in.content().map(String::length).orElse(0)
                    + in.source().map(String::length).orElse(0) + 8;
        }
        for (dev.skyport.api.StepOutput out : steps.outputs()) {
            n += out.path().length() + out.pathPrefix().map(String::length).orElse(0) + out.destination().length() + 8;
        }
        for (String v : steps.volumes()) {
            n += v.length() + 1;
        }
        return n;
    }

    /** A job row with its few events and attempts, without the text of its spec. */
    static final long ROW_OVERHEAD = 1024;

    /**
     * A job with no stop intent and no back-off: what a submit stores.
     *
     * @param job the job
     * @return the stored job
     */
    public static StoredJob of(Job job) {
        return new StoredJob(job, Optional.empty(), Optional.empty());
    }
}

package dev.skyport.api;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * An immutable snapshot of a job. {@code stateDetails} is a human-readable progress text (upstream's
 * {@code state_details}); {@code endReason} is present once the job is terminal. {@code attempts} lists every run,
 * oldest first; exit code, signal, start time and nodes are those of the latest attempt.
 * {@code warnings} are what the submission kept but did not understand (e.g. unknown {@code #SWM} directives).
 *
 * <p>{@code owner} is the owner's stable id, which every ownership check compares: a user re-created under the same
 * name gets a new id and sees none of the old user's jobs. {@code ownerName} is the name to show (and the job's
 * {@code USER}); for a job submitted without a separate id (the embedded default, {@link SkyPort#asUser(String)}) the
 * two are equal.
 *
 * @param id the job's identity
 * @param owner the owner's stable id
 * @param ownerName the owner's name, as shown
 * @param spec what was asked to run
 * @param state where the job is in its lifecycle
 * @param stateDetails a human-readable progress text
 * @param endReason why the job ended; empty until it is terminal
 * @param submitTime when the job was submitted
 * @param updateTime when the job last changed
 * @param attempts every run, oldest first
 */
public record Job(JobId id, String owner, String ownerName, JobSpec spec, JobState state, String stateDetails,
                  Optional<EndReason> endReason, Instant submitTime, Instant updateTime, List<Attempt> attempts) {
    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param id the job's identity
     * @param owner the owner's stable id
     * @param ownerName the owner's name, as shown
     * @param spec what was asked to run
     * @param state where the job is in its lifecycle
     * @param stateDetails a human-readable progress text
     * @param endReason why the job ended; empty until it is terminal
     * @param submitTime when the job was submitted
     * @param updateTime when the job last changed
     * @param attempts every run, oldest first
     */
    public Job {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(ownerName, "ownerName");
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(stateDetails, "stateDetails");
        Objects.requireNonNull(endReason, "endReason");
        Objects.requireNonNull(submitTime, "submitTime");
        Objects.requireNonNull(updateTime, "updateTime");
        attempts = List.copyOf(attempts);
    }

    /** {@return the job's name, from its spec} */
    public String name() {
        return spec.name();
    }

    /** {@return what the submission kept but did not understand, from its spec} */
    public List<String> warnings() {
        return spec.warnings();
    }

    /** {@return the latest attempt; empty before the job was first placed} */
    public Optional<Attempt> lastAttempt() {
        return attempts.isEmpty() ? Optional.empty() : Optional.of(attempts.get(attempts.size() - 1));
    }

    /** {@return start of the latest attempt} */
    public Optional<Instant> startTime() {
        return lastAttempt().map(Attempt::startTime);
    }

    /** {@return when the job reached its terminal state} */
    public Optional<Instant> endTime() {
        return state.isTerminal() ? Optional.of(lastAttempt().flatMap(Attempt::endTime).orElse(updateTime))
                : Optional.empty();
    }

    /** {@return the exit code of the latest attempt, once its process exited} */
    public OptionalInt exitCode() {
        return lastAttempt().map(Attempt::exitCode).orElse(OptionalInt.empty());
    }

    /** {@return the signal that ended the latest attempt's process, when one did} */
    public OptionalInt signal() {
        return lastAttempt().map(Attempt::signal).orElse(OptionalInt.empty());
    }

    /**
     * A short text for logs and debuggers: id, name, owner, state and attempts, and the spec as
     * {@link JobSpec#toString()} prints it (no script text, command arguments or environment values).
     */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("Job[").append(id).append(' ').append(spec.name())
                .append(" of ").append(ownerName).append(", ").append(state);
        endReason.ifPresent(r -> b.append(" (").append(r).append(')'));
        exitCode().ifPresent(code -> b.append(", exit ").append(code));
        signal().ifPresent(sig -> b.append(", signal ").append(sig));
        if (attempts.size() > 1) {
            b.append(", ").append(attempts.size()).append(" attempts");
        }
        return b.append(", ").append(spec).append(']').toString();
    }

    /** {@return the nodes of the latest attempt; empty before the job was placed} */
    public List<String> nodeNames() {
        return lastAttempt().map(Attempt::nodes).orElse(List.of());
    }
}

package dev.skyport.api;

import java.util.EnumSet;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A filter and page request for {@link Jobs#list(JobQuery)}. Jobs come in submission order. {@code pageToken} is
 * the opaque {@link Page#nextPageToken()} of the previous page. An empty {@code states} set means every state.
 */
public record JobQuery(Set<JobState> states, Optional<String> owner, int limit, Optional<String> pageToken,
                       boolean withScripts) {
    /** The largest page a query may ask for. */
    public static final int MAX_LIMIT = 1000;

    /** A query that lists jobs with their scripts. */
    public JobQuery(Set<JobState> states, Optional<String> owner, int limit, Optional<String> pageToken) {
        this(states, owner, limit, pageToken, true);
    }

    public JobQuery {
        states = states.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(states));
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(pageToken, "pageToken");
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new InvalidJobSpecException("limit", "must be 1.." + MAX_LIMIT + ", got " + limit);
        }
    }

    /** Every job, first page of 100. */
    public static JobQuery all() {
        return new JobQuery(Set.of(), Optional.empty(), 100, Optional.empty());
    }

    /** Jobs in any of {@code states}, first page of 100. */
    public static JobQuery inStates(JobState first, JobState... more) {
        return new JobQuery(EnumSet.of(first, more), Optional.empty(), 100, Optional.empty());
    }

    public JobQuery withLimit(int limit) {
        return new JobQuery(states, owner, limit, pageToken, withScripts);
    }

    public JobQuery withOwner(String owner) {
        return new JobQuery(states, Optional.of(owner), limit, pageToken, withScripts);
    }

    /**
     * The same query listing each job's spec {@linkplain JobSpec#withoutScript() without its script}: a listing
     * then costs the same whatever the scripts hold (TES's BASIC view leaves inputs' content out for the same
     * reason). {@link Jobs#get} always has the script.
     */
    public JobQuery withoutScripts() {
        return new JobQuery(states, owner, limit, pageToken, false);
    }

    /** The query for the page after {@code page}; call only when {@code page.nextPageToken()} is present. */
    public JobQuery after(Page<?> page) {
        return new JobQuery(states, owner, limit, Optional.of(page.nextPageToken().orElseThrow(
                () -> new IllegalStateException("no next page"))), withScripts);
    }
}

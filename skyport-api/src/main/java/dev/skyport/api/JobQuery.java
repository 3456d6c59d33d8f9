package dev.skyport.api;

import java.util.EnumSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A filter and page request for {@link Jobs#list(JobQuery)}. Jobs come in submission order. {@code pageToken} is
 * the opaque {@link Page#nextPageToken()} of the previous page. Filters combine with "and": an empty {@code states}
 * set means every state, {@code namePrefix} keeps jobs whose name starts with it (case-sensitive; a whole name
 * matches itself), and every entry of {@code tags} must be among the job's tags with that exact value.
 *
 * @param states the states to keep; empty for every state
 * @param owner the owner whose jobs to keep; empty for every owner the caller may see
 * @param limit the most jobs on one page
 * @param pageToken where the page starts: the previous page's token; empty for the first page
 * @param withScripts whether the specs carry their scripts' text
 * @param namePrefix keep jobs whose name starts with it
 * @param tags keep jobs that have every one of these tags with these values
 */
public record JobQuery(Set<JobState> states, Optional<String> owner, int limit, Optional<String> pageToken,
                       boolean withScripts, Optional<String> namePrefix, Map<String, String> tags) {
    /** The largest page a query may ask for. */
    public static final int MAX_LIMIT = 1000;

    /**
     * A query that lists jobs with their scripts.
     *
     * @param limit the most jobs on one page
     * @param owner the owner whose jobs to keep; empty for every owner the caller may see
     * @param pageToken where the page starts: the previous page's token; empty for the first page
     * @param states the states to keep; empty for every state
     */
    public JobQuery(Set<JobState> states, Optional<String> owner, int limit, Optional<String> pageToken) {
        this(states, owner, limit, pageToken, true);
    }

    /**
     * A query without name or tag filters.
     *
     * @param limit the most jobs on one page
     * @param owner the owner whose jobs to keep; empty for every owner the caller may see
     * @param pageToken where the page starts: the previous page's token; empty for the first page
     * @param states the states to keep; empty for every state
     * @param withScripts whether the specs carry their scripts' text
     */
    public JobQuery(Set<JobState> states, Optional<String> owner, int limit, Optional<String> pageToken,
                    boolean withScripts) {
        this(states, owner, limit, pageToken, withScripts, Optional.empty(), Map.of());
    }

    /**
     * Rejects null components and copies the collections, so an instance never changes.
     *
     * @param states the states to keep; empty for every state
     * @param owner the owner whose jobs to keep; empty for every owner the caller may see
     * @param limit the most jobs on one page
     * @param pageToken where the page starts: the previous page's token; empty for the first page
     * @param withScripts whether the specs carry their scripts' text
     * @param namePrefix keep jobs whose name starts with it
     * @param tags keep jobs that have every one of these tags with these values
     * @throws InvalidJobSpecException when a component is out of its range (the message names it)
     */
    public JobQuery {
        states = states.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(states));
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(pageToken, "pageToken");
        Objects.requireNonNull(namePrefix, "namePrefix");
        if (limit < 1 || limit > MAX_LIMIT) {
            throw new InvalidJobSpecException("limit", "must be 1.." + MAX_LIMIT + ", got " + limit);
        }
        if (namePrefix.isPresent() && namePrefix.get().length() > JobSpec.MAX_NAME_LENGTH) {
            throw new InvalidJobSpecException("name", "a name prefix is at most " + JobSpec.MAX_NAME_LENGTH
                    + " characters long, got " + namePrefix.get().length());
        }
        if (tags.size() > JobSpec.MAX_TAGS) {
            throw new InvalidJobSpecException("tags", "at most " + JobSpec.MAX_TAGS + " tag filters, got "
                    + tags.size());
        }
        tags = Map.copyOf(tags);
    }

    /** {@return every job, first page of 100} */
    public static JobQuery all() {
        return new JobQuery(Set.of(), Optional.empty(), 100, Optional.empty());
    }

    /**
     * {@return jobs in any of {@code states}, first page of 100}
     *
     * @param first a state to keep
     * @param more further states to keep
     */
    public static JobQuery inStates(JobState first, JobState... more) {
        return new JobQuery(EnumSet.of(first, more), Optional.empty(), 100, Optional.empty());
    }

    /**
     * {@return this query with pages of at most {@code limit} jobs}
     *
     * @param limit the page size
     */
    public JobQuery withLimit(int limit) {
        return new JobQuery(states, owner, limit, pageToken, withScripts, namePrefix, tags);
    }

    /**
     * {@return this query keeping the jobs of {@code owner} only}
     *
     * @param owner the owner's stable id
     */
    public JobQuery withOwner(String owner) {
        return new JobQuery(states, Optional.of(owner), limit, pageToken, withScripts, namePrefix, tags);
    }

    /**
     * {@return the same query keeping only jobs whose name starts with {@code prefix}}
     *
     * @param prefix the start of the names to keep
     */
    public JobQuery withNamePrefix(String prefix) {
        return new JobQuery(states, owner, limit, pageToken, withScripts, Optional.of(prefix), tags);
    }

    /**
     * {@return the same query keeping only jobs tagged {@code key} with exactly {@code value} (and any other filter)}
     *
     * @param key the tag's key
     * @param value the tag's value
     */
    public JobQuery withTag(String key, String value) {
        Map<String, String> more = new java.util.LinkedHashMap<>(tags);
        more.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
        return new JobQuery(states, owner, limit, pageToken, withScripts, namePrefix, more);
    }

    /**
     * {@return the same query listing each job's spec {@linkplain JobSpec#withoutScript() without its script}: a
     * listing then costs the same whatever the scripts hold (TES's BASIC view leaves inputs' content out for the same
     * reason)} {@link Jobs#get} always has the script.
     */
    public JobQuery withoutScripts() {
        return new JobQuery(states, owner, limit, pageToken, false, namePrefix, tags);
    }

    /**
     * {@return the query for the page after {@code page}; call only when {@code page.nextPageToken()} is present}
     *
     * @param page the page just read
     */
    public JobQuery after(Page<?> page) {
        return new JobQuery(states, owner, limit, Optional.of(page.nextPageToken().orElseThrow(
                () -> new IllegalStateException("no next page"))), withScripts, namePrefix, tags);
    }
}

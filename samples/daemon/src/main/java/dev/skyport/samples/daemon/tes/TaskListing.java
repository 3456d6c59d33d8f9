package dev.skyport.samples.daemon.tes;

import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobQuery;
import dev.skyport.api.JobState;
import dev.skyport.api.Jobs;
import dev.skyport.api.Page;
import dev.skyport.api.TesStates;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One page of {@code GET /tasks}: the caller's TES tasks in submission order (the engine's keyset order, stable while
 * tasks are added), filtered by name prefix, state and tags (all combined with "and"). The engine filters what it can
 * (marker tag, name prefix, exact tag values, the job states a TES state comes from); the rest (a tag filter of
 * {@code ""}, which asks only that the key exists, and the TES state of a FAILED job) is checked here, reading on
 * through engine pages until the page is full.
 *
 * <p>The page token is opaque to clients: the id of the next matching task and the engine's token of the engine page
 * it was found on. A resumed listing reads from that engine page on and skips every job whose id sorts before the
 * named one: ids are the engine's keyset order, so the position holds whatever happens between two pages. A task
 * before it that enters the filter (a requeue back to QUEUED) is not listed again, the named task leaving the filter
 * (a cancel) or being purged takes nobody's place, and a new task lands after it. An offset into the engine page
 * would not: the engine page is filtered again on resume, so one job leaving the state filter shifts every later one
 * under the offset and one is skipped. A token is emitted only when a next matching task exists, which is looked
 * for before answering, so the last page never carries one.
 */
final class TaskListing {
    static final int DEFAULT_PAGE_SIZE = 256;
    static final int MAX_PAGE_SIZE = 2047;
    private static final String TOKEN_VERSION = "t2";

    record Filter(Optional<String> namePrefix, Optional<String> state, Map<String, String> tags) {
    }

    record Result(List<Job> tasks, Optional<String> nextPageToken) {
    }

    /** Where a page starts: the engine page {@code engineToken} names, at the job {@code next} (or after it). */
    private record Position(Optional<String> engineToken, Optional<JobId> next) {
    }

    private TaskListing() {
    }

    static Result page(Jobs jobs, Filter filter, int pageSize, Optional<String> pageToken) {
        Position at = pageToken.map(TaskListing::decode).orElse(new Position(Optional.empty(), Optional.empty()));
        Set<JobState> states = filter.state().map(TesStates::jobStates).orElse(Set.of());
        if (filter.state().isPresent() && states.isEmpty()) {
            return new Result(List.of(), Optional.empty()); // UNKNOWN and PAUSED: no job is ever in them
        }
        JobQuery query;
        try {
            query = new JobQuery(states, Optional.empty(), Math.min(JobQuery.MAX_LIMIT, pageSize + 1),
                    Optional.empty(), false, filter.namePrefix().filter(p -> !p.isEmpty()), Map.of())
                    .withTag(TaskMapper.MARKER, TaskMapper.MARKER_VALUE);
            for (Map.Entry<String, String> t : filter.tags().entrySet()) {
                if (!t.getValue().isEmpty()) {
                    query = query.withTag(t.getKey(), t.getValue());
                }
            }
        } catch (InvalidJobSpecException e) {
            throw TesError.badParameter(e.field().equals("name") ? "name_prefix" : "tag_key", e.reason());
        }
        List<Job> out = new ArrayList<>();
        Optional<String> cursor = at.engineToken();
        Optional<JobId> from = at.next();
        while (true) {
            Page<Job> page;
            try {
                page = jobs.list(new JobQuery(query.states(), query.owner(), query.limit(), cursor,
                        query.withScripts(), query.namePrefix(), query.tags()));
            } catch (InvalidJobSpecException e) {
                if (e.field().equals("pageToken")) {
                    throw TesError.badParameter("page_token", "not a page token of this server");
                }
                throw TesError.badParameter(e.field().equals("name") ? "name_prefix" : e.field(), e.reason());
            }
            List<Job> items = page.items();
            for (Job job : items) {
                if (from.isPresent() && job.id().compareTo(from.get()) < 0 || !matches(job, filter)) {
                    continue;
                }
                if (out.size() == pageSize) {
                    return new Result(out, Optional.of(encode(new Position(cursor, Optional.of(job.id())))));
                }
                out.add(job);
            }
            if (page.nextPageToken().isEmpty()) {
                return new Result(out, Optional.empty());
            }
            cursor = page.nextPageToken();
        }
    }

    private static boolean matches(Job job, Filter filter) {
        if (filter.state().isPresent() && !TesStates.of(job).equals(filter.state().get())) {
            return false;
        }
        for (Map.Entry<String, String> t : filter.tags().entrySet()) {
            String value = job.spec().tags().get(t.getKey());
            if (value == null || !t.getValue().isEmpty() && !t.getValue().equals(value)) {
                return false;
            }
        }
        return true;
    }

    private static String encode(Position p) {
        String plain = TOKEN_VERSION + "\n" + p.next().orElseThrow() + "\n" + p.engineToken().orElse("");
        return Base64.getUrlEncoder().withoutPadding().encodeToString(plain.getBytes(StandardCharsets.UTF_8));
    }

    private static Position decode(String token) {
        try {
            String plain = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
            String[] parts = plain.split("\n", 3);
            if (parts.length == 3 && parts[0].equals(TOKEN_VERSION)) {
                return new Position(parts[2].isEmpty() ? Optional.empty() : Optional.of(parts[2]),
                        Optional.of(JobId.parse(parts[1])));
            }
        } catch (IllegalArgumentException | InvalidJobSpecException e) {
            // said below: Base64's, or JobId.parse's
        }
        throw TesError.badParameter("page_token", "not a page token of this server");
    }
}

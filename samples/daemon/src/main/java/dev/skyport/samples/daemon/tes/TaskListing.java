package dev.skyport.samples.daemon.tes;

import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
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
 * <p>The page token is opaque to clients: the engine's token of the engine page the next task is on, and how many of
 * that page's jobs come before it. It is emitted only when a next matching task exists, which is looked for before
 * answering, so the last page never carries one.
 */
final class TaskListing {
    static final int DEFAULT_PAGE_SIZE = 256;
    static final int MAX_PAGE_SIZE = 2047;
    private static final String TOKEN_VERSION = "t1";

    record Filter(Optional<String> namePrefix, Optional<String> state, Map<String, String> tags) {
    }

    record Result(List<Job> tasks, Optional<String> nextPageToken) {
    }

    private record Position(Optional<String> engineToken, int skip) {
    }

    private TaskListing() {
    }

    static Result page(Jobs jobs, Filter filter, int pageSize, Optional<String> pageToken) {
        Position at = pageToken.map(TaskListing::decode).orElse(new Position(Optional.empty(), 0));
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
        int skip = at.skip();
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
            for (int i = skip; i < items.size(); i++) {
                Job job = items.get(i);
                if (!matches(job, filter)) {
                    continue;
                }
                if (out.size() == pageSize) {
                    return new Result(out, Optional.of(encode(new Position(cursor, i))));
                }
                out.add(job);
            }
            if (page.nextPageToken().isEmpty()) {
                return new Result(out, Optional.empty());
            }
            cursor = page.nextPageToken();
            skip = 0;
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
        String plain = TOKEN_VERSION + "\n" + p.skip() + "\n" + p.engineToken().orElse("");
        return Base64.getUrlEncoder().withoutPadding().encodeToString(plain.getBytes(StandardCharsets.UTF_8));
    }

    private static Position decode(String token) {
        try {
            String plain = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
            String[] parts = plain.split("\n", 3);
            if (parts.length == 3 && parts[0].equals(TOKEN_VERSION)) {
                int skip = Integer.parseInt(parts[1]);
                if (skip >= 0 && skip <= JobQuery.MAX_LIMIT) {
                    return new Position(parts[2].isEmpty() ? Optional.empty() : Optional.of(parts[2]), skip);
                }
            }
        } catch (IllegalArgumentException e) {
            // said below (NumberFormatException is one)
        }
        throw TesError.badParameter("page_token", "not a page token of this server");
    }
}

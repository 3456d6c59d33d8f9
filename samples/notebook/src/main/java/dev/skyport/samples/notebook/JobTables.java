package dev.skyport.samples.notebook;

import dev.skyport.api.Job;
import dev.skyport.api.Page;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@link Job}s and {@link Page}s of jobs as tables a person reads: one row per job (id, name, state, end reason, exit
 * code, times, nodes) as HTML for a notebook and as aligned text elsewhere. The kernel renders every {@code Job} and
 * {@code Page} a cell returns with these.
 */
public final class JobTables {
    static final List<String> HEADER = List.of("id", "name", "state", "reason", "exit", "submitted", "started",
            "ended", "nodes");

    private JobTables() {
    }

    /** One job as a one-row table, with its state details (what it is doing, or why it ended) as the caption. */
    public static String html(Job job) {
        return Html.table("skyport-jobs", caption(job), HEADER, List.of(row(job)));
    }

    public static String text(Job job) {
        return Html.text(caption(job), HEADER, List.of(row(job)));
    }

    /** The jobs of a page, and whether more follow; items that are not jobs are shown as their text. */
    public static String html(Page<?> page) {
        return jobsOf(page).map(jobs -> Html.table("skyport-jobs", caption(page), HEADER, rows(jobs)))
                .orElseGet(() -> Html.table("skyport-page", caption(page), List.of("item"),
                        page.items().stream().map(i -> List.of(String.valueOf(i))).toList()));
    }

    public static String text(Page<?> page) {
        return jobsOf(page).map(jobs -> Html.text(caption(page), HEADER, rows(jobs)))
                .orElseGet(() -> Html.text(caption(page), List.of("item"),
                        page.items().stream().map(i -> List.of(String.valueOf(i))).toList()));
    }

    /** The jobs as a table, in the order given. */
    public static String html(List<Job> jobs) {
        return html(jobs.size() + " jobs", jobs);
    }

    public static String text(List<Job> jobs) {
        return text(jobs.size() + " jobs", jobs);
    }

    static String html(String caption, List<Job> jobs) {
        return Html.table("skyport-jobs", caption, HEADER, rows(jobs));
    }

    static String text(String caption, List<Job> jobs) {
        return Html.text(caption, HEADER, rows(jobs));
    }

    private static Optional<List<Job>> jobsOf(Page<?> page) {
        List<Job> jobs = new ArrayList<>();
        for (Object item : page.items()) {
            if (!(item instanceof Job job)) {
                return Optional.empty();
            }
            jobs.add(job);
        }
        return Optional.of(jobs);
    }

    private static String caption(Page<?> page) {
        return page.items().size() + (page.nextPageToken().isPresent()
                ? " items, more follow: list again with JobQuery.after(page)" : " items");
    }

    private static String caption(Job job) {
        return job.name() + ": " + job.stateDetails();
    }

    private static List<List<String>> rows(List<Job> jobs) {
        return jobs.stream().map(JobTables::row).toList();
    }

    static List<String> row(Job job) {
        return List.of(job.id().toString(), job.name(), job.state().name(),
                job.endReason().map(Enum::name).orElse(""),
                job.exitCode().isPresent() ? Integer.toString(job.exitCode().getAsInt()) : "",
                time(Optional.of(job.submitTime())), time(job.startTime()), time(job.endTime()),
                String.join(",", job.nodeNames()));
    }

    private static String time(Optional<Instant> t) {
        return t.map(i -> i.truncatedTo(ChronoUnit.SECONDS).toString()).orElse("");
    }
}

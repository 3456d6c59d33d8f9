package dev.skyport.samples.daemon.cli;

import dev.skyport.api.Job;
import dev.skyport.api.JobQuery;
import dev.skyport.api.Page;
import dev.skyport.api.SkyPort;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** The jobs table {@code skyport jobs} prints and {@code skyport watch} redraws, and the paging behind both. */
final class JobTable {
    private static final int NAME_COLUMNS = 32;
    private static final int REASON_COLUMNS = 48;
    private static final int NODE_COLUMNS = 24;

    private JobTable() {
    }

    /**
     * Up to {@code max} jobs matching {@code query}, oldest first, following pages. Scripts are left out: a listing
     * then costs the same whatever the scripts hold.
     */
    static List<Job> list(SkyPort sky, JobQuery query, int max) {
        List<Job> jobs = new ArrayList<>();
        JobQuery next = query.withLimit(Math.min(max, JobQuery.MAX_LIMIT)).withoutScripts();
        while (jobs.size() < max) {
            Page<Job> page = sky.jobs().list(next);
            for (Job job : page.items()) {
                if (jobs.size() < max) {
                    jobs.add(job);
                }
            }
            if (page.nextPageToken().isEmpty()) {
                break;
            }
            next = next.after(page);
        }
        return jobs;
    }

    /**
     * The table: short ids (the last {@value JobIds#SHORT} hex digits) and cut names, reasons and nodes, unless
     * {@code wide}, which shows whole ids and cells. The owner column appears with {@code withOwner}.
     */
    static Table of(List<Job> jobs, Instant now, boolean wide, boolean withOwner, Style style) {
        Table table = withOwner ? new Table("ID", "NAME", "OWNER", "STATE", "REASON", "NODE", "AGE")
                : new Table("ID", "NAME", "STATE", "REASON", "NODE", "AGE");
        for (Job job : jobs) {
            String id = wide ? job.id().toString() : JobIds.shortForm(job.id());
            String name = cut(Cells.safe(job.name()), NAME_COLUMNS, wide);
            Table.Cell state = new Table.Cell(job.state().name(), text -> style.state(job.state(), text));
            String reason = cut(Cells.safe(reason(job)), REASON_COLUMNS, wide);
            String nodes = cut(job.nodeNames().isEmpty() ? "-" : String.join(",", job.nodeNames()), NODE_COLUMNS,
                    wide);
            String age = Cells.age(job.submitTime(), now);
            if (withOwner) {
                table.row(id, name, cut(Cells.safe(job.ownerName()), NAME_COLUMNS, wide), state, reason, nodes, age);
            } else {
                table.row(id, name, state, reason, nodes, age);
            }
        }
        return table;
    }

    /**
     * Why a job ended (with its exit code or signal), else what it waits for: for a queued job the engine's state
     * details say that, and when it is expected to start.
     */
    static String reason(Job job) {
        if (job.endReason().isPresent()) {
            StringBuilder b = new StringBuilder(job.endReason().get().name());
            job.exitCode().ifPresent(code -> b.append(" (exit ").append(code).append(')'));
            job.signal().ifPresent(signal -> b.append(" (signal ").append(signal).append(')'));
            return b.toString();
        }
        return job.stateDetails().isBlank() ? "-" : job.stateDetails();
    }

    private static String cut(String text, int columns, boolean wide) {
        return wide ? text : Cells.truncate(text, columns);
    }
}

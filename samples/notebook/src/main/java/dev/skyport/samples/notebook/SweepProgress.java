package dev.skyport.samples.notebook;

import dev.skyport.api.Job;
import dev.skyport.api.JobState;

import java.util.List;

/**
 * How far a sweep has got: how many of its jobs ended (and how), run, or wait. {@link #text()} reads
 * {@code collatz: 5/8 ended (5 succeeded, 0 failed, 0 canceled; 2 running, 1 waiting)}.
 */
public record SweepProgress(String sweep, int total, int succeeded, int failed, int canceled, int running,
                            int waiting) {
    static SweepProgress of(String sweep, List<Job> jobs) {
        int succeeded = 0;
        int failed = 0;
        int canceled = 0;
        int running = 0;
        for (Job job : jobs) {
            JobState state = job.state();
            switch (state) {
                case SUCCEEDED -> succeeded++;
                case FAILED -> failed++;
                case CANCELED -> canceled++;
                case RUNNING, STAGING_IN, STAGING_OUT, CANCELING -> running++;
                default -> {
                }
            }
        }
        int waiting = jobs.size() - succeeded - failed - canceled - running;
        return new SweepProgress(sweep, jobs.size(), succeeded, failed, canceled, running, waiting);
    }

    public int ended() {
        return succeeded + failed + canceled;
    }

    public boolean done() {
        return ended() == total;
    }

    public String text() {
        return sweep + ": " + ended() + "/" + total + " ended (" + succeeded + " succeeded, " + failed + " failed, "
                + canceled + " canceled; " + running + " running, " + waiting + " waiting)";
    }

    public String html() {
        return "<div class=\"skyport-progress\"><progress value=\"" + ended() + "\" max=\"" + total + "\"></progress> "
                + Html.escape(text()) + "</div>";
    }
}

package dev.skyport.core.internal;

import dev.skyport.api.EngineMetrics;
import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.MutableClock;
import dev.skyport.api.SkyPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A job whose start cannot be recorded (the store refuses the write) goes back to the queue for a pass a little later,
 * on the engine's clock: not for the pass its release asks for, which would place it again at once, and again, for as
 * long as the store refuses.
 */
class LaunchBackOffTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final Duration SETTLE = Duration.ofSeconds(10);

    @TempDir
    Path data;

    private final MutableClock clock = new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    private final AtomicLong passes = new AtomicLong();

    @Test
    void aJobWhoseStartCannotBeRecordedWaitsForItsBackOffInsteadOfBeingPlacedAgainAtOnce() throws Exception {
        EngineMetrics metrics = new EngineMetrics() {
            @Override
            public void schedulingPass(Duration took) {
                passes.incrementAndGet();
            }
        };
        try (SkyPort sky = SkyPort.embedded().dataDir(data).localCpus(2).clock(clock).metrics(metrics)
                .jobIsolation(JobIsolation.NONE).start()) {
            SchedulingLoop loop = SimulatedReplay.field(sky, "loop");
            sql("CREATE TRIGGER nostart BEFORE UPDATE ON jobs WHEN NEW.state = 'RUNNING'"
                    + " AND json_extract(NEW.job_json, '$.spec.name') = 'doomed'"
                    + " BEGIN SELECT RAISE(ABORT, 'injected: cannot record the start'); END");
            Job doomed = sky.jobs().submit(JobSpec.builder().name("doomed").command(List.of("true")).build());
            awaitIdle(loop, 0);

            // Work of the engine's own, a second long, with passes of its own: a job that is placed again as soon as
            // it is released would be placed again and again meanwhile, a pass each time.
            long before = passes.get();
            Job fine = sky.jobs().submit(JobSpec.builder().name("fine").command(List.of("sleep", "1")).build());
            assertThat(sky.jobs().await(fine.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            awaitIdle(loop, before);
            assertThat(passes.get() - before).as("scheduling passes while another job ran for a second")
                    .isLessThan(20);
            Job waiting = sky.jobs().get(doomed.id());
            assertThat(waiting.state()).isEqualTo(JobState.QUEUED);
            assertThat(waiting.attempts()).isEmpty();

            // Once the store takes the write again, the back-off's end on the engine's clock starts it.
            sql("DROP TRIGGER nostart");
            clock.advance(RunSupervisor.FINISH_RETRY.plusMillis(1));
            Job done = sky.jobs().await(doomed.id(), WAIT);
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(1);
        }
    }

    private void sql(String statement) throws SQLException {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("skyport.db"));
             Statement s = c.createStatement()) {
            s.execute("PRAGMA busy_timeout = 10000");
            s.execute(statement);
        }
    }

    /** Until a pass after the {@code passesBefore}-th has run and the loop has nothing to do, seen twice in a row. */
    private void awaitIdle(SchedulingLoop loop, long passesBefore) throws TimeoutException {
        Instant deadline = Instant.now().plus(SETTLE);
        int inARow = 0;
        while (inARow < 2) {
            inARow = passes.get() > passesBefore && loop.idle() ? inARow + 1 : 0;
            if (Instant.now().isAfter(deadline)) {
                throw new TimeoutException("the scheduling loop did not settle: " + passes.get() + " passes");
            }
            LockSupport.parkNanos(1_000_000);
        }
    }
}

package dev.skyport.scheduler.internal;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class MillisUntilTest {
    /** What the scheduler computed with {@link Duration} before: the plans depend on it to the millisecond. */
    private static long throughDuration(Instant now, Instant end) {
        if (!end.isAfter(now)) {
            return 0;
        }
        Duration d = Duration.between(now, end);
        return Math.min(Timetable.FOREVER,
                d.getSeconds() >= Timetable.FOREVER / 1000 ? Timetable.FOREVER : d.toMillis());
    }

    @Test
    void theTimeLeftIsWhatDurationGivesFromThePastToTheEndOfTime() {
        Random r = new Random(17);
        Instant now = Instant.parse("2026-12-07T16:00:00.123456789Z");
        long foreverSeconds = Timetable.FOREVER / 1000;
        long[] edges = {0, 1, 999, 1000, 1001, foreverSeconds - 1, foreverSeconds, foreverSeconds + 1};
        for (long s : edges) {
            for (long nanos : new long[] {-1, 0, 1, 999_999, 1_000_000, 876_543_211, 876_543_210}) {
                Instant end = now.plusSeconds(s).plusNanos(nanos);
                assertThat(TimetableScheduler.millisUntil(now, end)).as("%s", end)
                        .isEqualTo(throughDuration(now, end));
            }
        }
        for (Instant end : new Instant[] {Instant.MAX, Instant.MIN, Instant.EPOCH, now}) {
            assertThat(TimetableScheduler.millisUntil(now, end)).as("%s", end).isEqualTo(throughDuration(now, end));
        }
        for (int i = 0; i < 100_000; i++) {
            Instant a = Instant.ofEpochSecond(r.nextLong() % 4_000_000_000L, r.nextInt(1_000_000_000));
            Instant b = i % 2 == 0 ? a.plusNanos(r.nextLong() >>> r.nextInt(64))
                    : Instant.ofEpochSecond(r.nextLong() % 4_000_000_000L, r.nextInt(1_000_000_000));
            assertThat(TimetableScheduler.millisUntil(a, b)).as("%s to %s", a, b).isEqualTo(throughDuration(a, b));
        }
        assertThat(TimetableScheduler.millisUntil(now, Instant.MAX)).isEqualTo(Timetable.FOREVER);
        assertThat(TimetableScheduler.millisUntil(now, now.plusMillis(1500))).isEqualTo(1500);
    }
}

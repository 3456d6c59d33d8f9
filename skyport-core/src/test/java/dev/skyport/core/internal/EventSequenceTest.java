package dev.skyport.core.internal;

import dev.skyport.api.JobId;
import dev.skyport.api.JobState;
import dev.skyport.api.JobTransitioned;
import dev.skyport.api.SkyPortEvent;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** The watermark and the ring, without an engine: numbers written out of order, failed, and evicted. */
class EventSequenceTest {
    private static final JobId JOB = new JobId(UUID.randomUUID());

    private static JobTransitioned event(long seq) {
        return new JobTransitioned(seq, Instant.EPOCH, JOB, Optional.empty(), JobState.QUEUED, Optional.empty(), "e");
    }

    private static List<Long> sequences(EventSequence.Batch batch) {
        return batch.events().stream().map(r -> r.event().sequence()).toList();
    }

    @Test
    void theWatermarkStopsBelowTheSmallestNumberStillBeingWritten() {
        EventSequence seq = new EventSequence(10);
        assertThat(seq.watermark()).isEqualTo(10);
        long a = seq.next();
        long b = seq.next();
        long c = seq.next();
        assertThat(List.of(a, b, c)).containsExactly(11L, 12L, 13L);
        assertThat(seq.watermark()).as("nothing written yet").isEqualTo(10);

        seq.written(event(c), "alice");
        assertThat(seq.watermark()).as("13 is durable but 11 and 12 are not").isEqualTo(10);
        assertThat(sequences(seq.after(10, 100))).isEmpty();

        seq.written(event(a), "alice");
        assertThat(seq.watermark()).isEqualTo(11);
        assertThat(sequences(seq.after(10, 100))).containsExactly(11L);

        seq.written(event(b), "bob");
        assertThat(seq.watermark()).isEqualTo(13);
        EventSequence.Batch all = seq.after(10, 100);
        assertThat(sequences(all)).containsExactly(11L, 12L, 13L);
        assertThat(all.upTo()).isEqualTo(13);
        assertThat(all.events()).extracting(EventSequence.Released::owner).containsExactly("alice", "bob", "alice");
    }

    @Test
    void aFailedWriteDoesNotHoldTheWatermarkAndLeavesAGap() {
        EventSequence seq = new EventSequence(0);
        long first = seq.allocate(3);
        seq.written(event(first + 2), null);
        seq.written(event(first), "alice");
        assertThat(seq.watermark()).isEqualTo(1);

        seq.failed(first + 1);

        assertThat(seq.watermark()).isEqualTo(3);
        assertThat(sequences(seq.after(0, 10))).containsExactly(1L, 3L);
        seq.failed(first + 1); // settling twice changes nothing
        seq.written(event(first + 1), "alice");
        assertThat(sequences(seq.after(0, 10))).containsExactly(1L, 3L);
    }

    @Test
    void aBatchEndsAtItsLastEventWhenFullAndAtTheWatermarkOtherwise() {
        EventSequence seq = new EventSequence(0);
        for (int i = 0; i < 5; i++) {
            seq.written(event(seq.next()), "alice");
        }
        long failed = seq.next();
        seq.failed(failed);
        EventSequence.Batch firstTwo = seq.after(0, 2);
        assertThat(sequences(firstTwo)).containsExactly(1L, 2L);
        assertThat(firstTwo.upTo()).isEqualTo(2);
        EventSequence.Batch rest = seq.after(2, 10);
        assertThat(sequences(rest)).containsExactly(3L, 4L, 5L);
        assertThat(rest.upTo()).as("past the failed number too").isEqualTo(6);
        assertThat(sequences(seq.after(6, 10))).isEmpty();
    }

    @Test
    void aCursorOlderThanTheRingIsSentToTheStore() {
        EventSequence seq = new EventSequence(100, 4);
        assertThat(seq.after(99, 10)).as("before the engine started: the store has it").isNull();
        for (int i = 0; i < 6; i++) {
            seq.written(event(seq.next()), "alice");
        }
        assertThat(seq.after(101, 10)).as("102 was evicted").isNull();
        assertThat(sequences(seq.after(102, 10))).containsExactly(103L, 104L, 105L, 106L);
        assertThat(sequences(seq.after(104, 10))).containsExactly(105L, 106L);
    }

    @Test
    void listenersAreToldWhenTheWatermarkMovesAndOnlyThen() {
        EventSequence seq = new EventSequence(0);
        AtomicInteger told = new AtomicInteger();
        Runnable listener = told::incrementAndGet;
        seq.onAdvance(listener);
        long a = seq.next();
        long b = seq.next();
        seq.written(event(b), "alice");
        assertThat(told).hasValue(0);
        seq.written(event(a), "alice");
        assertThat(told).hasValue(1);
        seq.removeListener(listener);
        seq.written(event(seq.next()), "alice");
        assertThat(told).hasValue(1);
    }

    @Test
    void concurrentWritersReleaseEveryEventOnceInOrder() throws Exception {
        EventSequence seq = new EventSequence(0, 1 << 16);
        int threads = 8;
        int each = 2_000;
        List<Thread> writers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int n = t;
            writers.add(new Thread(() -> {
                for (int i = 0; i < each; i++) {
                    long s = seq.next();
                    if ((s + n) % 97 == 0) {
                        seq.failed(s);
                    } else {
                        seq.written(event(s), "alice");
                    }
                }
            }));
        }
        writers.forEach(Thread::start);
        List<SkyPortEvent> seen = new ArrayList<>();
        long cursor = 0;
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (cursor < (long) threads * each) {
            assertThat(System.nanoTime()).as("the watermark reaches every number").isLessThan(deadline);
            EventSequence.Batch batch = seq.after(cursor, 100);
            batch.events().forEach(r -> seen.add(r.event()));
            cursor = batch.upTo();
            Thread.onSpinWait();
        }
        for (Thread t : writers) {
            t.join();
        }
        assertThat(seen).extracting(SkyPortEvent::sequence).isSorted().doesNotHaveDuplicates();
        List<Long> all = seq.after(0, threads * each).events().stream().map(r -> r.event().sequence()).toList();
        assertThat(seen).extracting(SkyPortEvent::sequence).containsExactlyElementsOf(all);
    }

    /**
     * Thousands in flight at once (as asynchronous submissions keep them), settled in random order while more are
     * taken, so the window grows and wraps: the watermark and the released events match a plain model, the smallest
     * unsettled number minus one and every written number up to it.
     */
    @Test
    void manyNumbersInFlightSettledInAnyOrderMatchAPlainModel() {
        java.util.Random random = new java.util.Random(17);
        for (int round = 0; round < 20; round++) {
            EventSequence seq = new EventSequence(5, 1 << 16);
            List<Long> open = new ArrayList<>();
            java.util.TreeSet<Long> unsettled = new java.util.TreeSet<>();
            java.util.TreeSet<Long> written = new java.util.TreeSet<>();
            long highest = 5;
            for (int step = 0; step < 3_000; step++) {
                if (open.isEmpty() || random.nextInt(3) == 0) {
                    int n = 1 + random.nextInt(random.nextInt(4) == 0 ? 400 : 3);
                    long first = seq.allocate(n);
                    assertThat(first).isEqualTo(highest + 1);
                    for (long s = first; s < first + n; s++) {
                        open.add(s);
                        unsettled.add(s);
                    }
                    highest += n;
                } else {
                    // Mostly among the oldest, as commits end, so the watermark moves and the window wraps.
                    int at = random.nextInt(4) == 0 ? random.nextInt(open.size())
                            : random.nextInt(Math.min(open.size(), 8));
                    long s = open.remove(at);
                    if (random.nextInt(10) == 0) {
                        seq.failed(s);
                    } else {
                        seq.written(event(s), "alice");
                        written.add(s);
                    }
                    unsettled.remove(s);
                }
                long model = unsettled.isEmpty() ? highest : unsettled.first() - 1;
                assertThat(seq.watermark()).isEqualTo(model);
            }
            seq.written(event(highest + 1), "alice"); // never taken: ignored
            assertThat(sequences(seq.after(5, 1 << 16)))
                    .containsExactlyElementsOf(written.headSet(seq.watermark(), true));
        }
    }
}

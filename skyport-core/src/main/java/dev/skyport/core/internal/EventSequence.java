package dev.skyport.core.internal;

import dev.skyport.api.SkyPortEvent;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The engine's event sequence: hands out the numbers, knows which are still being written, and keeps the
 * <em>watermark</em>, the sequence up to which every event is durable or will never exist (its write failed). Events
 * become visible to ordered subscribers only up to the watermark, in sequence order, so that one who resumes after
 * the last sequence it handled cannot miss an event that was still being written when it read.
 *
 * <p>Numbers are taken in increasing order but written by many threads, so an event can be durable while a smaller
 * number is still in flight: it waits here until the watermark passes it. The most recent released events stay in a
 * ring, from which subscribers that keep up are served without reading the store.
 *
 * <p>Thread-safe. {@link #written} and {@link #failed} are idempotent, so a caller may settle a number in a
 * {@code finally} without knowing whether it was settled already.
 */
final class EventSequence {
    /** How many released events the ring keeps: a subscriber further behind reads the store. */
    static final int RING_CAPACITY = 16_384;

    /** An event released in order, with the owner of its job; {@code owner} is null for node events (everyone's). */
    record Released(SkyPortEvent event, String owner) {
        long sequence() {
            return event.sequence();
        }
    }

    /** Events after a cursor, and the sequence the reader has seen everything up to once it handled them. */
    record Batch(List<Released> events, long upTo) {
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final int capacity;
    /** The highest number handed out. */
    private long allocated;
    /** Numbers handed out and neither written nor failed yet. */
    private final TreeSet<Long> inFlight = new TreeSet<>();
    /** Written events above the watermark, waiting for a smaller number to settle. */
    private final NavigableMap<Long, Released> held = new TreeMap<>();
    private volatile long watermark;
    private final Released[] ring;
    private int ringStart;
    private int ringSize;
    /** The ring holds every released event with a sequence above this. */
    private long ringFloor;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    /** Continues after {@code last}, the highest sequence the store has ever held. */
    EventSequence(long last) {
        this(last, RING_CAPACITY);
    }

    EventSequence(long last, int capacity) {
        if (last < 0 || capacity < 1) {
            throw new IllegalArgumentException("last " + last + ", capacity " + capacity);
        }
        this.allocated = last;
        this.watermark = last;
        this.ringFloor = last;
        this.capacity = capacity;
        this.ring = new Released[capacity];
    }

    /** The next number, in flight until {@link #written} or {@link #failed}. */
    long next() {
        return allocate(1);
    }

    /** {@code n} consecutive numbers, each in flight until settled; returns the first. */
    long allocate(int n) {
        lock.lock();
        try {
            long first = allocated + 1;
            for (long s = first; s < first + n; s++) {
                inFlight.add(s);
            }
            allocated += n;
            return first;
        } finally {
            lock.unlock();
        }
    }

    /** {@code event} is durable; {@code owner} owns its job (null for a node event). */
    void written(SkyPortEvent event, String owner) {
        boolean advanced;
        lock.lock();
        try {
            if (!inFlight.remove(event.sequence())) {
                return;
            }
            held.put(event.sequence(), new Released(event, owner));
            advanced = advance();
        } finally {
            lock.unlock();
        }
        if (advanced) {
            wake();
        }
    }

    /** The write of {@code sequence} failed: no event will ever have it. */
    void failed(long sequence) {
        boolean advanced;
        lock.lock();
        try {
            if (!inFlight.remove(sequence)) {
                return;
            }
            advanced = advance();
        } finally {
            lock.unlock();
        }
        if (advanced) {
            wake();
        }
    }

    /** The sequence up to which every event is durable or will never exist. */
    long watermark() {
        return watermark;
    }

    /**
     * Up to {@code max} released events after {@code cursor}, oldest first; null when the ring no longer holds all of
     * them (read the store instead, up to the {@link #watermark()}).
     */
    Batch after(long cursor, int max) {
        lock.lock();
        try {
            if (cursor < ringFloor) {
                return null;
            }
            int lo = 0;
            int hi = ringSize;
            while (lo < hi) { // the first ring slot with a sequence above the cursor
                int mid = (lo + hi) >>> 1;
                if (slot(mid).sequence() <= cursor) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            List<Released> out = new ArrayList<>(Math.min(max, ringSize - lo));
            for (int i = lo; i < ringSize && out.size() < max; i++) {
                out.add(slot(i));
            }
            long upTo = out.size() == max ? out.get(out.size() - 1).sequence() : Math.max(cursor, watermark);
            return new Batch(out, upTo);
        } finally {
            lock.unlock();
        }
    }

    /** Runs {@code listener} (briefly, on the thread that moved it) whenever the watermark moves. */
    void onAdvance(Runnable listener) {
        listeners.add(listener);
    }

    void removeListener(Runnable listener) {
        listeners.remove(listener);
    }

    private Released slot(int i) {
        return ring[(ringStart + i) % capacity];
    }

    /** Under the lock: moves the watermark and releases the held events it passes; says whether it moved. */
    private boolean advance() {
        long next = inFlight.isEmpty() ? allocated : inFlight.first() - 1;
        if (next == watermark) {
            return false;
        }
        Map<Long, Released> passed = held.headMap(next, true);
        for (Released r : passed.values()) {
            if (ringSize == capacity) {
                ringFloor = ring[ringStart].sequence();
                ring[ringStart] = null;
                ringStart = (ringStart + 1) % capacity;
                ringSize--;
            }
            ring[(ringStart + ringSize) % capacity] = r;
            ringSize++;
        }
        passed.clear();
        watermark = next;
        return true;
    }

    private void wake() {
        for (Runnable listener : listeners) {
            listener.run();
        }
    }
}

package dev.skyport.core.internal;

import dev.skyport.api.SkyPortEvent;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

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

    /** A number whose write failed, in {@link #window}. */
    private static final Released FAILED = new Released(null, null);

    /** Writers take numbers and settle them; subscribers, possibly hundreds, read the ring side by side. */
    private final ReentrantReadWriteLock locks = new ReentrantReadWriteLock();
    private final Lock lock = locks.writeLock();
    private final Lock readLock = locks.readLock();
    private final int capacity;
    /** The highest number handed out. */
    private long allocated;
    /**
     * The numbers above the watermark up to {@link #allocated}: slot {@code (s - watermark - 1)} of this circular
     * window (from {@link #windowStart}) holds number {@code s}'s state: null while in flight, {@link #FAILED}, or
     * the written event waiting for a smaller number to settle. Numbers are handed out in order and mostly settled in
     * order, so an array indexed by distance from the watermark does in O(1) what a TreeSet of in-flight numbers and
     * a TreeMap of held events did with boxing and rebalancing (with 8,192 asynchronous submissions in flight, those
     * were a tenth of the completer's cpu).
     */
    private Released[] window = new Released[64];
    private int windowStart;
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
            long needed = allocated + n - watermark;
            if (needed > window.length) {
                grow(needed);
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
            if (!settle(event.sequence(), new Released(event, owner))) {
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

    /** The write of {@code sequence} failed: no event will ever have it. */
    void failed(long sequence) {
        boolean advanced;
        lock.lock();
        try {
            if (!settle(sequence, FAILED)) {
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
        readLock.lock();
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
            readLock.unlock();
        }
    }

    /**
     * Runs {@code listener} whenever the watermark moves, on the thread that moved it, which may hold a job's lock: it
     * must be brief (the engine's is one unpark of the thread that wakes the subscribers).
     */
    void onAdvance(Runnable listener) {
        listeners.add(listener);
    }

    void removeListener(Runnable listener) {
        listeners.remove(listener);
    }

    private Released slot(int i) {
        return ring[(ringStart + i) % capacity];
    }

    /** Under the lock: records how {@code sequence} ended; false when it is not in flight (settled, or never taken). */
    private boolean settle(long sequence, Released state) {
        if (sequence <= watermark || sequence > allocated) {
            return false;
        }
        int slot = (int) ((windowStart + sequence - watermark - 1) & (window.length - 1));
        if (window[slot] != null) {
            return false;
        }
        window[slot] = state;
        return true;
    }

    /** Under the lock: a window of at least {@code needed} slots (a power of two), keeping each number's slot. */
    private void grow(long needed) {
        if (needed > 1 << 30) {
            throw new IllegalStateException(needed + " event numbers in flight");
        }
        int size = window.length;
        while (size < needed) {
            size <<= 1;
        }
        Released[] bigger = new Released[size];
        int inUse = (int) (allocated - watermark);
        for (int i = 0; i < inUse; i++) {
            bigger[i] = window[(windowStart + i) & (window.length - 1)];
        }
        window = bigger;
        windowStart = 0;
    }

    /** Under the lock: moves the watermark and releases the held events it passes; says whether it moved. */
    private boolean advance() {
        long next = watermark;
        int mask = window.length - 1;
        while (next < allocated && window[windowStart] != null) {
            Released r = window[windowStart];
            window[windowStart] = null;
            windowStart = (windowStart + 1) & mask;
            next++;
            if (r == FAILED) {
                continue;
            }
            if (ringSize == capacity) {
                ringFloor = ring[ringStart].sequence();
                ring[ringStart] = null;
                ringStart = (ringStart + 1) % capacity;
                ringSize--;
            }
            ring[(ringStart + ringSize) % capacity] = r;
            ringSize++;
        }
        if (next == watermark) {
            return false;
        }
        watermark = next;
        return true;
    }

    private void wake() {
        for (Runnable listener : listeners) {
            listener.run();
        }
    }
}

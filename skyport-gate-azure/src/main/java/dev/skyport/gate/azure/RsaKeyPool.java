package dev.skyport.gate.azure;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.KeyPair;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.function.Supplier;

/**
 * A few partition key pairs (RSA 3072) made ahead on one background thread, so that a partition's creation does not
 * wait 0.5-1.4 s for its key when the gate was idle before. A creation that finds the pool empty makes its own key on
 * its own thread: the pool never makes anyone wait longer than without it, and it does not raise the rate at which
 * keys can be made (one per key-generation time per core), so a long burst of creations still pays for its keys.
 * Keys are held in memory only until taken; a closed pool drops them.
 */
final class RsaKeyPool implements Supplier<KeyPair>, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RsaKeyPool.class);

    private final BlockingQueue<KeyPair> ready;
    private final Thread maker;

    /** @param size key pairs kept ready; 0 makes every key on demand */
    RsaKeyPool(String gate, int size) {
        this.ready = new ArrayBlockingQueue<>(Math.max(1, size));
        if (size <= 0) {
            maker = null;
            return;
        }
        maker = new Thread(this::fill, "skyport-" + gate + "-keys");
        maker.setDaemon(true);
        // key generation is background work: a creation that makes its own key must not wait behind it
        maker.setPriority(Thread.MIN_PRIORITY);
        maker.start();
    }

    private void fill() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                ready.put(PartitionKeys.rsa());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            // creations still make their own keys; only the head start is lost
            LOG.warn("pre-generating partition keys stopped: {}", e.toString());
        }
    }

    @Override
    public KeyPair get() {
        KeyPair k = ready.poll();
        return k != null ? k : PartitionKeys.rsa();
    }

    /** Key pairs ready now. */
    int ready() {
        return ready.size();
    }

    @Override
    public void close() {
        if (maker != null) {
            maker.interrupt();
        }
        ready.clear();
    }
}

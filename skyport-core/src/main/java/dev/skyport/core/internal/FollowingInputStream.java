package dev.skyport.core.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Reads a log file as it grows, like {@code tail -f}, and ends once the job has ended and everything was read. When
 * the engine closes first, a read that has nothing left throws an {@link IOException} instead of blocking.
 * Between reads at the end of the file it waits on the job's end (so the last bytes come at once) for at most a short
 * poll interval, since a growing file sends no event.
 */
final class FollowingInputStream extends InputStream {
    private static final long POLL_MILLIS = 100;

    private final Path file;
    private final CompletableFuture<?> ended;
    private FileChannel channel;
    private long position;
    private boolean closed;

    FollowingInputStream(Path file, CompletableFuture<?> ended) {
        this.file = file;
        this.ended = ended;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (!closed) {
            // Look at the end before reading: bytes written before the job ended are then sure to be read.
            boolean wasEnded = ended.isDone();
            int n = readAvailable(b, off, len);
            if (n > 0) {
                return n;
            }
            if (wasEnded) {
                if (ended.isCompletedExceptionally()) {
                    // The engine closed before the job ended: the log may go on, so this is not its end.
                    throw new IOException("stopped following " + file.getFileName()
                            + ": the Sky Port engine was closed before the job ended");
                }
                return -1;
            }
            try {
                ended.get(POLL_MILLIS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException | ExecutionException keepFollowing) {
                // the file may have grown; read again
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while following " + file.getFileName());
            }
        }
        return -1;
    }

    private int readAvailable(byte[] b, int off, int len) throws IOException {
        if (channel == null) {
            try {
                // A link there is not the engine's log: where jobs run as accounts, the engine is root.
                channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException notYet) {
                return 0;
            }
        }
        if (channel.size() < position) {
            // A new attempt truncated the log: follow it from its start.
            position = 0;
        }
        int n = channel.read(ByteBuffer.wrap(b, off, len), position);
        if (n > 0) {
            position += n;
        }
        return Math.max(n, 0);
    }

    @Override
    public void close() throws IOException {
        closed = true;
        if (channel != null) {
            channel.close();
        }
    }
}

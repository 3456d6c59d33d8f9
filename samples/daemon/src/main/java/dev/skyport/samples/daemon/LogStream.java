package dev.skyport.samples.daemon;

import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.IteratingCallback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;

/**
 * A job log sent chunk by chunk with asynchronous writes, so a client that reads slowly holds a buffer, never a
 * thread. The reply ends (last chunk) only after the whole file: a read error must not look like a complete reply.
 *
 * <p>Three forms: the whole file, a byte range of it, and a follow of it that goes on as the file grows until the job
 * has ended and everything was read. A follow waits for more output on the server's scheduler, not on a thread: at
 * the end of the file it asks whether the job has ended, then reopens the file where it left off after
 * {@link #FOLLOW_POLL}; it ends only at an end of file reached after the job was seen ended, so no last words are lost.
 */
final class LogStream extends IteratingCallback {
    private static final Logger LOG = LoggerFactory.getLogger(LogStream.class);
    /** One TLS record's worth; ClientGuard gives a write of this size 16 s at its default minimum rate. */
    private static final int CHUNK = 16 * 1024;
    /** How often a follow looks for more output; tail -f looks once a second. */
    static final long FOLLOW_POLL = TimeUnit.MILLISECONDS.toNanos(250);

    /** The log of a job being followed. */
    interface Followed {
        /** The log from its start, as it is now. */
        InputStream open();

        /** Whether the job has ended, so its log will not grow any more. */
        boolean ended();
    }

    private final Request request;
    private final Response response;
    private final Callback callback;
    private final Followed followed;
    private final ByteBuffer buffer = ByteBuffer.allocate(CHUNK);
    private InputStream log;
    private long remaining;
    private long offset;
    private boolean endedBeforeThisRead;
    private boolean ended;

    private LogStream(Request request, Response response, Callback callback, InputStream log, long length,
                      Followed followed) {
        this.request = request;
        this.response = response;
        this.callback = callback;
        this.log = log;
        this.remaining = length;
        this.followed = followed;
    }

    /** Sends {@code length} bytes of {@code log} (all of it for {@link Long#MAX_VALUE}), which this closes. */
    static void send(Request request, Response response, Callback callback, InputStream log, long length) {
        new LogStream(request, response, callback, log, length, null).iterate();
    }

    /** Sends the log as it grows until the job has ended and all of it was sent. */
    static void follow(Request request, Response response, Callback callback, Followed followed) {
        new LogStream(request, response, callback, followed.open(), Long.MAX_VALUE, followed).iterate();
    }

    @Override
    protected Action process() {
        if (ended) {
            return Action.SUCCEEDED;
        }
        int n;
        try {
            n = remaining == 0 ? -1 : log.read(buffer.array(), 0, (int) Math.min(CHUNK, remaining));
        } catch (IOException e) {
            throw new LogUnreadableException(e);
        }
        if (n > 0) {
            remaining -= n;
            offset += n;
            buffer.clear().limit(n);
            response.write(false, buffer, this);
        } else if (n == 0) {
            request.getContext().execute(this::succeeded); // an empty read: try again, without recursing
        } else if (followed == null || endedBeforeThisRead) {
            ended = true;
            response.write(true, null, this);
        } else {
            closeLog();
            request.getComponents().getScheduler().schedule(() -> request.getContext().execute(this::reopen),
                    FOLLOW_POLL, TimeUnit.NANOSECONDS);
        }
        return Action.SCHEDULED;
    }

    /** Looks at the job, then at the file from where the last read stopped. */
    private void reopen() {
        try {
            endedBeforeThisRead = followed.ended();
            log = followed.open();
            if (skipUpTo(log, offset) < offset) {
                // A new attempt truncated the log: follow it from its start, as Jobs.followStdout does.
                log.close();
                log = followed.open();
                offset = 0;
            }
        } catch (IOException | RuntimeException e) {
            failed(e instanceof IOException io ? new LogUnreadableException(io) : e);
            return;
        }
        succeeded();
    }

    /** Skips up to {@code n} bytes of {@code in}; fewer only at its end. */
    private static long skipUpTo(InputStream in, long n) throws IOException {
        long skipped = 0;
        while (skipped < n) {
            long k = in.skip(n - skipped);
            if (k <= 0) {
                if (in.read() < 0) {
                    break;
                }
                k = 1;
            }
            skipped += k;
        }
        return skipped;
    }

    @Override
    protected void onCompleteSuccess() {
        closeLog();
        callback.succeeded();
    }

    @Override
    protected void onCompleteFailure(Throwable x) {
        closeLog();
        // A failed write is the client's (an IOException); a failed read of the file is the daemon's.
        Throwable e = x instanceof LogUnreadableException || x instanceof IOException || x instanceof ApiError ? x
                : new IOException(x.toString(), x);
        Replies.answer(request, response, callback, e);
    }

    private void closeLog() {
        try {
            log.close();
        } catch (IOException e) {
            LOG.debug("closing a job log: {}", e.toString());
        }
    }

    /** The daemon could not read a job's log file. */
    private static final class LogUnreadableException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        LogUnreadableException(IOException cause) {
            super("cannot read the job's log: " + cause.getMessage(), cause);
        }
    }
}

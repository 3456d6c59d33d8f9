package dev.skyport.core.internal;

import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.Limits;
import dev.skyport.api.SkyPort;

import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * An engine in a JVM of its own, for {@code kill -9} while asynchronous submits are in flight: {@code <dataDir>}
 * starts it (one cpu, held by a job that sleeps, so the submitted jobs stay queued), then submits without end from
 * one thread with {@code submitAsync} and prints {@code HOLDER <id>} first, then {@code ACK <id>} for each future that completed, in completion
 * order. It never stops by itself.
 */
public final class AsyncChildEngine {
    private AsyncChildEngine() {
    }

    public static void main(String[] args) throws Exception {
        // Buffered: a line the parent has not read yet was never acknowledged, so losing it costs nothing.
        PrintStream out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16),
                false, StandardCharsets.UTF_8);
        SkyPort sky = SkyPort.embedded().dataDir(Path.of(args[0])).localCpus(1).jobIsolation(JobIsolation.NONE)
                .limits(Limits.defaults().withMaxActiveJobsPerUser(10_000_000)).start();
        out.println("HOLDER " + sky.jobs().submit(JobSpec.builder().name("holder").command(List.of("sleep", "600"))
                .build()).id());
        JobSpec trivial = JobSpec.builder().name("async").command(List.of("true")).build();
        Thread flusher = new Thread(() -> {
            while (true) {
                synchronized (out) {
                    out.flush();
                }
                try {
                    Thread.sleep(5); // batches the pipe writes; the parent waits on lines, not on this
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        flusher.setDaemon(true);
        flusher.start();
        while (true) {
            sky.jobs().submitAsync(trivial).thenAccept(job -> {
                synchronized (out) {
                    out.println("ACK " + job.id());
                }
            });
        }
    }
}

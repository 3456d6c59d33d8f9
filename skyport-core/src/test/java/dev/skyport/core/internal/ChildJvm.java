package dev.skyport.core.internal;

import dev.skyport.api.JobId;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A {@code main} class in a JVM of its own on this test's class path, for the crash tests that {@code kill -9} an
 * engine (the ssh and cloud crash tests here, the slurm gate's end-to-end test through the test-jar). Its stdout lines
 * are collected as they come ({@code ACK <id>} and the like); its stderr is dropped.
 */
public final class ChildJvm implements AutoCloseable {
    private final Process process;
    private final Thread reader;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    private ChildJvm(Process process) {
        this.process = process;
        this.reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    lines.add(line);
                }
            } catch (IOException killed) {
                // the child was killed
            }
        }, "child-jvm-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    /** In the child's {@code main}: its {@code key=value} arguments from {@code from} on, in their order. */
    public static Map<String, String> options(String[] args, int from) {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = from; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            options.put(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        return options;
    }

    /**
     * In the child's {@code main}: prints {@code ACK <id>} once the submit of {@code jobId} returned, then idles until
     * the test kills the JVM.
     */
    public static void acknowledgeAndIdle(JobId jobId) throws InterruptedException {
        new PrintStream(System.out, true, StandardCharsets.UTF_8).println("ACK " + jobId);
        new CountDownLatch(1).await();
    }

    /** Starts {@code main} with {@code args} and a 256 MiB heap. */
    public static ChildJvm start(Class<?> main, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "-Xmx256m", main.getName()));
        cmd.addAll(args);
        return new ChildJvm(new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start());
    }

    /** The rest of the next line starting with {@code prefix} (earlier lines are dropped); fails after {@code wait}. */
    public String line(String prefix, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (System.nanoTime() < deadline) {
            String line = lines.poll(100, TimeUnit.MILLISECONDS);
            if (line != null && line.startsWith(prefix)) {
                return line.substring(prefix.length());
            }
            if (line == null && !process.isAlive() && lines.isEmpty()) {
                throw new AssertionError("the child exited " + process.exitValue() + " without printing " + prefix);
            }
        }
        throw new AssertionError("the child printed no " + prefix + " within " + wait);
    }

    /** SIGKILL, then waits until the process and its output are gone. */
    public void kill9() throws InterruptedException {
        // Through the handle: Process.destroyForcibly also closes our end of the child's output, and the lines it
        // wrote just before the kill that the reader had not read yet were lost with it.
        process.toHandle().destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new AssertionError("the child did not die of SIGKILL within 30 s");
        }
        reader.join(TimeUnit.SECONDS.toMillis(30));
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill9();
        }
    }
}

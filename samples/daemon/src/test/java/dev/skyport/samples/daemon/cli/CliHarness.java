package dev.skyport.samples.daemon.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import dev.skyport.samples.daemon.ClientDaemon;
import dev.skyport.samples.daemon.SkyportCommand;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * A real embedded engine on a temporary data directory, and the {@code skyport} command line connected to it through
 * the {@link Connector} seam, as a given user: {@link #ADMIN} is the engine itself (it sees everyone's jobs), any
 * other name a user view.
 */
final class CliHarness implements AutoCloseable {
    static final String ADMIN = "admin";

    final SkyPort sky;
    boolean terminal;
    Map<String, String> env = Map.of();
    byte[] stdin = new byte[0];
    /** Also gets every raw byte a command prints, as it prints it (for tests that react to output). */
    OutputStream tee;

    CliHarness(Path dataDir, int cpus) {
        sky = SkyPort.embedded().dataDir(dataDir).owner(ADMIN).localCpus(cpus).jobIsolation(JobIsolation.NONE)
                .start();
    }

    /** What one run printed and returned. */
    record Result(int exit, String out, String err, byte[] bytes) {
        String bytesAsText() {
            return new String(bytes, StandardCharsets.UTF_8);
        }

        /** The ids in the JSON array of jobs printed by {@code jobs --json}; the run must have succeeded. */
        List<String> jobIds() {
            if (exit != 0) {
                throw new AssertionError("exit " + exit + ": " + err);
            }
            List<String> ids = new ArrayList<>();
            try {
                new ObjectMapper().readTree(out).forEach(job -> ids.add(job.get("id").asText()));
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + out, e);
            }
            return ids;
        }
    }

    Result run(String user, String... args) {
        return run(connectorFor(user), args);
    }

    Result run(Connector connector, String... args) {
        return run(connector, stdin, env, terminal, Optional.ofNullable(tee), args);
    }

    /**
     * The {@code skyport} command line run once as {@code alice} against the real {@code daemon} over the wire, within
     * a minute; fails unless it exits 0.
     */
    static Result runAsAlice(ClientDaemon daemon, String... args) {
        Map<String, String> env = Map.of("SKYPORT_URL", daemon.url().toString(), "SKYPORT_SPOOL",
                daemon.spool().toString());
        Result r = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> run(
                new RemoteConnector(env, daemon.homeOf("alice")), new byte[0], env, false, Optional.empty(), args));
        assertThat(r.exit()).as(String.join(" ", args) + ": " + r.err()).isZero();
        return r;
    }

    /**
     * The {@code skyport} command line run once with {@code connector} (this harness's, or the real one against a
     * daemon), capturing what it printed; every printed byte also goes to {@code tee} when present.
     */
    static Result run(Connector connector, byte[] stdin, Map<String, String> env, boolean terminal,
                      Optional<OutputStream> tee, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        OutputStream sink = tee.isEmpty() ? bytes : new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                bytes.write(b);
                tee.get().write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                bytes.write(b, off, len);
                tee.get().write(b, off, len);
            }
        };
        CliContext context = new CliContext(connector, new ByteArrayInputStream(stdin), sink, terminal, env,
                Clock.systemUTC());
        CommandLine cli = Cli.commandLine(new SkyportCommand(), context);
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(args);
        return new Result(exit, out.toString(), err.toString(), bytes.toByteArray());
    }

    Connector connectorFor(String user) {
        SkyPort view = user.equals(ADMIN) ? sky : sky.asUser(user);
        return (url, certDir) -> new Connection(view, Optional.of(user), false);
    }

    SkyPort as(String user) {
        return user.equals(ADMIN) ? sky : sky.asUser(user);
    }

    /** Polls the job until {@code until} holds, failing after a generous deadline. */
    Job poll(JobId id, Predicate<Job> until) {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (true) {
            Job job = sky.jobs().get(id);
            if (until.test(job)) {
                return job;
            }
            if (Instant.now().isAfter(deadline)) {
                throw new AssertionError("still " + job + " after 30 s");
            }
            LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
        }
    }

    Job pollState(JobId id, JobState state) {
        return poll(id, job -> job.state() == state);
    }

    Job await(JobId id) throws InterruptedException {
        return sky.jobs().await(id, Duration.ofSeconds(30));
    }

    @Override
    public void close() {
        sky.close();
    }
}

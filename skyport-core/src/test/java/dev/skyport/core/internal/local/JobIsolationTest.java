package dev.skyport.core.internal.local;

import dev.skyport.api.Job;
import dev.skyport.api.JobId;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Jobs of one user cannot reach another's files or processes, the store, the spool or its keys, and every process a
 * job starts ends with it. Real processes, real bubblewrap, real cgroups. The data directory and the spool live under
 * {@code /opt}, a system path jobs see read-only, so that what keeps them out is the hiding, not a private
 * {@code /tmp}; in {@code sandbox} mode the job is the data directory's owner, so only the hiding keeps it out.
 */
class JobIsolationTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    private Path root;
    private Path data;
    private Path spool;

    @BeforeEach
    void createDirectories() throws IOException {
        root = Files.createTempDirectory(Path.of("/opt"), "skyport-isolation-");
        // Mapped accounts reach their job directory through the path's ancestors the sandbox shares with this
        // machine: a 0700 one above the data directory would lock them out.
        Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwx--x--x"));
        data = root.resolve("data");
        spool = root.resolve("spool");
        Path keys = Files.createDirectories(spool.resolve("secure/users/admin"));
        Files.writeString(keys.resolve("key.pem"), "ADMIN-PRIVATE-KEY\n");
    }

    @AfterEach
    void deleteDirectories() throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private SkyPort start(JobIsolation mode) {
        return SkyPort.embedded().dataDir(data).localCpus(4).jobIsolation(mode).requireJobIsolation()
                .gateOption("job-isolation-hide", spool.toString()).start();
    }

    @ParameterizedTest
    @EnumSource(value = JobIsolation.class, names = {"ACCOUNT", "SANDBOX"})
    void aJobOfBobReachesNothingOfAliceNorTheStoreNorTheSpool(JobIsolation mode) throws Exception {
        try (SkyPort engine = start(mode)) {
            SkyPort sky = engine.asUser("alice");
            SkyPort bobs = engine.asUser("bob");
            Job alice = sky.jobs().submit(JobSpec.script("#!/bin/sh\n"
                    + "echo alice-secret > secret.txt\necho alice-output\nALICE_ENV=alice-env exec sleep 300\n"));
            Path aliceDir = data.resolve("jobs").resolve(alice.id().toString());
            await(() -> Files.exists(aliceDir.resolve("secret.txt")), "alice's job runs");
            Job bob = bobs.jobs().submit(JobSpec.script("#!/bin/sh\n"
                    + "echo own > own.txt; cat own.txt\n"
                    + "echo \"USER=$USER LOGNAME=$LOGNAME HOME=$HOME\"\n"
                    + "cat ../*/stdout.log ../*/script ../*/secret.txt\n"
                    + "ls -R " + spool + " " + data + "\n"
                    + "cat " + spool + "/secure/users/admin/key.pem " + data + "/*.db " + data + "/*/*\n"
                    + "cat " + aliceDir + "/secret.txt " + aliceDir + "/stdout.log " + aliceDir + "/script\n"
                    + "for p in /proc/[0-9]*; do cat $p/environ; ls -l $p/cwd/; cat $p/cwd/secret.txt; done\n"
                    + "exit 0\n"));
            Job done = bobs.jobs().await(bob.id(), WAIT);
            String out = bobs.jobs().stdout(bob.id());
            String seen = out + bobs.jobs().stderr(bob.id());
            assertThat(done.state()).as(seen).isEqualTo(JobState.SUCCEEDED);
            Path bobDir = data.resolve("jobs").resolve(bob.id().toString());
            assertThat(out).startsWith("own\nUSER=bob LOGNAME=bob HOME=" + bobDir + "\n");
            assertThat(seen).doesNotContain("alice-secret", "alice-output", "alice-env", "ADMIN-PRIVATE-KEY");
            sky.jobs().cancel(alice.id());
            sky.jobs().await(alice.id(), WAIT);
        }
    }

    /**
     * The engine writes the logs, the script and the next attempt's control files in a directory the job owned: links
     * a job planted there must redirect neither those writes nor the engine's reads of the logs.
     */
    @ParameterizedTest
    @EnumSource(value = JobIsolation.class, names = {"ACCOUNT", "SANDBOX"})
    void linksAJobPlantsInItsDirectoryRedirectNothingOfTheEngine(JobIsolation mode) throws Exception {
        Path key = spool.resolve("secure/users/admin/key.pem");
        Path elsewhere = Files.createDirectories(root.resolve("elsewhere"));
        Files.setPosixFilePermissions(elsewhere, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path victim = Files.writeString(root.resolve("victim"), "VICTIM\n");
        try (SkyPort engine = start(mode)) {
            SkyPort sky = engine.asUser("bob");
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\n"
                    + "if [ \"$SKYPORT_ATTEMPT\" = 1 ]; then\n"
                    + "  for f in stdout.log stderr.log script run.1; do rm -rf $f; mv $f moved; ln -sf " + key
                    + " $f; done\n"
                    + "  ln -s " + elsewhere + " run.2\n  mkdir run.3; echo 0 > run.3/exitcode\n"
                    + "  ln -s " + victim + " run.3/pid\n"
                    + "  echo planted > planted\n  exec sleep 300\nfi\n"
                    + "echo \"attempt $SKYPORT_ATTEMPT\"\n"));
            Path dir = data.resolve("jobs").resolve(job.id().toString());
            await(() -> Files.exists(dir.resolve("planted")), "the first attempt planted its links");
            sky.jobs().requeue(job.id());
            awaitSucceeded(sky, job.id());
            // The run.3 the job made, with a forged exit code and its pid file a link to another file: as a mapped
            // account's it is replaced, and in sandbox mode (the engine's own uid, so ownership tells nothing) emptied
            // of all but a claim; the third attempt runs, and its pid goes nowhere but into run.3.
            sky.jobs().requeue(job.id());
            Job done = sky.jobs().await(job.id(), WAIT);
            String seen = sky.jobs().stdout(job.id()) + sky.jobs().stderr(job.id());
            assertThat(done.state()).as(seen).isEqualTo(JobState.SUCCEEDED);
            assertThat(done.attempts()).hasSize(3);
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("attempt 3\n");
            assertThat(seen).doesNotContain("ADMIN-PRIVATE-KEY");
            try (Stream<Path> files = Files.list(elsewhere)) {
                assertThat(files).as("files the engine wrote through a planted link").isEmpty();
            }
            assertThat(Files.readString(key)).isEqualTo("ADMIN-PRIVATE-KEY\n");
            assertThat(Files.readString(victim)).as("a file a planted run.3/pid pointed at").isEqualTo("VICTIM\n");
        }
    }

    /**
     * A process of the job's mapped account outside any sandbox (a login of that account) reaches the running job's
     * directory through {@code /proc/<pid>/cwd}, where the sandbox's read-only mounts do not apply: it must not be able
     * to swap the run directory or a log for its own, through which the wrapper (root) would write the exit code and
     * the engine read the log. Also in a job directory from before the engine kept it (the account's, as it was): the
     * next attempt takes it back.
     */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void anotherProcessOfTheMappedAccountCannotRedirectTheEnginesWrites(boolean directoryWasTheAccounts)
            throws Exception {
        Path victim = Files.writeString(root.resolve("victim"), "VICTIM\n");
        Path key = spool.resolve("secure/users/admin/key.pem");
        String tag = "ready-" + ThreadLocalRandom.current().nextInt(1_000_000_000);
        try (SkyPort engine = start(JobIsolation.ACCOUNT)) {
            SkyPort sky = engine.asUser("bob");
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\n: > " + tag + "-$SKYPORT_ATTEMPT\n"
                    + "while [ ! -e go ]; do sleep 0.02; done\necho attempt $SKYPORT_ATTEMPT\n"));
            Path dir = data.resolve("jobs").resolve(job.id().toString());
            await(() -> Files.exists(dir.resolve(tag + "-1")), "the job runs");
            int attempt = 1;
            if (directoryWasTheAccounts) {
                // As the engine left job directories before: the account's, run directories aside.
                try (Stream<Path> paths = Files.walk(dir)) {
                    for (Path p : paths.filter(p -> !dir.relativize(p).toString().startsWith("run.")).toList()) {
                        Files.setAttribute(p, "unix:uid", 65534, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                        Files.setAttribute(p, "unix:gid", 65534, java.nio.file.LinkOption.NOFOLLOW_LINKS);
                    }
                }
                sky.jobs().requeue(job.id());
                attempt = 2;
                await(() -> Files.exists(dir.resolve(tag + "-2")), "the second attempt runs");
            }
            String run = "run." + attempt;
            String attack = "for p in /proc/[0-9]*; do c=$p/cwd; [ -e \"$c/" + tag + "-" + attempt + "\" ] || continue\n"
                    + "  mv \"$c/" + run + "\" \"$c/moved-run\" && mkdir \"$c/" + run + "\" && ln -s " + victim
                    + " \"$c/" + run + "/exitcode\" && ln -s " + victim + " \"$c/" + run + "/pid\" && echo run swapped\n"
                    + "  mv \"$c/stdout.log\" \"$c/moved-out\" && ln -s " + key
                    + " \"$c/stdout.log\" && echo log swapped\n"
                    + "  : > \"$c/go\" && echo reached; exit 0\ndone\nexit 3\n";
            Process p = new ProcessBuilder("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                    "/bin/sh", "-c", attack).redirectErrorStream(true).start();
            String said = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(said).as("the account's process reached the job").contains("reached");
            Job done = sky.jobs().await(job.id(), WAIT);
            assertThat(Files.readString(victim)).as("a root file the planted links pointed at").isEqualTo("VICTIM\n");
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("attempt " + attempt + "\n");
            assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(said).doesNotContain("swapped");
        }
    }

    /**
     * Job directories from before the engine kept them were the account's: an engine that starts takes them all
     * back, those of ended jobs too, whose logs the account could otherwise swap for a link the engine serves.
     */
    @Test
    void anEngineTakesBackTheJobDirectoriesItsAccountsOwned() throws Exception {
        JobId id;
        try (SkyPort engine = start(JobIsolation.ACCOUNT)) {
            Job job = engine.asUser("bob").jobs().submit(JobSpec.script("#!/bin/sh\necho done\n"));
            id = job.id();
            awaitSucceeded(engine, id);
        }
        Path dir = data.resolve("jobs").resolve(id.toString());
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : paths.filter(p -> !dir.relativize(p).toString().startsWith("run.")).toList()) {
                Files.setAttribute(p, "unix:uid", 65534, java.nio.file.LinkOption.NOFOLLOW_LINKS);
            }
        }
        Files.delete(dir.resolve("stderr.log"));
        Files.createSymbolicLink(dir.resolve("stderr.log"), spool.resolve("secure/users/admin/key.pem"));
        try (SkyPort engine = start(JobIsolation.ACCOUNT)) {
            assertThat(Files.getAttribute(dir, "unix:uid")).isEqualTo(0);
            assertThat(Integer.toOctalString((Integer) Files.getAttribute(dir, "unix:mode") & 07777)).isEqualTo("1770");
            assertThat(Files.getAttribute(dir.resolve("stdout.log"), "unix:uid")).isEqualTo(0);
            assertThat(dir.resolve("stderr.log")).doesNotExist();
            assertThat(engine.jobs().stdout(id)).isEqualTo("done\n");
            assertThat(engine.jobs().stderr(id)).isEmpty();
        }
    }

    /**
     * What a job leaves in its directory, links (a virtualenv's) and FIFOs included, neither stops its next attempt
     * nor holds the engine: the next launch hands over only what the engine placed, opening nothing that blocks.
     */
    @ParameterizedTest
    @EnumSource(value = JobIsolation.class, names = {"ACCOUNT", "SANDBOX"})
    void linksAndFifosAJobLeavesDoNotStopItsNextAttempt(JobIsolation mode) throws Exception {
        Path input = Files.writeString(root.resolve("input.txt"), "input\n");
        try (SkyPort engine = start(mode)) {
            SkyPort sky = engine.asUser("bob");
            Job job = sky.jobs().submit(JobSpec.builder().script("#!/bin/sh\n"
                    + "if [ \"$SKYPORT_ATTEMPT\" = 1 ]; then\n"
                    + "  mkdir -p venv/bin && ln -s /usr/bin/env venv/bin/python && ln -s lib venv/lib64\n"
                    + "  ln -s /nowhere dangling; mkfifo pipe venv/pipe\n"
                    + "  : > planted; exec sleep 300\nfi\n"
                    + "cat input.txt; [ -p pipe ] && [ -L venv/bin/python ] && echo \"attempt $SKYPORT_ATTEMPT\"\n")
                    .inputFile(input.toString()).build());
            Path dir = data.resolve("jobs").resolve(job.id().toString());
            await(() -> Files.exists(dir.resolve("planted")), "the first attempt made its links and FIFOs");
            sky.jobs().requeue(job.id());
            Job done = sky.jobs().await(job.id(), WAIT);
            String seen = sky.jobs().stdout(job.id()) + sky.jobs().stderr(job.id());
            assertThat(done.state()).as(seen + done.stateDetails()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("input\nattempt 2\n");
        }
    }

    @Test
    void jobsOfOneUserRunAsTheirMappedAccount() throws Exception {
        try (SkyPort sky = SkyPort.embedded().dataDir(data).jobIsolation(JobIsolation.ACCOUNT)
                .jobAccount("carol", "daemon").start()) {
            SkyPort carol = sky.asUser("carol");
            SkyPort dave = sky.asUser("dave");
            Job carols = carol.jobs().submit(JobSpec.script("#!/bin/sh\nid -un\n"));
            Job daves = dave.jobs().submit(JobSpec.script("#!/bin/sh\nid -un\n"));
            assertThat(carol.jobs().await(carols.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(dave.jobs().await(daves.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(carol.jobs().stdout(carols.id())).isEqualTo("daemon\n");
            assertThat(dave.jobs().stdout(daves.id())).isEqualTo("nobody\n");
        }
    }

    @ParameterizedTest
    @EnumSource(value = JobIsolation.class, names = {"ACCOUNT", "SANDBOX", "NONE"})
    void processesThatLeftTheJobEndWhenItIsCanceled(JobIsolation mode) throws Exception {
        String sleep = uniqueSleep();
        try (SkyPort sky = start(mode)) {
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\nsetsid " + sleep + " &\n" + sleep + " &\n"
                    + "(setsid sh -c '" + sleep + " & " + sleep + "' &)\necho up\nwait\n"));
            await(() -> LocalProcesses.running(sleep).size() >= 4, "the job's four sleeps run");
            sky.jobs().cancel(job.id());
            assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.CANCELED);
            await(() -> LocalProcesses.running(sleep).isEmpty(), "every sleep ended");
            await(() -> cgroup(job.id()).map(Files::notExists).orElse(true), "the run's cgroup is removed");
        }
    }

    @ParameterizedTest
    @EnumSource(value = JobIsolation.class, names = {"ACCOUNT", "SANDBOX", "NONE"})
    void processesLeftBehindEndWithTheJob(JobIsolation mode) throws Exception {
        String sleep = uniqueSleep();
        try (SkyPort sky = start(mode)) {
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\nsetsid " + sleep + " &\n" + sleep + " &\n"
                    + "(setsid sh -c '" + sleep + " & " + sleep + "' &)\n"
                    + "while [ \"$(pgrep -fc '" + sleep + "')\" -lt 4 ]; do sleep 0.05; done\nexit 0\n"));
            assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            await(() -> LocalProcesses.running(sleep).isEmpty(), "every sleep ended");
            await(() -> cgroup(job.id()).map(Files::notExists).orElse(true), "the run's cgroup is removed");
        }
    }

    @Test
    void withoutBubblewrapARequiredIsolationRefusesToStartAndSaysWhy() {
        assertThatThrownBy(() -> SkyPort.embedded().dataDir(data).requireJobIsolation()
                .gateOption("bwrap", "/nonexistent/bwrap").start())
                .isInstanceOf(SkyPortException.class)
                .hasMessageContaining("bwrap not found")
                .hasMessageContaining("install bubblewrap or set job-isolation: none");
    }

    @Test
    void withoutBubblewrapTheEmbeddedDefaultRunsJobsUnisolated() throws Exception {
        try (SkyPort sky = SkyPort.embedded().dataDir(data).gateOption("bwrap", "/nonexistent/bwrap").start()) {
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\ncat " + spool + "/secure/users/admin/key.pem\n"));
            assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
            assertThat(sky.jobs().stdout(job.id())).isEqualTo("ADMIN-PRIVATE-KEY\n");
        }
    }

    @Test
    void anExplicitOptOutStartsEvenWhenIsolationIsRequired() throws Exception {
        try (SkyPort sky = SkyPort.embedded().dataDir(data).jobIsolation(JobIsolation.NONE).requireJobIsolation()
                .gateOption("bwrap", "/nonexistent/bwrap").start()) {
            Job job = sky.jobs().submit(JobSpec.script("#!/bin/sh\necho $USER\n"));
            assertThat(sky.jobs().await(job.id(), WAIT).state()).isEqualTo(JobState.SUCCEEDED);
        }
    }

    @Test
    void badAccountSettingsAreRefusedNamingTheSetting() {
        assertThatThrownBy(() -> SkyPort.embedded().jobAccount("bob", "no such account"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("jobAccount");
        assertThatThrownBy(() -> SkyPort.embedded().defaultJobAccount(""))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("defaultJobAccount");
        assertThatThrownBy(() -> SkyPort.embedded().dataDir(data).jobIsolation(JobIsolation.ACCOUNT)
                .jobAccount("bob", "root").start())
                .isInstanceOf(SkyPortException.class).hasMessageContaining("'root' is root");
        assertThatThrownBy(() -> SkyPort.embedded().dataDir(data).jobIsolation(JobIsolation.ACCOUNT)
                .defaultJobAccount("skyport-no-such-account").start())
                .isInstanceOf(SkyPortException.class).hasMessageContaining("does not exist");
        assertThatThrownBy(() -> SkyPort.embedded().dataDir(data).gateOption("job-isolation", "strict").start())
                .isInstanceOf(SkyPortException.class).hasMessageContaining("job-isolation");
    }

    private static void awaitSucceeded(SkyPort sky, JobId id) throws InterruptedException {
        Job done = sky.jobs().await(id, WAIT);
        assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
    }

    private static Optional<Path> cgroup(JobId job) {
        return CgroupHierarchy.v2Mount().map(m -> m.resolve("skyport").resolve(job + ".1"));
    }

    /** A sleep command no other test runs, to find its processes by their command line. */
    private static String uniqueSleep() {
        return "sleep " + (1_000_000 + ThreadLocalRandom.current().nextInt(1_000_000));
    }

    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        Instant deadline = Instant.now().plus(WAIT);
        while (!condition.getAsBoolean()) {
            assertThat(Instant.now()).as(what).isBefore(deadline);
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }
}

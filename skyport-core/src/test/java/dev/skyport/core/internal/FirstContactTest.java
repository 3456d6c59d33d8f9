package dev.skyport.core.internal;

import dev.skyport.api.Flavor;
import dev.skyport.api.InvalidJobSpecException;
import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.JobState;
import dev.skyport.api.Node;
import dev.skyport.api.SkyPort;
import dev.skyport.api.SkyPortException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What a new user meets first: the messages, the log, what prints, what the default gate offers. */
class FirstContactTest {
    @TempDir
    Path dir;

    private SkyPort open() {
        return SkyPort.embedded().dataDir(dir.resolve("data")).localCpus(2).localMemoryBytes(25_232_932_864L)
                .jobIsolation(JobIsolation.NONE).start();
    }

    @Test
    void memoryInSubmitErrorsIsInUnitsPeopleRead() {
        try (SkyPort sky = open()) {
            assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().memoryBytes(10L << 40)
                    .script("#!/bin/sh\ntrue\n").build()))
                    .isInstanceOfSatisfying(InvalidJobSpecException.class, e -> {
                        assertThat(e.field()).isEqualTo("memoryBytes");
                        assertThat(e.getMessage()).contains("10 TiB").contains("the largest node has 23.5 GiB")
                                .doesNotContain("bytes");
                    });
        }
    }

    @Test
    void sizesThatRoundAlikeAlsoShowTheirBytes() {
        try (SkyPort sky = open()) {
            long node = sky.nodes().get(0).memoryBytes();
            assertThatThrownBy(() -> sky.jobs().submit(JobSpec.builder().memoryBytes(node + 1)
                    .script("#!/bin/sh\ntrue\n").build()))
                    .hasMessageContaining("23.5 GiB (" + (node + 1) + " bytes)")
                    .hasMessageContaining("23.5 GiB (" + node + " bytes)");
        }
    }

    @Test
    void aDataDirectoryThatIsAFileSaysSo() throws Exception {
        Path file = Files.writeString(dir.resolve("data"), "not a directory");
        assertThatThrownBy(this::open).isInstanceOf(SkyPortException.class)
                .hasMessageContaining("cannot use data directory " + file)
                .hasMessageContaining("not a directory");
    }

    /** The JDK's exceptions carry only the path as their message; the reason is spelled out from their type. */
    @Test
    void fileErrorsSayWhy() {
        assertThat(IoErrors.reason(new AccessDeniedException("/srv/sky/jobs")))
                .isEqualTo("permission denied on /srv/sky/jobs for OS user " + System.getProperty("user.name"));
        assertThat(IoErrors.reason(new FileSystemException("/srv/sky/lock", null, "Read-only file system")))
                .isEqualTo("read-only file system: /srv/sky/lock");
        assertThat(IoErrors.reason(new java.nio.file.NoSuchFileException("/srv")))
                .isEqualTo("/srv does not exist");
    }

    @Test
    void anUnknownDirectiveIsLoggedOnceAtWarnWithoutTheScript() throws Exception {
        String log;
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        // slf4j-simple writes to whatever System.err is at the time of each line
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        Job job;
        try (SkyPort sky = open()) {
            job = sky.jobs().submit(JobSpec.script("#!/bin/sh\n#SWM cpu 4\necho secret-value\n"));
            sky.jobs().await(job.id(), Duration.ofSeconds(60));
            sky.jobs().requeue(job.id());
            sky.jobs().await(job.id(), Duration.ofSeconds(60));
        } finally {
            System.setErr(original);
            log = captured.toString(StandardCharsets.UTF_8);
        }
        assertThat(job.warnings()).anyMatch(w -> w.contains("unknown directive #SWM cpu"));
        assertThat(log.lines().filter(l -> l.contains(job.id().toString()) && l.contains("WARN")))
                .singleElement().asString().contains("unknown directive #SWM cpu").doesNotContain("secret-value");
    }

    @Test
    void theEngineAndItsJobsPrintOneShortLine() {
        try (SkyPort sky = open()) {
            Job job = sky.jobs().submit(JobSpec.builder().name("printed").env("TOKEN", "s3cr3t")
                    .script("#!/bin/sh\necho s3cr3t\n").build());
            assertThat(sky.toString()).contains("data " + dir.resolve("data")).contains("gate local")
                    .contains("scheduler backfill").contains("unfinished jobs").doesNotContain("\n");
            assertThat(job.toString()).contains(job.id().toString()).contains("printed").contains("TOKEN")
                    .doesNotContain("s3cr3t").doesNotContain("\n");
        }
    }

    @Test
    void theLocalGateOffersItsOwnShapeAsAFreeFlavorThatJobsMayName() throws Exception {
        try (SkyPort sky = open()) {
            Node node = sky.nodes().get(0);
            assertThat(sky.remotes()).singleElement().satisfies(r -> assertThat(r.name()).isEqualTo("local"));
            Flavor flavor = sky.flavors().get(0);
            assertThat(sky.flavors()).hasSize(1);
            assertThat(flavor.remoteSite()).isEqualTo("local");
            assertThat(flavor.cpus()).isEqualTo(node.cpus());
            assertThat(flavor.memoryBytes()).isEqualTo(node.memoryBytes());
            assertThat(flavor.pricePerHour()).isZero();
            Job job = sky.jobs().submit(JobSpec.parseScript("#!/bin/sh\n#SWM flavor local\ntrue\n")
                    .remoteSite("local").build());
            assertThat(sky.jobs().await(job.id(), Duration.ofSeconds(60)).state()).isEqualTo(JobState.SUCCEEDED);
        }
    }

    /**
     * The local flavor describes the one node there is; it is not a size the gate can create more of. A job naming it
     * that the node cannot hold is refused at once, as without a flavor, rather than waiting for "new nodes".
     */
    @Test
    void aJobNamingTheLocalFlavorMustFitTheLocalNode() {
        try (SkyPort sky = open()) {
            for (JobSpec.Builder tooBig : java.util.List.of(JobSpec.builder().nodes(2), JobSpec.builder().cpus(3))) {
                assertThatThrownBy(() -> sky.jobs().submit(tooBig.flavor("local").script("#!/bin/sh\ntrue\n").build()))
                        .isInstanceOf(InvalidJobSpecException.class);
            }
        }
    }
}

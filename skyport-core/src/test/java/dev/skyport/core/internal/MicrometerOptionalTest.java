package dev.skyport.core.internal;

import dev.skyport.api.Job;
import dev.skyport.api.JobIsolation;
import dev.skyport.api.JobSpec;
import dev.skyport.api.SkyPort;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Micrometer is an optional dependency of skyport-core: the engine must run without it on the class path, and only the
 * adapter a user instantiates ({@code dev.skyport.core.micrometer}) may refer to it.
 */
class MicrometerOptionalTest {
    private static final String ADAPTER_PACKAGE = "dev/skyport/core/micrometer/";

    @TempDir
    Path data;

    /** The child: without Micrometer, starts an engine, runs a job and says how it ended. */
    public static void main(String[] args) throws Exception {
        try {
            Class.forName("io.micrometer.core.instrument.MeterRegistry");
            System.out.println("MICROMETER present");
        } catch (ClassNotFoundException expected) {
            System.out.println("MICROMETER absent");
        }
        try (SkyPort sky = SkyPort.embedded().dataDir(Path.of(args[0])).localCpus(1)
                .jobIsolation(JobIsolation.NONE).start()) {
            Job done = sky.jobs().await(sky.jobs().submit(JobSpec.builder().command(List.of("true")).build()).id(),
                    Duration.ofSeconds(60));
            System.out.println("STATE " + done.state());
        }
    }

    @Test
    void theEngineRunsJobsInAJvmWithoutMicrometer() throws Exception {
        String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !entry.contains("micrometer"))
                .collect(Collectors.joining(File.pathSeparator));
        assertThat(classPath).isNotEqualTo(System.getProperty("java.class.path")); // it was there to take away
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", classPath, "-Xmx256m", MicrometerOptionalTest.class.getName(), data.toString())
                .redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(output).contains("MICROMETER absent").contains("STATE SUCCEEDED")
                .doesNotContain("NoClassDefFoundError");
        assertThat(child.exitValue()).as(output).isZero();
    }

    /** A byte-level check (what ArchUnit would say): no compiled class outside the adapter names Micrometer. */
    @Test
    void onlyTheAdapterRefersToMicrometer() throws IOException, java.net.URISyntaxException {
        Path classes = Path.of(Engine.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        List<String> offenders = new ArrayList<>();
        List<String> adapter = new ArrayList<>();
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".class")).toList()) {
                String name = classes.relativize(file).toString().replace(File.separatorChar, '/');
                boolean names = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1)
                        .contains("io/micrometer/");
                if (names) {
                    (name.startsWith(ADAPTER_PACKAGE) ? adapter : offenders).add(name);
                }
            }
        }
        assertThat(adapter).as("the check sees Micrometer where it is").isNotEmpty();
        assertThat(offenders).isEmpty();
    }
}

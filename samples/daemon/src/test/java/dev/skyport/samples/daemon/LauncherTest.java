package dev.skyport.samples.daemon;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The distribution's {@code bin/skyport} (run by {@code /bin/sh}) in a layout like the one {@code mvn package}
 * builds, copied to a directory of its own and reached through a relative link from elsewhere, as a user installs it.
 */
class LauncherTest {
    private static final Path LAUNCHER = Path.of("src/dist/bin/skyport");

    @Test
    void runsTheCommandFromACopiedDistributionThroughALink(@TempDir Path dir) throws Exception {
        Path home = Files.createDirectories(dir.resolve("opt/skyport-test"));
        Path bin = Files.createDirectories(home.resolve("bin"));
        Path lib = Files.createDirectories(home.resolve("lib"));
        Files.copy(LAUNCHER, bin.resolve("skyport"));
        Files.setPosixFilePermissions(bin.resolve("skyport"), PosixFilePermissions.fromString("rwxr-xr-x"));
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path p = Path.of(entry);
            if (Files.isDirectory(p) && !p.endsWith("test-classes")) {
                jar(p, lib.resolve("skyport-daemon.jar")); // target/classes: the jar `mvn package` would make
            } else if (entry.endsWith(".jar")) {
                Files.createSymbolicLink(lib.resolve(p.getFileName()), p.toAbsolutePath());
            }
        }
        Path links = Files.createDirectories(dir.resolve("usr/local/bin"));
        Files.createSymbolicLink(links.resolve("skyport"), Path.of("../../../opt/skyport-test/bin/skyport"));

        ProcessBuilder pb = new ProcessBuilder(links.resolve("skyport").toString(), "--version")
                .directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("JAVA_OPTS", "-Xmx64m -XX:TieredStopAtLevel=1");
        Process process = pb.start();
        // Only the bound of a broken start: a JVM starts in a few seconds on a loaded 2-core machine.
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.exitValue()).as(out).isZero();
        assertThat(out.strip()).isEqualTo("Sky Port for Java 0.1.0");
    }

    @Test
    void isAPosixShellScript() throws IOException {
        List<String> lines = Files.readAllLines(LAUNCHER);
        assertThat(lines.get(0)).isEqualTo("#!/bin/sh");
        assertThat(String.join("\n", lines)).doesNotContain("[[", "$(readlink -f", "local ", "function ")
                .contains("dev.skyport.samples.daemon.SkyportCommand");
    }

    private static void jar(Path classes, Path jar) throws IOException {
        try (OutputStream file = Files.newOutputStream(jar); JarOutputStream out = new JarOutputStream(file);
             Stream<Path> tree = Files.walk(classes)) {
            for (Path p : tree.filter(Files::isRegularFile).toList()) {
                out.putNextEntry(new JarEntry(classes.relativize(p).toString().replace(File.separatorChar, '/')));
                Files.copy(p, out);
                out.closeEntry();
            }
        }
    }
}

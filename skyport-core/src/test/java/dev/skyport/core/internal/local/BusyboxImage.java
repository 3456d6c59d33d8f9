package dev.skyport.core.internal.local;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A container image made in the test from a static busybox, imported with {@code podman import} under a tag of its
 * own (no registry is reachable here), and removed by {@link #close()}. Its {@code /etc/os-release} names it, which
 * is how a job shows it ran inside.
 *
 * <p>The runtime arguments the tests pass ({@link #RUNTIME_ARGS}) are what this machine needs: its default OCI runtime,
 * crun, cannot start containers here (setrlimit of RLIMIT_NOFILE/NPROC is refused, then "cgroups in hybrid mode not
 * supported"), while runc with explicit ulimits can. The system property {@code skyport.test.container-runtime-args}
 * replaces them.
 */
public final class BusyboxImage implements AutoCloseable {
    /** The {@code NAME} line of the image's {@code /etc/os-release}. */
    public static final String OS_NAME = "NAME=skyport-test-busybox";

    public static final String RUNTIME_ARGS = System.getProperty("skyport.test.container-runtime-args",
            "--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1000:1000");

    private final String tag;

    private BusyboxImage(String tag) {
        this.tag = tag;
    }

    /** Builds the root file system in {@code work} and imports it under a new tag. */
    public static BusyboxImage importNew(Path work) throws IOException, InterruptedException {
        Path root = Files.createDirectories(work.resolve("rootfs"));
        Path bin = Files.createDirectories(root.resolve("bin"));
        Path busybox = Stream.of("/bin/busybox", "/usr/bin/busybox").map(Path::of).filter(Files::isExecutable)
                .findFirst().orElseThrow(() -> new IllegalStateException("busybox-static is not installed"));
        Files.copy(busybox, bin.resolve("busybox"));
        for (String applet : run(List.of(busybox.toString(), "--list")).split("\n")) {
            if (!applet.isBlank() && !applet.equals("busybox")) {
                Files.createSymbolicLink(bin.resolve(applet.strip()), Path.of("busybox"));
            }
        }
        Path etc = Files.createDirectories(root.resolve("etc"));
        Files.writeString(etc.resolve("os-release"), OS_NAME + "\nID=skyport-test\n");
        Files.writeString(etc.resolve("passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n");
        Files.createDirectories(root.resolve("tmp"));
        Path tar = work.resolve("rootfs.tar");
        run(List.of("tar", "-C", root.toString(), "-cf", tar.toString(), "."));
        String tag = "localhost/skyport-test:" + UUID.randomUUID().toString().substring(0, 12);
        run(List.of("podman", "import", tar.toString(), tag));
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
        return new BusyboxImage(tag);
    }

    /** The image's name with its tag. */
    public String tag() {
        return tag;
    }

    /** The names of the containers, running or not, whose name is {@code name}. */
    public static List<String> containersNamed(String name) throws IOException, InterruptedException {
        String out = run(List.of("podman", "ps", "-a", "--filter", "name=^" + name + "$", "--format", "{{.Names}}"));
        List<String> names = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (!line.isBlank()) {
                names.add(line.strip());
            }
        }
        return names;
    }

    /** Runs a command to its end; its output, or an exception with it when the status is not 0. */
    public static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }

    @Override
    public void close() throws IOException, InterruptedException {
        run(List.of("podman", "rmi", "-f", tag));
    }

    /**
     * One image for all the tests of a class: register it as a static {@code @RegisterExtension} field; it imports the
     * image before the first test, in a directory of its own, and removes both after the last.
     */
    public static final class PerClass implements BeforeAllCallback, AfterAllCallback {
        private Path work;
        private BusyboxImage image;

        @Override
        public void beforeAll(ExtensionContext context) throws Exception {
            work = Files.createTempDirectory("skyport-busybox");
            image = importNew(work);
        }

        @Override
        public void afterAll(ExtensionContext context) throws Exception {
            try {
                if (image != null) {
                    image.close();
                }
            } finally {
                try (Stream<Path> paths = Files.walk(work)) {
                    for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        }

        /** The image's name with its tag. */
        public String tag() {
            return image.tag();
        }
    }
}
